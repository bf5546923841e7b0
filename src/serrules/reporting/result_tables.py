"""The study's Tables 4 (macro-F1), 5 (KLD) and 6 (JSD) over all corpora, built from the
``metrics.parquet`` files of :mod:`serrules.evaluation.corpus_metrics`."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from serrules.base.classes import RULES
from serrules.base.protocols import PROTOCOL_SOURCES, describe
from serrules.base.tables import check_table
from serrules.evaluation.bootstrap import p_value_resolution
from serrules.evaluation.corpus_metrics import read_metrics_tables
from serrules.reporting.writers import write_table

# ---------------------------------------------------------------- Tables 4-6


@dataclass(frozen=True)
class TableSpec:
    """How one metric is laid out as a study table."""

    stem: str
    metric: str
    title: str
    scale: float
    decimals: int
    higher_is_better: bool

    @property
    def number(self) -> int:
        """The study's table number (4, 5, 6)."""
        return int(self.stem.removeprefix("table"))


TABLE_SPECS: tuple[TableSpec, ...] = (
    TableSpec("table4", "macro_f1", "Macro-F1 (%)", 100.0, 2, True),
    TableSpec("table5", "kld", "KLD", 1.0, 3, False),
    TableSpec("table6", "jsd", "JSD", 1.0, 3, False),
)
#: metric -> its table's layout
METRIC_SPECS: dict[str, TableSpec] = {spec.metric: spec for spec in TABLE_SPECS}
#: Metrics where lower is better (KLD, JSD).
LOWER_IS_BETTER = frozenset(s.metric for s in TABLE_SPECS if not s.higher_is_better)

TEST_COLUMNS: tuple[str, ...] = tuple(f"{rule}_test" for rule in RULES)
AVERAGE = "Average"


def format_p_value(p_value: float, n_bootstrap: int | None) -> str:
    """``p=0.046``; a zero bootstrap estimate as ``p<2/B`` (``p<0.002`` for 1000 resamples), or
    ``p=0`` when the number of resamples is unknown; empty for a missing value."""
    if p_value is None or pd.isna(p_value):
        return ""
    if p_value == 0:
        return f"p<{p_value_resolution(n_bootstrap):g}" if n_bootstrap else "p=0"
    return f"p={p_value:.3f}"


def format_cell(value: float, low: float, high: float, decimals: int, p_text: str = "") -> str:
    """``value (low, high)`` with ``decimals`` decimals, then the p-value text if any."""
    text = f"{value:.{decimals}f} ({low:.{decimals}f}, {high:.{decimals}f})"
    return f"{text} {p_text}" if p_text else text


def table_numbers(frame: pd.DataFrame, spec: TableSpec) -> pd.DataFrame:
    """Long frame: one row per (corpus, train rule, column) incl. the Average column."""
    part = frame.loc[frame["metric"] == spec.metric].copy()
    part["column"] = part["test_rule"] + "_test"
    keep = ["corpus", "train_rule", "column", "value", "low", "high", "p_value_vs_AR"]
    long = part[keep + ["n_utterances"]]
    averages = []
    for (corpus, train_rule), group in long.groupby(["corpus", "train_rule"], sort=False):
        if set(group["column"]) >= set(TEST_COLUMNS):
            cells = group.set_index("column").loc[list(TEST_COLUMNS)]
            averages.append(
                {
                    "corpus": corpus,
                    "train_rule": train_rule,
                    "column": AVERAGE,
                    "value": cells["value"].mean(),
                    "low": cells["low"].mean(),
                    "high": cells["high"].mean(),
                    "p_value_vs_AR": math.nan,
                    "n_utterances": pd.NA,
                }
            )
    out = pd.concat([pd.DataFrame(averages), long], ignore_index=True) if averages else long
    out.insert(3, "metric", spec.metric)
    return out


def build_result_table(
    frame: pd.DataFrame, spec: TableSpec, n_bootstrap: Mapping[str, int | None]
) -> tuple[pd.DataFrame, list[tuple[int, str]], pd.DataFrame]:
    """Display frame (Corpus, Train, Average, MR_test, PR_test, AR_test), bold cells (best per
    corpus and column on the displayed, rounded values; ties all bold) and the long CSV frame."""
    numbers = table_numbers(frame, spec)
    corpora = list(dict.fromkeys(frame["corpus"]))
    columns = [AVERAGE, *TEST_COLUMNS]
    display_rows, rounded_rows = [], []
    csv_rows = []
    for corpus in corpora:
        for train_rule in RULES:
            cells = numbers[(numbers["corpus"] == corpus) & (numbers["train_rule"] == train_rule)]
            if cells.empty:
                continue
            cells = cells.set_index("column")
            row: dict[str, object] = {"Corpus": corpus, "Train": f"{train_rule}_train"}
            rounded: dict[str, float] = {}
            for column in columns:
                if column not in cells.index:
                    row[column] = ""
                    continue
                cell = cells.loc[column]
                value, low, high = (spec.scale * cell[k] for k in ("value", "low", "high"))
                p_text = format_p_value(cell["p_value_vs_AR"], n_bootstrap.get(corpus))
                row[column] = format_cell(value, low, high, spec.decimals, p_text)
                rounded[column] = round(value, spec.decimals)
                csv_rows.append(cells.loc[[column]].reset_index())
            display_rows.append(row)
            rounded_rows.append((corpus, rounded))
    bold = []
    for corpus in corpora:
        positions = [i for i, (c, _) in enumerate(rounded_rows) if c == corpus]
        for column in columns:
            scored = {
                i: rounded_rows[i][1][column] for i in positions if column in rounded_rows[i][1]
            }
            if not scored:
                continue
            best = max(scored.values()) if spec.higher_is_better else min(scored.values())
            bold += [(i, column) for i, v in scored.items() if v == best]
    display = pd.DataFrame(display_rows, columns=["Corpus", "Train", *columns])
    csv = (
        pd.concat(csv_rows, ignore_index=True)[
            [
                "corpus",
                "train_rule",
                "column",
                "metric",
                "value",
                "low",
                "high",
                "p_value_vs_AR",
                "n_utterances",
            ]
        ]  # fmt: skip
        if csv_rows
        else pd.DataFrame()
    )
    return display, bold, csv


