"""The paper's "relative improvement" of AR_train over MR_train / PR_train (Sec. 5.2 and 7:
5.13% and 5.58%), which it does not define: every definition a reader would try, evaluated on a
frame of Table 4 cells (the printed ones or a run's), and the search for the one that gives the
printed numbers.

A cells frame has ``corpus``, ``train_rule``, ``column`` (``MR_test``, ``PR_test``, ``AR_test``,
``Average``), ``metric`` and ``value``. Ratios do not depend on the unit (fraction or x 100).
Every definition increases with each AR_train cell and decreases with each other cell, so the
values it can take when each printed cell lies anywhere within its rounding (half a unit of its
last digit) run from all AR cells at their lower ends and the others at their upper ends to the
opposite corner (:func:`definition_range`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from serrules.reporting.published import (
    printed_cells,
    rounding_half_width,
    statement,
    statement_numbers,
)
from serrules.reporting.result_tables import TEST_COLUMNS
from serrules.reporting.table3_fig1 import AVERAGE

#: The statements of the text that print the two ratios (vs MR_train, vs PR_train).
RATIO_STATEMENTS: tuple[str, ...] = ("S5.2-relative", "S7-relative")
VERSUS: tuple[str, ...] = ("MR", "PR")


def _grid(cells: pd.DataFrame, rule: str, columns: tuple[str, ...]) -> pd.DataFrame:
    """corpus x column values of one train rule (corpora in the frame's order)."""
    part = cells[(cells["train_rule"] == rule) & cells["column"].isin(columns)]
    grid = part.pivot_table(index="corpus", columns="column", values="value", sort=False)
    return grid.reindex(columns=list(columns))


def _common(cells: pd.DataFrame, versus: str, columns: tuple[str, ...]):
    ar, other = _grid(cells, "AR", columns), _grid(cells, versus, columns)
    corpora = ar.index.intersection(other.index)
    return ar.loc[corpora].to_numpy(float), other.loc[corpora].to_numpy(float)


def _ratio_of_average_means(cells, versus):
    ar, other = _common(cells, versus, (AVERAGE,))
    return ar.mean() / other.mean()


def _ratio_of_test_cell_means(cells, versus):
    ar, other = _common(cells, versus, TEST_COLUMNS)
    return ar.mean() / other.mean()


def _mean_of_test_cell_ratios(cells, versus):
    ar, other = _common(cells, versus, TEST_COLUMNS)
    return (ar / other).mean()


def _mean_of_corpus_average_ratios(cells, versus):
    ar, other = _common(cells, versus, (AVERAGE,))
    return (ar / other).mean()


def _mean_of_test_column_ratios(cells, versus):
    ar, other = _common(cells, versus, TEST_COLUMNS)
    return (ar.mean(axis=0) / other.mean(axis=0)).mean()


@dataclass(frozen=True)
class RatioDefinition:
    """One reading of "relative improvement": ``ratio(cells, versus)`` is AR_train's value over
    ``versus``'s (the improvement in % is ``100 (ratio - 1)``)."""

    name: str
    text: str
    ratio: Callable[[pd.DataFrame, str], float]


DEFINITIONS: tuple[RatioDefinition, ...] = (
    RatioDefinition(
        "average_column_means",
        "ratio of the means of the Average column over the corpora",
        _ratio_of_average_means,
    ),
    RatioDefinition(
        "test_cell_means",
        "ratio of the means over the test cells (corpora x MR/PR/AR_test)",
        _ratio_of_test_cell_means,
    ),
    RatioDefinition(
        "mean_of_test_cell_ratios",
        "mean of the per-cell ratios over the test cells",
        _mean_of_test_cell_ratios,
    ),
    RatioDefinition(
        "mean_of_corpus_average_ratios",
        "mean over the corpora of the ratios of their Average cells",
        _mean_of_corpus_average_ratios,
    ),
    RatioDefinition(
        "mean_of_test_column_ratios",
        "mean over the three test columns of the ratios of their means over the corpora",
        _mean_of_test_column_ratios,
    ),
)
DEFINITION_NAMES: tuple[str, ...] = tuple(d.name for d in DEFINITIONS)


def definition(name: str) -> RatioDefinition:
    """A definition by name."""
    for entry in DEFINITIONS:
        if entry.name == name:
            return entry
    raise KeyError(f"unknown relative-improvement definition {name!r}: {DEFINITION_NAMES}")


def relative_improvement(
    cells: pd.DataFrame, versus: str, name: str, metric: str = "macro_f1"
) -> float:
    """AR_train's relative improvement over ``versus`` in %, by the definition ``name``, on the
    ``metric`` cells of ``cells`` (a run's needs the Average column too: ``table_cells``)."""
    part = cells[cells["metric"] == metric]
    if not {"AR", versus} <= set(part["train_rule"]):
        return math.nan  # no cell of the run to compare
    return float(100.0 * (definition(name).ratio(part, versus) - 1.0))


def definition_range(cells: pd.DataFrame, versus: str, name: str) -> tuple[float, float]:
    """The lowest and highest relative improvement (%) the definition gives when every cell
    moves anywhere within its ``half_width`` (its printed rounding)."""
    ar = cells["train_rule"] == "AR"
    other = cells["train_rule"] == versus
    shift = cells["half_width"].where(ar, -cells["half_width"]).where(ar | other, 0.0)
    low = cells.assign(value=cells["value"] - shift)
    high = cells.assign(value=cells["value"] + shift)
    return (
        relative_improvement(low, versus, name),
        relative_improvement(high, versus, name),
    )


def printed_table4(published: Mapping[str, Any]) -> pd.DataFrame:
    """The printed Table 4 as a cells frame, values as printed (fractions) and the half width
    of each one's rounding."""
    cells = printed_cells(published, (4,))
    return cells.assign(
        value=cells["printed"].astype(float),
        half_width=[rounding_half_width(p) for p in cells["printed"]],
    )


SEARCH_COLUMNS: tuple[str, ...] = (
    "versus",
    "definition",
    "text",
    "printed",
    "on_printed_table",
    "residual",
    "range_low",
    "range_high",
    "consistent",
)


def ratio_search(published: Mapping[str, Any]) -> pd.DataFrame:
    """Every definition on the printed Table 4, against the printed 5.13 / 5.58 (Sec. 5.2): its
    value on the printed cells, the residual (value - printed), the range the cells' rounding
    allows, and whether that range meets the printed number's own rounding interval
    (``consistent``). One row per (versus, definition), columns :data:`SEARCH_COLUMNS`."""
    numbers = statement_numbers(statement(published, RATIO_STATEMENTS[0]))
    cells = printed_table4(published)
    rows = []
    for versus, printed in zip(VERSUS, numbers, strict=True):
        half = rounding_half_width(printed)
        for entry in DEFINITIONS:
            value = relative_improvement(cells, versus, entry.name)
            low, high = definition_range(cells, versus, entry.name)
            rows.append(
                {
                    "versus": versus,
                    "definition": entry.name,
                    "text": entry.text,
                    "printed": float(printed),
                    "on_printed_table": value,
                    "residual": value - float(printed),
                    "range_low": low,
                    "range_high": high,
                    "consistent": bool(
                        low <= float(printed) + half and float(printed) - half <= high
                    ),
                }
            )
    return pd.DataFrame(rows, columns=list(SEARCH_COLUMNS))


def closest_definition(search: pd.DataFrame) -> str:
    """The definition whose values on the printed Table 4 come closest to the printed ratios
    (smallest sum of absolute residuals over MR and PR)."""
    total = search.groupby("definition", sort=False)["residual"].apply(lambda r: np.abs(r).sum())
    return str(total.idxmin())


__all__ = [
    "DEFINITIONS",
    "DEFINITION_NAMES",
    "RATIO_STATEMENTS",
    "SEARCH_COLUMNS",
    "VERSUS",
    "RatioDefinition",
    "closest_definition",
    "definition",
    "definition_range",
    "printed_table4",
    "ratio_search",
    "relative_improvement",
]
