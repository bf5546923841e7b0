"""Table contracts: every Parquet table the pipeline writes or reads, declared once.

The contracts themselves are data, in ``tables.yaml`` beside this module. :func:`write_parquet`
is the one writer of the pipeline's tables: each carries the provenance of the process that wrote
it (:mod:`serrules.base.provenance`). A
:class:`TableContract` names a table's columns (with the kind of values each holds), its
per-class column families (``votes_<class>``, ``y_<class>``, ...: one column per class of the
corpus, in the class order of its format), its unique key and the tables its ids refer to.
:func:`check_table` is the one place these facts are checked (:func:`read_table` = read + check;
``check=False`` only reads, for a caller whose next step checks). Every failure is a
:class:`~serrules.base.errors.TableError` (or the subclass the caller names) whose message starts
with the file (or the table's name), then names the column and the offending ids.
docs/architecture.md describes each table in prose.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from serrules.base.classes import prefixed
from serrules.base.errors import TableError
from serrules.base.provenance import PROVENANCE_KEY, provenance_json

#: How many offending ids a message lists before it gives the count of the rest.
PREVIEW_IDS = 5

#: Value kinds a column may be declared with, and the pandas test each one passes.
KINDS = ("str", "int", "number", "bool", "any")


def preview(ids: Iterable[object], limit: int = PREVIEW_IDS) -> str:
    """``"a, b, c, ... (12 in all)"``: the first ``limit`` ids and the total count."""
    ids = list(ids)
    shown = ", ".join(str(i) for i in ids[:limit])
    more = f", ... ({len(ids)} in all)" if len(ids) > limit else ""
    return f"{shown}{more}"


@dataclass(frozen=True)
class Column:
    """One column: its name, the kind of its values and whether nulls are allowed."""

    name: str
    kind: str = "any"
    nullable: bool = True

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"column {self.name}: unknown kind {self.kind!r}; known: {KINDS}")


@dataclass(frozen=True)
class TableContract:
    """What one table holds. ``per_class`` = ``(prefix, kind)`` of each per-class column family;
    ``key`` = the columns that identify a row (unique, never null); ``references`` =
    ``(column, table)``: every value of ``column`` is a key of ``table``."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    per_class: tuple[tuple[str, str], ...] = ()
    references: tuple[tuple[str, str], ...] = ()

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"table {self.name} has no column {name!r}")

    def class_columns(self, classes: Sequence[str]) -> list[tuple[str, str]]:
        """``(name, kind)`` of every per-class column, family by family, in class order."""
        return [(col, kind) for prefix, kind in self.per_class for col in prefixed(prefix, classes)]

    def column_names(self, classes: Sequence[str] | None = None) -> list[str]:
        """Every column in order: the fixed ones, then each per-class family (needs ``classes``
        when the table has one)."""
        names = [c.name for c in self.columns]
        if self.per_class:
            if classes is None:
                raise ValueError(f"table {self.name}: per-class columns need the class list")
            names += [col for col, _ in self.class_columns(classes)]
        return names


#: Where the contracts are declared (a data file: one entry per table, read once at import).
CONTRACTS_PATH = Path(__file__).with_name("tables.yaml")


def _column(spec: str) -> Column:
    """``"name:kind"`` (``"!"`` at the end: never null) -> :class:`Column`."""
    name, _, kind = spec.partition(":")
    nullable = not kind.endswith("!")
    return Column(name, kind.rstrip("!") or "any", nullable)


def _flatten(items: Iterable) -> list[str]:
    out: list[str] = []
    for item in items:
        out += _flatten(item) if isinstance(item, list) else [item]
    return out


