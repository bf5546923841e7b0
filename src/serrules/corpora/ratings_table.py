"""The ``ratings-table`` format: any corpus with per-rater categorical votes, given as two plain
tables under its root (docs/corpora.md, "Your own corpus").

* **ratings** (one row per vote): utterance id, rater id, label word. The word is classified by
  the vocabulary of the corpus's config entry (a class, ``other``, or unknown).
* **utterances** (one row per utterance): utterance id, audio path relative to the root, and
  where the table has them speaker (``Unknown`` where absent or empty), gender (``F``/``M``,
  ``Female``/``Male`` in any case, ``Unknown`` or empty), ``split`` (official split as written)
  and ``fold`` (the utterance's cross-validation fold, 1..k, held as the ``session`` that the
  fold rotation reads; :mod:`serrules.labels.folds`).

CSV, TSV (both read under the text policy of :mod:`serrules.corpora.text`, located by physical
line, header = line 1) or Parquet (located by row, first row = 1), chosen by the file extension;
the column names are the layout's (:class:`~serrules.corpora.table_layout.TableLayout`).

Bad input is an :class:`AnnotationError` at its file and line: a configured column the file
lacks, an empty id, rater or audio path, an utterance listed twice, an audio path that leaves
the root, a gender, split or fold value the entry does not allow, votes for an utterance without
an utterances row, a rater voting twice for one utterance, a label word outside the vocabulary
(with ``unknown_labels="error"``; ``"exclude"`` counts it as ``unknown_label``).
"""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from serrules.base.errors import AnnotationError
from serrules.corpora.parsing import (
    blank_rows,
    check_unique,
    classified_ratings,
    line_sources,
    read_csv_table,
    relative,
)
from serrules.corpora.records import (
    EVALUATOR,
    ParsedCorpus,
    RatingRows,
    empty_exclusions,
    isin_strings,
    utterances_frame,
)
from serrules.corpora.table_layout import (
    RATINGS_ROLES,
    REQUIRED_UTTERANCES_ROLES,
    TableLayout,
    table_kind,
)
from serrules.corpora.text import MAX_ANNOTATION_BYTES

if TYPE_CHECKING:
    from serrules.corpora.formats import CorpusFormat

log = logging.getLogger(__name__)

#: Gender values (compared in lower case) -> the utterances table's F / M / Unknown.
GENDERS = {"f": "F", "female": "F", "m": "M", "male": "M", "unknown": "Unknown", "": "Unknown"}
#: The speaker of an utterance whose table has no speaker (or an empty one).
UNKNOWN_SPEAKER = "Unknown"
#: The fold design's column -> the utterances role it needs.
_DESIGN_ROLE = {"speaker": "speaker", "split": "split", "session": "fold"}


def _first(mask: np.ndarray | pd.Series, lines: pd.Series) -> int | None:
    mask = np.asarray(mask, dtype=bool)
    return int(lines.iloc[int(np.flatnonzero(mask)[0])]) if mask.any() else None


def _read_parquet(path: Path, required: Sequence[str], wanted: Sequence[str]) -> pd.DataFrame:
    """The ``wanted`` columns of a Parquet table (those present) as strings, null = ``""``, with
    ``_line`` = row number (first row = 1)."""
    size = path.stat().st_size
    if size > MAX_ANNOTATION_BYTES:
        raise AnnotationError(path, None, f"{size} bytes: larger than {MAX_ANNOTATION_BYTES}")
    unreadable = (pa.ArrowException, OSError, ValueError)
    try:
        names = pq.read_schema(path).names
    except unreadable as exc:
        raise AnnotationError(path, None, f"not a readable Parquet table ({exc})") from None
    missing = [c for c in required if c not in names]
    if missing:
        raise AnnotationError(path, None, f"lacks column(s) {missing}; found {names}")
    present = [c for c in dict.fromkeys(wanted) if c in names]
    try:
        table = pq.read_table(path, columns=present)
        table.validate(full=True)  # e.g. text that is not UTF-8, which Parquet does not check
        columns = {}
        for name in present:
            col = table.column(name)
            if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
                col = pc.cast(col, pa.string())
            columns[name] = pd.array(pc.fill_null(col, ""), dtype="str")
    except unreadable as exc:
        raise AnnotationError(path, None, f"not a readable Parquet table ({exc})") from None
    if table.num_rows == 0:
        raise AnnotationError(path, None, "no rows (empty or truncated file?)")
    df = pd.DataFrame(columns)
    df["_line"] = np.arange(1, table.num_rows + 1, dtype=np.int64)
    return df


