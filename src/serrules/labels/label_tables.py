"""The label stage: parsed per-rater ratings -> the Parquet tables every later stage reads.

:func:`build_label_tables` turns a :class:`~serrules.corpora.records.ParsedCorpus` into
``ratings``, ``utterances`` (metadata + vote counts), ``labels_MR/PR/AR``, ``folds`` (the
paper's fold tables; ``folds_authors`` = the authors' code's, which differ for IEMOCAP only) and
``exclusions`` (schemas in docs/architecture.md); :func:`run_label_stage` parses a corpus, builds
the tables and writes them, plus ``label_loss``, to the files its caller names.

Only ``labels_MR`` and ``label_loss`` depend on ``labels.mr_share`` (a protocol key):
:data:`~serrules.labels.table_names.SHARE_DEPENDENT` names them and
:func:`share_dependent_tables` builds them from ``utterances`` alone. The workflow writes them in
their own job (:func:`run_majority_stage`), so switching the protocol re-reads
``utterances.parquet`` instead of re-parsing the corpus, and the audio index and features built
from ``utterances`` stay valid.

Exclusions gather every drop, each with a reason and a source:

* ``level = "rating"``: every ratings row whose status is neither ``valid`` nor ``other``
  (reason = the status, e.g. ``self_evaluation``, ``duplicate_rater``, ``unknown_label``), and
  every parser exclusion that names a rater;
* ``level = "utterance"``: every parser exclusion without a rater (e.g. ``not_in_consensus``),
  and every parsed utterance without a valid vote (reason ``no_valid_vote``; source = its first
  ratings row, or ``(no ratings)``). Such utterances stay in ``utterances.parquet`` (with zero
  votes) but are kept by no rule and are in no fold.

All steps are vectorised (integer codes + bincount); no per-utterance Python loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from serrules.base.classes import OTHER, RULES, VALID, prefixed
from serrules.base.tables import (
    check_references,
    check_table,
    contract,
    read_table,
    write_parquet,
)
from serrules.corpora.formats import FOLD_SCHEMES, FormatSpec, corpus_format
from serrules.corpora.records import PARSED_SOURCE, UTTERANCE_COLUMNS
from serrules.labels.aggregation import rule_targets, vote_matrix
from serrules.labels.folds import assign_folds
from serrules.labels.label_loss import label_loss
from serrules.labels.table_names import SHARE_DEPENDENT, fold_table_name, label_table_names

NO_VALID_VOTE = "no_valid_vote"
NO_RATINGS_SOURCE = "(no ratings)"
#: utterance metadata the label stage carries into ``utterances`` and ``ratings``
META_COLUMNS: tuple[str, ...] = UTTERANCE_COLUMNS[1:]
EXCLUSION_TABLE_COLUMNS: tuple[str, ...] = tuple(contract("exclusions").column_names())
#: the columns the label stage reads from each parsed table
_NEEDS = {
    "ratings": ("utterance_id", "rater_id", "emotion", "status", "source"),
    "utterances": UTTERANCE_COLUMNS,
    "exclusions": ("utterance_id", "rater_id", "reason", "source"),
}


class ParsedTables(Protocol):
    """What the label stage needs from a parser result (``ParsedCorpus`` satisfies it)."""

    ratings: pd.DataFrame
    utterances: pd.DataFrame
    exclusions: pd.DataFrame


@dataclass
class LabelTables:
    """The label-stage tables of one corpus (schemas in docs/architecture.md)."""

    ratings: pd.DataFrame
    utterances: pd.DataFrame
    labels: dict[str, pd.DataFrame]
    folds: pd.DataFrame
    exclusions: pd.DataFrame
    #: fold tables of the other schemes (``authors``), same layout as ``folds``
    scheme_folds: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: the share MR was decided on (``labels.mr_share``) and its smoothing epsilon
    mr_share: str = "raw"
    epsilon: float = 0.0


def _str(values: Any) -> pd.api.extensions.ExtensionArray:
    return pd.array(np.asarray(values, dtype=object), dtype="str")


def _as_column(values: Any, n: int) -> np.ndarray:
    """An object array of length ``n`` from a Series/array, or a scalar (or None) broadcast."""
    if values is None or isinstance(values, str):
        return np.full(n, values, dtype=object)
    if isinstance(values, pd.Series):
        return values.to_numpy(dtype=object)
    return np.asarray(values, dtype=object)


def _per_utterance_counts(
    ratings: pd.DataFrame, rows: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """(n_other, n_raters) per utterance: "other" rows, and distinct raters with a valid-or-other
    vote (a rater who chose two emotions counts once)."""
    status = ratings["status"].to_numpy(dtype=object)
    is_other = status == OTHER
    counted = is_other | (status == VALID)
    n_other = np.bincount(rows[is_other], minlength=n)
    rater_code, raters = pd.factorize(ratings["rater_id"].loc[counted])
    width = max(len(raters), 1)
    pairs = np.sort(rows[counted].astype(np.int64) * width + rater_code)
    first = np.ones(len(pairs), dtype=bool)
    first[1:] = pairs[1:] != pairs[:-1]  # one entry per distinct (utterance, rater)
    n_raters = np.bincount(pairs[first] // width, minlength=n)
    return n_other.astype(np.int32), n_raters.astype(np.int32)


def _labels_frame(
    ids: np.ndarray,
    classes: tuple[str, ...],
    votes: np.ndarray,
    rule: str,
    mr_share: str = "raw",
    epsilon: float = 0.0,
) -> tuple[pd.DataFrame, np.ndarray]:
    keep, y, t = rule_targets(votes, rule, mr_share, epsilon)
    if rule == "AR":
        label = pd.array([pd.NA] * int(keep.sum()), dtype="str")
    else:
        label = _str(np.asarray(classes, dtype=object)[y[keep].argmax(axis=1)])
    frame = pd.DataFrame({"utterance_id": _str(ids[keep]), "label": label})
    frame = pd.concat(
        [
            frame,
            pd.DataFrame(y[keep], columns=prefixed("y_", classes)),
            pd.DataFrame(t[keep], columns=prefixed("t_", classes)),
        ],
        axis=1,
    )
    return frame, keep


def _exclusions(
    ratings: pd.DataFrame,
    parser_exclusions: pd.DataFrame,
    ids: np.ndarray,
    rows: np.ndarray,
    no_vote: np.ndarray,
) -> pd.DataFrame:
    status = ratings["status"].to_numpy(dtype=object)
    dropped = (status != VALID) & (status != OTHER)
    rated = ratings.loc[dropped]
    px = parser_exclusions
    px_level = np.where(px["rater_id"].isna().to_numpy(), "utterance", "rating")

    # no_valid_vote: source = the utterance's first ratings row, if it has any
    missing = np.flatnonzero(no_vote)
    first = np.full(len(ids), -1, dtype=np.int64)
    hit = np.isin(rows, missing)
    hit_rows, first_pos = np.unique(rows[hit], return_index=True)
    first[hit_rows] = np.flatnonzero(hit)[first_pos]
    sources = ratings["source"].to_numpy(dtype=object)
    nv_source = np.where(
        first[missing] >= 0, sources[np.maximum(first[missing], 0)], NO_RATINGS_SOURCE
    )

    parts = [
        ("rating", rated["utterance_id"], rated["rater_id"], rated["status"], rated["source"]),
        (px_level, px["utterance_id"], px["rater_id"], px["reason"], px["source"]),
        ("utterance", ids[missing], None, NO_VALID_VOTE, nv_source),
    ]
    frames = []
    for level, utt, rater, reason, source in parts:
        n = len(utt)
        cols = (level, utt, rater, reason, source)
        frames.append(
            pd.DataFrame(
                {
                    k: _str(_as_column(v, n))
                    for k, v in zip(EXCLUSION_TABLE_COLUMNS, cols, strict=True)
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def build_label_tables(
    parsed: ParsedTables,
    fmt: FormatSpec,
    mr_share: str = "raw",
    epsilon: float = 0.0,
) -> LabelTables:
    """Build the label-stage tables of a parsed ``fmt`` corpus (see the module docstring).
    ``mr_share`` and ``epsilon`` (``labels.mr_share``, ``training.target_smoothing``) choose the
    share MR decides on (:func:`serrules.labels.aggregation.majority_mask`).

    Raises :class:`~serrules.base.errors.TableError` when a parsed table lacks a column, an
    utterance id is duplicated or a rating names an utterance that was not parsed (the message
    starts with the first such rating's source), and ``ValueError`` when a valid rating has no
    class of ``fmt`` (naming the ratings source).
    """
    fmt = corpus_format(fmt)
    classes = fmt.classes
    for name, cols in _NEEDS.items():
        check_table(getattr(parsed, name), name, columns=cols, source=PARSED_SOURCE)
    ratings, utts = parsed.ratings, parsed.utterances
    ids = utts["utterance_id"].to_numpy(dtype=object)
    index = pd.Index(ids)
    rows = index.get_indexer(ratings["utterance_id"].to_numpy(dtype=object))
    if (rows < 0).any():
        first = ratings["source"].iloc[int(np.flatnonzero(rows < 0)[0])]
        check_references(ratings, "ratings", utts, "utterances", source=first)

    votes = vote_matrix(ratings, index, classes)
    n_other, n_raters = _per_utterance_counts(ratings, rows, len(ids))
    n_valid = votes.sum(axis=1, dtype=np.int64).astype(np.int32)

    meta = utts[["utterance_id", *META_COLUMNS]].reset_index(drop=True)
    utterances = pd.concat(
        [meta, pd.DataFrame(votes, columns=prefixed("votes_", classes), dtype=np.int32)], axis=1
    )
    utterances["n_other"] = n_other
    utterances["n_valid"] = n_valid
    utterances["n_raters"] = n_raters

    rating_meta = meta.loc[rows, list(META_COLUMNS)].reset_index(drop=True)
    ratings_out = pd.concat([ratings.reset_index(drop=True), rating_meta], axis=1)

    labels: dict[str, pd.DataFrame] = {}
    ar_keep = None
    for rule in RULES:
        labels[rule], keep = _labels_frame(ids, classes, votes, rule, mr_share, epsilon)
        if rule == "AR":
            ar_keep = keep
    assert ar_keep is not None
    ar_meta = meta.loc[ar_keep].reset_index(drop=True)
    folds = assign_folds(ar_meta, fmt)
    scheme_folds = {s: assign_folds(ar_meta, fmt, s) for s in FOLD_SCHEMES if s != "paper"}
    exclusions = _exclusions(ratings, parsed.exclusions, ids, rows, n_valid == 0)
    return LabelTables(
        mr_share=mr_share,
        epsilon=epsilon,
        ratings=ratings_out,
        utterances=utterances,
        labels=labels,
        folds=folds,
        exclusions=exclusions,
        scheme_folds=scheme_folds,
    )


def label_table_paths(out_dir: str | Path) -> dict[str, Path]:
    """``{table name: <out_dir>/<name>.parquet}``: the layout of ``results/<corpus>/``, for
    callers without a workflow rule naming each file (the command line, benchmarks)."""
    return {name: Path(out_dir) / f"{name}.parquet" for name in label_table_names()}


def share_dependent_tables(
    utterances: pd.DataFrame,
    fmt: FormatSpec,
    corpus: str,
    mr_share: str = "raw",
    epsilon: float = 0.0,
) -> dict[str, pd.DataFrame]:
    """``labels_MR`` and ``label_loss`` (:data:`SHARE_DEPENDENT`) from the ``utterances`` table
    alone: the frames :func:`write_label_tables` writes for them, equal to what
    :func:`build_label_tables` gives with the same ``mr_share`` and ``epsilon``."""
    classes = corpus_format(fmt).classes
    check_table(utterances, "utterances", classes=classes, source=corpus)
    votes = utterances[prefixed("votes_", classes)].to_numpy(dtype=np.int32)
    ids = utterances["utterance_id"].to_numpy(dtype=object)
    labels_mr, _ = _labels_frame(ids, classes, votes, "MR", mr_share, epsilon)
    return {
        "labels_MR": labels_mr,
        "label_loss": label_loss(utterances, classes, corpus, mr_share=mr_share, epsilon=epsilon),
    }


def _write_frames(
    frames: Mapping[str, pd.DataFrame], paths: Mapping[str, str | Path], names: tuple[str, ...]
) -> dict[str, Path]:
    """Write ``frames[name]`` to ``paths[name]`` for each of ``names``; ``paths`` must name
    exactly those tables."""
    if set(paths) != set(names):
        missing = [n for n in names if n not in paths]
        extra = sorted(set(paths) - set(names))
        raise ValueError(
            f"label table paths: missing {missing or 'none'}, unknown {extra or 'none'}; "
            f"expected one path for each of {list(names)}"
        )
    out = {}
    for name in names:
        out[name] = Path(paths[name])
        out[name].parent.mkdir(parents=True, exist_ok=True)
        write_parquet(frames[name], out[name])
    return out


def write_label_tables(
    tables: LabelTables,
    paths: Mapping[str, str | Path],
    corpus: str,
    fmt: FormatSpec,
    names: tuple[str, ...] | None = None,
) -> dict[str, Path]:
    """Write the tables of :func:`build_label_tables` plus ``label_loss`` to the files the caller
    names (``paths``: one per name of ``names``, default every name of
    :func:`label_table_names`; the workflow's ``label_tables`` rule passes all but
    :data:`SHARE_DEPENDENT`); returns ``{table name: path}``. Raises ``ValueError`` when
    ``paths`` misses a table of ``names`` or names another one, or ``names`` is not a subset of
    :func:`label_table_names`."""
    known = label_table_names()
    names = known if names is None else tuple(names)
    if unknown := [n for n in names if n not in known]:
        raise ValueError(f"unknown label tables {unknown}; known: {list(known)}")
    frames = {
        "ratings": tables.ratings,
        "utterances": tables.utterances,
        **{f"labels_{rule}": tables.labels[rule] for rule in RULES},
        "folds": tables.folds,
        **{
            fold_table_name(scheme).removesuffix(".parquet"): frame
            for scheme, frame in tables.scheme_folds.items()
        },
        "exclusions": tables.exclusions,
    }
    if "label_loss" in names:
        frames["label_loss"] = label_loss(
            tables.utterances,
            corpus_format(fmt).classes,
            corpus,
            mr_share=tables.mr_share,
            epsilon=tables.epsilon,
        )
    return _write_frames(frames, paths, names)


def run_majority_stage(
    *,
    corpus: str,
    fmt: FormatSpec,
    utterances: str | Path,
    outputs: Mapping[str, str | Path],
    mr_share: str = "raw",
    epsilon: float = 0.0,
) -> dict[str, Path]:
    """Read ``utterances.parquet`` (checked against its contract) and write ``labels_MR`` and
    ``label_loss`` (:func:`share_dependent_tables`) to the files ``outputs`` names."""
    classes = corpus_format(fmt).classes
    frame = read_table(utterances, "utterances", classes=classes)
    built = share_dependent_tables(frame, fmt, corpus, mr_share, epsilon)
    return _write_frames(built, outputs, SHARE_DEPENDENT)


def run_label_stage(
    *,
    corpus: str,
    fmt: FormatSpec,
    root: str | Path,
    outputs: Mapping[str, str | Path],
    include_self_evaluations: bool = False,
    unknown_labels: str = "error",
    mr_share: str = "raw",
    epsilon: float = 0.0,
) -> LabelTables:
    """Parse the ``fmt`` corpus at ``root`` and write ``ratings``, ``utterances``,
    ``labels_MR/PR/AR``, ``folds``, ``folds_authors``, ``exclusions`` and ``label_loss`` to the
    Parquet files ``outputs`` names (:func:`write_label_tables`; :func:`label_table_paths` gives
    the folder layout). ``corpus`` is the config name written in ``label_loss``; the parser
    options are passed to :func:`serrules.corpora.parse_corpus`; ``mr_share`` and ``epsilon``
    to :func:`build_label_tables`. ``outputs`` may name a part of the tables (the workflow's
    ``label_tables`` rule names all but :data:`SHARE_DEPENDENT`); a name that is not a label
    table raises ``ValueError``."""
    from serrules.corpora import parse_corpus

    fmt = corpus_format(fmt)
    parsed = parse_corpus(
        fmt,
        root,
        include_self_evaluations=include_self_evaluations,
        unknown_labels=unknown_labels,
    )
    tables = build_label_tables(parsed, fmt, mr_share, epsilon)
    write_label_tables(tables, outputs, corpus, fmt, tuple(outputs))
    return tables


__all__ = [
    "EXCLUSION_TABLE_COLUMNS",
    "LabelTables",
    "NO_VALID_VOTE",
    "build_label_tables",
    "label_table_paths",
    "run_label_stage",
    "run_majority_stage",
    "share_dependent_tables",
    "write_label_tables",
]
