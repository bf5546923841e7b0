"""Steps shared by the native parsers: locating files, reading CSVs with physical line numbers,
the unknown-label policy and ``source`` strings (``<path relative to the corpus root>:<line>``)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from serrules.base.classes import OTHER, VALID
from serrules.base.errors import AnnotationError
from serrules.corpora.records import UNKNOWN_LABEL, RatingRows, ratings_frame
from serrules.corpora.text import read_text
from serrules.corpora.vocabulary import Vocabulary

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


#: What a name taken from an annotation file (an utterance id, a file name) may look like before
#: it becomes part of an audio path: no separators, no ``..``, not absolute, no control characters.
SAFE_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
_SAFE_NAME = re.compile(SAFE_NAME)


def unsafe_name(name: str) -> bool:
    """True when ``name`` could leave its folder once joined to a path (see :data:`SAFE_NAME`)."""
    return not _SAFE_NAME.match(name) or ".." in name


def check_safe_names(names: pd.Series, lines: pd.Series, path: Path, what: str) -> None:
    """Raise :class:`AnnotationError` at the line of the first name that could point outside the
    corpus root (path separators, ``..``, absolute paths, odd characters)."""
    bad = ~names.str.fullmatch(SAFE_NAME).fillna(False).to_numpy(dtype=bool)
    bad |= names.str.contains("..", regex=False).fillna(False).to_numpy(dtype=bool)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise AnnotationError(path, int(lines.iloc[i]), unsafe_name_message(names.iloc[i], what))


def check_unique(names: pd.Series, lines: pd.Series, path: Path, what: str) -> None:
    """Raise :class:`AnnotationError` naming both lines of the first value listed twice."""
    dup = names.duplicated(keep="first").to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        j = int(np.flatnonzero((names == names.iloc[i]).to_numpy())[0])
        raise AnnotationError(
            path,
            int(lines.iloc[i]),
            f"{what} {names.iloc[i]!r} listed twice: lines {int(lines.iloc[j])} and "
            f"{int(lines.iloc[i])}",
        )


def unsafe_name_message(name: str, what: str) -> str:
    return (
        f"{what} {name!r} could point outside the corpus folder (path separators, '..', an "
        "absolute path or characters other than letters, digits, '.', '_', '-'); refused"
    )


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


def classify_tokens(vocab: Vocabulary, raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Vectorised :meth:`Vocabulary.classify_token` over a string Series: ``(emotion, status)``
    Series aligned with ``raw`` (emotion is null unless the status is ``valid``); each distinct
    token is classified once."""
    codes, uniques = pd.factorize(raw.astype("str"), use_na_sentinel=True)
    emo_u = np.empty(len(uniques) + 1, dtype=object)
    st_u = np.empty(len(uniques) + 1, dtype=object)
    for i, tok in enumerate(uniques):
        emo_u[i], st_u[i] = vocab.classify_token(str(tok))
    emo_u[-1], st_u[-1] = None, UNKNOWN_LABEL  # a missing token (code -1) is unknown
    emotion = pd.Series(emo_u[codes], index=raw.index, dtype="str")
    status = pd.Series(st_u[codes], index=raw.index, dtype="str")
    return emotion, status


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
    emotion, status = classify_tokens(vocab, raw)
    if unknown_labels == "error":
        unknown = (status == UNKNOWN_LABEL).to_numpy()
        if unknown.any():
            i = int(np.flatnonzero(unknown)[0])
            raise error_at_source(
                root,
                str(sources.iloc[i]),
                f"unknown emotion label {raw.iloc[i]!r} for the {vocab.fmt} vocabulary "
                f"({vocab.describe()}); "
                "use unknown_labels='exclude' to keep it as a counted exclusion",
            )
    return emotion, status