def read_table_file(
    path: Path, required: Sequence[str], optional: Sequence[str] = ()
) -> pd.DataFrame:
    """A table of the corpus as strings with its ``_line`` column (CSV/TSV: physical line, blank
    lines dropped; Parquet: row number); a ``required`` column the file lacks is an
    :class:`AnnotationError`, an ``optional`` one is left out."""
    if not path.is_file():
        raise FileNotFoundError(f"ratings-table file not found: expected {path}")
    kind = table_kind(path.name)
    if kind == "parquet":
        df = _read_parquet(path, required, [*required, *optional])
    else:
        df = read_csv_table(path, list(required), delimiter="\t" if kind == "tsv" else ",")
        df = df.loc[~blank_rows(df)].reset_index(drop=True)
    for name in df.columns:
        if name != "_line":
            df[name] = df[name].str.strip()
    return df


def _require_filled(df: pd.DataFrame, column: str, path: Path, what: str) -> None:
    line = _first(df[column] == "", df["_line"])
    if line is not None:
        raise AnnotationError(path, line, f"empty {column} ({what})")


def _audio_paths(df: pd.DataFrame, column: str, path: Path) -> pd.Series:
    """The audio paths, each checked to stay under the corpus root (relative, no ``..``)."""
    values = df[column].str.replace("\\", "/", regex=False)
    for i, value in enumerate(values):
        p = PurePosixPath(value)
        if p.is_absolute() or ".." in p.parts or value.startswith("~"):
            raise AnnotationError(
                path,
                int(df["_line"].iloc[i]),
                f"{column} {value!r} is not a path inside the corpus root (give it relative to "
                "the root, without '..')",
            )
    return values.map(posixpath.normpath).astype("str")


def _lines(path: Path) -> str:
    """What a location in ``path`` counts: physical lines (CSV, TSV) or rows (Parquet)."""
    return "rows" if table_kind(path.name) == "parquet" else "lines"


def _utterances(root: Path, fmt: CorpusFormat, layout: TableLayout) -> pd.DataFrame:
    """The utterances table of the parsed corpus, every value checked (module docstring)."""
    path = root / layout.utterances
    cols = layout.columns
    design = fmt.folds
    needs = [*REQUIRED_UTTERANCES_ROLES, _DESIGN_ROLE[design.column]]
    required = list(dict.fromkeys(cols[r] for r in needs))
    optional = [cols[r] for r in ("speaker", "gender", "split", "fold")]
    df = read_table_file(path, required, optional)
    present = [cols[r] for r in ("speaker", "gender", "split", "fold") if cols[r] in df.columns]
    log.info("%s: %d utterances; columns read: %s", path, len(df), [*required, *present])
    uid, audio = cols["utterance_id"], cols["audio_path"]
    _require_filled(df, uid, path, "utterance id")
    _require_filled(df, audio, path, "audio path")
    check_unique(df[uid], df["_line"], path, uid)
    audio_paths = _audio_paths(df, audio, path)

    speaker = df[cols["speaker"]] if cols["speaker"] in df.columns else None
    if design.column == "speaker":
        _require_filled(df, cols["speaker"], path, "the folds are made by speaker")
    elif speaker is not None:
        speaker = speaker.where(speaker != "", UNKNOWN_SPEAKER)

    gender = None
    if cols["gender"] in df.columns:
        gender = df[cols["gender"]].str.lower().map(GENDERS)
        line = _first(gender.isna(), df["_line"])
        if line is not None:
            raise AnnotationError(
                path, line, f"{cols['gender']} must be F, M, Female, Male, Unknown or empty"
            )

    split = None
    if cols["split"] in df.columns:
        split = df[cols["split"]].where(df[cols["split"]] != "", None)
        if design.column == "split":
            line = _first(~df[cols["split"]].isin(list(design.split_parts)), df["_line"])
            if line is not None:
                raise AnnotationError(
                    path,
                    line,
                    f"{cols['split']} must be one of {sorted(design.split_parts)} "
                    "(tables.folds.splits)",
                )

    session = None
    if design.column == "session":
        n_folds = design.n_folds
        fold = pd.to_numeric(df[cols["fold"]], errors="coerce")
        bad = ~fold.isin(np.arange(1, n_folds + 1)).to_numpy()
        line = _first(bad, df["_line"])
        if line is not None:
            raise AnnotationError(
                path,
                line,
                f"{cols['fold']} must be a whole number from 1 to {n_folds} (tables.folds.k)",
            )
        session = fold.to_numpy().astype(np.int64)

    return utterances_frame(
        utterance_id=df[uid],
        speaker=UNKNOWN_SPEAKER if speaker is None else speaker,
        gender="Unknown" if gender is None else gender,
        session=session,
        split=split,
        audio_path=(str(root) + "/") + audio_paths,
    )


