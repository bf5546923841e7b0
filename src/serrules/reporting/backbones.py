"""The backbone leaderboard ``results/tables/backbones.{md,csv}`` (and ``.tex``) from the rows of
:func:`serrules.evaluation.backbone_comparison.compare_backbones`."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from serrules.evaluation.pooled_corpus import PathLike
from serrules.reporting.result_tables import TABLE_SPECS, format_cell, format_p_value
from serrules.reporting.writers import write_table


def backbone_display(frame: pd.DataFrame, n_bootstrap: int) -> pd.DataFrame:
    """One row per (corpus, train rule, test rule, backbone), AR_test first; per metric:
    ``value (low, high)`` and, for a backbone other than the reference, the difference and its
    paired p-value."""
    order = {"AR": 0, "MR": 1, "PR": 2}
    frame = frame.assign(
        _t=frame["test_rule"].map(order), _r=frame["train_rule"].map(order)
    ).sort_values(["corpus", "_t", "_r"], kind="stable")
    out = []
    keys = ["corpus", "_t", "_r", "backbone"]
    for (corpus, _t, _r, backbone), group in frame.groupby(keys, sort=False):
        first = group.iloc[0]
        row = {
            "Corpus": corpus,
            "Test": f"{first['test_rule']}_test",
            "Train": f"{first['train_rule']}_train",
            "Backbone": backbone,
        }
        by_metric = group.set_index("metric")
        for spec in TABLE_SPECS:
            if spec.metric not in by_metric.index:
                continue
            c = by_metric.loc[spec.metric]
            s, d = spec.scale, spec.decimals
            name = "F1 (%)" if spec.metric == "macro_f1" else spec.title
            row[name] = format_cell(s * c["value"], s * c["low"], s * c["high"], d)
            diff = "" if pd.isna(c["p_value"]) else f"{s * c['difference']:+.{d}f}"
            row[f"{name} vs ref"] = f"{diff} {format_p_value(c['p_value'], n_bootstrap)}".strip()
        out.append(row)
    return pd.DataFrame(out)


def backbone_caption(settings: Mapping) -> str:
    """Caption naming the backbones, the reference, the protocol and the test."""
    ev = settings["evaluation"]
    return (
        f"Backbones {', '.join(settings['backbones'])} under protocol {settings['protocol']} "
        "(same head, pooling, layer pruning and training settings). Each cell: pooled test "
        f"predictions, {100 - float(ev['alpha']):g}% bootstrap interval over {ev['unit']}s "
        f"({ev['n_bootstrap']} resamples); vs ref = difference from {settings['reference']} "
        "with a two-sided paired bootstrap p-value on the same resamples. AR_test is the common "
        "benchmark."
    )


def write_backbone_table(
    frame: pd.DataFrame, settings: Mapping, *, csv: PathLike, md: PathLike, tex: PathLike
) -> None:
    """Write the rows ``frame`` (``csv``: every number) and their display (``md``, ``tex``)."""
    write_table(
        backbone_display(frame, int(settings["evaluation"]["n_bootstrap"])),
        csv=csv,
        md=md,
        tex=tex,
        caption=backbone_caption(settings),
        label="tab:backbones",
        csv_frame=frame,
    )


__all__ = ["backbone_caption", "backbone_display", "write_backbone_table"]
