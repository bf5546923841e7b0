"""The study's cross-validation folds: the one place that spells the fold tables out.

Schemes (fold ``k`` is 1-based):

* **iemocap** - 5 session folds, (train sessions / dev session / test session):
  (1,2,3/4/5), (2,3,4/5/1), (3,4,5/1/2), (1,4,5/2/3), (1,2,5/3/4). The study's table prints
  the last one as (1,2,4/3/4); that puts session 4 in train and test and never uses session 5,
  so it is read as the typo it must be: the train part is the three sessions left, (1,2,5),
  exactly as in the other four folds (dev = the session before the test session).
  The authors' released code uses other IEMOCAP folds (scheme ``authors``,
  ``training.iemocap_folds``): (1,2,3/5/4), (1,2,5/4/3), (1,4,5/3/2), (3,4,5/2/1), (2,3,4/1/5).
* **msp-improv** - 6 session folds (session = speaker number 1-6): (1,2,3,4/5/6),
  (1,2,3,6/4/5), (1,2,5,6/3/4), (1,4,5,6/2/3), (3,4,5,6/1/2), (2,3,4,5/6/1).
* **msp-podcast**, **biic-podcast** - one fold, the official split: ``Train`` -> train,
  ``Development`` (older releases: ``Validation``) -> dev, ``Test1`` + ``Test2`` (BIIC: ``Test``)
  -> test. Any other split value (or a missing one) is an error naming the value and utterance.
* **crema-d** - 5 speaker-disjoint folds: the distinct actor ids (``speaker``) are sorted (as
  strings; CREMA-D ids are 4-digit, so this is numeric order), actor of rank ``r`` (0-based) goes
  to group ``g = r % 5``; fold ``k`` tests group ``k-1``, develops on group ``k % 5`` and trains
  on the other three.

:func:`assign_folds` returns the long table of ``folds.parquet`` (``fold, utterance_id, part``)
and checks that every fold's train/dev/test parts are disjoint and non-empty, and, for the
session and speaker schemes, that every utterance is in exactly one test part over all folds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from serrules.base.classes import classes_for
from serrules.base.errors import FoldError

PARTS: tuple[str, ...] = ("train", "dev", "test")

#: (train sessions, dev sessions, test sessions) per fold, in fold order (the paper's Tables 7-8).
SESSION_FOLDS: dict[str, tuple[tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]], ...]] = {
    "iemocap": (
        ((1, 2, 3), (4,), (5,)),
        ((2, 3, 4), (5,), (1,)),
        ((3, 4, 5), (1,), (2,)),
        ((1, 4, 5), (2,), (3,)),
        ((1, 2, 5), (3,), (4,)),
    ),
    "msp-improv": (
        ((1, 2, 3, 4), (5,), (6,)),
        ((1, 2, 3, 6), (4,), (5,)),
        ((1, 2, 5, 6), (3,), (4,)),
        ((1, 4, 5, 6), (2,), (3,)),
        ((3, 4, 5, 6), (1,), (2,)),
        ((2, 3, 4, 5), (6,), (1,)),
    ),
}

#: Fold schemes (``training.iemocap_folds``): the paper's tables, or the authors' released code,
#: which differs for IEMOCAP only.
FOLD_SCHEMES: tuple[str, ...] = ("paper", "authors")
AUTHORS_SESSION_FOLDS: dict[str, tuple] = {
    **SESSION_FOLDS,
    "iemocap": (
        ((1, 2, 3), (5,), (4,)),
        ((1, 2, 5), (4,), (3,)),
        ((1, 4, 5), (3,), (2,)),
        ((3, 4, 5), (2,), (1,)),
        ((2, 3, 4), (1,), (5,)),
    ),
}
_SCHEME_TABLES = {"paper": SESSION_FOLDS, "authors": AUTHORS_SESSION_FOLDS}


def fold_table_name(scheme: str) -> str:
    """File name of a scheme's fold table in ``results/<corpus>/``: ``folds.parquet`` (paper),
    ``folds_authors.parquet`` (authors)."""
    if scheme not in FOLD_SCHEMES:
        raise ValueError(f"unknown fold scheme {scheme!r}; known: {', '.join(FOLD_SCHEMES)}")
    return "folds.parquet" if scheme == "paper" else f"folds_{scheme}.parquet"


#: Official podcast split (as the parser writes it) -> part of the single fold.
PODCAST_SPLITS: dict[str, str] = {
    "Train": "train",
    "Development": "dev",
    "Validation": "dev",
    "Test1": "test",
    "Test2": "test",
    "Test": "test",
}
PODCAST_FORMATS: tuple[str, ...] = ("msp-podcast", "biic-podcast")

#: Number of speaker groups (= folds) for CREMA-D.
CREMA_D_GROUPS = 5


def n_folds(fmt: str) -> int:
    """Number of folds of a corpus format."""
    classes_for(fmt)  # clear error for an unknown format
    if fmt in SESSION_FOLDS:
        return len(SESSION_FOLDS[fmt])
    if fmt in PODCAST_FORMATS:
        return 1
    if fmt == "crema-d":
        return CREMA_D_GROUPS
    raise KeyError(f"no fold scheme for corpus format {fmt!r}")  # pragma: no cover


def _first(ids: pd.Series, mask: np.ndarray) -> str:
    return str(ids.to_numpy()[np.flatnonzero(mask)[0]])


def _session_parts(utterances: pd.DataFrame, fmt: str, scheme: str = "paper") -> np.ndarray:
    """(n_folds, N) array of part codes 0/1/2 (train/dev/test) from the session column."""
    ids = utterances["utterance_id"]
    session = utterances["session"]
    missing = session.isna().to_numpy()
    if missing.any():
        raise FoldError(f"{fmt}: utterance {_first(ids, missing)!r} has no session")
    session = session.to_numpy(dtype=np.int64)
    table = _SCHEME_TABLES[scheme][fmt]
    known = sorted({s for fold in table for part in fold for s in part})
    unknown = ~np.isin(session, known)
    if unknown.any():
        i = int(np.flatnonzero(unknown)[0])
        raise FoldError(
            f"{fmt}: utterance {ids.iloc[i]!r} has session {session[i]}, not one of {known}"
        )
    codes = np.empty((len(table), len(session)), dtype=np.int8)
    for k, fold in enumerate(table):
        lookup = np.full(max(known) + 1, -1, dtype=np.int8)
        for p, sessions in enumerate(fold):
            lookup[list(sessions)] = p
        codes[k] = lookup[session]
    return codes


def _speaker_parts(utterances: pd.DataFrame, fmt: str) -> np.ndarray:
    """CREMA-D: speaker groups ``rank % 5`` over the sorted actor ids."""
    ids = utterances["utterance_id"]
    speaker = utterances["speaker"]
    missing = speaker.isna().to_numpy() | (speaker.astype("str").str.strip() == "").to_numpy()
    if missing.any():
        raise FoldError(f"{fmt}: utterance {_first(ids, missing)!r} has no speaker")
    actors, rank = np.unique(speaker.astype("str").to_numpy(dtype=object), return_inverse=True)
    if len(actors) < CREMA_D_GROUPS:
        raise FoldError(
            f"{fmt}: {len(actors)} speakers cannot fill {CREMA_D_GROUPS} speaker-disjoint folds"
        )
    group = rank % CREMA_D_GROUPS
    codes = np.empty((CREMA_D_GROUPS, len(group)), dtype=np.int8)
    for k in range(1, CREMA_D_GROUPS + 1):
        test_group, dev_group = k - 1, k % CREMA_D_GROUPS
        codes[k - 1] = np.where(group == test_group, 2, np.where(group == dev_group, 1, 0))
    return codes


def _podcast_parts(utterances: pd.DataFrame, fmt: str) -> np.ndarray:
    ids = utterances["utterance_id"]
    split = utterances["split"].astype("str")
    part = split.map(PODCAST_SPLITS)
    bad = part.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        value = split.iloc[i]
        raise FoldError(
            f"{fmt}: utterance {ids.iloc[i]!r} has split "
            f"{'(missing)' if pd.isna(value) else repr(value)}; "
            f"expected one of {sorted(PODCAST_SPLITS)}"
        )
    return pd.Index(PARTS).get_indexer(part).astype(np.int8)[None, :]


def _part_source(fmt: str, k: int, p: int, scheme: str = "paper") -> str:
    """Which sessions / speaker group / splits make part ``p`` of fold ``k`` (0-based)."""
    if fmt in SESSION_FOLDS:
        return f"session(s) {', '.join(map(str, _SCHEME_TABLES[scheme][fmt][k][p]))}"
    if fmt in PODCAST_FORMATS:
        return f"split(s) {', '.join(s for s, v in PODCAST_SPLITS.items() if v == PARTS[p])}"
    groups = {2: [k], 1: [(k + 1) % CREMA_D_GROUPS]}
    train = [g for g in range(CREMA_D_GROUPS) if g not in (k, (k + 1) % CREMA_D_GROUPS)]
    return f"speaker group(s) {groups.get(p, train)} of rank % {CREMA_D_GROUPS}"


def assign_folds(utterances: pd.DataFrame, fmt: str, scheme: str = "paper") -> pd.DataFrame:
    """Assign every utterance to train/dev/test in each fold of ``fmt``'s scheme (``scheme``:
    the paper's fold tables or the authors' code, :data:`FOLD_SCHEMES`).

    ``utterances`` needs ``utterance_id`` and the column the scheme reads (``session`` for
    iemocap/msp-improv, ``split`` for podcasts, ``speaker`` for crema-d). Returns the long table
    ``fold`` (int64, 1-based), ``utterance_id``, ``part`` (``train``/``dev``/``test``), ordered by
    fold, then input order. Raises :class:`FoldError` on duplicate ids, a value the scheme does
    not know, an empty part, or (session/speaker schemes) a test coverage other than exactly once.
    """
    classes_for(fmt)
    fold_table_name(scheme)  # clear error for an unknown scheme
    ids = utterances["utterance_id"]
    dup = ids.duplicated().to_numpy()
    if dup.any():
        raise FoldError(f"{fmt}: utterance {_first(ids, dup)!r} listed twice")
    if fmt in SESSION_FOLDS:
        codes = _session_parts(utterances, fmt, scheme)
    elif fmt in PODCAST_FORMATS:
        codes = _podcast_parts(utterances, fmt)
    else:
        codes = _speaker_parts(utterances, fmt)

    n_fold, n = codes.shape
    for k in range(n_fold):
        for p, name in enumerate(PARTS):
            if not (codes[k] == p).any():
                raise FoldError(
                    f"{fmt}: fold {k + 1} has an empty {name} part "
                    f"({_part_source(fmt, k, p, scheme)}: none of the {n} utterances)"
                )
    if fmt not in PODCAST_FORMATS:
        times_tested = (codes == PARTS.index("test")).sum(axis=0)
        wrong = times_tested != 1
        if wrong.any():
            i = int(np.flatnonzero(wrong)[0])
            raise FoldError(
                f"{fmt}: utterance {ids.iloc[i]!r} is in {times_tested[i]} test parts, not 1"
            )
    return pd.DataFrame(
        {
            "fold": np.repeat(np.arange(1, n_fold + 1, dtype=np.int64), n),
            "utterance_id": pd.array(np.tile(ids.to_numpy(dtype=object), n_fold), dtype="str"),
            "part": pd.array(np.asarray(PARTS, dtype=object)[codes.ravel()], dtype="str"),
        }
    )


__all__ = [
    "AUTHORS_SESSION_FOLDS",
    "CREMA_D_GROUPS",
    "FOLD_SCHEMES",
    "fold_table_name",
    "FoldError",
    "PARTS",
    "PODCAST_SPLITS",
    "SESSION_FOLDS",
    "assign_folds",
    "n_folds",
]