def classified_ratings(
    rows: RatingRows,
    vocab: Vocabulary,
    root: Path,
    unknown_labels: str,
    *,
    exclude: Sequence[tuple[np.ndarray, str]] = (),
) -> pd.DataFrame:
    """The ``ratings`` table of ``rows``: each raw label classified (:func:`classify_labels`),
    then the ``exclude`` reasons given (:func:`ratings_table`)."""
    raw = pd.Series(rows.raw_label, dtype="str")
    emotion, status = classify_labels(
        vocab, raw, pd.Series(rows.source, dtype="str"), root, unknown_labels
    )
    return ratings_table(rows, emotion, status, exclude=exclude)


def ratings_table(
    rows: RatingRows,
    emotion: pd.Series,
    status: pd.Series,
    *,
    exclude: Sequence[tuple[np.ndarray, str]] = (),
) -> pd.DataFrame:
    """The ``ratings`` table of ``rows`` and their classified labels (``status``: ``valid``,
    ``other`` or ``unknown_label``): each ``(mask, reason)`` of ``exclude`` in turn gives its
    reason to the rows it marks that are still ``valid`` or ``other`` (the first reason that
    applies wins); ``emotion`` stays only on valid rows."""
    status = status.to_numpy(dtype=object)
    for mask, reason in exclude:
        status = np.where(mask & ((status == VALID) | (status == OTHER)), reason, status)
    return ratings_frame(
        utterance_id=rows.utterance_id,
        rater_id=rows.rater_id,
        rater_kind=rows.rater_kind,
        raw_label=rows.raw_label,
        emotion=emotion.where(status == VALID, None),
        status=status,
        source=rows.source,
    )


def read_csv_table(
    path: Path, required: Iterable[str], *, index_col_blank: bool = False, delimiter: str = ","
) -> pd.DataFrame:
    """Read a CSV (text policy of :mod:`serrules.corpora.text`; ``delimiter="\t"`` for TSV) as
    strings, with a ``_line`` column = physical line number (header = line 1); blank lines are
    skipped.

    Raises :class:`AnnotationError` at the file and line for: a row whose field count differs
    from the header's (a missing or extra field, e.g. a trailing comma, would shift columns), a
    header naming a column twice, a missing required column, malformed quoting (including a
    quote left open at the end of a truncated file), a quoted field spanning lines, a field
    longer than ``csv.field_size_limit()``, and a file with a header but no data rows.
    ``index_col_blank`` names a leading unnamed column (R's row names) ``_rowname``.
    """
    required = list(required)
    text = read_text(path)
    df = _read_csv_fast(text, required, index_col_blank, delimiter)
    return _read_csv_strict(path, text, required, index_col_blank, delimiter) if df is None else df


def _quote_then_text(delimiter: str) -> re.Pattern[str]:
    """A closing quote followed by more text in the same field (``"x"y``): Arrow reads it as
    ``xy``, Python's strict csv reader refuses it, so such files take the strict path."""
    d = re.escape(delimiter)
    return re.compile(rf'[^{d}\n]"[^{d}\n"]')


