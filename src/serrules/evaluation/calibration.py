"""Calibration of predicted class distributions against the raters' vote distributions.

A model trained on soft labels predicts a distribution ``p`` over the C classes; the raters'
distribution ``y`` (vote shares over the C classes, "Other" excluded: the KLD/JSD target) is
what it should match. The model is *calibrated* when, among the utterances to which it gives
class ``j`` a probability of about ``q``, class ``j`` gets on average a share ``q`` of the
votes: ``E[y_j | p_j = q] = q``.

**Expected calibration error (class-wise, against the vote distribution).** The probability
range [0, 1] is cut into ``M`` equal-width bins (:data:`CALIBRATION_BINS`; bin ``b`` =
``[b/M, (b+1)/M)``, the last bin closed at 1). For class ``j`` and bin ``b`` let ``B_jb`` be the
utterances with ``p_j`` in the bin, ``conf_jb`` the mean of their ``p_j`` and ``obs_jb`` the
mean of their vote share ``y_j``. Then

    ECE = (1/C) * sum_j sum_b (|B_jb| / N) * |conf_jb - obs_jb|

over the N utterances of a test set (the class-wise ECE of Kull et al., 2019, also called the
static calibration error of Nixon et al., 2019, with the vote share in place of a 0/1 label).
For one-hot targets (MR/PR) it is the usual class-wise ECE; 0 means perfectly calibrated,
the largest value is 1.

**Pooled ECE**: the same sum over all N x C (utterance, class) pairs binned together,
``sum_b (|B_b| / (N C)) |conf_b - obs_b|``; it is what the reliability diagram shows.

Both are computed with ``np.bincount`` over (class, bin) cells; ``tests/test_calibration.py``
checks them against a direct loop over classes, bins and utterances.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from serrules.base.tables import contract
from serrules.evaluation.pooled_corpus import (
    PooledCorpus,
)

#: Number of equal-width probability bins of the ECE and the reliability diagram.
CALIBRATION_BINS = 10
#: Bins with fewer (utterance, class) pairs are drawn faint in the reliability diagram.
MIN_PAIRS_SHOWN = 10
#: Test set of the reliability diagram (every pooled utterance).
RELIABILITY_TEST_RULE = "AR"
#: Name of the pooled (all classes) rows of the reliability table.
ALL_CLASSES = "(all)"

#: Columns of ``calibration.parquet`` and ``reliability.parquet`` (:mod:`serrules.base.tables`).
CALIBRATION_COLUMNS: tuple[str, ...] = tuple(contract("calibration").column_names())
RELIABILITY_COLUMNS: tuple[str, ...] = tuple(contract("reliability").column_names())


def _check(probabilities: np.ndarray, target: np.ndarray, n_bins: int) -> tuple:
    p = np.asarray(probabilities, dtype=np.float64)
    y = np.asarray(target, dtype=np.float64)
    if p.ndim != 2 or p.shape != y.shape or p.shape[0] == 0:
        raise ValueError(f"probabilities {p.shape} and target {y.shape} must be equal (n, C)")
    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins}")
    if not (np.isfinite(p).all() and (p >= 0).all() and (p <= 1).all()):
        raise ValueError("probabilities must be finite and in [0, 1]")
    return p, y


def bin_index(probabilities: np.ndarray, n_bins: int = CALIBRATION_BINS) -> np.ndarray:
    """Bin of each probability: ``floor(p * M)``, with ``p = 1`` in the last bin."""
    return np.minimum((np.asarray(probabilities) * n_bins).astype(np.int64), n_bins - 1)


def reliability_bins(
    probabilities: np.ndarray, target: np.ndarray, n_bins: int = CALIBRATION_BINS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per class and bin (arrays C x M): count, sum of predicted probabilities, sum of vote
    shares."""
    p, y = _check(probabilities, target, n_bins)
    n_classes = p.shape[1]
    cell = (np.arange(n_classes)[None, :] * n_bins + bin_index(p, n_bins)).ravel()
    size = n_classes * n_bins
    count = np.bincount(cell, minlength=size).reshape(n_classes, n_bins)
    sum_p = np.bincount(cell, weights=p.ravel(), minlength=size).reshape(n_classes, n_bins)
    sum_y = np.bincount(cell, weights=y.ravel(), minlength=size).reshape(n_classes, n_bins)
    return count, sum_p, sum_y


