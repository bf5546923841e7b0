"""Steps shared by the native parsers: locating files, reading CSVs with physical line numbers,
the unknown-label policy and ``source`` strings (``<path relative to the corpus root>:<line>``)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from serrules.corpora.errors import AnnotationError
from serrules.corpora.vocabulary import UNKNOWN_LABEL, Vocabulary

UNKNOWN_LABEL_MODES = ("error", "exclude")


def check_mode(unknown_labels: str) -> None:
    """Reject an ``unknown_labels`` option other than ``error`` / ``exclude``."""
    if unknown_labels not in UNKNOWN_LABEL_MODES:
        raise ValueError(
            f"unknown_labels must be one of {UNKNOWN_LABEL_MODES}, got {unknown_labels!r}"
        )


def find_first(root: Path, candidates: Sequence[str], what: str) -> Path:
    """The first of ``candidates`` (relative to ``root``) that exists as a file, else a
    ``FileNotFoundError`` naming every path tried and what it should hold."""
    for rel in candidates:
        p = root / rel
        if p.is_file():
            return p
    tried = ", ".join(str(root / c) for c in candidates)
    raise FileNotFoundError(f"{what} not found: expected one of {tried}")


def require_dir(path: Path, what: str) -> Path:
    """``path`` if it is a folder, else a ``FileNotFoundError`` saying what it should hold."""
    if not path.is_dir():
        raise FileNotFoundError(f"{what} not found: expected the folder {path}")
    return path


def relative(root: Path, path: Path) -> str:
    """``path`` relative to the corpus root, with ``/`` separators (used in ``source``)."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def line_sources(rel: str, lines: np.ndarray | pd.Series) -> pd.Series:
    """Vectorised ``"<rel>:<line>"`` strings."""
    lines = pd.Series(np.asarray(lines)).astype("int64").astype("str")
    return (rel + ":") + lines


def error_at_source(root: Path, source: str, what: str) -> AnnotationError:
    """An :class:`AnnotationError` for a ``source`` string (``rel:line`` or ``rel:key``)."""
    rel, _, loc = source.rpartition(":")
    if loc.isdigit():
        return AnnotationError(root / rel, int(loc), what)
    # a key (JSON) rather than a line: name it in the message
    rel, _, loc = source.partition(":")
    return AnnotationError(root / rel, None, f"key {loc!r}: {what}")


def classify_labels(
    vocab: Vocabulary,
    raw: pd.Series,
    sources: pd.Series,
    root: Path,
    unknown_labels: str,
) -> tuple[pd.Series, pd.Series]:
    """``(emotion, status)`` for raw tokens. With ``unknown_labels="error"`` the first token the
    vocabulary does not know raises :class:`AnnotationError` at its file and line; with
    ``"exclude"`` it keeps the status ``unknown_label`` (a counted exclusion)."""
    check_mode(unknown_labels)
    emotion, status = vocab.classify(raw)
    if unknown_labels == "error":
        unknown = (status == UNKNOWN_LABEL).to_numpy()
        if unknown.any():
            i = int(np.flatnonzero(unknown)[0])
            raise error_at_source(
                root,
                str(sources.iloc[i]),
                f"unknown emotion label {raw.iloc[i]!r} for the {vocab.fmt} vocabulary "
                f"(known: {', '.join(sorted(set(vocab.words)))}; 'Other...' = other); "
                "use unknown_labels='exclude' to keep it as a counted exclusion",
            )
    return emotion, status


_PARSER_LINE = re.compile(r"line (\d+)")


def read_csv_table(
    path: Path, required: Iterable[str], *, index_col_blank: bool = False
) -> pd.DataFrame:
    """Read a CSV as strings with a ``_line`` column = physical line number (header = line 1).

    Blank lines are kept as empty rows (so numbering stays physical). A row with too many fields,
    a missing required column, or a quoted field spanning lines raises :class:`AnnotationError`
    at the file and line. ``index_col_blank`` names a leading unnamed column (R's row names)
    ``_rowname``.
    """
    try:
        df = pd.read_csv(
            path,
            dtype="str",
            keep_default_na=False,
            na_values=[],
            skip_blank_lines=False,
            encoding="utf-8-sig",
        )
    except pd.errors.EmptyDataError:
        raise AnnotationError(path, 1, "empty file: expected a header row") from None
    except pd.errors.ParserError as exc:
        m = _PARSER_LINE.search(str(exc))
        line = int(m.group(1)) if m else None
        raise AnnotationError(path, line, f"malformed CSV row ({exc})") from None
    except UnicodeDecodeError as exc:
        raise AnnotationError(path, None, f"not UTF-8 text ({exc})") from None
    if index_col_blank and len(df.columns):
        first = str(df.columns[0])
        if first == "" or first.startswith("Unnamed: "):
            df = df.rename(columns={df.columns[0]: "_rowname"})
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise AnnotationError(
            path,
            1,
            f"header lacks column(s) {missing}; found {list(map(str, df.columns))}",
        )
    for c in df.columns:
        has_nl = df[c].str.contains("\n", regex=False)
        if has_nl.any():
            i = int(np.flatnonzero(has_nl.to_numpy())[0])
            raise AnnotationError(
                path,
                i + 2,
                f"quoted field in column {c!r} spans several lines (not a native file?)",
            )
    df["_line"] = np.arange(2, len(df) + 2, dtype=np.int64)
    return df


def blank_rows(df: pd.DataFrame) -> pd.Series:
    """Rows whose every data column is empty (blank physical lines)."""
    data = [c for c in df.columns if c != "_line"]
    if not data:
        return pd.Series(False, index=df.index)
    return (df[data] == "").all(axis=1)


def split_fields(values: pd.Series, n_fields: int, sep: str = ";") -> list[pd.Series]:
    """The first ``n_fields`` ``sep``-separated fields of each string, whitespace-stripped
    (missing fields are ``""``). Runs in Arrow's string kernels: about 5x faster than
    ``Series.str.split(expand=True)`` / ``str.extract`` on a million rows."""
    arr = pa.array(pd.array(values, dtype="str"))
    pad = pa.scalar(sep * n_fields, arr.type)
    padded = pc.binary_join_element_wise(arr, pad, pa.scalar("", arr.type))
    parts = pc.split_pattern(padded, sep, max_splits=n_fields)
    out = []
    for k in range(n_fields):
        field = pc.utf8_trim_whitespace(pc.list_element(parts, k))
        out.append(pd.Series(pd.array(field, dtype="str"), index=values.index))
    return out
