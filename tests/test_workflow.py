"""End-to-end Snakemake runs (subprocess) on a tiny demo configuration, plus the SLURM profile."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml
from demo_workflow import (
    AUTHORS_CORPUS,
    AUTHORS_IEMOCAP_JOB,
    RATINGS_CORPUS,
    REPO,
    SNAKEMAKE,
    TINY_CORPORA,
    W2V_JOB,
    W2V_JOB_OPTIONS,
    assert_same_fold_job,
    authors_config,
    copy_run,
    job_table,
    snakemake,
    tiny_config,
    w2v_workdir,
)

from serrules.base.classes import RULES
from serrules.corpora.formats import corpus_format

pytestmark = pytest.mark.e2e


def _cell(text: str) -> tuple[float, float, float]:
    value, interval = text.split(" (", 1)
    low, high = interval.split(")")[0].split(", ")
    return float(value), float(low), float(high)


def test_all_writes_every_table_and_figure(demo_run):
    tables = demo_run / "results" / "tables"
    for n in (3, 4, 5, 6):
        for ext in ("csv", "md", "tex"):
            path = tables / f"table{n}.{ext}"
            assert path.stat().st_size > 0, path
    for ext in ("png", "pdf"):
        assert (demo_run / "results" / "figures" / f"fig1.{ext}").stat().st_size > 1000


def test_all_sets_the_papers_numbers_beside_the_run(demo_run):
    """vs_paper: every printed cell of the run's corpora (the tiny demo has IEMOCAP and
    MSP-PODCAST: 2 x 6 Table 3 cells + the Average row's 6, 2 x 12 cells of each of Tables 4-6)
    and the corpus sizes of Sec. 4.1 (IEMOCAP's utterances, MSP-PODCAST's three parts), a
    summary line per table, the synthetic-data caption; paper_audit's rows."""
    tables = demo_run / "results" / "tables"
    frame = pd.read_csv(tables / "vs_paper.csv")
    counts = frame.groupby("source").size().to_dict()
    assert counts == {"Table 3": 18, "Table 4": 24, "Table 5": 24, "Table 6": 24, "Sec. 4.1": 4}
    assert set(frame["protocol"]) == {"paper"}
    f1 = frame[frame["source"] == "Table 4"]
    metrics = pd.read_parquet(demo_run / "results" / "iemocap" / "metrics.parquet")
    cell = metrics.query("train_rule == 'AR' and test_rule == 'AR' and metric == 'macro_f1'")
    row = f1.query("corpus == 'iemocap' and row == 'AR' and column == 'AR_test'").iloc[0]
    assert row["reproduced"] == pytest.approx(100 * cell["value"].iloc[0])  # F1 x 100
    assert row["published"] == pytest.approx(51.0)  # printed 0.510
    sizes = frame[frame["source"] == "Sec. 4.1"].set_index(["corpus", "row"])["reproduced"]
    utterances = pd.read_parquet(demo_run / "results" / "iemocap" / "utterances.parquet")
    assert sizes[("iemocap", "utterances")] == len(utterances)
    summary = pd.read_csv(tables / "vs_paper_summary.csv")
    assert list(summary["source"]) == ["Table 3", "Table 4", "Table 5", "Table 6", "Sec. 4.1"]
    md = (tables / "vs_paper.md").read_text()
    for line in summary["summary"]:
        assert f"- {line}" in md
    assert "synthetic demo corpora" in md
    assert f"Left out: {RATINGS_CORPUS} (ratings-table): the paper has no row for it" in md
    audit = pd.read_csv(tables / "paper_audit.csv")
    assert len(audit) == 359 and set(audit["verdict"]) == {"holds", "fails"}
    assert (tables / "paper_audit.md").read_text().startswith("# The paper against itself")