def _gap(count: np.ndarray, sum_p: np.ndarray, sum_y: np.ndarray) -> np.ndarray:
    safe = np.where(count > 0, count, 1)
    return np.where(count > 0, np.abs(sum_p / safe - sum_y / safe), 0.0)


def classwise_ece(
    probabilities: np.ndarray, target: np.ndarray, n_bins: int = CALIBRATION_BINS
) -> float:
    """Class-wise ECE against the vote distribution (module docstring)."""
    count, sum_p, sum_y = reliability_bins(probabilities, target, n_bins)
    n, n_classes = np.shape(probabilities)
    return float((count * _gap(count, sum_p, sum_y)).sum() / (n * n_classes))


def pooled_ece(
    probabilities: np.ndarray, target: np.ndarray, n_bins: int = CALIBRATION_BINS
) -> float:
    """ECE with all (utterance, class) pairs binned together (module docstring)."""
    count, sum_p, sum_y = (a.sum(axis=0) for a in reliability_bins(probabilities, target, n_bins))
    n, n_classes = np.shape(probabilities)
    return float((count * _gap(count, sum_p, sum_y)).sum() / (n * n_classes))


def calibration_table(data: PooledCorpus, n_bins: int = CALIBRATION_BINS) -> pd.DataFrame:
    """Class-wise and pooled ECE of every train rule on every test rule."""
    rows = []
    for train_rule, probs in data.pooled.items():
        for test_rule, test in data.test_sets.items():
            p = probs[test.positions]
            rows.append(
                (data.corpus, train_rule, test_rule, classwise_ece(p, test.target, n_bins),
                 pooled_ece(p, test.target, n_bins), test.size, n_bins)
            )  # fmt: skip
    return pd.DataFrame(rows, columns=list(CALIBRATION_COLUMNS))


def reliability_table(
    data: PooledCorpus, n_bins: int = CALIBRATION_BINS, test_rule: str = RELIABILITY_TEST_RULE
) -> pd.DataFrame:
    """Reliability-diagram bins of every train rule on ``test_rule``: per class and pooled
    (class ``(all)``); empty bins are kept with count 0 and NaN means."""
    test = data.test_sets[test_rule]
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    rows = []
    for train_rule, probs in data.pooled.items():
        count, sum_p, sum_y = reliability_bins(probs[test.positions], test.target, n_bins)
        per_class = [(name, count[j], sum_p[j], sum_y[j]) for j, name in enumerate(data.classes)]
        pooled = (ALL_CLASSES, count.sum(axis=0), sum_p.sum(axis=0), sum_y.sum(axis=0))
        for name, c, sp, sy in [pooled, *per_class]:
            with np.errstate(invalid="ignore", divide="ignore"):
                mean_p, mean_y = sp / c, sy / c
            for b in range(n_bins):
                rows.append(
                    (data.corpus, train_rule, test_rule, name, b, edges[b], edges[b + 1],
                     int(c[b]), mean_p[b] if c[b] else np.nan, mean_y[b] if c[b] else np.nan)
                )  # fmt: skip
    return pd.DataFrame(rows, columns=list(RELIABILITY_COLUMNS))


__all__ = [
    "ALL_CLASSES",
    "CALIBRATION_BINS",
    "CALIBRATION_COLUMNS",
    "MIN_PAIRS_SHOWN",
    "RELIABILITY_COLUMNS",
    "RELIABILITY_TEST_RULE",
    "bin_index",
    "calibration_table",
    "classwise_ece",
    "pooled_ece",
    "reliability_bins",
    "reliability_table",
]
