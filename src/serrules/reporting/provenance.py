"""The provenance table of one corpus (``results/<corpus>/provenance.csv``, the HTML report's
"Provenance" section of the corpus): one row per artifact with what made it, read from the
artifact itself (:func:`serrules.base.provenance.read_provenance`)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from serrules.base.files import make_parents
from serrules.base.provenance import read_provenance, short

#: Columns of the provenance table.
PROVENANCE_COLUMNS: tuple[str, ...] = (
    "file",
    "rule",
    "code",
    "settings",
    "serrules",
    "commit",
    "dirty",
    "device",
    "python",
    "libraries",
)


def provenance_rows(paths: Sequence[str | os.PathLike[str]]) -> pd.DataFrame:
    """One row per artifact (columns :data:`PROVENANCE_COLUMNS`, digests shortened to 12 hex
    digits); an artifact without provenance has a row of empty cells but its file."""
    rows = []
    for path in paths:
        record = read_provenance(path) or {}
        git = record.get("git") or {}
        libraries = record.get("libraries") or {}
        rows.append(
            {
                "file": str(Path(path)),
                "rule": record.get("rule"),
                "code": short(record.get("code")) if record else None,
                "settings": short(record.get("settings")) if record else None,
                "serrules": record.get("serrules"),
                "commit": git.get("commit"),
                "dirty": git.get("dirty"),
                "device": record.get("device"),
                "python": record.get("python"),
                "libraries": ", ".join(f"{k} {v}" for k, v in libraries.items() if v) or None,
            }
        )
    return pd.DataFrame(rows, columns=list(PROVENANCE_COLUMNS))


def write_provenance_table(
    paths: Sequence[str | os.PathLike[str]], csv: str | os.PathLike[str]
) -> pd.DataFrame:
    """Write :func:`provenance_rows` of ``paths`` to ``csv`` (the path its rule names)."""
    frame = provenance_rows(paths)
    make_parents(csv)
    frame.to_csv(csv, index=False)
    return frame


__all__ = ["PROVENANCE_COLUMNS", "provenance_rows", "write_provenance_table"]
