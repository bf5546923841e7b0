"""The paper-vs-authors table (``results/tables/protocols.{csv,md,tex}``) from the rows of
:func:`serrules.evaluation.protocol_comparison.compare_protocols`."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from serrules.base.protocols import PROTOCOL_SOURCES, PROTOCOLS, describe
from serrules.evaluation.pooled_corpus import PathLike
from serrules.evaluation.protocol_comparison import comparison_bootstrap
from serrules.reporting.result_tables import TABLE_SPECS, format_p_value
from serrules.reporting.writers import write_table


def comparison_display(frame: pd.DataFrame, n_bootstrap: int) -> pd.DataFrame:
    """One row per (corpus, train rule, test rule); per metric: paper, authors, difference (p)."""
    out = []
    for (corpus, train_rule, test_rule), group in frame.groupby(
        ["corpus", "train_rule", "test_rule"], sort=False
    ):
        row = {"Corpus": corpus, "Train": f"{train_rule}_train", "Test": f"{test_rule}_test"}
        by_metric = group.set_index("metric")
        for spec in TABLE_SPECS:
            if spec.metric not in by_metric.index:
                continue
            cell = by_metric.loc[spec.metric]
            d = spec.decimals
            name = "F1 (%)" if spec.metric == "macro_f1" else spec.title
            row[f"{name} paper"] = f"{spec.scale * cell['paper']:.{d}f}"
            row[f"{name} authors"] = f"{spec.scale * cell['authors']:.{d}f}"
            p_text = format_p_value(cell["p_value"], n_bootstrap)
            row[f"{name} diff"] = f"{spec.scale * cell['difference']:+.{d}f} {p_text}".strip()
        out.append(row)
    return pd.DataFrame(out)


def comparison_caption(records: Mapping[str, Mapping], n_bootstrap: int, unit: str) -> str:
    """Caption naming both protocols, every value where they differ and the test."""
    protocols = "; ".join(
        f"{p} = {PROTOCOL_SOURCES.get(p, p)} ({describe(records[p])})" for p in PROTOCOLS
    )
    differing = [
        f"{k}: {records['paper']['settings'][k]} vs {records['authors']['settings'][k]}"
        for k in records["paper"]["settings"]
        if records["paper"]["settings"][k] != records["authors"]["settings"][k]
    ]
    return (
        f"Paper vs authors protocol ({protocols}). Settings that differ (paper vs authors): "
        f"{', '.join(differing) or 'none'}. Each cell: pooled test predictions of both "
        "protocols on the same test set; diff = authors - paper; p: two-sided paired bootstrap "
        f"p-value on the same {n_bootstrap} resamples over {unit}s (p<2/B: no resample crossed "
        "zero). KLD/JSD use each protocol's own divergence target."
    )


def write_protocol_comparison(
    frame: pd.DataFrame,
    settings: Mapping[str, Mapping],
    *,
    csv: PathLike,
    md: PathLike,
    tex: PathLike,
) -> None:
    """Write the comparison rows ``frame`` (``csv``: every number) and its display (``md``,
    ``tex``) with the caption built from ``settings[protocol]`` (``record``, ``evaluation``)."""
    bootstrap = comparison_bootstrap(settings)
    n_bootstrap, unit = bootstrap.n_bootstrap, bootstrap.unit
    records = {p: settings[p]["record"] for p in PROTOCOLS}
    write_table(
        comparison_display(frame, n_bootstrap),
        csv=csv,
        md=md,
        tex=tex,
        caption=comparison_caption(records, n_bootstrap, unit),
        label="tab:protocols",
        csv_frame=frame,
    )


__all__ = ["comparison_caption", "comparison_display", "write_protocol_comparison"]
