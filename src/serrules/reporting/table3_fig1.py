"""Table 3 (data and rating loss of each rule, per corpus) and Fig. 1 (share of the data and of
the ratings each rule keeps), drawn from the ``label_loss.parquet`` files of
:mod:`serrules.labels.label_loss` (which defines and computes the losses)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

from serrules.base.classes import RULES
from serrules.base.files import PathLike
from serrules.labels.label_loss import read_label_loss
from serrules.reporting.figures import new_figure, save_figure
from serrules.reporting.writers import write_table

#: Name of the average row of Table 3 and the average group of Fig. 1.
AVERAGE = "Average"


def percent(fraction: float) -> str:
    """A fraction as a percentage with two decimals, rounded half up as printed tables are
    (``0.12715`` -> ``12.72``; binary float noise below 1e-10 is ignored first, so that a mean
    of two-decimal percentages rounds as the paper's Average row does)."""
    value = Decimal(f"{100.0 * float(fraction):.10f}")
    return str(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def average_losses(loss: pd.DataFrame) -> pd.DataFrame:
    """The paper's Average row (Table 3) and average group (Fig. 1): per rule, the mean over
    the corpora of ``loss`` of the data loss and of the rating loss (each corpus weighs the
    same, as in the paper: the mean of its four corpus rows). ``corpus`` = ``Average``."""
    means = loss.groupby("rule", sort=False)[["data_loss", "rating_loss"]].mean()
    out = means.reindex(list(RULES)).reset_index()
    out.insert(0, "corpus", AVERAGE)
    return out


def table3_frames(loss: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(display frame, raw frame) of Table 3: one row per corpus (input order), then, with two
    or more corpora, the ``Average`` row (:func:`average_losses`; counts left empty).

    Display: ``Corpus, Utterances, Ratings, No valid vote`` (utterances outside the AR set) and
    ``<rule> data loss (%)``, ``<rule> rating loss (%)`` per rule, two decimals (:func:`percent`).
    Raw (the CSV): counts and fractions, unrounded.
    """
    corpora = list(dict.fromkeys(loss["corpus"]))
    wide = loss.set_index(["corpus", "rule"])
    raw = pd.DataFrame({"corpus": corpora})
    first = wide.xs("MR", level="rule").loc[corpora]
    raw["n_utterances"] = first["n_utterances"].to_numpy()
    raw["n_ratings"] = first["n_ratings"].to_numpy()
    raw["n_no_valid_vote"] = first["n_no_valid_vote"].to_numpy()
    raw["n_no_valid_vote_ratings"] = first["n_no_valid_vote_ratings"].to_numpy()
    display = pd.DataFrame(
        {
            "Corpus": corpora,
            "Utterances": [f"{v:,}" for v in raw["n_utterances"]],
            "Ratings": [f"{v:,}" for v in raw["n_ratings"]],
            "No valid vote": [f"{v:,}" for v in raw["n_no_valid_vote"]],
        }
    )
    for rule in RULES:
        part = wide.xs(rule, level="rule").loc[corpora]
        for col in ("n_kept", "data_loss", "n_ratings_used", "rating_loss"):
            raw[f"{rule}_{col}"] = part[col].to_numpy()
        display[f"{rule} data loss (%)"] = [percent(v) for v in part["data_loss"]]
        display[f"{rule} rating loss (%)"] = [percent(v) for v in part["rating_loss"]]
    if len(corpora) < 2:
        return display, raw
    avg = average_losses(loss).set_index("rule")
    raw_avg: dict = {"corpus": AVERAGE}
    shown: dict = {"Corpus": AVERAGE, "Utterances": "", "Ratings": "", "No valid vote": ""}
    for rule in RULES:
        for col in ("data_loss", "rating_loss"):
            raw_avg[f"{rule}_{col}"] = float(avg.loc[rule, col])
            shown[f"{rule} {col.replace('_', ' ')} (%)"] = percent(avg.loc[rule, col])
    # the Average row has no counts: nullable integers keep the CSV's counts as written (233, not
    # 233.0) and leave the Average row's cells empty
    counts = raw.select_dtypes("integer").columns
    raw = pd.concat([raw, pd.DataFrame([raw_avg])], ignore_index=True)
    raw[counts] = raw[counts].astype("Int64")
    display = pd.concat([display, pd.DataFrame([shown])], ignore_index=True)
    return display, raw


def write_table3(
    label_loss_paths: Sequence[PathLike], *, csv: PathLike, md: PathLike, tex: PathLike
) -> None:
    """Table 3 (data and rating loss per rule and corpus) as ``csv``, ``md`` and ``tex``; the
    CSV keeps the raw counts and fractions, Markdown/LaTeX show percentages."""
    loss = read_label_loss(label_loss_paths)
    display, raw = table3_frames(loss)
    corpora = list(dict.fromkeys(loss["corpus"]))
    average = (
        f" Average: the mean of the {len(corpora)} corpus rows ({', '.join(corpora)}), each "
        "corpus weighing the same, as the paper's Average row."
        if len(corpora) > 1
        else ""
    )
    write_table(
        display,
        csv=csv,
        md=md,
        tex=tex,
        caption=(
            "Data loss (share of the utterances with at least one valid vote, the AR set, that a "
            "rule drops; AR's is 0 by construction) and rating loss (share of the valid and "
            "other votes of the AR set that the rule's training targets do not use) per "
            "aggregation rule. No valid vote: utterances outside the AR set (only 'other' votes, "
            "or none counted), not part of any rule's loss. MR decides on the share "
            "labels.mr_share of the run's protocol (paper: raw; authors: smoothed)." + average
        ),
        label="tab:label_loss",
        csv_frame=raw,
    )


def fig1_figure(loss: pd.DataFrame):  # -> matplotlib.figure.Figure
    """Fig. 1: two panels (share of utterances kept, share of ratings used), grouped bars per
    corpus with one bar per rule, each labelled with its percentage; with two or more corpora,
    an ``Average`` group last (:func:`average_losses`: the paper's caption, "the averaged usage
    ratio of the data and ratings")."""
    corpora = list(dict.fromkeys(loss["corpus"]))
    if len(corpora) > 1:
        loss = pd.concat([loss, average_losses(loss)], ignore_index=True)
        corpora.append(AVERAGE)
    wide = loss.set_index(["corpus", "rule"])
    fig = new_figure(max(6.0, 1.9 * len(corpora) + 2.5), 6.4)
    axes = fig.subplots(2, 1, sharex=True)
    x = np.arange(len(corpora))
    width = 0.8 / len(RULES)
    colors = {"MR": "#4C72B0", "PR": "#DD8452", "AR": "#55A868"}
    panels = (("data_loss", "Share of utterances kept"), ("rating_loss", "Share of ratings used"))
    for ax, (col, title) in zip(axes, panels, strict=True):
        for j, rule in enumerate(RULES):
            kept = 100.0 * (1.0 - wide.xs(rule, level="rule").loc[corpora, col].to_numpy())
            bars = ax.bar(
                x + (j - (len(RULES) - 1) / 2) * width,
                kept,
                width,
                label=rule,
                color=colors.get(rule),
                gid=f"{col}:{rule}",
            )
            ax.bar_label(bars, labels=[f"{v:.1f}%" for v in kept], fontsize=8, padding=2)
        ax.set_ylim(0, 112)
        ax.set_ylabel("% of utterances with a valid vote" if col == "data_loss" else "% of votes")
        ax.set_title(title, fontsize=11)
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)
    handles, names = axes[0].get_legend_handles_labels()
    fig.legend(handles, names, title="rule", ncols=len(RULES), loc="outside upper center")
    axes[-1].set_xticks(x, corpora)
    return fig


def plot_fig1(label_loss_paths: Sequence[PathLike], *, png: PathLike, pdf: PathLike) -> None:
    """Fig. 1 as PNG (150 dpi) and PDF."""
    fig = fig1_figure(read_label_loss(label_loss_paths))
    for path in (png, pdf):
        save_figure(fig, path)


__all__ = [
    "AVERAGE",
    "average_losses",
    "fig1_figure",
    "percent",
    "plot_fig1",
    "table3_frames",
    "write_table3",
]