def test_every_artifact_records_its_provenance(demo_run):
    """Every Parquet table, model, Markdown and LaTeX table and PNG figure of the run carries the
    record of the job that wrote it: its rule, code and settings digests, one origin per rule;
    each corpus's provenance table lists its artifacts with the same record."""
    from serrules.base.provenance import read_provenance, short

    results = demo_run / "results"
    # the demo's native files stand for a release (a ratings-table corpus's may be Parquet)
    release = [p for p in results.glob("demo/*/native/**/*") if p.is_file()]
    artifacts = [
        *(p for p in results.rglob("*.parquet") if p not in release),
        *results.rglob("best.safetensors"),
        *results.glob("tables/*.md"),
        *results.glob("tables/*.tex"),
        *results.rglob("figures/*.png"),
    ]
    assert len(artifacts) > 80
    origins: dict[str, set] = {}
    for path in artifacts:
        record = read_provenance(path)
        assert record is not None and record["code"].startswith("sha256:"), path
        assert record["settings"].startswith("sha256:") and record["device"] == "cpu", path
        origins.setdefault(record["rule"], set()).add((record["code"], record["settings"]))
    assert set(origins) >= {"label_tables", "train_fold", "evaluate_corpus", "result_tables"}
    assert len(origins["train_fold"]) == 1  # every fold of every corpus: one code, one setting
    for corpus in TINY_CORPORA:
        table = pd.read_csv(results / corpus / "provenance.csv")
        assert len(table) > 20 and table["file"].str.startswith(f"results/{corpus}/").all()
        for row in table.itertuples():
            record = read_provenance(demo_run / row.file)
            assert (row.rule, row.code) == (record["rule"], short(record["code"])), row.file


def test_metrics_have_nine_cells_per_corpus_in_range(demo_run):
    for corpus in TINY_CORPORA:
        metrics = pd.read_parquet(demo_run / "results" / corpus / "metrics.parquet")
        assert set(metrics["metric"]) == {"macro_f1", "kld", "jsd"}
        for metric, frame in metrics.groupby("metric"):
            cells = set(zip(frame["train_rule"], frame["test_rule"], strict=True))
            assert cells == {(tr, te) for tr in RULES for te in RULES}, (corpus, metric)
        f1 = metrics[metrics["metric"] == "macro_f1"]
        assert f1["value"].between(0, 1).all()
        div = metrics[metrics["metric"] != "macro_f1"]
        assert (div["value"] >= 0).all()
        jsd = metrics[metrics["metric"] == "jsd"]
        assert (jsd["value"] <= 0.6932).all()  # JSD (natural log) is bounded by ln 2
        assert (metrics["low"] <= metrics["value"] + 1e-12).all()
        assert (metrics["value"] <= metrics["high"] + 1e-12).all()
        # MR keeps fewer test utterances than PR, PR fewer than AR
        n = f1.set_index(["train_rule", "test_rule"])["n_utterances"]
        assert n[("AR", "MR")] < n[("AR", "PR")] < n[("AR", "AR")]


def test_table4_lays_out_corpus_by_train_rule(demo_run):
    table = pd.read_csv(demo_run / "results" / "tables" / "table4.csv")
    assert set(table["corpus"]) == set(TINY_CORPORA)
    md = (demo_run / "results" / "tables" / "table4.md").read_text()
    header = md.splitlines()[0]
    for column in ("Average", "MR_test", "PR_test", "AR_test"):
        assert column in header
    body = [line for line in md.splitlines()[2:] if line.startswith("|")]
    assert len(body) == 3 * len(TINY_CORPORA)
    assert "**" in md  # the best value per corpus is bold


def test_table3_matches_the_label_tables(demo_run):
    for corpus in TINY_CORPORA:
        utterances = pd.read_parquet(demo_run / "results" / corpus / "utterances.parquet")
        loss = pd.read_parquet(demo_run / "results" / corpus / "label_loss.parquet")
        loss = loss.set_index("rule")
        for rule in RULES:
            kept = len(pd.read_parquet(demo_run / "results" / corpus / f"labels_{rule}.parquet"))
            assert loss.loc[rule, "n_kept"] == kept
        assert loss.loc["AR", "n_kept"] == int((utterances["n_valid"] > 0).sum())
        assert loss.loc["MR", "data_loss"] > loss.loc["PR", "data_loss"] > 0


