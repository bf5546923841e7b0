"""MR / PR / AR aggregation: the study's Table 2 worked cases, edge cases, and the vectorised
functions against a plain per-utterance reference loop."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from serrules.labels.aggregation import (
    majority_mask,
    multi_hot,
    plurality_mask,
    rule_targets,
    vote_distribution,
    vote_matrix,
    winning_class,
)

# Table 2 of the study uses four classes in the order N, A, S, H.
TABLE2_CLASSES = ("N", "A", "S", "H")


def counts(*labels: str) -> np.ndarray:
    row = np.zeros((1, len(TABLE2_CLASSES)), dtype=np.int64)
    for label in labels:
        row[0, TABLE2_CLASSES.index(label)] += 1
    return row


def targets(votes: np.ndarray, rule: str) -> tuple[bool, list[float], list[int]]:
    keep, y, t = rule_targets(votes, rule)
    assert y.dtype == np.float32 and t.dtype == np.int8 and keep.dtype == bool
    return bool(keep[0]), y[0].tolist(), t[0].tolist()


def test_table2_case1_clear_majority():
    v = counts("A", "A", "A", "S", "S")
    assert targets(v, "MR") == (True, [0, 1, 0, 0], [0, 1, 0, 0])
    assert targets(v, "PR") == (True, [0, 1, 0, 0], [0, 1, 0, 0])
    keep, y, t = targets(v, "AR")
    assert keep
    np.testing.assert_allclose(y, [0, 0.6, 0.4, 0], rtol=0, atol=1e-7)
    assert t == [0, 1, 1, 0]  # 0.6 and 0.4 are both > 1/4


def test_table2_case2_tie_dropped_by_mr_and_pr():
    v = counts("N", "A", "A", "S", "S")
    assert targets(v, "MR") == (False, [0, 0, 0, 0], [0, 0, 0, 0])  # 2/5 is not > 1/2
    assert targets(v, "PR") == (False, [0, 0, 0, 0], [0, 0, 0, 0])  # A and S tie
    keep, y, t = targets(v, "AR")
    assert keep
    np.testing.assert_allclose(y, [0.2, 0.4, 0.4, 0], rtol=0, atol=1e-7)
    assert t == [0, 1, 1, 0]  # 0.2 is not > 0.25


def test_table2_case3_plurality_without_majority():
    v = counts("N", "N", "H", "A", "S")
    assert targets(v, "MR") == (False, [0, 0, 0, 0], [0, 0, 0, 0])  # 2/5
    assert targets(v, "PR") == (True, [1, 0, 0, 0], [1, 0, 0, 0])
    keep, y, t = targets(v, "AR")
    assert keep
    np.testing.assert_allclose(y, [0.4, 0.2, 0.2, 0.2], rtol=0, atol=1e-7)
    assert t == [1, 0, 0, 0]


def test_share_exactly_one_over_c_is_not_present():
    # 2 of 8 votes = exactly 1/4 for N; 1/9 shares with nine classes
    v = np.array([[2, 3, 3, 0], [1, 1, 1, 1]])
    assert multi_hot(v, 4).tolist() == [[0, 1, 1, 0], [0, 0, 0, 0]]
    assert multi_hot(vote_distribution(v), 4).tolist() == [[0, 1, 1, 0], [0, 0, 0, 0]]
    nine = np.array([[1] * 9, [2] * 8 + [2]])
    assert multi_hot(nine, 9).sum() == 0
    assert multi_hot(vote_distribution(nine), 9).sum() == 0


def test_exactly_half_is_not_a_majority():
    v = np.array([[2, 2, 0, 0], [3, 2, 1, 0], [4, 3, 0, 0]])
    assert majority_mask(v).tolist() == [False, False, True]
    assert plurality_mask(v).tolist() == [False, True, True]


def test_no_valid_vote_kept_by_no_rule():
    v = np.zeros((2, 4), dtype=np.int64)  # e.g. an utterance with only "other" votes
    for rule in ("MR", "PR", "AR"):
        keep, y, t = rule_targets(v, rule)
        assert not keep.any() and not y.any() and not t.any()
    assert np.isnan(vote_distribution(v)).all()
    assert multi_hot(vote_distribution(v), 4).sum() == 0


def test_single_vote():
    v = counts("S")
    for rule in ("MR", "PR"):
        assert targets(v, rule) == (True, [0, 0, 1, 0], [0, 0, 1, 0])
    assert targets(v, "AR") == (True, [0, 0, 1, 0], [0, 0, 1, 0])


def test_bad_input_errors():
    with pytest.raises(ValueError, match="unknown aggregation rule 'XR'"):
        rule_targets(counts("A"), "XR")
    with pytest.raises(TypeError, match="integer count matrix"):
        majority_mask(np.ones((2, 4)))
    with pytest.raises(ValueError, match="non-negative"):
        plurality_mask(np.array([[1, -1, 0, 0]]))
    with pytest.raises(ValueError, match=r"\(N, 4\)"):
        multi_hot(np.ones((2, 3), dtype=int), 4)


# ---- vectorised functions vs a per-utterance reference --------------------------------------


def reference(row: list[int], rule: str) -> tuple[bool, list[Fraction], list[int]]:
    """Textbook definitions with exact fractions, one utterance at a time."""
    c, total = len(row), sum(row)
    if total == 0:
        return False, [Fraction(0)] * c, [0] * c
    top = max(row)
    shares = [Fraction(v, total) for v in row]
    if rule == "AR":
        return True, shares, [int(s > Fraction(1, c)) for s in shares]
    keep = top * 2 > total if rule == "MR" else row.count(top) == 1
    if not keep:
        return False, [Fraction(0)] * c, [0] * c
    one_hot = [int(i == row.index(top)) for i in range(c)]
    return True, [Fraction(v) for v in one_hot], one_hot


@pytest.mark.parametrize("n_classes", [4, 6, 8, 9])
def test_against_reference_loop(n_classes):
    rng = np.random.default_rng(n_classes)
    votes = rng.poisson(0.9, size=(3000, n_classes)).astype(np.int64)
    votes[rng.random(3000) < 0.05] = 0
    for rule in ("MR", "PR", "AR"):
        keep, y, t = rule_targets(votes, rule)
        for i, row in enumerate(votes.tolist()):
            k, y_ref, t_ref = reference(row, rule)
            assert keep[i] == k, (rule, row)
            assert t[i].tolist() == t_ref, (rule, row)
            np.testing.assert_allclose(y[i], [float(v) for v in y_ref], atol=1e-7)
    ref_dist = [[v / sum(r) for v in r] if sum(r) else [np.nan] * n_classes for r in votes.tolist()]
    np.testing.assert_allclose(vote_distribution(votes), ref_dist, rtol=1e-15)
    kept = plurality_mask(votes)
    assert (
        winning_class(votes)[kept] == np.array([r.index(max(r)) for r in votes.tolist()])[kept]
    ).all()
    assert (majority_mask(votes) <= plurality_mask(votes)).all()  # MR set is inside the PR set


def test_vote_matrix_counts_only_valid_rows():
    ratings = pd.DataFrame(
        {
            "utterance_id": ["u1", "u1", "u1", "u2", "u2", "u3", "u1"],
            "rater_id": ["r1", "r2", "r2", "r1", "r2", "r1", "r3"],
            "emotion": ["A", "S", "A", None, "N", None, None],
            "status": ["valid", "valid", "valid", "other", "valid", "self_evaluation", "other"],
            "source": [f"f.txt:{i}" for i in range(1, 8)],
        }
    )
    m = vote_matrix(ratings, ["u3", "u2", "u1"], TABLE2_CLASSES)
    assert m.dtype == np.int32
    assert m.tolist() == [[0, 0, 0, 0], [1, 0, 0, 0], [0, 2, 1, 0]]


def test_vote_matrix_errors_name_source():
    ratings = pd.DataFrame(
        {
            "utterance_id": ["u1", "u9"],
            "rater_id": ["r1", "r1"],
            "emotion": ["A", "A"],
            "status": ["valid", "valid"],
            "source": ["a.csv:2", "a.csv:3"],
        }
    )
    with pytest.raises(ValueError, match=r"a\.csv:3: .*'u9'"):
        vote_matrix(ratings, ["u1"], TABLE2_CLASSES)
    ratings.loc[1, ["utterance_id", "emotion"]] = ["u1", "Joy"]
    with pytest.raises(ValueError, match=r"a\.csv:3: .*'Joy'"):
        vote_matrix(ratings, ["u1"], TABLE2_CLASSES)
    with pytest.raises(
        ValueError, match=r"utterance_ids: utterances table: 1 repeated utterance_id value\(s\): u1"
    ):
        vote_matrix(ratings, ["u1", "u1"], TABLE2_CLASSES)
