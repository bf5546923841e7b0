"""Pool per-fold test predictions into one prediction per test utterance, and build the three
test sets (MR_test, PR_test, AR_test) on the pooled utterances.

Checks (any violation raises :class:`PredictionError` naming the file and the first offending
utterance ids, or the counts):

* every prediction file has ``utterance_id``, ``fold`` and all ``p_<class>`` columns; its
  ``fold`` column holds one fold number, equal to the ``fold<k>`` folder it lies in (if any),
  and no other file of the same train rule claims that fold;
* its utterances are unique, belong to that fold's test part in ``folds.parquet`` and are
  audio-ok in ``audio_index.parquet``;
* probabilities are finite, in [0, 1], and every row sums to 1 within :data:`ROW_SUM_TOLERANCE`;
* together the files cover every expected utterance (the union of the folds' test parts,
  restricted to audio-ok utterances) exactly once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from serrules.base.classes import ROW_SUM_TOLERANCE, prefixed
from serrules.base.errors import PredictionError
from serrules.base.tables import check_table, preview, read_table
from serrules.labels.aggregation import smooth_targets, vote_distribution

#: ``evaluation.divergence_target``: KLD/JSD target on MR_test/PR_test.
DIVERGENCE_TARGETS: tuple[str, ...] = ("votes", "smoothed_label")

_FOLD_DIR = re.compile(r"^fold(\d+)$")


def check_distributions(probs: np.ndarray, ids: pd.Series | pd.Index, source: object) -> None:
    """Every row of ``probs`` (n x C) is a distribution over the classes: finite, in [0, 1] and
    summing to 1 within :data:`ROW_SUM_TOLERANCE`; otherwise :class:`PredictionError` naming
    ``source``, the count and the ids of the offending rows."""
    for bad, what in (
        (~np.isfinite(probs).all(axis=1), "hold missing or non-finite probabilities"),
        (((probs < 0) | (probs > 1)).any(axis=1), "hold probabilities outside [0, 1]"),
        (
            np.abs(probs.sum(axis=1) - 1.0) > ROW_SUM_TOLERANCE,
            f"do not sum to 1 (tolerance {ROW_SUM_TOLERANCE})",
        ),
    ):
        if bad.any():
            raise PredictionError(
                f"{source}: {int(bad.sum())} rows {what}, so they are not distributions over "
                f"the classes: {preview(ids[bad])}"
            )


def expected_test_utterances(
    folds: pd.DataFrame,
    audio_index: pd.DataFrame,
    *,
    folds_source: str = "folds.parquet",
    audio_source: str = "audio_index.parquet",
) -> pd.Series:
    """Fold of every utterance that must get a pooled prediction: the union of the folds' test
    parts, restricted to utterances whose audio status is ``ok``. Index = utterance id (sorted,
    which is the order of every pooled array), values = fold number."""
    check_table(folds, "folds", columns=("part",), source=folds_source, error=PredictionError)
    check_table(
        audio_index, "audio_index", columns=("status",), source=audio_source, error=PredictionError
    )
    test = folds.loc[folds["part"] == "test", ["utterance_id", "fold"]]
    if test.empty:
        raise PredictionError(f"{folds_source}: no utterance has part == 'test'")
    repeated = test["utterance_id"][test["utterance_id"].duplicated()].unique()
    if repeated.size:
        raise PredictionError(
            f"{folds_source}: {repeated.size} utterances lie in the test part of more than one "
            f"fold, so test predictions cannot be pooled: {preview(repeated)}"
        )
    status = audio_index.set_index("utterance_id")["status"]
    unindexed = test.loc[~test["utterance_id"].isin(status.index), "utterance_id"]
    if len(unindexed):
        raise PredictionError(
            f"{audio_source}: {len(unindexed)} test utterances of {folds_source} have no audio "
            f"index row: {preview(unindexed)}"
        )
    ok = test["utterance_id"].map(status).eq("ok")
    expected = test.loc[ok].set_index("utterance_id")["fold"].astype(int).sort_index()
    if expected.empty:
        raise PredictionError(f"{audio_source}: no test utterance of {folds_source} is audio-ok")
    return expected


def read_fold_predictions(path: Path, classes: Sequence[str]) -> tuple[int, pd.DataFrame]:
    """Read one ``predictions.parquet``: its fold number and the frame (utterance_id + p_ columns
    as float64), after the per-file checks that do not need the fold table."""
    path = Path(path)
    p_cols = prefixed("p_", tuple(classes))
    frame = read_table(path, "predictions", classes=classes, error=PredictionError)
    if frame.empty:
        raise PredictionError(f"{path}: no prediction rows")
    folds = pd.unique(frame["fold"])
    if len(folds) != 1 or pd.isna(folds[0]):
        raise PredictionError(
            f"{path}: the fold column must hold a single fold number, found {list(folds)[:5]}"
        )
    fold = int(folds[0])
    for part in path.parts:
        match = _FOLD_DIR.match(part)
        if match and int(match.group(1)) != fold:
            raise PredictionError(
                f"{path}: fold column says {fold} but the file lies in folder {part!r}"
            )
    ids = frame["utterance_id"].astype(str)
    probs = frame[p_cols].to_numpy(dtype=np.float64)
    check_distributions(probs, ids, path)
    out = pd.DataFrame(probs, columns=p_cols, index=pd.Index(ids.to_numpy(), name="utterance_id"))
    return fold, out


def pool_predictions(
    paths: Sequence[Path],
    classes: Sequence[str],
    expected: pd.Series,
    folds: pd.DataFrame,
    *,
    label: str = "",
) -> pd.DataFrame:
    """Concatenate one train rule's per-fold prediction files into one frame indexed by
    utterance id in ``expected``'s order (columns ``p_<class>``, float64), after every check in
    the module docstring. ``expected`` comes from :func:`expected_test_utterances`; ``folds`` is
    ``folds.parquet`` (to tell an utterance of another fold from one that is not audio-ok);
    ``label`` (e.g. the train rule) prefixes error messages."""
    prefix = f"{label}: " if label else ""
    if not paths:
        raise PredictionError(f"{prefix}no prediction files given")
    test_fold = folds.loc[folds["part"] == "test"].set_index("utterance_id")["fold"].astype(int)
    known_folds = set(test_fold.unique().tolist())
    by_fold: dict[int, Path] = {}
    frames = []
    for path in paths:
        fold, frame = read_fold_predictions(path, classes)
        if fold in by_fold:
            raise PredictionError(
                f"{prefix}{path}: fold {fold} is already covered by {by_fold[fold]}"
            )
        if fold not in known_folds:
            raise PredictionError(f"{prefix}{path}: fold {fold} has no test part in the folds")
        by_fold[fold] = Path(path)
        ids = frame.index
        in_fold = ids.map(test_fold).to_numpy() == fold
        if not in_fold.all():
            wrong = ids[~in_fold]
            raise PredictionError(
                f"{prefix}{path}: {len(wrong)} utterances are not in the test part of fold "
                f"{fold}: {preview(wrong)}"
            )
        not_ok = ~ids.isin(expected.index)
        if not_ok.any():
            raise PredictionError(
                f"{prefix}{path}: {not_ok.sum()} utterances are not audio-ok, so no prediction "
                f"is expected for them: {preview(ids[not_ok])}"
            )
        frames.append(frame)
    pooled = pd.concat(frames)
    missing = expected.index[~expected.index.isin(pooled.index)]
    if len(missing):
        lines = []
        for fold, ids in expected.loc[missing].groupby(expected.loc[missing]):
            where = by_fold.get(int(fold))
            source = str(where) if where is not None else f"no prediction file for fold {fold}"
            lines.append(f"{source}: {len(ids)} missing ({preview(ids.index)})")
        raise PredictionError(
            f"{prefix}{len(missing)} expected test utterances have no prediction: "
            + "; ".join(lines)
        )
    return pooled.loc[expected.index]


@dataclass(frozen=True)
class TestSet:
    """One test rule's evaluation set on the pooled utterances."""

    rule: str
    utterance_ids: np.ndarray  #: str (n,)
    positions: np.ndarray  #: int (n,): rows of the pooled prediction matrices
    truth: np.ndarray  #: bool (n, C): t_<class> of the rule's labels table
    target: np.ndarray  #: float (n, C): vote distribution (KLD/JSD target)
    speakers: np.ndarray  #: object (n,): speaker of each utterance

    @property
    def size(self) -> int:
        return int(self.utterance_ids.size)