def _ratings(
    root: Path,
    fmt: CorpusFormat,
    layout: TableLayout,
    utterance_ids: pd.Series,
    unknown_labels: str,
) -> pd.DataFrame:
    """The ratings table: one row per vote, its label classified (module docstring)."""
    path = root / layout.ratings
    cols = layout.columns
    uid, rater, label = (cols[r] for r in RATINGS_ROLES)
    df = read_table_file(path, [uid, rater, label])
    log.info("%s: %d votes", path, len(df))
    _require_filled(df, uid, path, "utterance id")
    _require_filled(df, rater, path, "rater id")
    line = _first(~isin_strings(df[uid], utterance_ids), df["_line"])
    if line is not None:
        value = df.loc[df["_line"] == line, uid].iloc[0]
        raise AnnotationError(
            path,
            line,
            f"votes for utterance {value!r}, which has no row in {layout.utterances} (so no "
            "audio path)",
        )
    pairs = df[[uid, rater]]
    dup = pairs.duplicated(keep="first").to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        u, r = pairs.iloc[i]
        j = int(np.flatnonzero(((pairs[uid] == u) & (pairs[rater] == r)).to_numpy())[0])
        raise AnnotationError(
            path,
            int(df["_line"].iloc[i]),
            f"rater {r!r} voted twice for utterance {u!r}: {_lines(path)} "
            f"{int(df['_line'].iloc[j])} and {int(df['_line'].iloc[i])} (one vote per rater and "
            "utterance)",
        )
    rows = RatingRows(
        utterance_id=df[uid],
        rater_id=df[rater],
        rater_kind=EVALUATOR,
        raw_label=df[label],
        source=line_sources(relative(root, path), df["_line"]),
    )
    return classified_ratings(rows, fmt.vocabulary, root, unknown_labels)


def parse_ratings_table(
    root: Path, *, fmt: CorpusFormat, unknown_labels: str, include_self_evaluations: bool = False
) -> ParsedCorpus:
    """Parse a ``ratings-table`` corpus rooted at ``root`` (absolute; ``fmt``'s record, built
    from the corpus's config entry, gives the tables, columns, vocabulary and folds;
    ``include_self_evaluations`` has no effect: the tables hold no self-evaluations); called by
    :func:`serrules.corpora.parse_corpus`."""
    layout = fmt.layout
    if layout is None:
        raise ValueError(f"{fmt.name}: not a ratings-table record (it has no table layout)")
    utterances = _utterances(root, fmt, layout)
    ratings = _ratings(root, fmt, layout, utterances["utterance_id"], unknown_labels)
    return ParsedCorpus(ratings, utterances, empty_exclusions())


__all__ = ["GENDERS", "UNKNOWN_SPEAKER", "parse_ratings_table", "read_table_file"]