def test_predictions_cover_each_test_utterance_once(demo_run):
    for corpus in TINY_CORPORA:
        folds = pd.read_parquet(demo_run / "results" / corpus / "folds.parquet")
        test_ids = folds.loc[folds["part"] == "test", "utterance_id"]
        for rule in RULES:
            preds = pd.concat(
                pd.read_parquet(p)
                for p in sorted(
                    (demo_run / "results" / corpus / "models" / rule).glob("*/predictions.parquet")
                )
            )
            assert sorted(preds["utterance_id"]) == sorted(test_ids)


def test_second_run_has_nothing_to_do(demo_run):
    proc = snakemake(demo_run, "--cores", "2", "--dry-run", "all")
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_result_neutral_options_rerun_nothing_and_others_rerun(demo_run, tmp_path):
    """num_workers, keep_checkpoint and gpu_lock_dir do not change results: changing them must
    not rerun any job; changing the learning rate must rerun the training jobs."""
    neutral = tmp_path / "neutral.yaml"
    neutral.write_text(
        yaml.safe_dump(
            {
                "training": {
                    "num_workers": 3,
                    "keep_checkpoint": True,
                    "gpu_lock_dir": str(tmp_path / "locks"),
                }
            }
        )
    )
    proc = snakemake(
        demo_run, "all", "--configfile", str(demo_run / "config.yaml"), str(neutral), "--dry-run"
    )
    assert "Nothing to be done" in proc.stdout + proc.stderr
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump({"training": {"lr": 0.002}}))
    proc = snakemake(
        demo_run, "all", "--configfile", str(demo_run / "config.yaml"), str(changed), "--dry-run"
    )
    assert "train_fold" in proc.stdout
    assert "Nothing to be done" not in proc.stdout + proc.stderr


def test_workstation_gpu_command_parses(demo_run):
    """The README's multi-GPU command (target first: --resources takes several values)."""
    proc = snakemake(demo_run, "all", "--cores", "8", "--resources", "gpu=2", "--dry-run")
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_html_report_holds_tables_and_figure(demo_run, tmp_path):
    snakemake(demo_run, "--report", str(tmp_path / "report.html"))
    html = (tmp_path / "report.html").read_text(errors="replace")
    assert "table3.csv" in html
    assert "fig1.png" in html
    assert "table4.csv" in html
    for name in ("vs_paper.csv", "vs_paper_summary.csv", "paper_audit.csv", "claims.csv"):
        assert name in html
    for corpus in TINY_CORPORA:  # the evaluation views, one report category per corpus
        assert corpus in html
    for name in ("per_class_f1.png", "confusion_AR.png", "reliability.png", "training_curves.png"):
        assert name in html
    for caption in (
        "Per-class F1",
        "Multi-label confusion",
        "Reliability diagrams",
        "Training curves",
    ):
        assert caption in html
    # a provenance section per corpus: what made each of its artifacts
    assert "provenance.csv" in html and "Provenance" in html
    for corpus in TINY_CORPORA:
        assert f"What made each artifact of {corpus}" in html


def test_evaluation_views_agree_with_metrics(demo_run):
    """Per-class F1 averages to the macro-F1 of metrics.parquet; the AR_test co-occurrence
    diagonal is the per-class recall; ECE lies in [0, 1]; every view has its figure."""
    for corpus in TINY_CORPORA:
        base = demo_run / "results" / corpus
        metrics = pd.read_parquet(base / "metrics.parquet")
        f1 = metrics[metrics["metric"] == "macro_f1"].set_index(["train_rule", "test_rule"])
        per_class = pd.read_parquet(base / "per_class.parquet")
        mean_f1 = per_class.groupby(["train_rule", "test_rule"])["f1"].mean()
        assert len(mean_f1) == 9
        for key, value in mean_f1.items():
            assert value == pytest.approx(f1.loc[key, "value"], abs=1e-12), (corpus, key)
        confusion = pd.read_parquet(base / "confusion_AR.parquet")
        diagonal = confusion[confusion["true_class"] == confusion["predicted_class"]]
        recall = per_class[per_class["test_rule"] == "AR"].set_index(["train_rule", "class"])
        for row in diagonal.itertuples():
            expected = recall.loc[(row.train_rule, row.true_class), "recall"]
            assert (row.share if row.n_true else 0.0) == pytest.approx(expected)
        calibration = pd.read_parquet(base / "calibration.parquet")
        assert len(calibration) == 9
        assert calibration[["ece_classwise", "ece_pooled"]].stack().between(0, 1).all()
        for name in ("per_class_f1", "confusion_AR", "reliability", "training_curves"):
            assert (base / "figures" / f"{name}.png").stat().st_size > 10_000