def _protocol_text(settings: list[dict]) -> str:
    """``Protocol authors (the authors' released code): key=value, ... . `` for captions."""
    records = [s.get("protocol") for s in settings]
    if not records or any(r is None for r in records):
        return ""
    texts = {describe(r) for r in records}
    if len(texts) != 1:
        return f"Protocols differ between corpora: {'; '.join(sorted(texts))}. "
    record = records[0]
    source = PROTOCOL_SOURCES.get(record["protocol"], record["protocol"])
    values = ", ".join(f"{k}={v}" for k, v in record["settings"].items())
    return f"{next(iter(texts)).capitalize()} ({source}): {values}. "


def _caption(spec: TableSpec, settings: list[dict]) -> str:
    n_boot = {s.get("n_bootstrap") for s in settings}
    alphas = {s.get("alpha") for s in settings}
    units = {s.get("unit") for s in settings}
    n_text = f"{n_boot.pop()} resamples" if len(n_boot) == 1 and None not in n_boot else "resamples"
    level = f"{100 - alphas.pop():g}% " if len(alphas) == 1 and None not in alphas else ""
    unit_text = (
        {"utterance": " over utterances", "speaker": " over speakers, then utterances"}.get(
            next(iter(units)), ""
        )
        if len(units) == 1
        else ""
    )
    best = "highest" if spec.higher_is_better else "lowest"
    return _protocol_text(settings) + (
        f"{spec.title} of each train rule (rows) on each test rule (columns), predictions "
        f"pooled over folds, with {level}bootstrap confidence intervals ({n_text}{unit_text}). "
        "Average: mean of the three test columns, its bounds the mean of their bounds. "
        "p: two-sided paired bootstrap p-value against AR_train on the same resamples and test "
        "set (p<2/B: no resample crossed zero). "
        f"Bold: best ({best}) per corpus and column."
    )


def write_result_tables(
    metrics_paths: Sequence[str | os.PathLike[str]],
    outputs: Mapping[str, Mapping[str, str | os.PathLike[str]]],
) -> None:
    """Write Tables 4 (macro-F1), 5 (KLD) and 6 (JSD) from the corpora's ``metrics.parquet``
    files (corpus order = file order). ``outputs[stem]`` (``table4``, ``table5``, ``table6``)
    names the ``csv``, ``md`` and ``tex`` file of each table."""
    missing = [spec.stem for spec in TABLE_SPECS if spec.stem not in outputs]
    if missing:
        raise ValueError(f"no output files given for {', '.join(missing)}")
    if not metrics_paths:
        raise ValueError("no metrics files given")
    frames, settings, n_bootstrap = [], [], {}
    for frame, meta in read_metrics_tables(metrics_paths):
        frames.append(frame)
        settings.append(meta)
        for corpus in frame["corpus"].unique():
            n_bootstrap[corpus] = meta.get("n_bootstrap")
    frame = pd.concat(frames, ignore_index=True)
    # a corpus in two files repeats the metrics key (corpus, train_rule, test_rule, metric)
    check_table(frame, "metrics", source=", ".join(str(p) for p in metrics_paths))
    for spec in TABLE_SPECS:
        display, bold, csv = build_result_table(frame, spec, n_bootstrap)
        write_table(
            display,
            csv=outputs[spec.stem]["csv"],
            md=outputs[spec.stem]["md"],
            tex=outputs[spec.stem]["tex"],
            caption=_caption(spec, settings),
            label=f"tab:{spec.metric}",
            bold=bold,
            csv_frame=csv,
        )


__all__ = [
    "LOWER_IS_BETTER",
    "METRIC_SPECS",
    "AVERAGE",
    "TABLE_SPECS",
    "TEST_COLUMNS",
    "TableSpec",
    "build_result_table",
    "format_cell",
    "format_p_value",
    "table_numbers",
    "write_result_tables",
]
