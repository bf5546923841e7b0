"""Fold assignment: the study's cross-validation folds of a corpus, from its format's fold design.

The fold tables themselves are facts about each corpus and live in its format record
(:class:`serrules.corpora.formats.FoldDesign`, docs/labels.md lists them); fold ``k`` is 1-based:

* **session** folds (iemocap, msp-improv): each fold's (train sessions / dev session / test
  session), one table per fold scheme (:data:`FOLD_SCHEMES`: the paper's, or the authors' code's,
  which differ for IEMOCAP only, ``training.iemocap_folds``).
* **split** folds (msp-podcast, biic-podcast): one fold, the official split mapped onto its parts
  (``Train`` -> train, ``Development``/``Validation`` -> dev, ``Test1``/``Test2``/``Test`` ->
  test). Any other split value (or a missing one) is an error naming the value and utterance.
* **speaker** folds (crema-d, ratings-table): the distinct speaker ids (``speaker``) are sorted
  (as strings; CREMA-D ids are 4-digit, so this is numeric order) and, where the design has a
  ``speaker_seed``, shuffled by ``numpy.random.default_rng(seed).permutation``; the speaker at
  position ``r`` (0-based) goes to group ``g = r % G``; fold ``k`` tests group ``k-1``, develops
  on group ``k % G`` and trains on the other groups.

:func:`assign_folds` returns the long table of ``folds.parquet`` (``fold, utterance_id, part``)
and checks that every fold's train/dev/test parts are disjoint and non-empty, and, for the
session and speaker folds, that every utterance is in exactly one test part over all folds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from serrules.base.errors import FoldError
from serrules.base.tables import check_table
from serrules.corpora.formats import (
    FOLD_PARTS,
    FOLD_SCHEMES,
    CorpusFormat,
    FormatSpec,
    corpus_format,
)
from serrules.labels.table_names import fold_table_name

#: The parts of every fold, in code order (0 = train, 1 = dev, 2 = test).
PARTS: tuple[str, ...] = FOLD_PARTS


def _first(ids: pd.Series, mask: np.ndarray) -> str:
    return str(ids.to_numpy()[np.flatnonzero(mask)[0]])


def _session_parts(utterances: pd.DataFrame, fmt: CorpusFormat, scheme: str) -> np.ndarray:
    """(n_folds, N) array of part codes 0/1/2 (train/dev/test) from the session column."""
    ids = utterances["utterance_id"]
    session = utterances["session"]
    missing = session.isna().to_numpy()
    if missing.any():
        raise FoldError(f"{fmt.name}: utterance {_first(ids, missing)!r} has no session")
    session = session.to_numpy(dtype=np.int64)
    table = fmt.folds.sessions[scheme]
    known = sorted({s for fold in table for part in fold for s in part})
    unknown = ~np.isin(session, known)
    if unknown.any():
        i = int(np.flatnonzero(unknown)[0])
        raise FoldError(
            f"{fmt.name}: utterance {ids.iloc[i]!r} has session {session[i]}, not one of {known}"
        )
    codes = np.empty((len(table), len(session)), dtype=np.int8)
    for k, fold in enumerate(table):
        lookup = np.full(max(known) + 1, -1, dtype=np.int8)
        for p, sessions in enumerate(fold):
            lookup[list(sessions)] = p
        codes[k] = lookup[session]
    return codes


def _speaker_parts(utterances: pd.DataFrame, fmt: CorpusFormat) -> np.ndarray:
    """Speaker groups ``rank % G`` over the sorted (or seeded-shuffled) speaker ids."""
    n_groups = fmt.folds.speaker_groups
    ids = utterances["utterance_id"]
    speaker = utterances["speaker"]
    missing = speaker.isna().to_numpy() | (speaker.astype("str").str.strip() == "").to_numpy()
    if missing.any():
        raise FoldError(f"{fmt.name}: utterance {_first(ids, missing)!r} has no speaker")
    actors, rank = np.unique(speaker.astype("str").to_numpy(dtype=object), return_inverse=True)
    if len(actors) < n_groups:
        raise FoldError(
            f"{fmt.name}: {len(actors)} speakers cannot fill {n_groups} speaker-disjoint folds"
        )
    if fmt.folds.speaker_seed is not None:
        position = np.empty(len(actors), dtype=np.int64)
        position[np.random.default_rng(fmt.folds.speaker_seed).permutation(len(actors))] = (
            np.arange(len(actors))
        )
        rank = position[rank]
    group = rank % n_groups
    codes = np.empty((n_groups, len(group)), dtype=np.int8)
    for k in range(1, n_groups + 1):
        test_group, dev_group = k - 1, k % n_groups
        codes[k - 1] = np.where(group == test_group, 2, np.where(group == dev_group, 1, 0))
    return codes


def _split_parts(utterances: pd.DataFrame, fmt: CorpusFormat) -> np.ndarray:
    """One fold: the official split of each utterance mapped onto its part."""
    split_parts = fmt.folds.split_parts
    ids = utterances["utterance_id"]
    split = utterances["split"].astype("str")
    part = split.map(split_parts)
    bad = part.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        value = split.iloc[i]
        raise FoldError(
            f"{fmt.name}: utterance {ids.iloc[i]!r} has split "
            f"{'(missing)' if pd.isna(value) else repr(value)}; "
            f"expected one of {sorted(split_parts)}"
        )
    return pd.Index(PARTS).get_indexer(part).astype(np.int8)[None, :]


def _part_source(fmt: CorpusFormat, k: int, p: int, scheme: str) -> str:
    """Which sessions / speaker group / splits make part ``p`` of fold ``k`` (0-based)."""
    design = fmt.folds
    if design.column == "session":
        return f"session(s) {', '.join(map(str, design.sessions[scheme][k][p]))}"
    if design.column == "split":
        splits = (s for s, v in design.split_parts.items() if v == PARTS[p])
        return f"split(s) {', '.join(splits)}"
    n_groups = design.speaker_groups
    groups = {2: [k], 1: [(k + 1) % n_groups]}
    train = [g for g in range(n_groups) if g not in (k, (k + 1) % n_groups)]
    return f"speaker group(s) {groups.get(p, train)} of rank % {n_groups}"


def assign_folds(utterances: pd.DataFrame, fmt: FormatSpec, scheme: str = "paper") -> pd.DataFrame:
    """Assign every utterance to train/dev/test in each fold of ``fmt``'s fold design
    (``scheme``: the paper's fold tables or the authors' code, :data:`FOLD_SCHEMES`).

    ``utterances`` needs ``utterance_id`` and the column the design reads
    (``fmt.folds.column``: ``session``, ``split`` or ``speaker``). Returns the long table
    ``fold`` (int64, 1-based), ``utterance_id``, ``part`` (``train``/``dev``/``test``), ordered by
    fold, then input order. Raises :class:`FoldError` on a missing column or duplicate ids (the
    ``utterances`` table contract), a value the design does not know, an empty part, or
    (session/speaker folds) a test coverage other than exactly once.
    """
    fmt = corpus_format(fmt)
    fold_table_name(scheme)  # clear error for an unknown scheme
    check_table(
        utterances, "utterances", columns=[fmt.folds.column], source=fmt.name, error=FoldError
    )
    ids = utterances["utterance_id"]
    if fmt.folds.column == "session":
        codes = _session_parts(utterances, fmt, scheme)
    elif fmt.folds.column == "split":
        codes = _split_parts(utterances, fmt)
    else:
        codes = _speaker_parts(utterances, fmt)

    n_fold, n = codes.shape
    for k in range(n_fold):
        for p, name in enumerate(PARTS):
            if not (codes[k] == p).any():
                raise FoldError(
                    f"{fmt.name}: fold {k + 1} has an empty {name} part "
                    f"({_part_source(fmt, k, p, scheme)}: none of the {n} utterances)"
                )
    if fmt.folds.column != "split":
        times_tested = (codes == PARTS.index("test")).sum(axis=0)
        wrong = times_tested != 1
        if wrong.any():
            i = int(np.flatnonzero(wrong)[0])
            raise FoldError(
                f"{fmt.name}: utterance {ids.iloc[i]!r} is in {times_tested[i]} test parts, not 1"
            )
    return pd.DataFrame(
        {
            "fold": np.repeat(np.arange(1, n_fold + 1, dtype=np.int64), n),
            "utterance_id": pd.array(np.tile(ids.to_numpy(dtype=object), n_fold), dtype="str"),
            "part": pd.array(np.asarray(PARTS, dtype=object)[codes.ravel()], dtype="str"),
        }
    )


__all__ = [
    "FOLD_SCHEMES",
    "PARTS",
    "FoldError",
    "assign_folds",
]