def build_test_sets(
    pooled_ids: pd.Index,
    labels: Mapping[str, pd.DataFrame],
    utterances: pd.DataFrame,
    classes: Sequence[str],
    *,
    label_sources: Mapping[str, str] | None = None,
    utterances_source: str = "utterances.parquet",
) -> dict[str, TestSet]:
    """Test sets on the pooled utterances (``pooled_ids``, in pooled order): for MR and PR the
    pooled utterances the rule keeps, for AR all pooled utterances (each must have a row in the
    AR labels table). Truth = the rule's ``t_<class>``; KLD/JSD target = the vote distribution
    from ``votes_<class>`` of the utterances table."""
    label_sources = dict(label_sources or {})
    classes = tuple(classes)
    votes_cols = prefixed("votes_", classes)
    t_cols = prefixed("t_", classes)
    check_table(
        utterances,
        "utterances",
        columns=("speaker", *votes_cols),
        source=utterances_source,
        error=PredictionError,
    )
    meta = utterances.set_index(utterances["utterance_id"].astype(str))
    absent = pooled_ids[~pooled_ids.isin(meta.index)]
    if len(absent):
        raise PredictionError(
            f"{utterances_source}: {len(absent)} pooled utterances have no row: {preview(absent)}"
        )
    meta = meta.loc[pooled_ids]
    target_all = vote_distribution(meta[votes_cols].to_numpy())
    no_vote = np.isnan(target_all).any(axis=1)
    if no_vote.any():
        empty = meta.index[no_vote]
        raise PredictionError(
            f"{utterances_source}: {len(empty)} pooled utterances have no valid vote: "
            f"{preview(empty)}"
        )
    speakers_all = meta["speaker"].to_numpy(dtype=object)

    sets: dict[str, TestSet] = {}
    for rule, table in labels.items():
        source = label_sources.get(rule, f"labels_{rule}.parquet")
        check_table(table, "labels", columns=t_cols, source=source, error=PredictionError)
        table = table.set_index(table["utterance_id"].astype(str))
        kept = pooled_ids.isin(table.index)
        if rule == "AR" and not kept.all():
            raise PredictionError(
                f"{source}: {(~kept).sum()} pooled utterances have no AR label row: "
                f"{preview(pooled_ids[~kept])}"
            )
        positions = np.flatnonzero(kept)
        ids = pooled_ids[positions]
        t = table.loc[ids, t_cols]
        if t.isna().any().any() or not t.isin([0, 1]).all().all():
            bad = ids[~t.isin([0, 1]).all(axis=1).to_numpy()]
            raise PredictionError(f"{source}: t_ targets must be 0 or 1: {preview(bad)}")
        sets[rule] = TestSet(
            rule=rule,
            utterance_ids=ids.to_numpy(dtype=str),
            positions=positions,
            truth=t.to_numpy(dtype=bool),
            target=target_all[positions],
            speakers=speakers_all[positions],
        )
    return sets


