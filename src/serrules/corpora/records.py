"""``ParsedCorpus``: the three tables every native parser returns (docs/architecture.md).

Frames are built column-wise (:func:`ratings_frame`, :func:`utterances_frame`,
:func:`exclusions_frame`) so parsers of large corpora never assemble DataFrames row by row.
String columns use pandas' string dtype (``"str"``; null = missing), ``session`` is ``Int64``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from serrules.base.classes import OTHER, VALID
from serrules.base.tables import check_references, check_table
from serrules.corpora.statuses import (  # the exclusion reasons, re-exported for the parsers
    DUPLICATE_LABEL,
    DUPLICATE_RATER,
    NOT_IN_CONSENSUS,
    SELF_EVALUATION,
    SLOW_RESPONSE,
    UNKNOWN_LABEL,
)

RATING_COLUMNS: tuple[str, ...] = (
    "utterance_id",
    "rater_id",
    "rater_kind",
    "raw_label",
    "emotion",
    "status",
    "source",
)
UTTERANCE_COLUMNS: tuple[str, ...] = (
    "utterance_id",
    "speaker",
    "gender",
    "session",
    "split",
    "audio_path",
)
EXCLUSION_COLUMNS: tuple[str, ...] = ("utterance_id", "rater_id", "reason", "source")

#: rater_kind values
EVALUATOR = "evaluator"
SELF = "self"
RATER_KINDS = frozenset({EVALUATOR, SELF})

#: gender values
GENDERS = frozenset({"F", "M", "Unknown"})

#: ``source`` of the table-contract messages about a parser's result.
PARSED_SOURCE = "parsed corpus"

# Columns that may hold nulls; every other column must be filled.
_NULLABLE = {
    "ratings": {"emotion"},
    "utterances": {"session", "split"},
    "exclusions": {"utterance_id", "rater_id"},
}

Column = Sequence[Any] | np.ndarray | pd.Series | pd.Index | str | int | None


def _column(
    values: Column, n: int | None, dtype: str
) -> tuple[pd.api.extensions.ExtensionArray, int]:
    """One frame column from a sequence/array/Series, or a scalar broadcast to ``n`` rows."""
    if values is None or isinstance(values, (str, int, np.integer)):
        if n is None:
            raise ValueError("a scalar column needs at least one sequence column to set the length")
        values = [values] * n
    if isinstance(values, pd.Series):
        values = values.array
    if isinstance(values, pd.api.extensions.ExtensionArray) and str(values.dtype) == dtype:
        return values, len(values)  # already the right dtype: no copy
    if isinstance(values, pd.api.extensions.ExtensionArray):
        values = values.to_numpy()
    arr = pd.array(values, dtype=dtype)
    return arr, len(arr)


def _frame(
    columns: tuple[str, ...], dtypes: dict[str, str], data: dict[str, Column]
) -> pd.DataFrame:
    unknown = set(data) - set(columns)
    if unknown:
        raise TypeError(f"unknown columns {sorted(unknown)}; expected {list(columns)}")
    lengths = [
        len(v) for v in data.values() if v is not None and not isinstance(v, (str, int, np.integer))
    ]
    n = lengths[0] if lengths else None
    if any(x != n for x in lengths):
        raise ValueError(f"columns differ in length: {dict(zip(data, lengths, strict=False))}")
    out = {}
    for c in columns:
        out[c], _ = _column(data.get(c), n, dtypes.get(c, "str"))
    return pd.DataFrame(out, columns=list(columns))


def isin_strings(values: pd.Series, allowed: pd.Series | Sequence[str]) -> np.ndarray:
    """Boolean mask ``values ∈ allowed`` for string Series, via Arrow's hash kernel (pandas'
    ``isin`` on Arrow strings walks the value set in Python, slow for 10^5 values)."""
    a = pa.array(pd.array(values, dtype="str"))
    b = pa.array(pd.array(pd.Series(allowed, dtype="str").to_numpy(), dtype="str"))
    if a.type != b.type:
        b = b.cast(a.type)
    return np.asarray(pc.fill_null(pc.is_in(a, value_set=b), False), dtype=bool)


def ratings_frame(
    *,
    utterance_id: Column,
    rater_id: Column,
    rater_kind: Column,
    raw_label: Column,
    emotion: Column,
    status: Column,
    source: Column,
) -> pd.DataFrame:
    """The ``ratings`` table from column values (scalars are broadcast)."""
    return _frame(RATING_COLUMNS, {}, dict(locals()))


def utterances_frame(
    *,
    utterance_id: Column,
    speaker: Column,
    gender: Column,
    session: Column,
    split: Column,
    audio_path: Column,
) -> pd.DataFrame:
    """The ``utterances`` table from column values (scalars are broadcast)."""
    return _frame(UTTERANCE_COLUMNS, {"session": "Int64"}, dict(locals()))


def meta_utterances(meta: Sequence[tuple]) -> pd.DataFrame:
    """The ``utterances`` table (no split) from ``(utterance_id, speaker, gender, session,
    audio_path)`` tuples, one per utterance, as the line-by-line parsers collect them."""
    cols = list(zip(*meta, strict=True)) if meta else [[]] * 5
    return utterances_frame(
        utterance_id=list(cols[0]),
        speaker=list(cols[1]),
        gender=list(cols[2]),
        session=list(cols[3]),
        split=None,
        audio_path=list(cols[4]),
    )


@dataclass
class RatingRows:
    """Ratings as a parser read them, before their labels are classified: one value per row in
    each column (``rater_kind`` may be one value for every row). A line-by-line parser starts
    with empty columns and :meth:`add` s one row at a time; a table parser passes its columns
    whole. :func:`serrules.corpora.parsing.classified_ratings` makes the ratings table."""

    utterance_id: Column = field(default_factory=list)
    rater_id: Column = field(default_factory=list)
    rater_kind: Column = field(default_factory=list)
    raw_label: Column = field(default_factory=list)
    source: Column = field(default_factory=list)

    def add(
        self, utterance_id: str, rater_id: str, rater_kind: str, raw_label: str, source: str
    ) -> None:
        """Append one row (the columns must be lists)."""
        self.utterance_id.append(utterance_id)
        self.rater_id.append(rater_id)
        self.rater_kind.append(rater_kind)
        self.raw_label.append(raw_label)
        self.source.append(source)


def exclusions_frame(
    *, utterance_id: Column, rater_id: Column, reason: Column, source: Column
) -> pd.DataFrame:
    """The ``exclusions`` table from column values (scalars are broadcast)."""
    return _frame(EXCLUSION_COLUMNS, {}, dict(locals()))


def empty_exclusions() -> pd.DataFrame:
    """An ``exclusions`` table with no rows."""
    return exclusions_frame(utterance_id=[], rater_id=[], reason=[], source=[])


@dataclass
class ParsedCorpus:
    """What a native parser found: per-rater ratings, utterance metadata, parse-time drops."""

    ratings: pd.DataFrame
    utterances: pd.DataFrame
    exclusions: pd.DataFrame

    def validate(self, classes: Sequence[str] | None = None) -> ParsedCorpus:
        """Check the tables against their contracts (:mod:`serrules.base.tables`: columns, unique
        ``utterance_id``, every rating's utterance parsed), then column order, dtypes and the
        invariants of docs/architecture.md; raise ``ValueError`` (:class:`TableError` for a
        contract) naming the table and column on the first violation. Returns ``self``."""
        specs = {
            "ratings": (self.ratings, RATING_COLUMNS),
            "utterances": (self.utterances, UTTERANCE_COLUMNS),
            "exclusions": (self.exclusions, EXCLUSION_COLUMNS),
        }
        for name, (df, cols) in specs.items():
            if not isinstance(df, pd.DataFrame):
                raise ValueError(f"{name}: expected a DataFrame, got {type(df).__name__}")
            # the parsed tables are the label-stage tables before it adds its columns
            check_table(df, name, columns=cols, source=PARSED_SOURCE)
            if tuple(df.columns) != cols:
                raise ValueError(f"{name}: columns {list(df.columns)} != expected {list(cols)}")
            for c in cols:
                s = df[c]
                if name == "utterances" and c == "session":
                    if str(s.dtype) != "Int64":
                        raise ValueError(f"{name}.{c}: dtype {s.dtype} != Int64")
                elif not pd.api.types.is_string_dtype(s.dtype) or s.dtype == object:
                    raise ValueError(f"{name}.{c}: dtype {s.dtype} is not the string dtype")
                if c not in _NULLABLE[name] and s.isna().any():
                    row = int(np.flatnonzero(s.isna().to_numpy())[0])
                    raise ValueError(f"{name}.{c}: null value at row {row}")
        r, u = self.ratings, self.utterances
        bad = ~r["rater_kind"].isin(RATER_KINDS)
        if bad.any():
            raise ValueError(f"ratings.rater_kind: unexpected {r.loc[bad, 'rater_kind'].iloc[0]!r}")
        has_emotion = r["emotion"].notna().to_numpy()
        is_valid = (r["status"] == VALID).to_numpy()
        if (has_emotion != is_valid).any():
            row = int(np.flatnonzero(has_emotion != is_valid)[0])
            raise ValueError(
                f"ratings row {row}: emotion must be set exactly when status is 'valid' "
                f"(status={r['status'].iloc[row]!r}, emotion={r['emotion'].iloc[row]!r})"
            )
        if (r["status"] == "").any():
            raise ValueError("ratings.status: empty status")
        if classes is not None:
            bad = r["emotion"].notna() & ~r["emotion"].isin(list(classes))
            if bad.any():
                raise ValueError(f"ratings.emotion: {r.loc[bad, 'emotion'].iloc[0]!r} not a class")
        bad = ~u["gender"].isin(GENDERS)
        if bad.any():
            raise ValueError(f"utterances.gender: unexpected {u.loc[bad, 'gender'].iloc[0]!r}")
        # Arrow's hash kernel finds orphans in 0.03 s on 1.05M ratings x 150k utterances, the
        # contract's pandas check in 0.5 s: the contract check runs (and names them) only then
        if not isin_strings(r["utterance_id"], u["utterance_id"]).all():
            check_references(
                r, "ratings", u, "utterances", source=PARSED_SOURCE, parent_source=PARSED_SOURCE
            )
        return self

    def status_counts(self) -> pd.Series:
        """Number of ratings rows per status (valid, other, each exclusion reason)."""
        return self.ratings["status"].value_counts().sort_index()


__all__ = [
    "DUPLICATE_LABEL",
    "DUPLICATE_RATER",
    "EVALUATOR",
    "EXCLUSION_COLUMNS",
    "NOT_IN_CONSENSUS",
    "OTHER",
    "ParsedCorpus",
    "RATING_COLUMNS",
    "RatingRows",
    "SELF",
    "SELF_EVALUATION",
    "SLOW_RESPONSE",
    "UNKNOWN_LABEL",
    "PARSED_SOURCE",
    "UTTERANCE_COLUMNS",
    "VALID",
    "empty_exclusions",
    "exclusions_frame",
    "isin_strings",
    "meta_utterances",
    "ratings_frame",
    "utterances_frame",
]
