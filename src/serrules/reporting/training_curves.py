"""Training curves: train and dev loss per epoch of every fold model of a corpus, from the
``train_log.csv`` files that :func:`serrules.training.fold_job.train_fold` writes."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from serrules.base.classes import RULES
from serrules.base.errors import TableError
from serrules.base.tables import check_table
from serrules.reporting.figures import new_figure, save_figure

_FOLD_DIR = re.compile(r"^fold(\d+)$")
#: Columns of a training log the curves need.
CURVE_COLUMNS: tuple[str, ...] = ("epoch", "train_loss", "dev_loss", "best")


def read_train_logs(logs: Mapping[str, Sequence[str | os.PathLike[str]]]) -> pd.DataFrame:
    """One frame of every log (train rule -> its ``.../fold<k>/train_log.csv`` files) with
    ``train_rule`` and ``fold`` columns; a log without the needed columns (its contract in
    :mod:`serrules.base.tables`) or rows, or outside a ``fold<k>`` folder, raises ``ValueError``
    (:class:`~serrules.base.errors.TableError` for the table itself) naming it."""
    frames = []
    for rule, paths in logs.items():
        for raw in paths:
            path = Path(raw)
            match = _FOLD_DIR.match(path.parent.name)
            if match is None:
                raise ValueError(f"{path}: a training log must lie in a fold<k> folder")
            frame = check_table(pd.read_csv(path), "train_log", columns=CURVE_COLUMNS, source=path)
            if frame.empty:
                raise TableError(f"{path}: train_log table has no epochs")
            frame.insert(0, "fold", int(match.group(1)))
            frame.insert(0, "train_rule", rule)
            frames.append(frame)
    if not frames:
        raise ValueError("no training logs given")
    return pd.concat(frames, ignore_index=True)


def training_curves_figure(logs: pd.DataFrame, corpus: str):
    """One panel per train rule: train loss (solid) and dev loss (dashed) per epoch, one colour
    per fold, the kept (lowest dev loss) epoch marked with a dot. The loss is the class-balanced
    soft cross-entropy of each rule's own targets, so levels differ between panels."""
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator

    rules = [r for r in RULES if r in set(logs["train_rule"])]
    fig = new_figure(3.6 * len(rules) + 0.8, 3.6)
    axes = fig.subplots(1, len(rules), squeeze=False)[0]
    folds = sorted(logs["fold"].unique())
    colours = {fold: f"C{i % 10}" for i, fold in enumerate(folds)}
    for ax, rule in zip(axes, rules, strict=True):
        for fold, part in logs[logs["train_rule"] == rule].groupby("fold"):
            part = part.sort_values("epoch")
            colour = colours[fold]
            ax.plot(part["epoch"], part["train_loss"], color=colour, lw=1.2)
            ax.plot(part["epoch"], part["dev_loss"], color=colour, lw=1.2, ls="--")
            best = part[part["best"].astype(bool)]
            ax.plot(best["epoch"], best["dev_loss"], "o", color=colour, ms=5)
        ax.set_title(f"{rule}_train", fontsize=10)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("loss (class-balanced soft CE)")
    handles = [Line2D([], [], color=colours[f], lw=1.5) for f in folds] + [
        Line2D([], [], color="black", lw=1.2),
        Line2D([], [], color="black", lw=1.2, ls="--"),
        Line2D([], [], color="black", marker="o", ls=""),
    ]
    names = [f"fold {f}" for f in folds] + ["train", "dev", "kept epoch"]
    fig.legend(handles, names, loc="outside right center", fontsize=8)
    fig.suptitle(f"{corpus}: training curves", fontsize=11)
    return fig


def plot_training_curves(
    logs: Mapping[str, Sequence[str | os.PathLike[str]]], corpus: str, png: str | os.PathLike[str]
) -> None:
    """Read the logs and write the figure (PNG, 150 dpi)."""
    fig = training_curves_figure(read_train_logs(logs), corpus)
    save_figure(fig, png)


__all__ = ["CURVE_COLUMNS", "plot_training_curves", "read_train_logs", "training_curves_figure"]