def test_fixed_seed_gives_identical_predictions(demo_run, tmp_path):
    """Re-running one training job from scratch (in a copy of the run) reproduces its
    predictions bit for bit."""
    target = "results/msp-podcast/models/AR/fold1/predictions.parquet"
    run = copy_run(demo_run, tmp_path / "run")
    before = pd.read_parquet(demo_run / target)
    stamp = (run / target).stat().st_mtime_ns
    snakemake(run, target, "--force", "--cores", "1")  # --force: this job only
    assert (run / target).stat().st_mtime_ns != stamp  # it really ran again
    after = pd.read_parquet(run / target)
    pd.testing.assert_frame_equal(before, after)


def test_bad_config_fails_before_any_job(tmp_path):
    config = tiny_config()
    config["training"]["batchsize"] = 8
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    proc = snakemake(tmp_path, "--cores", "1", "--dry-run", "all", check=False)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "batchsize" in out
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize(
    ("model", "gpu", "mem_mb", "runtime"),
    [("egemaps-mlp", 0, 4000, 60), ("wav2vec2-large-robust-12", 1, 16000, 720)],
)
def test_slurm_profile_requests_follow_the_model(tmp_path, model, gpu, mem_mb, runtime):
    """Dry run with the SLURM profile (tests/test_slurm.py submits for real): a GPU only for
    wav2vec2 training, never a GPU type by default."""
    config = tiny_config()
    config["model"]["name"] = model
    config["resources"]["train_threads"] = None
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    proc = snakemake(
        tmp_path,
        "--workflow-profile",
        str(REPO / "profiles" / "slurm"),
        "--dry-run",
        "all",
        "--software-deployment-method",  # the profile's conda is not on the test machine
        "env-modules",
    )
    blocks = proc.stdout.split("\n\n")
    train = [b for b in blocks if "rule train_fold:" in b]
    # 3 train rules x the folds of each corpus (IEMOCAP 5, the podcast and the ratings table 1)
    folds = [corpus_format(entry).folds.n_folds for entry in TINY_CORPORA.values()]
    assert folds == [5, 1, 1] and len(train) == 3 * sum(folds)
    for block in train:
        assert f"mem_mb={mem_mb}," in block and f"runtime={runtime}" in block, block
        assert ("gpu=1" in block) is bool(gpu), block
        assert "gpu_model" not in block and "slurm_partition" not in block
    others = [b for b in blocks if re.search(r"^rule (?!train_fold)", b, re.M)]
    assert others and not any("gpu=1" in b for b in others)


