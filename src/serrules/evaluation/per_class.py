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

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import precision_recall_fscore_support

from serrules.base.classes import RULES
from serrules.base.tables import contract
from serrules.evaluation.metrics import predicted_presence
from serrules.evaluation.pooled_corpus import (
    PathLike,
    PooledCorpus,
    save_figure,
    write_view_table,
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
    rows = []
    for train_rule, probs in data.pooled.items():
        counts = co_occurrence(test.truth, predicted_presence(probs[test.positions]))
        for i, true_class in enumerate(data.classes):
            for j, predicted_class in enumerate(data.classes):
                share = counts[i, j] / n_true[i] if n_true[i] else np.nan
                rows.append(
                    (data.corpus, train_rule, true_class, predicted_class, int(counts[i, j]),
                     int(n_true[i]), share)
                )  # fmt: skip
    return pd.DataFrame(rows, columns=list(CONFUSION_COLUMNS))


def _new_figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _heatmap(ax, values: np.ndarray, text: list[list[str]], cmap: str, vmax: float = 1.0):
    image = ax.imshow(values, cmap=cmap, vmin=0.0, vmax=vmax, aspect="auto")
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            v = values[i, j]
            dark = np.isfinite(v) and v > 0.6 * vmax
            ax.text(j, i, text[i][j], ha="center", va="center", fontsize=7,
                    color="black" if dark else "white")  # fmt: skip
    return image


def per_class_figure(frame: pd.DataFrame, classes: Sequence[str]):
    """Heat map of per-class F1: one panel per test rule, rows = classes (with their support
    on that test set), columns = train rules; each cell shows F1 x 100."""
    corpus = frame["corpus"].iloc[0]
    test_rules = [r for r in RULES if r in set(frame["test_rule"])]
    train_rules = [r for r in RULES if r in set(frame["train_rule"])]
    fig = _new_figure(
        (0.55 * len(train_rules) + 1.6) * len(test_rules) + 1.2, 0.34 * len(classes) + 1.6
    )
    axes = fig.subplots(1, len(test_rules), squeeze=False)[0]
    image = None
    for ax, test_rule in zip(axes, test_rules, strict=True):
        part = frame[frame["test_rule"] == test_rule]
        f1 = part.pivot(index="class", columns="train_rule", values="f1").loc[
            list(classes), train_rules
        ]
        support = part.drop_duplicates("class").set_index("class")["support"]
        values = f1.to_numpy(np.float64)
        text = [[f"{100 * v:.0f}" for v in row] for row in values]
        image = _heatmap(ax, values, text, "viridis")
        ax.set_xticks(range(len(train_rules)), [f"{r}_train" for r in train_rules], fontsize=7)
        ax.set_yticks(range(len(classes)), [f"{c} ({support[c]})" for c in classes], fontsize=7)
        ax.set_title(f"{test_rule}_test (n = {int(part['n_utterances'].iloc[0])})", fontsize=9)
    fig.colorbar(image, ax=list(axes), label="F1", shrink=0.9)
    fig.suptitle(f"{corpus}: per-class F1 x 100 (class support in brackets)", fontsize=10)
    return fig


def confusion_figure(frame: pd.DataFrame, classes: Sequence[str]):
    """Heat map of the AR_test co-occurrence: one panel per train rule, rows = true classes
    (with their count), columns = predicted classes, cell = share of the row's utterances for
    which the column class is predicted (%)."""
    corpus = frame["corpus"].iloc[0]
    train_rules = [r for r in RULES if r in set(frame["train_rule"])]
    size = 0.42 * len(classes) + 1.4
    fig = _new_figure(size * len(train_rules) + 1.2, size + 0.9)
    axes = fig.subplots(1, len(train_rules), sharey=True, squeeze=False)[0]
    image = None
    n_true = frame.drop_duplicates("true_class").set_index("true_class")["n_true"]
    for ax, train_rule in zip(axes, train_rules, strict=True):
        part = frame[frame["train_rule"] == train_rule]
        share = part.pivot(index="true_class", columns="predicted_class", values="share").loc[
            list(classes), list(classes)
        ]
        values = share.to_numpy(np.float64)
        text = [["" if np.isnan(v) else f"{100 * v:.0f}" for v in row] for row in values]
        image = _heatmap(ax, np.nan_to_num(values, nan=0.0), text, "magma")
        ax.set_xticks(range(len(classes)), list(classes), rotation=60, fontsize=7)
        ax.set_yticks(range(len(classes)), [f"{c} ({n_true[c]})" for c in classes], fontsize=7)
        ax.set_xlabel("predicted (p > 1/C)")
        ax.set_title(f"{train_rule}_train", fontsize=10)
    axes[0].set_ylabel("true on AR_test (share > 1/C)")
    fig.colorbar(image, ax=list(axes), label="share of the true class's utterances", shrink=0.9)
    fig.suptitle(
        f"{corpus}: multi-label confusion on AR_test (% of the row's utterances; diagonal = "
        "recall)",
        fontsize=10,
    )
    return fig


def write_per_class_views(
    data: PooledCorpus,
    *,
    per_class_path: PathLike,
    per_class_csv: PathLike,
    confusion_path: PathLike,
    confusion_csv: PathLike,
    per_class_png: PathLike,
    confusion_png: PathLike,
) -> None:
    """Write the per-class and confusion tables (Parquet and CSV) and their figures."""
    per_class = per_class_scores(data)
    confusion = confusion_table(data)
    write_view_table(per_class, per_class_path, per_class_csv)
    write_view_table(confusion, confusion_path, confusion_csv)
    save_figure(per_class_figure(per_class, data.classes), per_class_png)
    save_figure(confusion_figure(confusion, data.classes), confusion_png)


__all__ = [
    "CONFUSION_COLUMNS",
    "CONFUSION_TEST_RULE",
    "PER_CLASS_COLUMNS",
    "co_occurrence",
    "confusion_figure",
    "confusion_table",
    "per_class_figure",
    "per_class_scores",
    "write_per_class_views",
]
