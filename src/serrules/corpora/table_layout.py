"""Where a ``ratings-table`` corpus keeps its two tables and what their columns are called.

A corpus in the ``ratings-table`` format is described by two plain tables under its root (CSV,
TSV or Parquet, chosen by the file extension): ``ratings``, one row per vote (utterance, rater,
label word), and ``utterances``, one row per utterance (audio path relative to the root, and
where known speaker, gender, official split or cross-validation fold). Each column has a role
(:data:`RATINGS_ROLES`, :data:`UTTERANCES_ROLES`) and a name in the files, which the corpus's
config entry may change (``tables.columns``; the defaults are the schema's,
``src/serrules/base/config.schema.yaml``). The parser is :mod:`serrules.corpora.ratings_table`.

Kept apart from the parser (which needs pandas) so that the format record, and through it
Snakemake's planning, imports no pandas.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

#: Roles of the ratings table's columns: every one is required.
RATINGS_ROLES: tuple[str, ...] = ("utterance_id", "rater_id", "label")
#: Roles of the utterances table's columns: the first two are required, the others read where
#: the file has them (the fold design may require one of them).
UTTERANCES_ROLES: tuple[str, ...] = (
    "utterance_id",
    "audio_path",
    "speaker",
    "gender",
    "split",
    "fold",
)
REQUIRED_UTTERANCES_ROLES: tuple[str, ...] = UTTERANCES_ROLES[:2]
#: File extensions and the kind of table each one means.
TABLE_KINDS: Mapping[str, str] = MappingProxyType(
    {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet"}
)


def table_kind(path: str) -> str:
    """``csv``, ``tsv`` or ``parquet`` from a file name's extension; ``ValueError`` for another
    one."""
    for ext, kind in TABLE_KINDS.items():
        if path.endswith(ext):
            return kind
    raise ValueError(f"{path}: a table must end in {', '.join(TABLE_KINDS)}")


@dataclass(frozen=True)
class TableLayout:
    """The two tables of a ``ratings-table`` corpus: file names relative to the corpus root
    and the column name of each role (:data:`RATINGS_ROLES` + :data:`UTTERANCES_ROLES`; the
    utterance id has one name in both tables)."""

    ratings: str
    utterances: str
    columns: Mapping[str, str]

    def __post_init__(self) -> None:
        for path in (self.ratings, self.utterances):
            table_kind(path)
        roles = set(RATINGS_ROLES) | set(UTTERANCES_ROLES)
        if set(self.columns) != roles:
            raise ValueError(f"columns must name exactly the roles {sorted(roles)}")

    @property
    def files(self) -> tuple[str, str]:
        """The ratings and utterances files (relative to the corpus root)."""
        return (self.ratings, self.utterances)


__all__ = [
    "RATINGS_ROLES",
    "REQUIRED_UTTERANCES_ROLES",
    "TABLE_KINDS",
    "UTTERANCES_ROLES",
    "TableLayout",
    "table_kind",
]