def test_killed_training_job_resumes_to_the_same_model(demo_run, w2v_reference, tmp_path):
    """SIGKILL a running Snakemake training job after a few epochs, restart it with Snakemake:
    it resumes from its checkpoint and ends with the model and predictions of an uninterrupted
    run (``w2v_reference``)."""
    import signal
    import time

    target = f"{W2V_JOB}/predictions.parquet"
    killed = w2v_workdir(demo_run, tmp_path / "killed", w2v_reference["pretrained"])
    checkpoint = killed / "results/msp-podcast/checkpoints/AR/fold1/last.pt"
    proc = subprocess.Popen(
        [*SNAKEMAKE, "--directory", str(killed), target, *W2V_JOB_OPTIONS],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        log = killed / "results/logs/train_fold/msp-podcast/AR_fold1.log"
        if checkpoint.is_file() and log.is_file() and "epoch 3:" in log.read_text():
            break
        time.sleep(0.2)
    assert proc.poll() is None, "the training job ended before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert checkpoint.is_file()
    assert not (killed / target).exists()

    snakemake(killed, "--unlock")
    snakemake(killed, target, "--rerun-incomplete", *W2V_JOB_OPTIONS)
    log = (killed / "results/logs/train_fold/msp-podcast/AR_fold1.log").read_text()
    assert "resum" in log.lower()

    assert_same_fold_job(killed / W2V_JOB, w2v_reference["job"])
    assert not checkpoint.exists()  # removed after the successful finish


def test_release_corpus_is_read_from_its_root(tmp_path):
    """`source: release` reads a native release folder: its annotation files are the label
    stage's inputs, and the label tables come out as for the demo."""
    from serrules.demo import generate_demo_corpus

    release = tmp_path / "MSP-PODCAST-1.11"
    summary = generate_demo_corpus("msp-podcast", release, n_utterances=60, seed=3)
    workdir = tmp_path / "work"
    workdir.mkdir()
    config = tiny_config()
    config["corpora"] = {
        "podcast": {"format": "msp-podcast", "source": "release", "root": str(release)}
    }
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    targets = [f"results/podcast/labels_{r}.parquet" for r in RULES]
    proc = snakemake(workdir, *targets, "--cores", "1")
    out = proc.stdout + proc.stderr
    assert "demo_corpus" not in out
    assert f"{release}/Labels/labels_detailed.csv" in out  # declared as an input
    labels = {r: pd.read_parquet(workdir / f"results/podcast/labels_{r}.parquet") for r in RULES}
    assert len(labels["MR"]) == summary["n_mr_kept"]
    assert len(labels["PR"]) == summary["n_pr_kept"]
    assert len(labels["AR"]) == summary["n_ar_kept"]

    # the audio check depends on the release's audio listing: a repaired, added or removed
    # audio file re-runs it and every stage after it, without one input per audio file
    index = "results/podcast/audio_index.parquet"
    snakemake(workdir, index, "--cores", "1")
    assert_nothing_to_do(workdir, index)
    import soundfile as sf

    wav = sorted((release / "Audios").glob("*.wav"))[0]
    samples, rate = sf.read(wav, dtype="float32")
    sf.write(wav, samples * 0.5, rate)  # "repaired" in place (same bytes would not count)
    out = snakemake(workdir, "all", "--dry-run").stdout
    planned = job_table(out)
    assert {"audio_index", "egemaps_features", "train_fold", "evaluate_corpus"} <= set(planned)
    # the audio check is planned for its changed listing (a param); it lists no audio input
    block = out[out.index("checkpoint audio_index:") :].split("\n\n", 1)[0]
    assert "reason: Params have changed" in block and f"{release}/Audios/" not in out
    snakemake(workdir, index, "--cores", "1")
    assert_nothing_to_do(workdir, index)
    extra = release / "Audios" / "MSP-PODCAST_9999_0001.wav"
    sf.write(extra, samples, rate)  # added
    assert "audio_index" in planned_jobs(workdir, index)
    extra.unlink()  # removed again: the listing is the one the index was built from
    assert_nothing_to_do(workdir, index)
    wav.unlink()  # removed
    assert "audio_index" in planned_jobs(workdir, index)


def planned_jobs(workdir: Path, target: str) -> dict[str, int]:
    """Rule -> job count of a dry run's job table."""
    return job_table(snakemake(workdir, target, "--dry-run").stdout)


def assert_nothing_to_do(workdir: Path, target: str) -> None:
    proc = snakemake(workdir, target, "--dry-run")
    assert "Nothing to be done" in proc.stdout + proc.stderr, proc.stdout


def test_egemaps_runs_in_shards_and_a_lost_shard_reruns_alone(tmp_path):
    """audio.egemaps_shard_utterances rows per shard job; the gathered table equals one
    unsharded extraction; after a failed shard, it is the one extraction job planned."""
    from serrules.audio.features import write_egemaps
    from serrules.demo import generate_demo_corpus

    release = tmp_path / "MSP-PODCAST-1.11"
    generate_demo_corpus("msp-podcast", release, n_utterances=50, seed=5)
    workdir = tmp_path / "work"
    workdir.mkdir()
    config = tiny_config()
    config["corpora"] = {
        "podcast": {"format": "msp-podcast", "source": "release", "root": str(release)}
    }
    config["audio"]["egemaps_shard_utterances"] = 20
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    target = "results/podcast/features/egemaps.parquet"
    snakemake(workdir, target, "--cores", "2")
    shards = sorted((workdir / "results/podcast/features/egemaps_shards").iterdir())
    assert [p.name for p in shards] == ["0.parquet", "1.parquet", "2.parquet"]
    bench = workdir / "results/benchmarks/egemaps_shard/podcast"
    assert sorted(p.name for p in bench.iterdir()) == ["0.tsv", "1.tsv", "2.tsv"]
    whole = write_egemaps(
        workdir / "results/podcast/audio_index.parquet",
        tmp_path / "whole.parquet",
        max_seconds=config["training"]["max_seconds"],
    )
    pd.testing.assert_frame_equal(pd.read_parquet(workdir / target), whole)
    # the state a failed shard leaves (its output removed, the gather not run): only it reruns
    shards[1].unlink()
    (workdir / target).unlink()
    assert planned_jobs(workdir, target) == {"egemaps_shard": 1, "egemaps_features": 1}


def test_damaged_release_fails_with_one_clear_line(tmp_path):
    """A malformed annotation file stops the label stage with the file, line and fault on the
    console and in the log, not with a traceback."""
    from serrules.demo import generate_demo_corpus

    release = tmp_path / "MSP-PODCAST-1.11"
    generate_demo_corpus("msp-podcast", release, n_utterances=60, seed=3)
    consensus = release / "Labels" / "labels_consensus.csv"
    lines = consensus.read_text().splitlines()
    consensus.write_text("\n".join([lines[0]] + [x + "," for x in lines[1:]]) + "\n")
    workdir = tmp_path / "work"
    workdir.mkdir()
    config = tiny_config()
    config["corpora"] = {
        "podcast": {"format": "msp-podcast", "source": "release", "root": str(release)}
    }
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    proc = snakemake(workdir, "results/podcast/labels_AR.parquet", "--cores", "1", check=False)
    assert proc.returncode != 0
    expected = f"error: {consensus}:2: row has 9 fields but the header has 8"
    assert expected in proc.stdout + proc.stderr
    log = (workdir / "results/logs/label_tables/podcast.log").read_text()
    assert f"{consensus}:2: row has 9 fields" in log and "Traceback" not in log


def test_unknown_protocol_fails_before_any_job(tmp_path):
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(tiny_config(), sort_keys=False))
    proc = snakemake(tmp_path, "--cores", "1", "all", "--config", "protocol=appendix", check=False)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "protocol" in out and "appendix" in out
    assert not (tmp_path / "results").exists()


