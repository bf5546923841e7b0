"""Per-class scores on each test set and the multi-label confusion on AR_test.

* **Per-class precision / recall / F1** of every train rule on every test rule, with the same
  decisions as macro-F1 (class present when ``p_j > 1/C``) against the test rule's truth
  (scikit-learn's ``precision_recall_fscore_support(average=None, zero_division=0)`` on the
  multi-hot arrays). The mean of a row group's F1 is the macro-F1 of ``metrics.parquet``.
* **Multi-label confusion** (co-occurrence) on AR_test: ``count[i, j]`` = number of test
  utterances whose truth holds class ``i`` *and* whose prediction holds class ``j``
  (``truth.T @ predicted``). Since an utterance can hold several true and several predicted
  classes, a row can sum to more than the utterances with class ``i``; ``share[i, j] =
  count[i, j] / n_true[i]`` is the share of the utterances with true class ``i`` for which
  ``j`` is predicted, so the diagonal is the per-class recall.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import precision_recall_fscore_support

from serrules.base.tables import contract
from serrules.evaluation.metrics import predicted_presence
from serrules.evaluation.pooled_corpus import (
    PooledCorpus,
)

#: Columns of ``per_class.parquet`` and ``confusion_AR.parquet`` (:mod:`serrules.base.tables`).
PER_CLASS_COLUMNS: tuple[str, ...] = tuple(contract("per_class").column_names())
CONFUSION_COLUMNS: tuple[str, ...] = tuple(contract("confusion_AR").column_names())
#: The test set of the confusion view.
CONFUSION_TEST_RULE = "AR"


def per_class_scores(data: PooledCorpus) -> pd.DataFrame:
    """One row per (train rule, test rule, class): precision, recall, F1, support (true
    positives + false negatives), predicted positives and the test-set size."""
    rows = []
    for train_rule, probs in data.pooled.items():
        for test_rule, test in data.test_sets.items():
            predicted = predicted_presence(probs[test.positions])
            precision, recall, f1, support = precision_recall_fscore_support(
                test.truth, predicted, average=None, zero_division=0
            )
            n_predicted = predicted.sum(axis=0)
            for j, name in enumerate(data.classes):
                rows.append(
                    (data.corpus, train_rule, test_rule, name, precision[j], recall[j], f1[j],
                     int(support[j]), int(n_predicted[j]), test.size)
                )  # fmt: skip
    return pd.DataFrame(rows, columns=list(PER_CLASS_COLUMNS))


def co_occurrence(truth: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """``count[i, j]`` = utterances with true class ``i`` and predicted class ``j`` (int64)."""
    truth = np.asarray(truth, dtype=np.int64)
    predicted = np.asarray(predicted, dtype=np.int64)
    if truth.shape != predicted.shape or truth.ndim != 2:
        raise ValueError(f"truth {truth.shape} and predictions {predicted.shape} must match (n, C)")
    return truth.T @ predicted


def confusion_table(data: PooledCorpus, test_rule: str = CONFUSION_TEST_RULE) -> pd.DataFrame:
    """Long co-occurrence table of every train rule on ``test_rule`` (see the module docstring)."""
    test = data.test_sets[test_rule]
    n_true = test.truth.sum(axis=0)
    n_classes = len(data.classes)
    frames = []
    for train_rule, probs in data.pooled.items():
        counts = co_occurrence(test.truth, predicted_presence(probs[test.positions]))
        with np.errstate(invalid="ignore", divide="ignore"):  # a class absent from the truth
            share = np.where(n_true[:, None] > 0, counts / n_true[:, None], np.nan)
        frames.append(
            pd.DataFrame(
                {
                    "corpus": data.corpus,
                    "train_rule": train_rule,
                    "true_class": np.repeat(data.classes, n_classes),
                    "predicted_class": np.tile(data.classes, n_classes),
                    "count": counts.ravel().astype(np.int64),
                    "n_true": np.repeat(n_true, n_classes).astype(np.int64),
                    "share": share.ravel(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)[list(CONFUSION_COLUMNS)]


__all__ = [
    "CONFUSION_COLUMNS",
    "CONFUSION_TEST_RULE",
    "PER_CLASS_COLUMNS",
    "co_occurrence",
    "confusion_table",
    "per_class_scores",
]