def load_contracts(path: str | PathLike[str] = CONTRACTS_PATH) -> dict[str, TableContract]:
    """The contracts declared in ``path`` (``tables.yaml``), by table name."""
    with open(path) as fh:
        declared = yaml.safe_load(fh)["tables"]
    tables = {}
    for name, spec in declared.items():
        tables[name] = TableContract(
            name,
            tuple(_column(c) for c in _flatten(spec["columns"])),
            key=tuple(spec.get("key", ())),
            per_class=tuple(tuple(f.split(":")) for f in spec.get("per_class", ())),
            references=tuple(spec.get("references", {}).items()),
        )
    for table in tables.values():
        names = {c.name for c in table.columns}
        undeclared = [k for k in table.key if k not in names]
        # a reference names a table whose key is one column (what check_references looks up)
        unknown = [t for _, t in table.references if t not in tables or len(tables[t].key) != 1]
        if undeclared or unknown:
            raise ValueError(f"{path}: table {table.name}: key {undeclared} / references {unknown}")
    return tables


#: Every table of the pipeline, by name.
TABLES: dict[str, TableContract] = load_contracts()


def contract(name: str) -> TableContract:
    """The contract of table ``name``; a clear error for an unknown one."""
    try:
        return TABLES[name]
    except KeyError:
        raise KeyError(f"unknown table {name!r}; known: {', '.join(TABLES)}") from None


_KIND_TESTS = {
    "str": lambda s: pd.api.types.is_string_dtype(s) or pd.api.types.is_object_dtype(s),
    "int": lambda s: pd.api.types.is_integer_dtype(s),
    "number": lambda s: pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s),
    "bool": lambda s: pd.api.types.is_bool_dtype(s),
    "any": lambda s: True,
}


def _where(source: str | PathLike[str] | None, name: str) -> str:
    """The start of every message: the file (or description) and the table."""
    return f"{source}: {name} table" if source is not None else f"{name} table"


def _kind_ok(series: pd.Series, kind: str) -> bool:
    if series.isna().all():  # an all-null column (e.g. ``split`` of a corpus without one)
        return True
    return bool(_KIND_TESTS[kind](series))


def check_table(
    frame: pd.DataFrame,
    name: str,
    *,
    classes: Sequence[str] | None = None,
    columns: Sequence[str] | None = None,
    source: str | PathLike[str] | None = None,
    error: type[TableError] = TableError,
) -> pd.DataFrame:
    """Check ``frame`` against the contract of table ``name`` and return it unchanged.

    Checked: the columns are there (all of the contract's, or the key plus ``columns`` when a
    caller needs only some; per-class families when ``classes`` is given), each checked column
    holds its declared kind of values and no null where nulls are not allowed, and the key is
    unique. ``source`` (a path, or a description) starts every message; ``error`` is the
    :class:`TableError` subclass raised (e.g. ``PredictionError``)."""
    spec = contract(name)
    where = _where(source, name)
    if columns is None:
        wanted = [c.name for c in spec.columns]
    else:
        wanted = list(dict.fromkeys([*spec.key, *columns]))
    class_cols = spec.class_columns(classes) if classes is not None else []
    missing = [c for c in [*wanted, *(c for c, _ in class_cols)] if c not in frame.columns]
    if missing:
        raise error(f"{where} lacks column(s) {', '.join(missing)}")
    checks = [(spec.column(c), c) for c in wanted if c in {col.name for col in spec.columns}]
    for col, label in checks:
        series = frame[label]
        if not col.nullable or label in spec.key:
            nulls = series.isna().to_numpy()
            if nulls.any():
                rows = frame.index[nulls]
                raise error(
                    f"{where}: column {label} has {nulls.sum()} null value(s) "
                    f"(rows {preview(rows)})"
                )
        if not _kind_ok(series, col.kind):
            raise error(f"{where}: column {label} holds {series.dtype} values, expected {col.kind}")
    for label, kind in class_cols:
        if not _kind_ok(frame[label], kind):
            raise error(
                f"{where}: column {label} holds {frame[label].dtype} values, expected {kind}"
            )
    if spec.key:
        dup = frame.duplicated(list(spec.key), keep="first").to_numpy()
        if dup.any():
            keys = frame.loc[dup, list(spec.key)]
            shown = (
                keys.iloc[:, 0] if len(spec.key) == 1 else keys.itertuples(index=False, name=None)
            )
            raise error(
                f"{where}: {int(dup.sum())} repeated {'/'.join(spec.key)} value(s): "
                f"{preview(pd.unique(pd.Series(list(shown), dtype=object)))}"
            )
    return frame