def test_authors_protocol_runs_end_to_end(authors_run, demo_run):
    import json

    from serrules.base.protocols import preset
    from serrules.evaluation import read_metrics

    authors = preset("authors")

    def record(path: Path) -> dict:
        return json.loads(path.read_text())

    # all on the podcast corpus: three jobs of the authors' settings, scored under them
    models = authors_run / "results" / AUTHORS_CORPUS / "models"
    jobs = sorted(models.glob("*/fold*/protocol.json"))
    assert len(jobs) == 3
    for path in jobs:
        assert record(path)["protocol"] == "authors" and record(path)["overrides"] == []
        assert record(path)["settings"]["training.optimizer"] == "adam"
        assert record(path)["settings"]["model.head_batchnorm"] is True
    _, settings = read_metrics(authors_run / "results" / AUTHORS_CORPUS / "metrics.parquet")
    assert settings["protocol"]["protocol"] == "authors"
    assert settings["divergence_target"] == authors["evaluation"]["divergence_target"]
    # IEMOCAP trains on the authors' folds: fold 1 tests session 4 there, session 5 in the paper
    job = authors_run / AUTHORS_IEMOCAP_JOB
    assert record(job.with_name("protocol.json"))["protocol"] == "authors"
    folds = pd.read_parquet(authors_run / "results" / "iemocap" / "folds_authors.parquet")
    test1 = folds[(folds["fold"] == 1) & (folds["part"] == "test")]["utterance_id"]
    assert sorted(pd.read_parquet(job)["utterance_id"]) == sorted(test1)
    paper_folds = pd.read_parquet(demo_run / "results" / "iemocap" / "folds.parquet")
    paper_test1 = paper_folds[(paper_folds["fold"] == 1) & (paper_folds["part"] == "test")]
    assert set(test1).isdisjoint(paper_test1["utterance_id"])
    caption = (authors_run / "results" / "tables" / "table4.md").read_text()
    assert "Protocol authors (the authors' released code)" in caption
    paper_caption = (demo_run / "results" / "tables" / "table4.md").read_text()
    assert "Protocol paper (the paper's text)" in paper_caption
    # the protocols give different models
    target = f"results/{AUTHORS_CORPUS}/models/AR/fold1/predictions.parquet"
    assert not pd.read_parquet(authors_run / target).equals(pd.read_parquet(demo_run / target))
    # the switch reran majority_labels only: the parsed tables, the audio index and the features
    # are the paper run's files (copied with their times), the MR tables were rewritten (of the
    # two corpora the authors run trains on)
    for corpus in ("iemocap", AUTHORS_CORPUS):
        results = {run: run / "results" / corpus for run in (demo_run, authors_run)}
        for name in ("utterances.parquet", "labels_AR.parquet", "audio_index.parquet"):
            same = [results[run] / name for run in results]
            assert same[0].stat().st_mtime_ns == same[1].stat().st_mtime_ns, (corpus, name)
        features = sorted(results[authors_run].glob("features/**/*.parquet"))
        assert features and all(
            f.stat().st_mtime_ns
            == (results[demo_run] / f.relative_to(results[authors_run])).stat().st_mtime_ns
            for f in features
        ), corpus
        mr = [results[run] / "labels_MR.parquet" for run in results]
        assert mr[0].stat().st_mtime_ns != mr[1].stat().st_mtime_ns, corpus