def with_divergence_target(
    sets: Mapping[str, TestSet], divergence_target: str, label_smoothing: float = 0.0
) -> dict[str, TestSet]:
    """Test sets whose KLD/JSD target follows ``evaluation.divergence_target``: ``votes`` (the
    paper's reading) keeps each utterance's vote distribution; ``smoothed_label`` (the authors'
    code) uses the target of the authors' label files, smoothed with ``label_smoothing``
    (``training.target_smoothing``): on MR_test and PR_test the rule's one-hot label, on AR_test
    the vote distribution, each smoothed as the released ``labels_consensus_*_{M,P,D}`` files are
    (the ``_D`` file, AR's, holds the smoothed distributions that test.py reads as ``y``)."""
    if divergence_target not in DIVERGENCE_TARGETS:
        raise ValueError(
            f"evaluation.divergence_target must be one of {DIVERGENCE_TARGETS}, "
            f"got {divergence_target!r}"
        )
    if divergence_target == "votes":
        return dict(sets)
    out = {}
    for rule, test in sets.items():
        label = test.target if rule == "AR" else test.truth
        target = smooth_targets(np.asarray(label, dtype=np.float32), label_smoothing)
        out[rule] = replace(test, target=target.astype(np.float64))
    return out


__all__ = [
    "DIVERGENCE_TARGETS",
    "ROW_SUM_TOLERANCE",
    "PredictionError",
    "TestSet",
    "build_test_sets",
    "check_distributions",
    "expected_test_utterances",
    "pool_predictions",
    "read_fold_predictions",
    "with_divergence_target",
]
