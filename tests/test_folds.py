"""Fold tables: the exact study tuples, disjointness, exactly-once test coverage, errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from serrules.corpora.formats import FOLD_SCHEMES, FORMATS
from serrules.labels.folds import FoldError, assign_folds

SESSION_FORMATS = sorted(f for f, r in FORMATS.items() if r.folds.column == "session")


def n_folds(fmt: str) -> int:
    return FORMATS[fmt].folds.n_folds


def session_utterances(sessions: list[int], per_session: int = 3) -> pd.DataFrame:
    ids, sess, spk = [], [], []
    for s in sessions:
        for i in range(per_session):
            ids.append(f"S{s}_u{i}")
            sess.append(s)
            spk.append(f"S{s}_{'FM'[i % 2]}")
    return pd.DataFrame(
        {
            "utterance_id": ids,
            "speaker": spk,
            "session": pd.array(sess, dtype="Int64"),
            "split": pd.array([None] * len(ids), dtype="str"),
        }
    )


def parts_by_session(folds: pd.DataFrame, utts: pd.DataFrame) -> list[tuple]:
    """Recover (train sessions, dev sessions, test sessions) per fold from an assignment."""
    merged = folds.merge(utts[["utterance_id", "session"]], on="utterance_id")
    out = []
    for _, g in merged.groupby("fold", sort=True):
        out.append(
            tuple(
                tuple(sorted(g.loc[g["part"] == p, "session"].unique().tolist()))
                for p in ("train", "dev", "test")
            )
        )
    return out


def test_unknown_format():
    with pytest.raises(KeyError, match="unknown corpus format"):
        assign_folds(session_utterances([1, 2, 3, 4, 5]), "ravdess")


def test_assign_folds_takes_the_record():
    utts = session_utterances([1, 2, 3, 4, 5])
    by_record = assign_folds(utts, FORMATS["iemocap"], "authors")
    pd.testing.assert_frame_equal(by_record, assign_folds(utts, "iemocap", "authors"))
    assert parts_by_session(by_record, utts)[0] == ((1, 2, 3), (5,), (4,))


def test_iemocap_study_tuples():
    utts = session_utterances([1, 2, 3, 4, 5])
    assert parts_by_session(assign_folds(utts, "iemocap"), utts) == [
        ((1, 2, 3), (4,), (5,)),
        ((2, 3, 4), (5,), (1,)),
        ((3, 4, 5), (1,), (2,)),
        ((1, 4, 5), (2,), (3,)),
        ((1, 2, 5), (3,), (4,)),  # the paper prints (1,2,4/3/4): see docs/labels.md
    ]


def test_msp_improv_study_tuples():
    utts = session_utterances([1, 2, 3, 4, 5, 6])
    assert parts_by_session(assign_folds(utts, "msp-improv"), utts) == [
        ((1, 2, 3, 4), (5,), (6,)),
        ((1, 2, 3, 6), (4,), (5,)),
        ((1, 2, 5, 6), (3,), (4,)),
        ((1, 4, 5, 6), (2,), (3,)),
        ((3, 4, 5, 6), (1,), (2,)),
        ((2, 3, 4, 5), (6,), (1,)),
    ]


@pytest.mark.parametrize("scheme", FOLD_SCHEMES)
@pytest.mark.parametrize("fmt", SESSION_FORMATS)
def test_session_tables_partition_all_sessions(fmt, scheme):
    sessions = set(range(1, n_folds(fmt) + 1))
    table = FORMATS[fmt].folds.sessions[scheme]
    for train, dev, test in table:
        assert set(train) | set(dev) | set(test) == sessions
        assert len(train) + len(dev) + len(test) == len(sessions)
    assert sorted(t[0] for _, _, t in table) == sorted(sessions)


@pytest.mark.parametrize("fmt, n_sessions", [("iemocap", 5), ("msp-improv", 6)])
def test_session_folds_disjoint_and_test_once(fmt, n_sessions):
    utts = session_utterances(list(range(1, n_sessions + 1)), per_session=4)
    folds = assign_folds(utts, fmt)
    assert list(folds.columns) == ["fold", "utterance_id", "part"]
    assert folds["fold"].dtype == np.int64
    assert len(folds) == n_folds(fmt) * len(utts)
    # each fold: every utterance exactly once, speakers never in two parts
    speaker = folds.merge(utts, on="utterance_id")
    for _, g in speaker.groupby("fold"):
        assert g["utterance_id"].is_unique and len(g) == len(utts)
        assert (g.groupby("speaker")["part"].nunique() == 1).all()
    tested = folds.loc[folds["part"] == "test", "utterance_id"]
    assert tested.is_unique and set(tested) == set(utts["utterance_id"])


def test_session_errors():
    utts = session_utterances([1, 2, 3, 4])
    with pytest.raises(FoldError, match=r"fold 1 has an empty test part \(session\(s\) 5"):
        assign_folds(utts, "iemocap")
    utts = session_utterances([1, 2, 3, 4, 5, 7])
    with pytest.raises(FoldError, match="'S7_u0' has session 7"):
        assign_folds(utts, "iemocap")
    utts = session_utterances([1, 2, 3, 4, 5])
    utts.loc[2, "session"] = pd.NA
    with pytest.raises(FoldError, match="'S1_u2' has no session"):
        assign_folds(utts, "iemocap")
    utts = session_utterances([1, 2, 3, 4, 5])
    utts.loc[1, "utterance_id"] = "S1_u0"
    with pytest.raises(
        FoldError, match=r"iemocap: utterances table: 1 repeated utterance_id .*S1_u0"
    ):
        assign_folds(utts, "iemocap")


def podcast_utterances(splits: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "utterance_id": [f"p{i}.wav" for i in range(len(splits))],
            "speaker": "Unknown",
            "session": pd.array([None] * len(splits), dtype="Int64"),
            "split": pd.array(splits, dtype="str"),
        }
    )


@pytest.mark.parametrize("fmt", ["msp-podcast", "biic-podcast"])
def test_podcast_official_split(fmt):
    utts = podcast_utterances(["Train", "Development", "Test1", "Test2", "Validation", "Test"])
    folds = assign_folds(utts, fmt)
    assert folds["fold"].tolist() == [1] * 6
    assert folds["utterance_id"].tolist() == utts["utterance_id"].tolist()
    assert folds["part"].tolist() == ["train", "dev", "test", "test", "dev", "test"]


def test_podcast_errors():
    with pytest.raises(FoldError, match="'p2.wav' has split 'Test3'"):
        assign_folds(podcast_utterances(["Train", "Development", "Test3"]), "msp-podcast")
    with pytest.raises(FoldError, match=r"'p1.wav' has split \(missing\)"):
        assign_folds(podcast_utterances(["Train", None, "Test1"]), "msp-podcast")
    with pytest.raises(FoldError, match="empty dev part"):
        assign_folds(podcast_utterances(["Train", "Test1"]), "msp-podcast")


def crema_utterances(actors: list[str], per_actor: int = 2) -> pd.DataFrame:
    rows = [(f"{a}_IEO_ANG_HI_{i}", a) for a in actors for i in range(per_actor)]
    return pd.DataFrame(
        {
            "utterance_id": [r[0] for r in rows],
            "speaker": pd.array([r[1] for r in rows], dtype="str"),
            "session": pd.array([None] * len(rows), dtype="Int64"),
            "split": pd.array([None] * len(rows), dtype="str"),
        }
    )


def test_crema_d_speaker_groups():
    actors = [str(1001 + i) for i in range(91)]
    rng = np.random.default_rng(0)
    utts = crema_utterances(list(rng.permutation(actors)))
    folds = assign_folds(utts, "crema-d").merge(utts[["utterance_id", "speaker"]])
    # rank % 5 over the sorted ids: 1001 -> group 0, 1002 -> 1, ..., 1006 -> 0
    group = {a: i % 5 for i, a in enumerate(sorted(actors))}
    for k in range(1, 6):
        g = folds[folds["fold"] == k]
        spk = g.groupby("speaker")["part"].agg(lambda s: set(s))
        assert (spk.map(len) == 1).all()  # speaker-disjoint
        part = spk.map(lambda s: next(iter(s)))
        assert set(part[part == "test"].index) == {a for a in actors if group[a] == k - 1}
        assert set(part[part == "dev"].index) == {a for a in actors if group[a] == k % 5}
        assert (part == "train").sum() == 91 - (part == "test").sum() - (part == "dev").sum()
    tested = folds.loc[folds["part"] == "test", "utterance_id"]
    assert tested.is_unique and len(tested) == len(utts)
    assert folds[folds["fold"] == 1].query("part == 'test'")["speaker"].min() == "1001"


def test_crema_d_too_few_speakers():
    with pytest.raises(FoldError, match="4 speakers cannot fill 5"):
        assign_folds(crema_utterances(["1001", "1002", "1003", "1004"]), "crema-d")