def test_protocol_comparison_writes_its_table(authors_run, tmp_path):
    """Both presets on the tiny podcast corpus, sharing the label stage and the features: the
    run's own protocol (authors) is the run in results/, not trained again; the paper preset
    trains in results/protocols/paper/. The comparison table has one row per cell and metric."""
    # a copy: the shared run stays as built. Its config is the run's protocol (authors), as
    # authors_run built its label stage (labels.mr_share is a protocol key): another protocol
    # would rebuild the label stage, which is not what is tested here
    run = copy_run(authors_run, tmp_path / "run")
    assert yaml.safe_load((run / "config.yaml").read_text()) == authors_config()
    kept = [
        run / "results" / AUTHORS_CORPUS / "labels_AR.parquet",  # the shared label stage
        run / "results" / AUTHORS_CORPUS / "models/AR/fold1/predictions.parquet",  # authors
        run / "results" / AUTHORS_CORPUS / "metrics.parquet",
    ]
    stamps = [path.stat().st_mtime_ns for path in kept]
    proc = snakemake(run, "--cores", "2", "protocol_comparison")
    assert [path.stat().st_mtime_ns for path in kept] == stamps, "the authors run was redone"
    assert "train_fold_protocol" in proc.stdout + proc.stderr
    assert not (run / "results" / "protocols" / "authors").exists()
    paper = run / "results" / "protocols" / "paper"
    assert (paper / AUTHORS_CORPUS / "metrics.parquet").is_file()
    assert (paper / "tables" / "table4.md").is_file()
    table = pd.read_csv(run / "results" / "tables" / "protocols.csv")
    assert len(table) == 3 * 3 * 3  # train rules x test rules x metrics
    assert set(table["metric"]) == {"macro_f1", "kld", "jsd"}
    assert (table["difference"] - (table["authors"] - table["paper"])).abs().max() < 1e-12
    assert table["p_value"].between(0, 1).all()
    md = (run / "results" / "tables" / "protocols.md").read_text()
    assert "Paper vs authors protocol" in md and "training.optimizer: adamw vs adam" in md
    # the paper's numbers beside both presets: one column pair and one summary line each
    summary = pd.read_csv(run / "results" / "tables" / "protocols_vs_paper_summary.csv")
    assert set(summary["protocol"]) == {"paper", "authors"}
    assert len(summary) == 2 * 5  # Tables 3-6 and Sec. 4.1, per protocol
    md = (run / "results" / "tables" / "protocols_vs_paper.md").read_text()
    assert "reproduced (paper)" in md and "reproduced (authors)" in md
