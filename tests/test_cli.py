"""The ``serrules`` command line through its installed entry point (subprocess), on the outputs
of the shared tiny demo run and on bad inputs."""

from __future__ import annotations

import contextlib
import io
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import yaml
from demo_workflow import AUTHORS_CORPUS, REPO, TINY_CORPORA

from serrules.base.classes import RULES, prefixed
from serrules.cli import main
from serrules.corpora.formats import corpus_format

pytestmark = pytest.mark.e2e

SERRULES = Path(sys.executable).with_name("serrules")
LABEL_TABLES = (
    "ratings",
    "utterances",
    *(f"labels_{rule}" for rule in RULES),
    "folds",
    "exclusions",
    "label_loss",
)


def serrules(*args: str | Path, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [str(SERRULES), *map(str, args)], capture_output=True, text=True, timeout=600
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"serrules {args} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def fails(*args: str | Path) -> str:
    """Run a command that must fail on bad input: exit status 1 and a one-line reason. It runs
    in this process (``serrules.cli.main``, what the entry point calls; the entry point itself
    is run as a program by the other tests): a subprocess per bad input cost ~9 s of imports."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    assert code == 1, (code, out.getvalue(), err.getvalue())
    lines = [line for line in err.getvalue().splitlines() if line.strip()]
    assert len(lines) == 1, err.getvalue()
    assert lines[0].startswith(f"serrules {args[0]}: error: "), lines[0]
    return lines[0]


def pooled_predictions(demo_run: Path, corpus: str, rule: str) -> pd.DataFrame:
    files = sorted(
        (demo_run / "results" / corpus / "models" / rule).glob("fold*/predictions.parquet")
    )
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)


def test_entry_point_and_help_of_every_command():
    assert SERRULES.is_file(), "the serrules entry point is not installed"
    top = serrules("--help").stdout
    for command in ("labels", "show", "score", "predict"):
        assert command in top
        text = serrules(command, "--help").stdout
        assert text.startswith(f"usage: serrules {command}")
    proc = serrules("frobnicate", check=False)
    assert proc.returncode == 2 and "invalid choice" in proc.stderr


# ------------------------------------------------------------------------------------ labels
def assert_same_table_but_origin(produced: Path, expected: Path, rules: tuple[str, str]) -> None:
    """Two Parquet tables hold the same columns, types, values and metadata, byte for byte once
    written without their provenance; only the provenance says which rule (or command) wrote
    each."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from serrules.base.provenance import PROVENANCE_KEY, read_provenance

    def without_provenance(path: Path) -> bytes:
        table = pq.read_table(path)
        meta = {k: v for k, v in table.schema.metadata.items() if k != PROVENANCE_KEY.encode()}
        sink = pa.BufferOutputStream()
        pq.write_table(table.replace_schema_metadata(meta), sink)
        return sink.getvalue().to_pybytes()

    assert without_provenance(produced) == without_provenance(expected), produced.name
    origins = tuple(read_provenance(p)["rule"] for p in (produced, expected))
    assert origins == rules, produced.name


@pytest.mark.parametrize("corpus", sorted(TINY_CORPORA))
def test_labels_writes_the_rules_tables_byte_for_byte(demo_run, tmp_path, corpus):
    """The tables of ``serrules labels`` are the label stage's, byte for byte but for their
    provenance (the command instead of the workflow's rules): a native format by name, a
    ratings-table corpus by its entry in the run's config (the corpus name is OUT's)."""
    fmt = TINY_CORPORA[corpus]["format"]
    root = demo_run / "results" / "demo" / corpus / "native"
    out = tmp_path / corpus
    if fmt == "ratings-table":
        proc = serrules("labels", "--config", demo_run / "config.yaml", root, out)
    else:
        proc = serrules("labels", "--format", fmt, root, out)
    for table in LABEL_TABLES:
        rule = "majority_labels" if table in ("labels_MR", "label_loss") else "label_tables"
        assert_same_table_but_origin(
            out / f"{table}.parquet",
            demo_run / "results" / corpus / f"{table}.parquet",
            ("serrules labels", rule),
        )
    utterances = pd.read_parquet(out / "utterances.parquet")
    assert f"utterances: {len(utterances):,} parsed" in proc.stdout
    for rule in RULES:
        kept = len(pd.read_parquet(out / f"labels_{rule}.parquet"))
        assert f"  {rule}: {kept:,} utterances" in proc.stdout
    assert "exclusions" in proc.stdout


def test_labels_bad_inputs_name_the_problem(demo_run, tmp_path):
    reason = fails("labels", "--format", "iemocap", tmp_path / "nowhere", tmp_path / "out")
    assert "nowhere" in reason and "not a folder" in reason
    # the demo's IEMOCAP annotations plus one dialog file with an emotion word IEMOCAP lacks
    native = demo_run / "results" / "demo" / "iemocap" / "native"
    shutil.copytree(native, tmp_path / "IEMOCAP", ignore=shutil.ignore_patterns("*.wav"))
    broken = Path(__file__).parent / "fixtures/corpora/broken/iemocap/unknown_label.txt"
    shutil.copy(broken, tmp_path / "IEMOCAP/Session1/dialog/EmoEvaluation/Ses01F_impro09.txt")
    reason = fails("labels", "--format", "iemocap", tmp_path / "IEMOCAP", tmp_path / "out")
    assert "Ses01F_impro09.txt:5: unknown emotion label 'Boredom'" in reason
    assert not (tmp_path / "out" / "labels_AR.parquet").exists()
    proc = serrules("labels", "--format", "nonsense", tmp_path, tmp_path / "out", check=False)
    assert proc.returncode == 2 and "invalid choice" in proc.stderr


# -------------------------------------------------------------------------------------- show
def test_show_summarises_pipeline_tables(demo_run):
    base = demo_run / "results" / "iemocap"
    text = serrules("show", base / "labels_AR.parquet", "--rows", "3").stdout
    assert "contract: utterances with at least one valid vote" in text
    n = len(pd.read_parquet(base / "labels_AR.parquet"))
    assert f"rows: {n:,}" in text
    assert "per class:" in text and "test positives (t_ = 1)" in text
    for name in corpus_format("iemocap").classes:
        assert f"\n{name} " in text
    text = serrules("show", base / "metrics.parquet").stdout
    assert "metadata serrules.evaluation" in text and '"n_bootstrap": 50' in text
    text = serrules("show", base / "models" / "AR" / "fold1" / "predictions.parquet").stdout
    assert "mean p_" in text and "top class" in text
    text = serrules("show", base / "folds.parquet").stdout
    assert "rows by fold, part:" in text


def test_show_prints_the_provenance_of_a_predictions_file(demo_run):
    """What made a fold's predictions: the package version, the commit, the rule, the digest
    of its code (the one its rule declares now, the code being unchanged since the run) and of
    its settings, the libraries and the device; the same record in the fold's model."""
    import re

    from serrules.base.code_digest import script_digest
    from serrules.base.provenance import LIBRARIES, read_provenance
    from serrules.corpora.formats import PARSER_MODULES
    from serrules.training.model_names import MODELS, model_spec

    fold = demo_run / "results" / "msp-podcast" / "models" / "AR" / "fold1"
    text = serrules("show", fold / "predictions.parquet").stdout
    record = read_provenance(fold / "predictions.parquet")
    chosen = set(PARSER_MODULES) | {m.module for m in MODELS.values()}
    own = model_spec(yaml.safe_load((demo_run / "config.yaml").read_text())["model"]["name"])
    code = script_digest(REPO / "workflow" / "scripts" / "train_fold.py", chosen - {own.module})
    assert record["rule"] == "train_fold" and record["code"] == code
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", record["settings"])
    assert "provenance:" in text and f"serrules {serrules_version()}, commit " in text
    assert "  rule: train_fold\n" in text and f"  code: {code}\n" in text
    assert f"  settings: {record['settings']}\n" in text and "  device: cpu, Python " in text
    for library in LIBRARIES:
        assert f"{library} {record['libraries'][library]}" in text
    assert read_provenance(fold / "best.safetensors") == record
    model = serrules("show", fold / "best.safetensors").stdout
    assert f"  code: {code}\n" in model and "first 5 rows" not in model


def serrules_version() -> str:
    import serrules as package

    return package.__version__


def test_show_bad_inputs(tmp_path):
    assert "no such file" in fails("show", tmp_path / "missing.parquet")
    not_parquet = tmp_path / "table.parquet"
    not_parquet.write_text("utterance_id,p_anger\n")
    assert "not a readable Parquet table" in fails("show", not_parquet)


# ------------------------------------------------------------------------------------- score
def _score_frame(stem: Path) -> pd.DataFrame:
    frame = pd.read_csv(stem.with_name(stem.name + ".csv"))
    frame = frame[frame["column"] != "Average"].copy()
    frame["test_rule"] = frame["column"].str.removesuffix("_test")
    return frame.set_index(["system", "test_rule", "metric"]).sort_index()


@pytest.mark.parametrize(
    ("corpus", "protocol"),
    [*((corpus, "paper") for corpus in sorted(TINY_CORPORA)), (AUTHORS_CORPUS, "authors")],
)
def test_score_reproduces_metrics_parquet_exactly(
    demo_run, authors_run, tmp_path, corpus, protocol
):
    """Scoring the pipeline's own pooled predictions (MR and PR against AR) gives the numbers of
    metrics.parquet bit for bit (values, intervals, paired p-values, test-set sizes) under either
    protocol: the KLD/JSD target (and the IEMOCAP fold table, tests/test_pooling.py) are read from
    metrics.parquet. Exact equality holds because both are one computation
    (corpus_metrics.score_test_sets) on the same arrays, and the bootstrap sums of a system do
    not depend on the other systems scored with it, the CPU or the BLAS threads (see
    serrules.evaluation.bootstrap)."""
    run = demo_run if protocol == "paper" else authors_run
    base = run / "results" / corpus
    metrics = (
        pd.read_parquet(base / "metrics.parquet")
        .set_index(["train_rule", "test_rule", "metric"])
        .sort_index()
    )
    pooled = {}
    for rule in RULES:
        pooled[rule] = tmp_path / f"{rule}.parquet"
        pooled_predictions(run, corpus, rule).to_parquet(pooled[rule])
    for rule in ("MR", "PR"):
        stem = tmp_path / f"score_{rule}"
        proc = serrules(
            "score", "--labels", base, pooled[rule], "--against", pooled["AR"], "--out", stem
        )
        assert "| System | Metric | Average | MR_test | PR_test | AR_test |" in proc.stdout
        got = _score_frame(stem)
        for system in (rule, "AR"):
            want = metrics.loc[system]
            have = got.loc[system].loc[want.index]
            for column in ("value", "low", "high", "n_utterances"):
                np.testing.assert_array_equal(have[column].to_numpy(), want[column].to_numpy())
        p_have = got.loc[rule].loc[metrics.loc[rule].index, "p_value"].to_numpy()
        np.testing.assert_array_equal(p_have, metrics.loc[rule, "p_value_vs_AR"].to_numpy())
        assert got.loc["AR", "p_value"].isna().all()
    assert stem.with_name(stem.name + ".md").read_text().startswith(f"Scores on {corpus}")


def test_score_accepts_an_outside_csv_with_bare_class_names(demo_run, tmp_path):
    """An outside system's CSV (class names as columns, shuffled rows, no fold column) scores
    like the same probabilities in the pipeline's Parquet (CSV text rounds float32 values)."""
    base = demo_run / "results" / "msp-podcast"
    classes = corpus_format("msp-podcast").classes
    frame = pooled_predictions(demo_run, "msp-podcast", "AR").drop(columns="fold")
    frame = frame.rename(columns=dict(zip(prefixed("p_", classes), classes, strict=True)))
    frame.sample(frac=1.0, random_state=0).to_csv(tmp_path / "mine.csv", index=False)
    serrules("score", "--labels", base, tmp_path / "mine.csv", "--out", tmp_path / "mine")
    got = _score_frame(tmp_path / "mine").loc["mine"]
    metrics = pd.read_parquet(base / "metrics.parquet")
    want = metrics[metrics["train_rule"] == "AR"].set_index(["test_rule", "metric"])
    have = got.loc[want.index]
    np.testing.assert_allclose(have["value"], want["value"], rtol=0, atol=1e-6)
    np.testing.assert_array_equal(have["n_utterances"], want["n_utterances"])


def test_score_bad_predictions_are_named(demo_run, tmp_path):
    base = demo_run / "results" / "iemocap"
    good = pooled_predictions(demo_run, "iemocap", "AR").drop(columns="fold")
    ids = good["utterance_id"].tolist()

    def write(frame: pd.DataFrame, name: str) -> Path:
        path = tmp_path / name
        frame.to_csv(path, index=False)
        return path

    reason = fails("score", "--labels", base, write(good.iloc[1:], "missing.csv"))
    assert "1 of the" in reason and "have no prediction" in reason and ids[0] in reason
    reason = fails("score", "--labels", base, write(pd.concat([good, good.iloc[:1]]), "dup.csv"))
    assert "more than one prediction" in reason and ids[0] in reason
    extra = pd.concat([good, good.iloc[:1].assign(utterance_id="Ses09X_none_F000")])
    reason = fails("score", "--labels", base, write(extra, "extra.csv"))
    assert "not test utterances" in reason and "Ses09X_none_F000" in reason
    reason = fails("score", "--labels", base, write(good.assign(p_joy=0.0), "joy.csv"))
    assert "unknown column(s) p_joy" in reason
    reason = fails("score", "--labels", base, write(good.drop(columns="p_anger"), "no_anger.csv"))
    assert "no probability column for class(es) anger" in reason
    bad = good.copy()
    bad.loc[3, "p_neutral"] += 0.5
    reason = fails("score", "--labels", base, write(bad, "not_distribution.csv"))
    assert "not distributions" in reason and ids[3] in reason
    reason = fails("score", "--labels", tmp_path, write(good, "ok.csv"))
    assert "utterances.parquet" in reason
    shutil.copy(tmp_path / "ok.csv", tmp_path / "ok.txt")
    assert "unknown file type '.txt'" in fails("score", "--labels", base, tmp_path / "ok.txt")


# ----------------------------------------------------------------------------------- predict
def _fold_test_audio(base: Path, rule: str = "AR", fold: int = 1) -> pd.DataFrame:
    predictions = pd.read_parquet(base / "models" / rule / f"fold{fold}" / "predictions.parquet")
    index = pd.read_parquet(base / "audio_index.parquet").set_index("utterance_id")
    predictions["audio_path"] = predictions["utterance_id"].map(index["audio_path"])
    return predictions


def test_predict_egemaps_model_matches_its_test_predictions(demo_run, tmp_path):
    base = demo_run / "results" / "msp-podcast"
    expected = _fold_test_audio(base).iloc[:12]
    classes = corpus_format("msp-podcast").classes
    out = tmp_path / "new.csv"
    serrules(
        "predict",
        "--model",
        base / "models" / "AR" / "fold1",
        *expected["audio_path"],
        "--out",
        out,
    )
    got = pd.read_csv(out)
    assert got["utterance_id"].tolist() == [Path(p).stem for p in expected["audio_path"]]
    p_cols = prefixed("p_", classes)
    np.testing.assert_allclose(got[p_cols], expected[p_cols], rtol=0, atol=1e-6)
    present = got[p_cols].to_numpy() > 1 / len(classes)
    assert got["present"].fillna("").tolist() == [
        "+".join(c for c, on in zip(classes, row, strict=True) if on) for row in present
    ]


def test_predict_wav2vec2_model_matches_its_test_predictions(demo_run, tmp_path):
    """A (tiny) wav2vec2 fold model trained on the demo predicts its test recordings again."""
    import torch
    from tiny_wav2vec2 import tiny_config as tiny_w2v_config
    from transformers import Wav2Vec2Model

    from serrules.training.fold_job import train_fold
    from serrules.training.fold_spec import FoldFiles, FoldKey
    from serrules.training.run_config import TrainConfig

    base = demo_run / "results" / "msp-podcast"
    torch.manual_seed(0)
    Wav2Vec2Model(tiny_w2v_config()).save_pretrained(tmp_path / "tiny_w2v")
    model_dir = tmp_path / "models" / "AR" / "fold1"
    train_fold(
        FoldKey("msp-podcast", 1, "AR"),
        FoldFiles(
            labels=base / "labels_AR.parquet",
            folds=base / "folds.parquet",
            audio_index=base / "audio_index.parquet",
            features=None,
            model=model_dir / "best.safetensors",
            train_log=model_dir / "train_log.csv",
            predictions=model_dir / "predictions.parquet",
            checkpoint_dir=tmp_path / "ckpt",
        ),
        model_cfg={
            "name": "wav2vec2-large-robust-12",
            "pretrained": str(tmp_path / "tiny_w2v"),
            "keep_layers": 2,
            "head_hidden": 32,
            "dropout": 0.5,
        },
        train_cfg=TrainConfig.from_mapping(
            {
                "epochs": 1,
                "batch_size": 8,
                "max_seconds": 1.0,
                "num_workers": 0,
                "device": "cpu",
                "bucket_size": None,
            }
        ),  # fmt: skip
    )
    expected = pd.read_parquet(model_dir / "predictions.parquet").iloc[:6]
    index = pd.read_parquet(base / "audio_index.parquet").set_index("utterance_id")
    wavs = expected["utterance_id"].map(index["audio_path"])
    proc = serrules("predict", "--model", model_dir, *wavs, "--batch-size", "4")
    got = pd.read_csv(io.StringIO(proc.stdout))
    p_cols = prefixed("p_", corpus_format("msp-podcast").classes)
    np.testing.assert_allclose(got[p_cols], expected[p_cols], rtol=0, atol=1e-5)


def test_predict_bad_inputs(demo_run, tmp_path):
    model = demo_run / "results" / "msp-podcast" / "models" / "AR" / "fold1"
    wav = pd.read_parquet(demo_run / "results" / "msp-podcast" / "audio_index.parquet")[
        "audio_path"
    ].iloc[0]
    reason = fails("predict", "--model", tmp_path, wav)
    assert "no trained model" in reason and str(tmp_path) in reason
    reason = fails("predict", "--model", model, tmp_path / "missing.wav")
    assert "missing.wav" in reason and "missing_file" in reason
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF not really a wave file")
    reason = fails("predict", "--model", model, wav, corrupt)
    assert "corrupt.wav" in reason and "unreadable" in reason
    silent = tmp_path / "empty.wav"
    sf.write(silent, np.zeros(0, dtype=np.float32), 16000)
    assert "empty" in fails("predict", "--model", model, silent)