def read_table(
    path: str | PathLike[str],
    name: str,
    *,
    classes: Sequence[str] | None = None,
    columns: Sequence[str] | None = None,
    error: type[TableError] = TableError,
    check: bool = True,
) -> pd.DataFrame:
    """A Parquet table, checked against its contract (:func:`check_table`) unless ``check`` is
    false (for a caller that hands the frame to a function which checks it); a missing or
    unreadable file raises ``error`` naming it. ``columns`` reads only those columns plus the
    key (and the per-class families when ``classes`` is given)."""
    path = Path(path)
    read_cols = None
    if columns is not None:
        spec = contract(name)
        read_cols = list(dict.fromkeys([*spec.key, *columns]))
        if classes is not None:
            read_cols += [col for col, _ in spec.class_columns(classes)]
    try:
        if read_cols is not None:  # read what is there; check_table names the missing columns
            present = set(pq.read_schema(path).names)
            read_cols = [c for c in read_cols if c in present]
        frame = pd.read_parquet(path, columns=read_cols)
    except FileNotFoundError:
        raise error(f"{path}: {name} table not found") from None
    except Exception as exc:  # pyarrow raises several types for damaged or foreign files
        raise error(f"{path}: cannot read the {name} table ({exc})") from exc
    if not check:
        return frame
    return check_table(frame, name, classes=classes, columns=columns, source=path, error=error)


def write_parquet(
    frame: pd.DataFrame,
    path: str | PathLike[str],
    *,
    metadata: Mapping[bytes, bytes] | None = None,
) -> None:
    """Write ``frame`` (without its index) as a Parquet table, with ``metadata`` (e.g. the
    evaluation's settings) and the provenance of this process (under
    :data:`~serrules.base.provenance.PROVENANCE_KEY`) in its schema metadata. The one place the
    pipeline writes a table, so that every table says which code and settings made it."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    stored = {
        **(table.schema.metadata or {}),
        **dict(metadata or {}),
        PROVENANCE_KEY.encode(): provenance_json().encode(),
    }
    pq.write_table(table.replace_schema_metadata(stored), path)


def check_references(
    frame: pd.DataFrame,
    name: str,
    parent: pd.DataFrame,
    parent_name: str,
    *,
    source: str | PathLike[str] | None = None,
    parent_source: str | PathLike[str] | None = None,
    error: type[TableError] = TableError,
) -> None:
    """Every id ``frame`` takes from ``parent_name`` (its contract's ``references``) is a key of
    ``parent``; otherwise ``error`` naming both tables, the column and the missing ids."""
    spec = contract(name)
    cols = [col for col, table in spec.references if table == parent_name]
    if not cols:
        raise KeyError(f"table {name} does not refer to table {parent_name}")
    (parent_key,) = contract(parent_name).key  # one column: load_contracts checks it
    known = pd.Index(parent[parent_key].astype(str))
    for col in cols:
        values = frame[col].dropna().astype(str)
        absent = pd.unique(values[~values.isin(known)])
        if len(absent):
            target = f"{parent_source} ({parent_name})" if parent_source else parent_name
            raise error(
                f"{_where(source, name)}: {len(absent)} {col} value(s) not in {target}: "
                f"{preview(absent)}"
            )


__all__ = [
    "CONTRACTS_PATH",
    "KINDS",
    "PREVIEW_IDS",
    "TABLES",
    "Column",
    "TableContract",
    "check_references",
    "check_table",
    "contract",
    "load_contracts",
    "preview",
    "read_table",
    "write_parquet",
]
