"""Per-class scores, multi-label confusion, calibration (ECE) and training curves: values
against direct loops and scikit-learn, figures, bad inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score, precision_score, recall_score

from serrules.base.classes import RULES
from serrules.corpora.formats import corpus_format
from serrules.evaluation import pooling
from serrules.evaluation.calibration import (
    ALL_CLASSES,
    calibration_table,
    classwise_ece,
    pooled_ece,
    reliability_table,
)
from serrules.evaluation.metrics import macro_f1, predicted_presence
from serrules.evaluation.per_class import (
    co_occurrence,
    confusion_table,
    per_class_scores,
)
from serrules.evaluation.pooled_corpus import PooledCorpus
from serrules.reporting.evaluation_views import (
    confusion_figure,
    per_class_figure,
    reliability_figure,
)
from serrules.reporting.training_curves import read_train_logs, training_curves_figure

FMT = "msp-improv"
CLASSES = corpus_format(FMT).classes


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def ece_loop(p: np.ndarray, y: np.ndarray, n_bins: int) -> tuple[float, float]:
    """Class-wise and pooled ECE by the definition, one utterance at a time."""
    n, c = p.shape
    classwise = 0.0
    pooled_cells: dict[int, list[tuple[float, float]]] = {}
    for j in range(c):
        cells: dict[int, list[tuple[float, float]]] = {}
        for i in range(n):
            b = n_bins - 1 if p[i, j] == 1.0 else int(p[i, j] * n_bins)
            cells.setdefault(b, []).append((p[i, j], y[i, j]))
            pooled_cells.setdefault(b, []).append((p[i, j], y[i, j]))
        for members in cells.values():
            conf = sum(m[0] for m in members) / len(members)
            obs = sum(m[1] for m in members) / len(members)
            classwise += len(members) / n * abs(conf - obs)
    pooled = sum(
        len(m) / (n * c) * abs(sum(v[0] for v in m) / len(m) - sum(v[1] for v in m) / len(m))
        for m in pooled_cells.values()
    )
    return classwise / c, pooled


@pytest.mark.parametrize("n_bins", [1, 5, 10, 15])
@pytest.mark.parametrize("seed", [0, 1])
def test_ece_equals_the_direct_loop(n_bins, seed):
    rng = np.random.default_rng(seed)
    p = _softmax(rng.normal(0, 2, size=(200, 4)))
    p[0] = [1.0, 0.0, 0.0, 0.0]  # bin edges: p = 1 in the last bin, p = 0 in the first
    p[1] = [0.5, 0.5, 0.0, 0.0]
    votes = rng.integers(0, 4, size=(200, 4)).astype(float)
    votes[votes.sum(axis=1) == 0, 0] = 1
    y = votes / votes.sum(axis=1, keepdims=True)
    want_classwise, want_pooled = ece_loop(p, y, n_bins)
    assert classwise_ece(p, y, n_bins) == pytest.approx(want_classwise, abs=1e-12)
    assert pooled_ece(p, y, n_bins) == pytest.approx(want_pooled, abs=1e-12)


def test_ece_of_calibrated_and_overconfident_predictions():
    y = np.array([[0.5, 0.5], [0.5, 0.5], [0.2, 0.8]])
    assert classwise_ece(y, y, 10) == pytest.approx(0.0)
    # one-hot predictions against 50/50 votes: every bin misses by 0.5
    p = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert classwise_ece(p, np.full((2, 2), 0.5), 10) == pytest.approx(0.5)


def test_ece_bad_inputs():
    with pytest.raises(ValueError, match="must be equal"):
        classwise_ece(np.ones((3, 2)) / 2, np.ones((3, 3)) / 3)
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        classwise_ece(np.array([[1.2, -0.2]]), np.array([[0.5, 0.5]]))
    with pytest.raises(ValueError, match="n_bins"):
        classwise_ece(np.ones((3, 2)) / 2, np.ones((3, 2)) / 2, n_bins=0)


@pytest.fixture
def pooled_corpus() -> PooledCorpus:
    """Three systems and three test sets on 120 utterances (MR/PR keep subsets, one-hot)."""
    rng = np.random.default_rng(3)
    n, c = 120, len(CLASSES)
    votes = rng.integers(0, 4, size=(n, c)).astype(float)
    votes[votes.sum(axis=1) == 0, 1] = 2
    shares = votes / votes.sum(axis=1, keepdims=True)
    pooled = {rule: _softmax(rng.normal(0, 1.5, size=(n, c)) + 2 * shares) for rule in RULES}
    ids = np.array([f"u{i:03d}" for i in range(n)])
    test_sets = {}
    winner = votes.argmax(axis=1)
    for rule, keep in (
        ("MR", np.flatnonzero(shares.max(axis=1) > 0.5)),
        ("PR", np.flatnonzero((votes == votes.max(axis=1, keepdims=True)).sum(axis=1) == 1)),
        ("AR", np.arange(n)),
    ):
        truth = shares[keep] > 1 / c if rule == "AR" else np.eye(c, dtype=bool)[winner[keep]]
        test_sets[rule] = pooling.TestSet(
            rule, ids[keep], keep, truth, shares[keep], np.array(["s"] * len(keep), dtype=object)
        )
    return PooledCorpus("toy", CLASSES, pooled, test_sets)


def test_per_class_scores_match_sklearn_and_macro_f1(pooled_corpus):
    frame = per_class_scores(pooled_corpus)
    assert len(frame) == 3 * 3 * len(CLASSES)
    for (train_rule, test_rule), part in frame.groupby(["train_rule", "test_rule"]):
        test = pooled_corpus.test_sets[test_rule]
        predicted = predicted_presence(pooled_corpus.pooled[train_rule][test.positions])
        kwargs = {"average": None, "zero_division": 0}
        np.testing.assert_allclose(part["f1"], f1_score(test.truth, predicted, **kwargs))
        np.testing.assert_allclose(
            part["precision"], precision_score(test.truth, predicted, **kwargs)
        )
        np.testing.assert_allclose(part["recall"], recall_score(test.truth, predicted, **kwargs))
        assert part["f1"].mean() == pytest.approx(macro_f1(test.truth, predicted), abs=1e-15)
        assert part["support"].tolist() == test.truth.sum(axis=0).tolist()
        assert (part["n_utterances"] == test.size).all()


def test_co_occurrence_equals_a_loop(pooled_corpus):
    rng = np.random.default_rng(0)
    truth = rng.random((50, 4)) > 0.6
    predicted = rng.random((50, 4)) > 0.5
    want = np.zeros((4, 4), dtype=int)
    for t, p in zip(truth, predicted, strict=True):
        for i in np.flatnonzero(t):
            for j in np.flatnonzero(p):
                want[i, j] += 1
    np.testing.assert_array_equal(co_occurrence(truth, predicted), want)
    table = confusion_table(pooled_corpus)
    assert len(table) == 3 * len(CLASSES) ** 2
    per_class = per_class_scores(pooled_corpus)
    recall = per_class[per_class["test_rule"] == "AR"].set_index(["train_rule", "class"])["recall"]
    diagonal = table[table["true_class"] == table["predicted_class"]]
    for row in diagonal.itertuples():
        assert row.share == pytest.approx(recall[(row.train_rule, row.true_class)])


def test_calibration_tables(pooled_corpus):
    calibration = calibration_table(pooled_corpus, n_bins=10)
    assert len(calibration) == 9
    ar = pooled_corpus.test_sets["AR"]
    row = calibration.set_index(["train_rule", "test_rule"]).loc[("PR", "AR")]
    probs = pooled_corpus.pooled["PR"][ar.positions]
    assert row["ece_classwise"] == classwise_ece(probs, ar.target, 10)
    reliability = reliability_table(pooled_corpus, n_bins=10)
    pooled_rows = reliability[(reliability["class"] == ALL_CLASSES)]
    assert pooled_rows.groupby("train_rule")["count"].sum().eq(ar.size * len(CLASSES)).all()
    per_class_rows = reliability[reliability["class"] != ALL_CLASSES]
    assert per_class_rows.groupby(["train_rule", "class"])["count"].sum().eq(ar.size).all()
    # the pooled ECE is the count-weighted gap of the diagram's bins
    part = pooled_rows[pooled_rows["train_rule"] == "PR"].dropna()
    gap = (part["count"] * (part["mean_predicted"] - part["mean_observed"]).abs()).sum()
    assert gap / (ar.size * len(CLASSES)) == pytest.approx(row["ece_pooled"])


def test_figures_draw(pooled_corpus, tmp_path):
    per_class = per_class_scores(pooled_corpus)
    confusion = confusion_table(pooled_corpus)
    calibration = calibration_table(pooled_corpus)
    reliability = reliability_table(pooled_corpus)
    for name, fig in (
        ("per_class", per_class_figure(per_class, CLASSES)),
        ("confusion", confusion_figure(confusion, CLASSES)),
        ("reliability", reliability_figure(reliability, calibration)),
    ):
        fig.savefig(tmp_path / f"{name}.png", dpi=50)
        assert (tmp_path / f"{name}.png").stat().st_size > 2000
        titles = " ".join(ax.get_title() for ax in fig.axes)
        assert "train" in titles or "test" in titles


def _write_log(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(path, index=False)


def test_training_curves_read_logs_and_draw(tmp_path):
    logs = {}
    for rule in RULES:
        logs[rule] = []
        for fold in (1, 2):
            path = tmp_path / rule / f"fold{fold}" / "train_log.csv"
            _write_log(
                path,
                {
                    "epoch": [1, 2, 3],
                    "train_loss": [2.0, 1.5, 1.2],
                    "dev_loss": [2.1, 1.9, 2.0],
                    "seconds": [0.1] * 3,
                    "peak_memory_mb": [1.0] * 3,
                    "best": [False, True, False],
                },
            )
            logs[rule].append(path)
    frame = read_train_logs(logs)
    assert len(frame) == 3 * 2 * 3
    assert set(frame["fold"]) == {1, 2}
    fig = training_curves_figure(frame, "toy")
    fig.savefig(tmp_path / "curves.png", dpi=50)
    assert [ax.get_title() for ax in fig.axes] == [f"{r}_train" for r in RULES]
    # every fold's dev curve and its kept epoch are drawn: 3 lines per fold and panel
    assert all(len(ax.get_lines()) == 3 * 2 for ax in fig.axes)


def test_training_logs_bad_inputs(tmp_path):
    bad = tmp_path / "fold1" / "train_log.csv"
    _write_log(bad, {"epoch": [1], "train_loss": [1.0]})
    with pytest.raises(ValueError, match="lacks column"):
        read_train_logs({"AR": [bad]})
    elsewhere = tmp_path / "x" / "train_log.csv"
    _write_log(elsewhere, {"epoch": [1]})
    with pytest.raises(ValueError, match="fold<k> folder"):
        read_train_logs({"AR": [elsewhere]})
