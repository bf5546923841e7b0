"""Pooling checks, test-set construction and the evaluate_corpus entry point."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import entropy
from sklearn.metrics import f1_score

from serrules.base.classes import RULES, prefixed
from serrules.corpora.formats import corpus_format
from serrules.evaluation import PredictionError, evaluate_corpus
from serrules.evaluation.bootstrap import BootstrapSettings
from serrules.evaluation.corpus_metrics import METRICS_COLUMNS, read_metrics
from serrules.evaluation.metrics import EPSILON, clip_renormalise
from serrules.evaluation.pooled_corpus import CorpusFiles

FMT = "msp-improv"
CLASSES = corpus_format(FMT).classes
C = len(CLASSES)
N = 60
N_FOLDS = 3


def _write_corpus(root: Path, seed: int = 0) -> dict:
    """A tiny corpus: 60 utterances, 3 folds (utterance i tests in fold i % 3 + 1), u059's audio
    missing, 6 speakers; MR/PR/AR label tables and per-fold predictions of three train rules."""
    rng = np.random.default_rng(seed)
    ids = [f"u{i:03d}" for i in range(N)]
    votes = rng.poisson(0.9, size=(N, C))
    votes[votes.sum(axis=1) == 0, 0] = 1
    utterances = pd.DataFrame({"utterance_id": ids, "speaker": [f"s{i % 6}" for i in range(N)]})
    for j, col in enumerate(prefixed("votes_", CLASSES)):
        utterances[col] = votes[:, j].astype("int32")
    share = votes / votes.sum(axis=1, keepdims=True)
    top = share.max(axis=1)
    keep = {
        "MR": top > 0.5,
        "PR": (share == top[:, None]).sum(axis=1) == 1,
        "AR": np.ones(N, dtype=bool),
    }
    paths: dict = {"labels": {}}
    root.mkdir(parents=True, exist_ok=True)
    paths["utterances"] = root / "utterances.parquet"
    utterances.to_parquet(paths["utterances"])
    for rule, mask in keep.items():
        t = (share > 1 / C) if rule == "AR" else (share == top[:, None])
        table = pd.DataFrame({"utterance_id": np.array(ids)[mask]})
        for j, col in enumerate(prefixed("t_", CLASSES)):
            table[col] = t[mask, j].astype("int8")
        paths["labels"][rule] = root / f"labels_{rule}.parquet"
        table.to_parquet(paths["labels"][rule])
    fold_of = np.arange(N) % N_FOLDS + 1
    rows = []
    for fold in range(1, N_FOLDS + 1):
        for i, uid in enumerate(ids):
            part = "test" if fold_of[i] == fold else ("dev" if i % 5 == 0 else "train")
            rows.append((fold, uid, part))
    paths["folds"] = root / "folds.parquet"
    pd.DataFrame(rows, columns=["fold", "utterance_id", "part"]).to_parquet(paths["folds"])
    status = np.where(np.arange(N) == N - 1, "missing_file", "ok")
    paths["audio"] = root / "audio_index.parquet"
    pd.DataFrame({"utterance_id": ids, "status": status}).to_parquet(paths["audio"])
    paths["predictions"] = {}
    probs_by_rule = {}
    for r, rule in enumerate(RULES):
        logits = rng.normal(size=(N, C)) + (1.0 + r) * share
        probs = (np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)).astype("float32")
        probs_by_rule[rule] = probs
        files = []
        for fold in range(1, N_FOLDS + 1):
            rows_mask = (fold_of == fold) & (status == "ok")
            frame = pd.DataFrame({"utterance_id": np.array(ids)[rows_mask], "fold": fold})
            for j, col in enumerate(prefixed("p_", CLASSES)):
                frame[col] = probs[rows_mask, j]
            path = root / "models" / rule / f"fold{fold}" / "predictions.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            frame.to_parquet(path)
            files.append(path)
        paths["predictions"][rule] = files
    paths.update(ids=np.array(ids), share=share, probs=probs_by_rule, keep=keep, ok=status == "ok")
    return paths


def _evaluate(paths: dict, tmp_path: Path, **kwargs) -> pd.DataFrame:
    files = CorpusFiles(
        corpus="toy",
        fmt=FMT,
        utterances=paths["utterances"],
        labels=paths["labels"],
        folds=paths["folds"],
        audio_index=paths["audio"],
        predictions=paths["predictions"],
    )
    keys = ("n_bootstrap", "alpha", "unit", "epsilon")
    bootstrap = BootstrapSettings.from_mapping(
        {"n_bootstrap": 200, **{k: v for k, v in kwargs.items() if k in keys}}
    )
    return evaluate_corpus(
        files,
        bootstrap=bootstrap,
        out_path=tmp_path / "metrics.parquet",
        **{k: v for k, v in kwargs.items() if k not in keys},
    )


@pytest.fixture
def corpus(tmp_path: Path) -> dict:
    return _write_corpus(tmp_path / "toy")


def test_evaluate_corpus_values_and_file(corpus: dict, tmp_path: Path) -> None:
    frame = _evaluate(corpus, tmp_path)
    assert list(frame.columns) == list(METRICS_COLUMNS)
    assert len(frame) == 27
    assert list(frame["train_rule"].iloc[::9]) == list(RULES)
    assert list(frame["test_rule"].iloc[:9:3]) == list(RULES)
    assert list(frame["metric"].iloc[:3]) == ["macro_f1", "kld", "jsd"]
    written, settings = read_metrics(tmp_path / "metrics.parquet")
    pd.testing.assert_frame_equal(written, frame)
    assert settings == {
        "n_bootstrap": 200,
        "alpha": 5.0,
        "unit": "utterance",
        "epsilon": EPSILON,
        "divergence_target": "votes",
        "label_smoothing": 0.0,
        # the fold predictions' origin: written here without a workflow job or a command
        "predictions": {"rule": None, "code": None, "settings": None},
    }
    assert frame.loc[frame["train_rule"] == "AR", "p_value_vs_AR"].isna().all()
    others = frame.loc[frame["train_rule"] != "AR", "p_value_vs_AR"]
    assert others.between(0, 1).all() and others.notna().all()
    ok = corpus["ok"]
    for test_rule in RULES:
        mask = corpus["keep"][test_rule] & ok
        sub = frame[frame["test_rule"] == test_rule]
        assert (sub["n_utterances"] == mask.sum()).all()
        truth = corpus["share"][mask] > 1 / C if test_rule == "AR" else None
        if truth is None:
            share = corpus["share"][mask]
            truth = share == share.max(axis=1, keepdims=True)
        for train_rule in RULES:
            probs = corpus["probs"][train_rule][mask].astype(np.float64)
            row = sub[sub["train_rule"] == train_rule].set_index("metric")
            expected_f1 = f1_score(
                truth.astype(int), (probs > 1 / C).astype(int), average="macro", zero_division=0
            )
            assert row.loc["macro_f1", "value"] == pytest.approx(expected_f1, abs=1e-15)
            t = clip_renormalise(corpus["share"][mask])
            p = clip_renormalise(probs)
            kld = np.mean([entropy(t[i], p[i]) for i in range(len(t))])
            assert row.loc["kld", "value"] == pytest.approx(kld, rel=1e-10)
            assert (row["low"] <= row["high"]).all()


def test_speaker_unit_changes_intervals_not_values(corpus: dict, tmp_path: Path) -> None:
    by_utt = _evaluate(corpus, tmp_path)
    by_spk = _evaluate(corpus, tmp_path, unit="speaker")
    np.testing.assert_array_equal(by_utt["value"], by_spk["value"])
    assert not np.array_equal(by_utt["low"], by_spk["low"])
    with pytest.raises(ValueError, match="unit"):
        _evaluate(corpus, tmp_path, unit="dialog")


def _rewrite(path: Path, change) -> None:
    frame = pd.read_parquet(path)
    change(frame).to_parquet(path)


def _expect_error(corpus: dict, tmp_path: Path, path: Path, *patterns: str) -> None:
    with pytest.raises(PredictionError) as info:
        _evaluate(corpus, tmp_path)
    message = str(info.value)
    assert str(path) in message
    for pattern in patterns:
        assert re.search(pattern, message), message


def test_missing_utterance_names_file_and_id(corpus: dict, tmp_path: Path) -> None:
    path = corpus["predictions"]["PR"][1]
    first = pd.read_parquet(path)["utterance_id"].iloc[0]
    _rewrite(path, lambda f: f.iloc[1:])
    _expect_error(corpus, tmp_path, path, "1 expected test utterances have no prediction", first)


def test_missing_fold_file_is_named(corpus: dict, tmp_path: Path) -> None:
    corpus["predictions"]["MR"] = corpus["predictions"]["MR"][:2]
    with pytest.raises(PredictionError, match="no prediction file for fold 3"):
        _evaluate(corpus, tmp_path)


def test_duplicated_utterance_names_file(corpus: dict, tmp_path: Path) -> None:
    path = corpus["predictions"]["MR"][0]
    _rewrite(path, lambda f: pd.concat([f, f.iloc[[3]]]))
    dup = pd.read_parquet(path)["utterance_id"].iloc[3]
    _expect_error(corpus, tmp_path, path, "1 repeated utterance_id value", dup)


def test_row_sums_must_be_one(corpus: dict, tmp_path: Path) -> None:
    path = corpus["predictions"]["AR"][2]

    def scale(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[frame.index[4], "p_anger"] += 0.01  # row sum now 1.01
        return frame

    _rewrite(path, scale)
    bad = pd.read_parquet(path)["utterance_id"].iloc[4]
    _expect_error(corpus, tmp_path, path, r"1 rows do not sum to 1", bad)


def test_small_float32_rounding_is_accepted(corpus: dict, tmp_path: Path) -> None:
    path = corpus["predictions"]["AR"][2]

    def nudge(frame: pd.DataFrame) -> pd.DataFrame:
        frame["p_anger"] = (frame["p_anger"] + 5e-5).astype("float32")
        return frame

    _rewrite(path, nudge)
    assert len(_evaluate(corpus, tmp_path, n_bootstrap=10)) == 27


def test_out_of_range_and_non_finite(corpus: dict, tmp_path: Path) -> None:
    path = corpus["predictions"]["AR"][0]

    def nan(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[frame.index[0], "p_sadness"] = np.nan
        return frame

    _rewrite(path, nan)
    _expect_error(corpus, tmp_path, path, "non-finite")


def test_fold_column_must_match_folder(corpus: dict, tmp_path: Path) -> None:
    path = corpus["predictions"]["MR"][0]  # .../fold1/predictions.parquet
    _rewrite(path, lambda f: f.assign(fold=2))
    _expect_error(corpus, tmp_path, path, "fold column says 2", "fold1")


def test_utterance_of_another_fold_names_file(corpus: dict, tmp_path: Path) -> None:
    path = corpus["predictions"]["MR"][0]
    other = pd.read_parquet(corpus["predictions"]["MR"][1]).iloc[[0]].assign(fold=1)
    _rewrite(path, lambda f: pd.concat([f, other]))
    _expect_error(
        corpus, tmp_path, path, "not in the test part of fold 1", other["utterance_id"].iloc[0]
    )


def test_two_files_for_one_fold(corpus: dict, tmp_path: Path) -> None:
    files = corpus["predictions"]["PR"]
    corpus["predictions"]["PR"] = [*files, files[0]]
    _expect_error(corpus, tmp_path, files[0], "already covered")


def test_prediction_for_audio_failure_is_rejected(corpus: dict, tmp_path: Path) -> None:
    path = corpus["predictions"]["AR"][2]  # u059 (fold 3) has no audio
    extra = pd.read_parquet(path).iloc[[0]].assign(utterance_id="u059")
    _rewrite(path, lambda f: pd.concat([f, extra]))
    _expect_error(corpus, tmp_path, path, "not audio-ok", "u059")


def test_missing_probability_column(corpus: dict, tmp_path: Path) -> None:
    path = corpus["predictions"]["AR"][1]
    _rewrite(path, lambda f: f.drop(columns="p_happiness"))
    _expect_error(corpus, tmp_path, path, "lacks column.*p_happiness")


def test_ar_labels_must_cover_every_pooled_utterance(corpus: dict, tmp_path: Path) -> None:
    path = corpus["labels"]["AR"]
    _rewrite(path, lambda f: f[f["utterance_id"] != "u010"])
    with pytest.raises(PredictionError, match=r"no AR label row: u010"):
        _evaluate(corpus, tmp_path)


def test_repeated_utterance_rows_are_rejected(corpus: dict, tmp_path: Path) -> None:
    path = corpus["utterances"]
    _rewrite(path, lambda f: pd.concat([f, f.iloc[[7]]]))
    _expect_error(corpus, tmp_path, path, "1 repeated utterance_id value.*: u007")


def test_pooled_utterance_without_valid_vote_is_rejected(corpus: dict, tmp_path: Path) -> None:
    path = corpus["utterances"]
    votes = [c for c in pd.read_parquet(path).columns if c.startswith("votes_")]

    def no_votes(frame: pd.DataFrame) -> pd.DataFrame:
        frame.loc[frame["utterance_id"] == "u012", votes] = 0
        return frame

    _rewrite(path, no_votes)
    _expect_error(corpus, tmp_path, path, "1 pooled utterances have no valid vote: u012")


def test_scoring_reads_the_fold_table_named_by_metrics_parquet(corpus: dict) -> None:
    """A metrics.parquet written under the authors' IEMOCAP folds (``training.iemocap_folds:
    authors`` in its protocol record) makes ``serrules score`` check predictions against
    ``folds_authors.parquet``; a folder without that table is an error naming it."""
    from serrules.evaluation.system_scoring import FOLDS_KEY, load_corpus_labels

    root = corpus["utterances"].parent
    record = {"protocol": "authors", "settings": {FOLDS_KEY: "authors"}, "overrides": []}
    _evaluate(corpus, root, protocol=record)
    with pytest.raises(
        PredictionError, match=r"folds_authors\.parquet: missing \(fold table named by .*metrics"
    ):
        load_corpus_labels(root)
    authors = pd.read_parquet(corpus["folds"])
    authors["fold"] = authors["fold"] % N_FOLDS + 1  # another fold of each test utterance
    authors.to_parquet(root / "folds_authors.parquet")
    test = authors[
        (authors["part"] == "test") & authors["utterance_id"].isin(corpus["ids"][corpus["ok"]])
    ]
    want = test.set_index("utterance_id")["fold"].sort_index()
    got = load_corpus_labels(root).expected
    assert got.to_dict() == want.to_dict()


def test_score_system_reproduces_metrics_parquet_exactly(corpus: dict) -> None:
    """``serrules score``'s scoring of MR against AR (two systems) gives the numbers of
    metrics.parquet (three systems) bit for bit: one computation on the same arrays, whose
    bootstrap sums do not depend on the other systems, the BLAS kernel or its threads (run under
    .ci/float-matrix, e.g. OPENBLAS_CORETYPE=Haswell, where a BLAS product of all systems at once
    differed in the last bit)."""
    from serrules.evaluation.system_scoring import load_corpus_labels, score_system

    root = corpus["utterances"].parent
    metrics = _evaluate(corpus, root).set_index(["train_rule", "test_rule", "metric"]).sort_index()
    labels = load_corpus_labels(root)
    got = (
        score_system(
            labels,
            corpus["predictions"]["MR"],
            name="MR",
            against=corpus["predictions"]["AR"],
            against_name="AR",
        )
        .frame.set_index(["system", "test_rule", "metric"])
        .sort_index()
    )
    for system in ("MR", "AR"):
        want = metrics.loc[system]
        have = got.loc[system].loc[want.index]
        for column in ("value", "low", "high", "n_utterances"):
            np.testing.assert_array_equal(have[column].to_numpy(), want[column].to_numpy())
    np.testing.assert_array_equal(
        got.loc["MR"].loc[metrics.loc["MR"].index, "p_value"].to_numpy(),
        metrics.loc["MR", "p_value_vs_AR"].to_numpy(),
    )


def test_fold_predictions_of_different_origins_are_refused(corpus: dict, tmp_path: Path) -> None:
    """One fold retrained after a code change while the others were not: the evaluation (and
    the views, which pool the same way) refuse to pool, naming each group of fold files with its
    code and settings digests; files of one origin are pooled, and their origin is stored with
    the metrics. A fold written before provenance was recorded does not pass for either."""
    from serrules.base.errors import ProvenanceError
    from serrules.base.provenance import set_origin, short
    from serrules.base.tables import write_parquet
    from serrules.evaluation.pooled_corpus import load_pooled_corpus

    old, new = "sha256:" + "1" * 64, "sha256:" + "2" * 64

    def rewrite(path: Path, code: str | None) -> None:
        frame = pd.read_parquet(path)
        if code is None:
            frame.to_parquet(path)  # as written before provenance was recorded
            return
        set_origin(rule="train_fold", code=code, settings=old)
        write_parquet(frame, path)

    paths = [p for rule in RULES for p in corpus["predictions"][rule]]
    stale = corpus["predictions"]["AR"][1]
    try:
        for path in paths:
            rewrite(path, old)
        _evaluate(corpus, tmp_path)
        _, settings = read_metrics(tmp_path / "metrics.parquet")
        assert settings["predictions"] == {"rule": "train_fold", "code": old, "settings": old}
        for code, note in ((new, f"code {short(new)}"), (None, "no provenance")):
            rewrite(stale, code)
            with pytest.raises(ProvenanceError) as err:
                _evaluate(corpus, tmp_path / "mixed")
            text = str(err.value)
            assert text.startswith("toy: the fold predictions come from different code")
            assert f"{note}" in text and f"AR_train {stale}" in text
            others = [f"{rule}_train {p}" for rule in RULES for p in corpus["predictions"][rule]]
            assert (
                f"code {short(old)}, settings {short(old)}: "
                + ", ".join(o for o in others if not o.endswith(str(stale)))
                in text
            )
            assert not (tmp_path / "mixed" / "metrics.parquet").exists()
        files = CorpusFiles("toy", FMT, corpus["utterances"], corpus["labels"], corpus["folds"],
                            corpus["audio"], corpus["predictions"])  # fmt: skip
        with pytest.raises(ProvenanceError, match="AR_train"):
            load_pooled_corpus(files)
    finally:
        set_origin(rule=None, code=None, settings=None)
