"""The paper's printed numbers, as the package ships them (``paper_results.yaml``): every cell of
Tables 3-6, every number its text states (``statements``) and the claims a run can test.

Numbers are kept as printed (strings in the file, so that ``0.250`` keeps its three decimals):
:func:`decimals` gives a printed number's precision and :func:`rounding_half_width` the half unit
of its last digit, which is how far the unrounded value can lie from it. :func:`load_published`
checks the file once and returns it with floats beside the printed text; :func:`printed_cells`
lays out one of Tables 4-6 as a frame.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from serrules.evaluation.pooled_corpus import PathLike
from serrules.reporting.table3_fig1 import AVERAGE

CLAIM_KINDS = ("label_loss", "better", "relative")
_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")


def decimals(printed: object) -> int:
    """Decimals of a printed number (``"1.18"`` -> 2, ``"0.250"`` -> 3, ``"32"`` -> 0)."""
    text = str(printed).strip()
    return len(text.split(".", 1)[1]) if "." in text else 0


def rounding_half_width(printed: object, scale: float = 1.0) -> float:
    """Half a unit of a printed number's last digit (times ``scale``): the unrounded value lies
    within this distance of the printed one."""
    return 0.5 * 10.0 ** -decimals(printed) * scale


def statement_numbers(statement: Mapping[str, Any]) -> list[str]:
    """The numbers of a statement as printed, one per ``;``-separated part (the first number of
    each part: ``"45462 (30647 + 14815)"`` gives ``"45462"``)."""
    out = []
    for part in str(statement["numbers"]).split(";"):
        found = _NUMBER.search(part)
        if found is None:
            raise ValueError(f"statement {statement['id']}: no number in {part.strip()!r}")
        out.append(found.group())
    return out


def _need(entry: Mapping[str, Any], keys: tuple[str, ...], where: str) -> None:
    missing = [k for k in keys if k not in entry]
    if missing:
        raise ValueError(f"{where} lacks {missing}")


def _number(value: object, where: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: {value!r} is not a number") from None


def load_published(path: PathLike | None = None) -> dict[str, Any]:
    """The published results file (default: the package's ``paper_results.yaml``), checked:
    every cell names its table, row, column and printed value, every statement its numbers,
    every claim its kind and, where it has one, the statement number it tests. Each cell gets
    ``value`` (and ``value_low`` / ``value_high`` where bounds are printed) as floats in the
    project's unit (printed x ``scale``); each claim that names a statement gets ``printed``."""
    if path is None:
        text = resources.files("serrules.reporting").joinpath("paper_results.yaml").read_text()
        source = "serrules/reporting/paper_results.yaml"
    else:
        text, source = Path(path).read_text(), str(path)
    data = yaml.safe_load(text) or {}
    for key in ("corpora", "cells", "claims"):
        if key not in data:
            raise ValueError(f"{source}: missing key {key!r}")
    data.setdefault("statements", [])
    for i, cell in enumerate(data["cells"]):
        where = f"{source}: cells[{i}]"
        need = ("table", "corpus", "printed")
        need += (
            ("rule", "measure") if cell.get("table") == 3 else ("train_rule", "column", "metric")
        )
        _need(cell, need, where)
        if cell["corpus"] != AVERAGE and cell["corpus"] not in data["corpora"]:
            raise ValueError(f"{where} names unknown corpus {cell['corpus']!r}")
        scale = _number(cell.get("scale", 1), where)
        for key, out in (("printed", "value"), ("low", "value_low"), ("high", "value_high")):
            if cell.get(key) is not None:
                cell[out] = _number(cell[key], where) * scale
    statements = {}
    for i, statement in enumerate(data["statements"]):
        _need(statement, ("id", "section", "text", "numbers"), f"{source}: statements[{i}]")
        statement_numbers(statement)
        statements[statement["id"]] = statement
    for i, claim in enumerate(data["claims"]):
        where = f"{source}: claims[{i}]"
        if claim.get("kind") not in CLAIM_KINDS:
            raise ValueError(f"{where} has unknown kind {claim.get('kind')!r}")
        if "statement" in claim:
            statement = statements.get(claim["statement"])
            if statement is None:
                raise ValueError(f"{where} names unknown statement {claim['statement']!r}")
            numbers = statement_numbers(statement)
            item = claim.get("item")
            if not isinstance(item, int) or not 1 <= item <= len(numbers):
                raise ValueError(f"{where}: item must be 1..{len(numbers)}, got {item!r}")
            claim["printed"] = float(numbers[item - 1])
    return data


def statement(published: Mapping[str, Any], statement_id: str) -> Mapping[str, Any]:
    """One statement of the text by id."""
    for entry in published["statements"]:
        if entry["id"] == statement_id:
            return entry
    raise KeyError(f"no statement {statement_id!r} in the published results")


PRINTED_COLUMNS: tuple[str, ...] = (
    "table",
    "metric",
    "corpus",
    "train_rule",
    "column",
    "printed",
    "low",
    "high",
    "bold",
    "value",
    "value_low",
    "value_high",
    "scale",
)


def printed_cells(
    published: Mapping[str, Any], tables: tuple[int, ...] = (4, 5, 6)
) -> pd.DataFrame:
    """The printed cells of Tables 4-6 (those in ``tables``), one row each: the printed text of
    value and bounds, the bold mark (``value``, ``high`` or empty), and the values in the
    project's unit (columns :data:`PRINTED_COLUMNS`)."""
    rows = [
        {
            "table": int(c["table"]),
            "metric": c["metric"],
            "corpus": c["corpus"],
            "train_rule": c["train_rule"],
            "column": c["column"],
            "printed": str(c["printed"]),
            "low": None if c.get("low") is None else str(c["low"]),
            "high": None if c.get("high") is None else str(c["high"]),
            "bold": c.get("bold") or "",
            "value": c["value"],
            "value_low": c.get("value_low"),
            "value_high": c.get("value_high"),
            "scale": float(c.get("scale", 1)),
        }
        for c in published["cells"]
        if c["table"] in tables
    ]
    return pd.DataFrame(rows, columns=list(PRINTED_COLUMNS))


__all__ = [
    "CLAIM_KINDS",
    "PRINTED_COLUMNS",
    "decimals",
    "load_published",
    "printed_cells",
    "rounding_half_width",
    "statement",
    "statement_numbers",
]
