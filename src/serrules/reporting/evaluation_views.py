"""The evaluation views as files: the per-class, confusion, calibration and reliability tables
(Parquet and CSV) and their figures, each written to the path its rule names. The numbers come
from :mod:`serrules.evaluation.per_class` and :mod:`serrules.evaluation.calibration`."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from serrules.base.classes import RULES
from serrules.base.files import make_parents
from serrules.base.tables import write_parquet
from serrules.evaluation.calibration import (
    ALL_CLASSES,
    CALIBRATION_BINS,
    MIN_PAIRS_SHOWN,
    calibration_table,
    reliability_table,
)
from serrules.evaluation.per_class import confusion_table, per_class_scores
from serrules.evaluation.pooled_corpus import PathLike, PooledCorpus
from serrules.reporting.figures import new_figure, save_figure


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
    fig = new_figure(
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
    fig = new_figure(size * len(train_rules) + 1.2, size + 0.9)
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


def reliability_figure(reliability: pd.DataFrame, calibration: pd.DataFrame):
    """One column per train rule: top, the pooled reliability diagram (mean vote share against
    mean predicted probability per bin, gaps to the diagonal shaded); bottom, how many
    (utterance, class) pairs fall in each bin (log scale)."""
    corpus = reliability["corpus"].iloc[0]
    test_rule = reliability["test_rule"].iloc[0]
    train_rules = [r for r in RULES if r in set(reliability["train_rule"])]
    fig = new_figure(3.4 * len(train_rules) + 0.6, 4.9)
    axes = fig.subplots(
        2, len(train_rules), sharex=True, squeeze=False, gridspec_kw={"height_ratios": [3, 1]}
    )
    ece = calibration[calibration["test_rule"] == test_rule].set_index("train_rule")
    for k, train_rule in enumerate(train_rules):
        top, bottom = axes[0, k], axes[1, k]
        part = reliability[
            (reliability["train_rule"] == train_rule) & (reliability["class"] == ALL_CLASSES)
        ]
        low = part["bin_low"].to_numpy()
        width = float(part["bin_high"].iloc[0] - low[0])
        count = part["count"].to_numpy()
        conf, obs = part["mean_predicted"].to_numpy(), part["mean_observed"].to_numpy()
        top.plot([0, 1], [0, 1], color="grey", lw=1, ls="--", label="perfect calibration")
        for b in np.flatnonzero(count):
            faint = count[b] < MIN_PAIRS_SHOWN
            alpha = 0.3 if faint else 1.0
            top.bar(low[b], obs[b], width=width, align="edge", color="#4C72B0", alpha=alpha,
                    edgecolor="white")  # fmt: skip
            top.hlines(conf[b], low[b], low[b] + width, color="#C44E52", lw=2, alpha=alpha)
            if faint:
                top.annotate(f"n={count[b]}", (low[b] + width / 2, max(obs[b], conf[b]) + 0.02),
                             ha="center", fontsize=6, color="grey")  # fmt: skip
        top.set_xlim(0, 1)
        top.set_ylim(0, 1)
        top.set_aspect("equal", adjustable="box")
        top.grid(alpha=0.3)
        row = ece.loc[train_rule]
        top.set_title(
            f"{train_rule}_train\nECE {row['ece_classwise']:.3f} class-wise, "
            f"{row['ece_pooled']:.3f} pooled",
            fontsize=9,
        )
        bottom.bar(low, count, width=width, align="edge", color="#4C72B0", edgecolor="white")
        bottom.set_yscale("log")
        bottom.set_xlabel("predicted probability p_j")
        bottom.grid(alpha=0.3)
    axes[0, 0].set_ylabel("mean vote share of class j")
    axes[1, 0].set_ylabel("pairs per bin")
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    axes[0, 0].legend(
        handles=[
            *axes[0, 0].get_legend_handles_labels()[0][:1],
            Patch(color="#4C72B0", label="mean vote share per bin"),
            Line2D([], [], color="#C44E52", lw=2, label="mean predicted p per bin"),
        ],
        fontsize=7,
        loc="upper left",
    )
    fig.suptitle(f"{corpus}: reliability on {test_rule}_test (all classes pooled)", fontsize=11)
    return fig


def write_calibration_views(
    data: PooledCorpus,
    *,
    calibration_path: PathLike,
    calibration_csv: PathLike,
    reliability_path: PathLike,
    reliability_csv: PathLike,
    png: PathLike,
    n_bins: int = CALIBRATION_BINS,
) -> None:
    """Write the ``calibration`` and ``reliability`` tables (Parquet and CSV) and the figure."""
    calibration = calibration_table(data, n_bins)
    reliability = reliability_table(data, n_bins)
    write_view_table(calibration, calibration_path, calibration_csv)
    write_view_table(reliability, reliability_path, reliability_csv)
    save_figure(reliability_figure(reliability, calibration), png)


def write_view_table(frame: pd.DataFrame, parquet: PathLike, csv: PathLike) -> None:
    """Write one table of the evaluation views as ``parquet`` and as ``csv`` (6 significant
    digits), each to the path its rule names."""
    make_parents(parquet, csv)
    write_parquet(frame, parquet)
    frame.to_csv(csv, index=False, float_format="%.6g")


__all__ = [
    "confusion_figure",
    "per_class_figure",
    "reliability_figure",
    "write_calibration_views",
    "write_per_class_views",
    "write_view_table",
]
