"""Label aggregation rules (MR, PR, AR) as vectorised functions of a vote-count matrix.

``votes`` is an ``(N, C)`` integer matrix: row = utterance, column = emotion class in the order of
:class:`serrules.corpora.formats.CorpusFormat`'s ``classes``, entry = number of *valid* votes
(ratings rows with status ``valid``) for that class. "Other" votes are not among the C classes
and never enter ``votes``.

* **MR** (majority): one class has strictly more than half of the utterance's valid votes.
* **PR** (plurality): exactly one class has the most votes (and that maximum is > 0).
* **AR** (all-inclusive): every utterance with at least one valid vote. Train target = the vote
  distribution; test target = multi-hot, a class is present when its share is strictly greater
  than ``1/C`` (:func:`serrules.base.classes.presence_threshold`).

Utterances with no valid vote are kept by no rule; the label stage writes them as the counted
exclusion ``no_valid_vote``. Every function here works on whole matrices (no per-utterance loop).
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import numpy as np
import pandas as pd

from serrules.base.classes import RULES, VALID, above_presence_threshold
from serrules.base.tables import check_table


def _check_votes(votes: np.ndarray) -> np.ndarray:
    votes = np.asarray(votes)
    if votes.ndim != 2:
        raise ValueError(
            f"votes must be a 2-D (utterances, classes) matrix, got shape {votes.shape}"
        )
    if not np.issubdtype(votes.dtype, np.integer):
        raise TypeError(f"votes must be an integer count matrix, got dtype {votes.dtype}")
    if votes.size and votes.min() < 0:
        row = int(np.flatnonzero((votes < 0).any(axis=1))[0])
        raise ValueError(f"votes must be non-negative counts; row {row} is {votes[row].tolist()}")
    return votes


def vote_matrix(
    ratings: pd.DataFrame, utterance_ids: Sequence[str] | pd.Index, classes: Sequence[str]
) -> np.ndarray:
    """Count the ``status == "valid"`` ratings rows per utterance and class.

    Returns an ``(len(utterance_ids), len(classes))`` int32 matrix whose rows follow
    ``utterance_ids`` and columns follow ``classes``. Raises ``ValueError`` naming the ratings
    ``source`` when a valid rating names an utterance that is not in ``utterance_ids`` or an
    emotion that is not one of ``classes``, and :class:`~serrules.base.errors.TableError` when
    ``utterance_ids`` has duplicates (the key of the ``utterances`` table).
    """
    index = pd.Index(utterance_ids)
    if index.has_duplicates:
        frame = pd.DataFrame({"utterance_id": index.astype(str)})
        check_table(frame, "utterances", columns=(), source="utterance_ids")
    classes = list(classes)
    valid = ratings.loc[ratings["status"].eq(VALID).to_numpy(dtype=bool, na_value=False)]
    rows = index.get_indexer(valid["utterance_id"])
    cols = pd.Index(classes).get_indexer(valid["emotion"])
    for codes, what in ((rows, "utterance_id"), (cols, "emotion")):
        if (codes < 0).any():
            i = int(np.flatnonzero(codes < 0)[0])
            where = valid["source"].iloc[i] if "source" in valid.columns else f"row {i}"
            raise ValueError(
                f"{where}: valid rating with {what} {valid[what].iloc[i]!r} that is not "
                f"{'a parsed utterance' if what == 'utterance_id' else f'one of {classes}'}"
            )
    n, c = len(index), len(classes)
    flat = np.bincount(rows.astype(np.int64) * c + cols, minlength=n * c)
    return flat.reshape(n, c).astype(np.int32)


#: ``labels.mr_share`` values: the share MR compares with 1/2 (docs/protocols.md).
MR_SHARES: tuple[str, ...] = ("raw", "smoothed")


def _epsilon_fraction(epsilon: float) -> Fraction:
    if not 0.0 <= epsilon < 1.0:
        raise ValueError(f"label smoothing epsilon must be in [0, 1), got {epsilon}")
    # the decimal the config wrote (0.05), not its binary neighbour: the comparison is exact
    return Fraction(repr(float(epsilon)))


def majority_mask(votes: np.ndarray, share: str = "raw", epsilon: float = 0.0) -> np.ndarray:
    """MR: True where one class has more than half of the row's valid votes.

    ``share = "raw"`` (the paper's text, "over half of the annotations"): the top vote share
    ``u = top / total > 1/2``. ``share = "smoothed"`` (the authors' released label files): the
    label-smoothed top share ``d = (1 - eps) u + eps (1 - u) / (C - 1) > 1/2``, i.e.
    ``u > (1/2 - eps/(C-1)) / (1 - eps - eps/(C-1))`` (0.5179 for C = 4, eps = 0.05). Both are
    decided exactly on integers (eps read as the decimal it is written as); ``epsilon = 0`` makes
    the two the same. Smoothing never moves the top class, so the winning class is unchanged.
    """
    votes = _check_votes(votes)
    if share not in MR_SHARES:
        raise ValueError(f"labels.mr_share must be one of {MR_SHARES}, got {share!r}")
    total = votes.sum(axis=1, dtype=np.int64)
    top = votes.max(axis=1, initial=0).astype(np.int64)
    if share == "raw":
        return (2 * top > total) & (total > 0)
    eps = _epsilon_fraction(epsilon)
    c = votes.shape[1]
    if c < 2:
        raise ValueError(f"need at least 2 classes, got {c}")
    # d > 1/2  <=>  top * 2(C-1)((1-eps) - eps/(C-1)) > total * 2(C-1)(1/2 - eps/(C-1))
    #          <=>  top * (2(C-1)(q-p) - 2p) > total * ((C-1)q - 2p), eps = p/q
    p, q = eps.numerator, eps.denominator
    a, b = 2 * (c - 1) * (q - p) - 2 * p, (c - 1) * q - 2 * p
    if a <= 0:
        raise ValueError(f"epsilon {epsilon} leaves no majority for {c} classes")
    return (top * a > total * b) & (total > 0)


def plurality_mask(votes: np.ndarray) -> np.ndarray:
    """PR: True where exactly one class has the most votes and that count is > 0."""
    votes = _check_votes(votes)
    top = votes.max(axis=1, initial=0)
    n_top = (votes == top[:, None]).sum(axis=1)
    return (top > 0) & (n_top == 1)


def winning_class(votes: np.ndarray) -> np.ndarray:
    """Column index of the most-voted class (``argmax``; the first one on ties). Meaningful only
    where :func:`majority_mask` / :func:`plurality_mask` keep the row."""
    votes = _check_votes(votes)
    return votes.argmax(axis=1) if votes.shape[1] else np.zeros(len(votes), dtype=np.int64)


def vote_distribution(votes: np.ndarray) -> np.ndarray:
    """Row-normalised votes (float64, each row sums to 1). Rows with no valid vote have no
    distribution and come back as all-NaN rows (callers keep only rows with votes; AR does)."""
    votes = _check_votes(votes)
    total = votes.sum(axis=1, dtype=np.int64)
    out = np.full(votes.shape, np.nan, dtype=np.float64)
    has = total > 0
    out[has] = votes[has] / total[has, None]
    return out


def multi_hot(votes_or_shares: np.ndarray, n_classes: int) -> np.ndarray:
    """Multi-hot presence (int8): a class is present when its share is strictly greater than
    ``presence_threshold(n_classes) = 1/C``.

    Integer input is read as vote counts and compared exactly (``votes * C > total``, so a share
    of exactly 1/C is never present); float input is read as shares (``share > 1/C``; NaN rows
    give all zeros).
    """
    arr = np.asarray(votes_or_shares)
    if arr.ndim != 2 or arr.shape[1] != n_classes:
        raise ValueError(f"expected an (N, {n_classes}) matrix, got shape {arr.shape}")
    if np.issubdtype(arr.dtype, np.integer):
        votes = _check_votes(arr)
        total = votes.sum(axis=1, dtype=np.int64)
        return (votes.astype(np.int64) * n_classes > total[:, None]).astype(np.int8)
    if not np.issubdtype(arr.dtype, np.floating):
        raise TypeError(f"expected vote counts (int) or shares (float), got dtype {arr.dtype}")
    return above_presence_threshold(arr).astype(np.int8)


def _one_hot(index: np.ndarray, keep: np.ndarray, n_classes: int) -> np.ndarray:
    out = np.zeros((len(index), n_classes), dtype=np.int8)
    rows = np.flatnonzero(keep)
    out[rows, index[rows]] = 1
    return out


def rule_targets(
    votes: np.ndarray, rule: str, mr_share: str = "raw", epsilon: float = 0.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Targets of one aggregation rule for every row of ``votes``; ``mr_share`` and ``epsilon``
    choose MR's share (:func:`majority_mask`; PR and AR do not depend on them).

    Returns ``(keep, y_train, t_test)``: ``keep`` bool ``(N,)`` = rows the rule keeps;
    ``y_train`` float32 ``(N, C)`` = one-hot of the winning class (MR, PR) or the vote
    distribution (AR); ``t_test`` int8 ``(N, C)`` = the same one-hot (MR, PR) or the multi-hot
    share > 1/C (AR). Rows the rule does not keep are all zeros in both targets.
    """
    votes = _check_votes(votes)
    n_classes = votes.shape[1]
    if rule == "MR":
        keep = majority_mask(votes, mr_share, epsilon)
    elif rule == "PR":
        keep = plurality_mask(votes)
    elif rule == "AR":
        keep = votes.sum(axis=1, dtype=np.int64) > 0
    else:
        raise ValueError(f"unknown aggregation rule {rule!r}; known: {', '.join(RULES)}")
    if rule == "AR":
        y = np.where(keep[:, None], vote_distribution(votes), 0.0).astype(np.float32)
        t = np.where(keep[:, None], multi_hot(votes, n_classes), 0).astype(np.int8)
    else:
        t = _one_hot(winning_class(votes), keep, n_classes)
        y = t.astype(np.float32)
    return keep, y, t


def smooth_targets(targets: np.ndarray, epsilon: float) -> np.ndarray:
    """Label smoothing of target rows (the authors' code uses epsilon = 0.05 for training
    targets and released label files): ``y' = (1 - eps) * y + eps * (1 - y) / (C - 1)``, for
    one-hot and distributions alike (rows still sum to 1). ``epsilon = 0`` returns the targets
    unchanged (as float32)."""
    targets = np.asarray(targets, dtype=np.float32)
    if not 0.0 <= epsilon < 1.0:
        raise ValueError(f"training.target_smoothing must be in [0, 1), got {epsilon}")
    if epsilon == 0.0:
        return targets
    y = targets.astype(np.float64)
    return ((1.0 - epsilon) * y + epsilon * (1.0 - y) / (targets.shape[1] - 1)).astype(np.float32)


__all__ = [
    "MR_SHARES",
    "majority_mask",
    "multi_hot",
    "plurality_mask",
    "rule_targets",
    "smooth_targets",
    "vote_distribution",
    "vote_matrix",
    "winning_class",
]
