"""Label tables from a small hand-made parsed corpus, with exact expected rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from serrules.base.classes import prefixed
from serrules.corpora.formats import FORMATS
from serrules.corpora.records import (
    ParsedCorpus,
    exclusions_frame,
    ratings_frame,
    utterances_frame,
)
from serrules.labels.label_tables import (
    build_label_tables,
    label_table_paths,
    run_label_stage,
    run_majority_stage,
    write_label_tables,
)
from serrules.labels.table_names import SHARE_DEPENDENT, label_table_names

FMT = "msp-improv"  # classes: anger, happiness, sadness, neutral
CLASSES = FORMATS[FMT].classes
FIXTURES = Path(__file__).parent / "fixtures" / "corpora"

# (utterance, rater, emotion or None, status)
RATINGS = [
    ("u1", "r1", "anger", "valid"),  # Table 2 case (1): A A A S S
    ("u1", "r2", "anger", "valid"),
    ("u1", "r3", "anger", "valid"),
    ("u1", "r4", "sadness", "valid"),
    ("u1", "r5", "sadness", "valid"),
    ("u2", "r1", "neutral", "valid"),  # case (2): N A A S S, plus one "other"
    ("u2", "r2", "anger", "valid"),
    ("u2", "r3", "anger", "valid"),
    ("u2", "r4", "sadness", "valid"),
    ("u2", "r5", "sadness", "valid"),
    ("u2", "r6", None, "other"),
    ("u3", "r1", "neutral", "valid"),  # case (3): N N H A S
    ("u3", "r2", "neutral", "valid"),
    ("u3", "r3", "happiness", "valid"),
    ("u3", "r4", "anger", "valid"),
    ("u3", "r5", "sadness", "valid"),
    ("u4", "r1", "happiness", "valid"),
    ("u4", "r1", None, "duplicate_rater"),
    ("u4", "r2", "happiness", "valid"),
    ("u5", "r1", None, "other"),  # only "other" votes -> no_valid_vote
    ("u5", "r2", None, "other"),
    ("u6", "r1", "sadness", "valid"),  # single vote
    ("u7", "r1", "neutral", "valid"),
    ("u7", "r2", None, "unknown_label"),
]
SESSIONS = {"u1": 1, "u2": 2, "u3": 3, "u4": 4, "u5": 5, "u6": 5, "u7": 6, "u8": 6}  # u8: unrated


def parsed_corpus() -> ParsedCorpus:
    u, r, e, s = zip(*RATINGS, strict=True)
    ratings = ratings_frame(
        utterance_id=list(u),
        rater_id=list(r),
        rater_kind="evaluator",
        raw_label=[x or "Other" for x in e],
        emotion=list(e),
        status=list(s),
        source=[f"Evaluation.txt:{i + 2}" for i in range(len(RATINGS))],
    )
    ids = list(SESSIONS)
    utterances = utterances_frame(
        utterance_id=ids,
        speaker=[f"F0{SESSIONS[i]}" for i in ids],
        gender="F",
        session=[SESSIONS[i] for i in ids],
        split=None,
        audio_path=[f"/c/Audio/{i}.wav" for i in ids],
    )
    exclusions = exclusions_frame(
        utterance_id=["u9", "u3"],
        rater_id=[None, "r9"],
        reason=["bad_clip", "duplicate_label"],
        source=["Evaluation.txt:40", "Evaluation.txt:12"],
    )
    return ParsedCorpus(ratings, utterances, exclusions).validate(CLASSES)


@pytest.fixture(scope="module")
def tables():
    return build_label_tables(parsed_corpus(), FMT)


def test_utterances_table(tables):
    u = tables.utterances
    assert list(u.columns) == [
        "utterance_id",
        "speaker",
        "gender",
        "session",
        "split",
        "audio_path",
        *prefixed("votes_", CLASSES),
        "n_other",
        "n_valid",
        "n_raters",
    ]
    for col in [*prefixed("votes_", CLASSES), "n_other", "n_valid", "n_raters"]:
        assert u[col].dtype == np.int32, col
    got = u.set_index("utterance_id")[
        [*prefixed("votes_", CLASSES), "n_other", "n_valid", "n_raters"]
    ]
    # votes anger, happiness, sadness, neutral | n_other, n_valid, n_raters
    assert got.to_dict("index") == {
        k: dict(zip(got.columns, v, strict=True))
        for k, v in {
            "u1": [3, 0, 2, 0, 0, 5, 5],
            "u2": [2, 0, 2, 1, 1, 5, 6],
            "u3": [1, 1, 1, 2, 0, 5, 5],
            "u4": [0, 2, 0, 0, 0, 2, 2],
            "u5": [0, 0, 0, 0, 2, 0, 2],
            "u6": [0, 0, 1, 0, 0, 1, 1],
            "u7": [0, 0, 0, 1, 0, 1, 1],
            "u8": [0, 0, 0, 0, 0, 0, 0],
        }.items()
    }
    assert u["session"].dtype == "Int64" and u["session"].tolist() == list(SESSIONS.values())


def labels_rows(df: pd.DataFrame) -> list[tuple]:
    y = df[prefixed("y_", CLASSES)].to_numpy()
    t = df[prefixed("t_", CLASSES)].to_numpy()
    assert y.dtype == np.float32 and t.dtype == np.int8
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-6)
    label = [None if pd.isna(v) else v for v in df["label"]]
    return [
        (i, lab, tuple(np.round(a.astype(np.float64), 6).tolist()), tuple(b.tolist()))
        for i, lab, a, b in zip(df["utterance_id"], label, y, t, strict=True)
    ]


def test_labels_mr(tables):
    assert labels_rows(tables.labels["MR"]) == [
        ("u1", "anger", (1, 0, 0, 0), (1, 0, 0, 0)),
        ("u4", "happiness", (0, 1, 0, 0), (0, 1, 0, 0)),
        ("u6", "sadness", (0, 0, 1, 0), (0, 0, 1, 0)),
        ("u7", "neutral", (0, 0, 0, 1), (0, 0, 0, 1)),
    ]


def test_labels_pr(tables):
    assert labels_rows(tables.labels["PR"]) == [
        ("u1", "anger", (1, 0, 0, 0), (1, 0, 0, 0)),
        ("u3", "neutral", (0, 0, 0, 1), (0, 0, 0, 1)),
        ("u4", "happiness", (0, 1, 0, 0), (0, 1, 0, 0)),
        ("u6", "sadness", (0, 0, 1, 0), (0, 0, 1, 0)),
        ("u7", "neutral", (0, 0, 0, 1), (0, 0, 0, 1)),
    ]


def test_labels_ar(tables):
    assert labels_rows(tables.labels["AR"]) == [
        ("u1", None, (0.6, 0, 0.4, 0), (1, 0, 1, 0)),
        ("u2", None, (0.4, 0, 0.4, 0.2), (1, 0, 1, 0)),
        ("u3", None, (0.2, 0.2, 0.2, 0.4), (0, 0, 0, 1)),
        ("u4", None, (0, 1, 0, 0), (0, 1, 0, 0)),
        ("u6", None, (0, 0, 1, 0), (0, 0, 1, 0)),
        ("u7", None, (0, 0, 0, 1), (0, 0, 0, 1)),
    ]
    assert list(tables.labels["AR"].columns) == [
        "utterance_id",
        "label",
        *prefixed("y_", CLASSES),
        *prefixed("t_", CLASSES),
    ]


def test_folds_cover_ar_set(tables):
    f = tables.folds
    assert set(f["utterance_id"]) == {"u1", "u2", "u3", "u4", "u6", "u7"}
    fold1 = f[f["fold"] == 1].set_index("utterance_id")["part"].to_dict()
    assert fold1 == {
        "u1": "train",
        "u2": "train",
        "u3": "train",
        "u4": "train",
        "u6": "dev",
        "u7": "test",
    }
    assert f["fold"].nunique() == 6


def test_exclusions(tables):
    rows = tables.exclusions.astype(object).where(tables.exclusions.notna(), None)
    assert list(rows.columns) == ["level", "utterance_id", "rater_id", "reason", "source"]
    assert [tuple(r) for r in rows.itertuples(index=False)] == [
        ("rating", "u4", "r1", "duplicate_rater", "Evaluation.txt:19"),
        ("rating", "u7", "r2", "unknown_label", "Evaluation.txt:25"),
        ("utterance", "u9", None, "bad_clip", "Evaluation.txt:40"),
        ("rating", "u3", "r9", "duplicate_label", "Evaluation.txt:12"),
        ("utterance", "u5", None, "no_valid_vote", "Evaluation.txt:21"),
        ("utterance", "u8", None, "no_valid_vote", "(no ratings)"),
    ]


def test_ratings_joined_with_metadata(tables):
    r = tables.ratings
    assert len(r) == len(RATINGS)
    assert list(r.columns[-5:]) == ["speaker", "gender", "session", "split", "audio_path"]
    assert r.loc[r["utterance_id"] == "u7", "session"].tolist() == [6, 6]
    assert r.loc[0, "audio_path"] == "/c/Audio/u1.wav"


def test_orphan_rating_is_an_error():
    parsed = parsed_corpus()
    parsed.utterances = parsed.utterances[parsed.utterances["utterance_id"] != "u6"]
    with pytest.raises(
        ValueError,
        match=r"Evaluation\.txt:23: ratings table: 1 utterance_id value\(s\) not in utterances: u6",
    ):
        build_label_tables(parsed, FMT)


def test_run_label_stage_writes_all_tables(tmp_path):
    root = FIXTURES / "msp-podcast"
    tables = run_label_stage(
        corpus="podcast-mini", fmt="msp-podcast", root=root, outputs=label_table_paths(tmp_path)
    )
    names = ["ratings", "utterances", "labels_MR", "labels_PR", "labels_AR", "folds"]
    names += ["folds_authors"]  # the authors' code's fold scheme (same as folds for podcasts)
    names += ["exclusions", "label_loss"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{n}.parquet" for n in names)
    back = pd.read_parquet(tmp_path / "labels_AR.parquet")
    pd.testing.assert_frame_equal(back, tables.labels["AR"], check_dtype=False)
    assert back[prefixed("y_", FORMATS["msp-podcast"].classes)].dtypes.eq(np.float32).all()
    loss = pd.read_parquet(tmp_path / "label_loss.parquet")
    assert loss["corpus"].eq("podcast-mini").all() and loss["rule"].tolist() == ["MR", "PR", "AR"]
    ex = pd.read_parquet(tmp_path / "exclusions.parquet")
    assert set(ex["reason"]) >= {"duplicate_rater", "not_in_consensus"}
    folds = pd.read_parquet(tmp_path / "folds.parquet")
    assert set(folds["utterance_id"]) == set(tables.labels["AR"]["utterance_id"])


def test_write_label_tables_writes_where_the_caller_says(tmp_path):
    tables = build_label_tables(parsed_corpus(), FMT)
    paths = {
        name: tmp_path / f"sub{i}" / f"t{i}.pq" for i, name in enumerate(label_table_paths(""))
    }
    written = write_label_tables(tables, paths, "toy", FMT)
    assert written == paths and all(p.is_file() for p in paths.values())
    pd.testing.assert_frame_equal(pd.read_parquet(paths["folds"]), tables.folds)
    del paths["folds_authors"]
    paths["folds_paper"] = tmp_path / "x.parquet"
    with pytest.raises(ValueError, match=r"missing \['folds_authors'\], unknown \['folds_paper'\]"):
        write_label_tables(tables, paths, "toy", FMT)


@pytest.mark.parametrize(("mr_share", "epsilon"), [("raw", 0.0), ("smoothed", 0.05)])
def test_majority_stage_from_utterances_equals_the_whole_stage(tmp_path, mr_share, epsilon):
    """The workflow's two label jobs (label_tables without the SHARE_DEPENDENT tables, then
    majority_labels from utterances.parquet) write the same files, byte for byte, as the whole
    stage in one call (serrules labels)."""
    root = FIXTURES / "msp-podcast"
    whole, split = tmp_path / "whole", tmp_path / "split"
    run_label_stage(
        corpus="pod",
        fmt="msp-podcast",
        root=root,
        outputs=label_table_paths(whole),
        mr_share=mr_share,
        epsilon=epsilon,
    )
    paths = label_table_paths(split)
    shared = tuple(n for n in label_table_names() if n not in SHARE_DEPENDENT)
    run_label_stage(
        corpus="pod",
        fmt="msp-podcast",
        root=root,
        outputs={n: paths[n] for n in shared},
    )
    assert sorted(p.stem for p in split.iterdir()) == sorted(shared)
    run_majority_stage(
        corpus="pod",
        fmt="msp-podcast",
        utterances=paths["utterances"],
        outputs={n: paths[n] for n in SHARE_DEPENDENT},
        mr_share=mr_share,
        epsilon=epsilon,
    )
    for name in label_table_names():
        assert (whole / f"{name}.parquet").read_bytes() == paths[name].read_bytes(), name


def test_majority_stage_reads_the_share_from_its_arguments(tmp_path):
    """u1 set to 35 anger / 33 sadness votes: top share 35/68 = 0.515, over 1/2 (raw) but under
    the smoothed threshold 0.5179 (C = 4, eps = 0.05): MR keeps it under raw only."""
    tables = build_label_tables(parsed_corpus(), FMT)
    utterances = tables.utterances.copy()
    row = utterances["utterance_id"] == "u1"
    for cls, n in zip(CLASSES, (35, 0, 33, 0), strict=True):
        utterances.loc[row, f"votes_{cls}"] = n
    utterances.loc[row, "n_valid"] = 68
    source = tmp_path / "utterances.parquet"
    utterances.to_parquet(source, index=False)
    kept = {}
    for share in ("raw", "smoothed"):
        paths = {n: tmp_path / share / f"{n}.parquet" for n in SHARE_DEPENDENT}
        run_majority_stage(
            corpus="toy", fmt=FMT, utterances=source, outputs=paths, mr_share=share, epsilon=0.05
        )
        kept[share] = set(pd.read_parquet(paths["labels_MR"])["utterance_id"])
        loss = pd.read_parquet(paths["label_loss"]).set_index("rule")
        assert loss.loc["MR", "n_kept"] == len(kept[share])
    assert kept["raw"] - kept["smoothed"] == {"u1"}
    assert kept["smoothed"] <= kept["raw"]


def test_write_label_tables_refuses_an_unknown_table_name(tmp_path):
    tables = build_label_tables(parsed_corpus(), FMT)
    with pytest.raises(ValueError, match=r"unknown label tables \['labels_XX'\]"):
        write_label_tables(tables, {}, "toy", FMT, names=("labels_XX",))