def _read_csv_fast(
    text: str, required: Iterable[str], index_col_blank: bool, delimiter: str = ","
) -> pd.DataFrame | None:
    """Arrow's CSV reader (several times faster than Python's on a million rows) for a file with
    nothing to report: one row per physical line, every row as many fields as the header. Returns
    None whenever anything is off; :func:`_read_csv_strict` then finds and names it."""
    first = text.partition("\n")[0]
    try:
        header = [h.strip() for h in next(csv.reader([first], strict=True, delimiter=delimiter))]
    except (csv.Error, StopIteration):
        return None
    if index_col_blank and header and header[0] == "":
        header[0] = "_rowname"
    if not header or len(set(header)) != len(header) or set(required) - set(header):
        return None
    if '"' in text and (text.count('"') % 2 or _quote_then_text(delimiter).search(text)):
        return None  # a quote left open (truncated file?) or text after a closing quote
    n_lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    try:
        table = pacsv.read_csv(
            io.BytesIO(text.encode("utf-8")),
            # one thread: jobs get their cores from Snakemake, and no pool outlives the call
            read_options=pacsv.ReadOptions(column_names=header, skip_rows=1, use_threads=False),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter, ignore_empty_lines=False, newlines_in_values=False
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(header, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowException, ValueError):
        return None
    if table.num_rows != n_lines - 1:
        return None  # a quoted field over several lines, or rows Arrow merged or split
    limit = csv.field_size_limit()
    for col in table.columns:
        longest = pc.max(pc.utf8_length(col)).as_py()
        if longest is not None and longest > limit:
            return None
    df = table.to_pandas()
    lines = np.arange(2, n_lines + 1, dtype=np.int64)
    keep = ~(df == "").all(axis=1).to_numpy()
    if not keep.any():
        return None
    df = df.loc[keep].reset_index(drop=True)
    df["_line"] = lines[keep]
    return df


def _read_csv_strict(
    path: Path, text: str, required: Iterable[str], index_col_blank: bool, delimiter: str = ","
) -> pd.DataFrame:
    """Python's csv reader (strict quoting) with the physical line of every record: slower,
    and it names the first problem by file and line."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True, delimiter=delimiter)
    rows: list[list[str]] = []
    ends: list[int] = []
    add_row, add_end = rows.append, ends.append
    try:
        for row in reader:
            add_row(row)
            add_end(reader.line_num)
    except csv.Error as exc:
        start = ends[-1] + 1 if ends else 1
        what = str(exc)
        if "unexpected end of data" in what:
            what = "quoted field left open until the end of the file (truncated file?)"
        elif "field larger than field limit" in what:
            what = f"a field longer than {csv.field_size_limit()} characters"
        raise AnnotationError(path, start, f"malformed CSV ({what})") from None
    if not rows or not rows[0]:
        raise AnnotationError(path, 1, "line 1 is blank: expected the header row")
    header = [h.strip() for h in rows[0]]
    if index_col_blank and header and header[0] == "":
        header[0] = "_rowname"
    seen: dict[str, int] = {}
    for k, name in enumerate(header, start=1):
        if name in seen:
            raise AnnotationError(
                path, 1, f"header names column {name!r} twice (fields {seen[name]} and {k})"
            )
        seen[name] = k
    missing = [c for c in required if c not in seen]
    if missing:
        raise AnnotationError(path, 1, f"header lacks column(s) {missing}; found {header}")
    ends_arr = np.asarray(ends, dtype=np.int64)
    starts = np.concatenate([[1], ends_arr[:-1] + 1])
    # a line holding only spaces is blank too (0 fields), not a row with one field
    counts = np.fromiter(
        (0 if len(r) == 1 and not r[0].strip() else len(r) for r in rows),
        dtype=np.int64,
        count=len(rows),
    )
    data = np.flatnonzero(counts > 0)[1:] if counts[0] else np.flatnonzero(counts > 0)
    n = len(header)
    problems = (
        (
            data[counts[data] != n],
            lambda i: (
                f"row has {counts[i]} fields but the header has {n} ({', '.join(header)}): "
                "a missing or extra field (e.g. a trailing comma) would shift every column"
            ),
        ),
        (
            data[ends_arr[data] != starts[data]],
            lambda i: (
                f"quoted field spans lines {starts[i]}-{ends_arr[i]} (a stray quote? not a "
                "native file?)"
            ),
        ),
    )
    for rows_at, what in problems:  # the first row of the first kind of problem
        if len(rows_at):
            i = int(rows_at[0])
            raise AnnotationError(path, int(starts[i]), what(i))
    if not len(data):
        raise AnnotationError(path, None, "header but no data rows (empty or truncated file?)")
    columns = list(zip(*(rows[i] for i in data), strict=True))
    df = pd.DataFrame(
        {name: pd.array(col, dtype="str") for name, col in zip(header, columns, strict=True)}
    )
    df["_line"] = starts[data]
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
