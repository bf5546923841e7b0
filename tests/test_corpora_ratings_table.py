"""The ratings-table format: a corpus given as two plain tables, its record built from the config
entry. Exact parse of the hand-written fixture (CSV, TSV and Parquet alike), vocabulary and fold
settings, every bad input named by file and line, config errors named by key, the command line,
and the CREMA-D demo corpus written as the two tables giving the native parser's label tables."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from serrules.base.config import load_corpus_entry, validate_config
from serrules.base.errors import AnnotationError, ConfigError, FoldError
from serrules.corpora import parse_corpus
from serrules.corpora.formats import (
    FORMAT_NAMES,
    RATINGS_TABLE,
    corpus_format,
    format_spec,
)
from serrules.corpora.vocabulary import Vocabulary
from serrules.labels.label_tables import build_label_tables, run_label_stage

FIX = Path(__file__).parent / "fixtures" / "corpora" / "ratings-table"
ENTRY = yaml.safe_load((FIX / "corpus.yaml").read_text())["corpora"]["fixture"]
R, U = "ratings.csv", "utterances.csv"

EXPECTED_RATINGS = [
    ("s01_a", "r1", "evaluator", "Angry", "anger", "valid", f"{R}:2"),
    ("s01_a", "r2", "evaluator", "angry", "anger", "valid", f"{R}:3"),
    ("s01_a", "r3", "evaluator", "Sad", "sadness", "valid", f"{R}:4"),
    ("s01_b", "r1", "evaluator", "happy", "happiness", "valid", f"{R}:5"),
    ("s01_b", "r2", "evaluator", "Happy", "happiness", "valid", f"{R}:6"),
    ("s01_b", "r4", "evaluator", "Other", None, "other", f"{R}:7"),
    ("s02_a", "r1", "evaluator", "neutral", "neutral", "valid", f"{R}:8"),
    ("s02_a", "r2", "evaluator", "calm", "neutral", "valid", f"{R}:9"),
    # line 10 is blank
    ("s02_a", "r3", "evaluator", "sad", "sadness", "valid", f"{R}:11"),
    ("s02_b", "r2", "evaluator", "other", None, "other", f"{R}:12"),
    ("s03_a", "r1", "evaluator", "joy", "happiness", "valid", f"{R}:13"),
    ("s03_a", "r2", "evaluator", "ANGRY", "anger", "valid", f"{R}:14"),
    ("s03_b", "r5", "evaluator", "Sad", "sadness", "valid", f"{R}:15"),
    ("s03_b", "r1", "evaluator", "sad", "sadness", "valid", f"{R}:16"),
    ("s04_a", "r2", "evaluator", "Neutral", "neutral", "valid", f"{R}:17"),
    ("s04_a", "r3", "evaluator", "happy", "happiness", "valid", f"{R}:18"),
]
EXPECTED_UTTERANCES = [  # utterance, speaker, gender, split
    ("s01_a", "s01", "F", "train"),
    ("s01_b", "s01", "F", "train"),
    ("s02_a", "s02", "M", "train"),
    ("s02_b", "s02", "M", "dev"),
    ("s03_a", "s03", "Unknown", "dev"),
    ("s03_b", "s03", "Unknown", "test"),
    ("s04_a", "s04", "F", "test"),
    ("s05_a", "Unknown", "M", "train"),
]


def _rows(df):
    return [
        tuple(None if v is None or v != v else v for v in row) for row in df.itertuples(index=False)
    ]


def _entry(**tables) -> dict:
    """The fixture's config entry with some ``tables`` settings changed."""
    return {**ENTRY, "tables": {**ENTRY["tables"], **tables}}


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    shutil.copytree(FIX, root)
    return root


def _edit(root: Path, name: str, line: int, text: str | None) -> None:
    """Replace physical line ``line`` of ``root/name`` (None: delete it; a line past the end is
    appended)."""
    lines = (root / name).read_text().splitlines()
    if line > len(lines):
        lines.append(text)
    elif text is None:
        del lines[line - 1]
    else:
        lines[line - 1] = text
    (root / name).write_text("\n".join(lines) + "\n")


def _error(root: Path, entry: dict | None = None, **options) -> AnnotationError:
    with pytest.raises(AnnotationError) as err:
        parse_corpus(corpus_format(entry or ENTRY), root, **options)
    return err.value


# ------------------------------------------------------------------------------ the record


def test_the_record_is_built_from_the_config_entry():
    record = corpus_format(ENTRY)
    assert record.name == RATINGS_TABLE and RATINGS_TABLE in FORMAT_NAMES
    assert record.classes == ("anger", "happiness", "sadness", "neutral")
    assert record.annotation_globs == ("ratings.csv", "utterances.csv")
    assert record.folds.column == "split" and record.folds.n_folds == 1
    assert record.layout.columns["rater_id"] == "rater_id"  # the schema's default
    # one record per entry, built once; the workflow's param form gives the same record
    assert corpus_format(format_spec(ENTRY)) is record
    assert format_spec({"format": "iemocap", "source": "demo"}) == "iemocap"
    assert format_spec(ENTRY) == {"format": RATINGS_TABLE, "tables": ENTRY["tables"]}
    with pytest.raises(KeyError, match="made from a corpus's config entry"):
        corpus_format(RATINGS_TABLE)


def test_the_schema_names_the_roles_and_parts_of_the_code():
    from serrules.base.config import load_schema
    from serrules.corpora.formats import FOLD_PARTS
    from serrules.corpora.table_layout import RATINGS_ROLES, UTTERANCES_ROLES

    entry = load_schema()["properties"]["corpora"]["additionalProperties"]
    tables = entry["properties"]["tables"]["properties"]
    roles = dict.fromkeys([*RATINGS_ROLES, *UTTERANCES_ROLES])
    assert list(tables["columns"]["properties"]) == list(roles)
    assert tables["folds"]["properties"]["splits"]["additionalProperties"]["enum"] == list(
        FOLD_PARTS
    )


def test_annotation_and_audio_files_follow_the_entry(tmp_path):
    root = _copy(tmp_path)
    for rel in ("audio/s01/a.wav", "audio/x/y/z.flac", "notes.txt"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"0")
    record = corpus_format(ENTRY)
    assert [p.name for p in record.annotation_files(root)] == [R, U]
    assert [p.relative_to(root).as_posix() for p in record.audio_files(root)] == [
        "audio/s01/a.wav",
        "audio/x/y/z.flac",
    ]


@pytest.mark.parametrize(
    ("tables", "key", "message"),
    [
        ({"words": {"joy": ["joy"]}}, "corpora.mine.tables", r"onto non-classes \['joy'\]"),
        (
            {"words": {"anger": ["mad"], "sadness": ["MAD"]}},
            "corpora.mine.tables",
            "word 'MAD' names both 'anger' and 'sadness'",
        ),
        ({"other_words": ["calm"]}, "corpora.mine.tables", "word 'calm' of 'neutral' is also"),
        (
            {"folds": {"by": "split", "splits": {"a": "train", "b": "test"}}},
            "corpora.mine.tables",
            r"maps no split onto the part\(s\) \['dev'\]",
        ),
        ({"ratings": "ratings.xlsx"}, "corpora.mine.tables.ratings", "does not match"),
        ({"classes": ["anger", "other"]}, "corpora.mine.tables.classes.1", "should not be"),
        ({"classes": ["anger"]}, "corpora.mine.tables.classes", "is too short"),
        ({"colums": {}}, "corpora.mine.tables", "'colums' was unexpected"),
        ({"folds": {"by": "fold", "k": 2}}, "corpora.mine.tables.folds.k", "less than"),
    ],
)
def test_a_bad_entry_is_a_config_error_naming_the_key(tables, key, message):
    with pytest.raises(ConfigError, match=message) as err:
        corpus_format(_entry(**tables), key="corpora.mine")
    assert f"  {key}:" in str(err.value)


def test_the_schema_keeps_tables_to_ratings_table_corpora():
    config = yaml.safe_load((Path(__file__).parents[1] / "config.yaml").read_text())
    config["corpora"]["iemocap"]["tables"] = {"classes": ["a", "b"]}
    with pytest.raises(ConfigError, match="corpora.iemocap.tables"):
        validate_config(config)
    del config["corpora"]["iemocap"]["tables"]
    config["corpora"]["mine"] = {"format": "ratings-table", "source": "demo"}
    with pytest.raises(ConfigError, match="corpora.mine: 'tables' is a required property"):
        validate_config(config)
    config["corpora"]["mine"] = {**ENTRY, "source": "demo"}
    tables = validate_config(config)["corpora"]["mine"]["tables"]
    assert tables["columns"]["label"] == "label" and tables["folds"]["k"] == 5  # defaults


def test_vocabulary_case_and_whitespace():
    plain = Vocabulary("x", {"a": ("Very happy",), "b": ("Sad",)})
    assert plain.classify_token(" very HAPPY ") == ("a", "valid")
    assert plain.classify_token("very  happy") == (None, "unknown_label")
    collapse = Vocabulary("x", {"a": ("Very happy",), "b": ("Sad",)}, whitespace="collapse")
    assert collapse.classify_token(" very \t happy") == ("a", "valid")
    exact = Vocabulary(
        "x",
        {"a": ("Happy",), "b": ("Sad",)},
        case_sensitive=True,
        other_words={"Other"},
        other_prefix="",
    )
    assert exact.classify_token("Happy") == ("a", "valid")
    assert exact.classify_token("happy") == (None, "unknown_label")
    assert exact.classify_token("other") == (None, "unknown_label")
    assert exact.classify_token(" Other") == (None, "other")


# ------------------------------------------------------------------------------ exact parse


def test_fixture_parses_exactly():
    parsed = parse_corpus(corpus_format(ENTRY), FIX)
    assert _rows(parsed.ratings) == EXPECTED_RATINGS
    u = parsed.utterances
    assert _rows(u[["utterance_id", "speaker", "gender", "split"]]) == EXPECTED_UTTERANCES
    assert u["session"].isna().all()  # the fold column is read only when folds are by fold
    root = str(FIX.absolute())
    assert u["audio_path"].iloc[0] == f"{root}/audio/s01/a.wav"
    assert u["audio_path"].iloc[-1] == f"{root}/audio/s05/a.wav"  # ./ dropped
    assert parsed.exclusions.empty


def test_label_tables_of_the_fixture():
    tables = build_label_tables(parse_corpus(ENTRY, FIX), ENTRY)
    u = tables.utterances.set_index("utterance_id")
    assert u.loc["s01_a", ["votes_anger", "votes_sadness"]].tolist() == [2, 1]
    assert u.loc["s01_b", ["votes_happiness", "n_other", "n_valid", "n_raters"]].tolist() == [
        2,
        1,
        2,
        3,
    ]
    assert list(tables.labels["MR"]["utterance_id"]) == ["s01_a", "s01_b", "s02_a", "s03_b"]
    assert list(tables.labels["PR"]["label"]) == ["anger", "happiness", "neutral", "sadness"]
    ar = tables.labels["AR"].set_index("utterance_id")
    assert ar.loc["s03_a", ["t_anger", "t_happiness", "t_sadness"]].tolist() == [1, 1, 0]
    folds = tables.folds.groupby("part")["utterance_id"].apply(list).to_dict()
    assert folds == {
        "train": ["s01_a", "s01_b", "s02_a"],
        "dev": ["s03_a"],
        "test": ["s03_b", "s04_a"],
    }
    ex = tables.exclusions
    assert _rows(ex[ex["reason"] == "no_valid_vote"][["utterance_id", "source"]]) == [
        ("s02_b", f"{R}:12"),
        ("s05_a", "(no ratings)"),
    ]


@pytest.mark.parametrize("kind", ["tsv", "parquet"])
def test_tsv_and_parquet_parse_as_the_csv(tmp_path, kind):
    root = tmp_path / kind
    root.mkdir()
    for name in ("ratings", "utterances"):
        frame = pd.read_csv(FIX / f"{name}.csv", dtype=str, keep_default_na=False)
        if kind == "tsv":
            frame.to_csv(root / f"{name}.tsv", sep="\t", index=False)
        else:
            frame["fold"] = frame["fold"].astype(int) if "fold" in frame else None
            frame.to_parquet(root / f"{name}.parquet", index=False)
    entry = _entry(ratings=f"ratings.{kind}", utterances=f"utterances.{kind}")
    got, want = parse_corpus(entry, root), parse_corpus(ENTRY, FIX)
    cols = ["utterance_id", "rater_id", "raw_label", "emotion", "status"]
    pd.testing.assert_frame_equal(got.ratings[cols], want.ratings[cols])
    assert list(got.utterances["gender"]) == list(want.utterances["gender"])
    assert list(got.utterances["split"]) == list(want.utterances["split"])
    # a location is a physical line of a text table, a row (first = 1) of a Parquet table
    first = {"tsv": "ratings.tsv:2", "parquet": "ratings.parquet:1"}[kind]
    assert got.ratings["source"].iloc[0] == first


def test_columns_are_read_by_their_configured_names(tmp_path):
    root = _copy(tmp_path)
    _edit(root, R, 1, "clip,annotator,emotion")
    _edit(root, U, 1, "clip,wav,spk,sex,partition,fold")
    columns = {
        "utterance_id": "clip",
        "rater_id": "annotator",
        "label": "emotion",
        "audio_path": "wav",
        "speaker": "spk",
        "gender": "sex",
        "split": "partition",
    }
    parsed = parse_corpus(_entry(columns=columns), root)
    assert _rows(parsed.ratings)[:3] == EXPECTED_RATINGS[:3]
    # optional columns the file lacks: speaker and gender Unknown, no split
    assert parse_corpus(ENTRY, FIX).utterances["speaker"].iloc[0] == "s01"
    _edit(root, U, 1, "clip,wav,x,y,partition,fold")
    u = parse_corpus(_entry(columns=columns), root).utterances
    assert set(u["speaker"]) == {"Unknown"} and set(u["gender"]) == {"Unknown"}


# ------------------------------------------------------------------------------ folds


def test_folds_from_the_fold_column_rotate():
    entry = _entry(folds={"by": "fold", "k": 3})
    parsed = parse_corpus(entry, FIX)
    assert list(parsed.utterances["session"]) == [1, 1, 2, 2, 3, 3, 1, 2]
    folds = build_label_tables(parsed, entry).folds
    parts = folds.groupby(["fold", "part"])["utterance_id"].apply(list).to_dict()
    assert parts[(1, "test")] == ["s01_a", "s01_b", "s04_a"]  # fold f tests fold f
    assert parts[(1, "dev")] == ["s02_a"]  # develops on fold f + 1
    assert parts[(1, "train")] == ["s03_a", "s03_b"]
    assert parts[(3, "dev")] == ["s01_a", "s01_b", "s04_a"]  # fold k develops on fold 1


def test_speaker_folds_are_disjoint_and_seeded(tmp_path):
    root = _copy(tmp_path)
    # the speaker design needs every speaker: an empty one is an error at its line
    err = _error(root, _entry(folds={"by": "speaker", "k": 3}))
    assert str(err) == f"{root / U}:9: empty speaker (the folds are made by speaker)"
    _edit(root, U, 9, "s05_a,audio/s05/a.wav,s05,M,train,2")

    def test_speakers(seed):
        entry = _entry(folds={"by": "speaker", "k": 3, "seed": seed})
        tables = build_label_tables(parse_corpus(entry, root), entry)
        speaker = tables.utterances.set_index("utterance_id")["speaker"]
        test = tables.folds[tables.folds["part"] == "test"]
        return [sorted(set(speaker[g["utterance_id"]])) for _, g in test.groupby("fold")]

    # no seed: sorted speakers dealt out in turn (CREMA-D's folds); the AR set has s01-s04
    assert test_speakers(None) == [["s01", "s04"], ["s02"], ["s03"]]
    # a seed: the sorted speakers shuffled by numpy's default_rng(seed) first
    order = np.array(["s01", "s02", "s03", "s04"])[np.random.default_rng(7).permutation(4)]
    assert test_speakers(7) == [sorted(order[g::3]) for g in range(3)]
    assert test_speakers(7) == test_speakers(7)


def test_too_few_speakers_for_the_folds_is_a_fold_error():
    parsed = parse_corpus(ENTRY, FIX)  # the AR set has four speakers
    with pytest.raises(FoldError, match="4 speakers cannot fill 7 speaker-disjoint folds"):
        build_label_tables(parsed, _entry(folds={"by": "speaker", "k": 7}))


# ------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("name", "line", "text", "where", "message"),
    [
        (R, 4, ",r3,Sad", 4, "empty utterance_id (utterance id)"),
        (R, 4, "s01_a,,Sad", 4, "empty rater_id (rater id)"),
        (
            R,
            12,
            "s09_z,r2,other",
            12,
            "votes for utterance 's09_z', which has no row in utterances.csv (so no audio path)",
        ),
        (
            R,
            19,
            "s01_a,r1,sad",
            19,
            "rater 'r1' voted twice for utterance 's01_a': lines 2 and 19 (one vote per rater "
            "and utterance)",
        ),
        (R, 19, "s01_a,r7", 19, "row has 2 fields but the header has 3"),
        (U, 5, "s02_b,,s02,M,dev,2", 5, "empty audio_path (audio path)"),
        (U, 10, "s01_a,audio/x.wav,s01,F,train,1", 10, "utterance_id 's01_a' listed twice"),
        (U, 3, "s01_b,../b.wav,s01,F,train,1", 3, "audio_path '../b.wav' is not a path inside"),
        (U, 3, "s01_b,/data/b.wav,s01,F,train,1", 3, "audio_path '/data/b.wav' is not a path"),
        (U, 3, "s01_b,b.wav,s01,x,train,1", 3, "gender must be F, M, Female, Male, Unknown"),
        (
            U,
            3,
            "s01_b,b.wav,s01,F,validation,1",
            3,
            "split must be one of ['dev', 'test', 'train'] (tables.folds.splits)",
        ),
        (
            U,
            1,
            "utterance_id,audio_path,speaker,gender,fold",
            1,
            "header lacks column(s) ['split']",
        ),
    ],
)
def test_bad_rows_name_file_and_line(tmp_path, name, line, text, where, message):
    root = _copy(tmp_path)
    _edit(root, name, line, text)
    if name == U and line == 1:  # the header without split: drop that field from every row
        rows = [r.rsplit(",", 2) for r in (root / U).read_text().splitlines()[1:]]
        body = "".join(f"{r[0]},{r[2]}\n" for r in rows)
        (root / U).write_text(text + "\n" + body)
    err = _error(root)
    assert err.path == root / name and err.line == where
    assert str(err).startswith(f"{root / name}:{where}: {message}")


def test_a_configured_column_the_file_lacks(tmp_path):
    err = _error(FIX, _entry(columns={"label": "emotion"}))
    assert str(err).startswith(f"{FIX / R}:1: header lacks column(s) ['emotion']; found ")


def test_fold_values_must_lie_in_one_to_k(tmp_path):
    root = _copy(tmp_path)
    entry = _entry(folds={"by": "fold", "k": 3})
    for value in ("4", "0", "1.5", "", "one"):
        _edit(root, U, 6, f"s03_a,audio/s03/a.wav,s03,,dev,{value}")
        err = _error(root, entry)
        assert str(err) == f"{root / U}:6: fold must be a whole number from 1 to 3 (tables.folds.k)"


def test_unknown_label_is_an_error_or_a_counted_exclusion(tmp_path):
    root = _copy(tmp_path)
    _edit(root, R, 13, "s03_a,r1,bored")
    err = _error(root)
    assert str(err).startswith(
        f"{root / R}:13: unknown emotion label 'bored' for the ratings-table vocabulary (known: "
        "angry, calm, happy, joy, neutral, sad; other: 'other'); use unknown_labels='exclude'"
    )
    out = tmp_path / "out"
    paths = {n: out / f"{n}.parquet" for n in ("ratings", "utterances", "exclusions")}
    tables = run_label_stage(
        corpus="mine", fmt=ENTRY, root=root, outputs=paths, unknown_labels="exclude"
    )
    row = tables.ratings[tables.ratings["source"] == f"{R}:13"]
    assert row["status"].tolist() == ["unknown_label"]
    ex = pd.read_parquet(paths["exclusions"])
    assert _rows(ex[ex["reason"] == "unknown_label"][["level", "utterance_id", "source"]]) == [
        ("rating", "s03_a", f"{R}:13")
    ]


def test_missing_and_unreadable_tables(tmp_path):
    root = _copy(tmp_path)
    (root / U).unlink()
    with pytest.raises(
        FileNotFoundError, match=f"ratings-table file not found: expected {root / U}"
    ):
        parse_corpus(ENTRY, root)
    (root / "utterances.parquet").write_bytes(b"PAR1 not really")
    err = _error(root, _entry(utterances="utterances.parquet"))
    assert err.line is None and "not a readable Parquet table" in str(err)
    pd.DataFrame({"utterance_id": ["s01_a"]}).to_parquet(root / "utterances.parquet")
    err = _error(root, _entry(utterances="utterances.parquet"))
    assert "lacks column(s) ['audio_path', 'split']" in str(err)


# ------------------------------------------------------------------------------ command line


def test_serrules_labels_reads_the_entry_from_a_config_file(tmp_path, capsys):
    from serrules.cli import main

    out = tmp_path / "fixture"
    assert main(["labels", "--config", str(FIX / "corpus.yaml"), str(FIX), str(out)]) == 0
    text = capsys.readouterr().out
    assert text.splitlines() == [
        f"fixture (ratings-table) -> {out} (protocol paper: MR on the raw share)",
        "utterances: 8 parsed, 6 with at least one valid vote",
        "ratings: 16 rows (14 valid, 2 other, 0 excluded)",
        # the AR set's 15 valid and other votes: MR and PR keep s01_a, s01_b, s02_a, s03_b
        # and use their winners' 8 votes; AR uses every valid vote, all but s01_b's "other"
        "kept per rule:",
        "  MR: 4 utterances (data loss 33.33%, rating loss 46.67%)",
        "  PR: 4 utterances (data loss 33.33%, rating loss 46.67%)",
        "  AR: 6 utterances (data loss 0.00%, rating loss 6.67%)",
        "exclusions:",
        "  utterance no_valid_vote: 2",
    ]
    assert (
        main(["labels", "--config", str(FIX / "corpus.yaml"), str(FIX), str(tmp_path / "x")]) == 1
    )
    assert "no corpora.x entry (corpora: fixture)" in capsys.readouterr().err
    assert load_corpus_entry(FIX / "corpus.yaml", "fixture")["tables"]["whitespace"] == "strip"


# ------------------------------------------------------------------------------ CREMA-D


def _crema_as_tables(native: Path, out: Path, kind: str) -> dict:
    """The voice-only responses of a CREMA-D release (those the official tabulation keeps: first
    click within 10 s) written as the two tables, read with the csv module alone; returns the
    corpus's config entry."""
    with open(native / "finishedEmoResponses.csv", newline="") as fh:
        slow = {
            (r["sessionNums"], r["queryType"], r["questNum"])
            for r in csv.DictReader(fh)
            if float(r["ttr"]) > 10000
        }
    with open(native / "VideoDemographics.csv", newline="") as fh:
        sex = {r["ActorID"]: r["Sex"] for r in csv.DictReader(fh)}
    ratings, clips = [], {}
    with open(native / "finishedResponses.csv", newline="") as fh:
        for r in csv.DictReader(fh):
            if r["queryType"] != "1":
                continue
            clips.setdefault(r["clipName"], None)
            if (r["sessionNums"], r["queryType"], r["questNum"]) not in slow:
                ratings.append((r["clipName"], r["localid"], r["respEmo"]))
    utterances = pd.DataFrame(
        {
            "utterance_id": list(clips),
            "audio_path": [f"AudioWAV/{c}.wav" for c in clips],
            "speaker": [c[:4] for c in clips],
            "gender": [sex[c[:4]] for c in clips],
        }
    )
    frames = {
        "ratings": pd.DataFrame(ratings, columns=["utterance_id", "rater_id", "label"]),
        "utterances": utterances,
    }
    for name, frame in frames.items():
        if kind == "parquet":
            frame.to_parquet(out / f"{name}.parquet", index=False)
        else:
            frame.to_csv(out / f"{name}.csv", index=False)
    classes = corpus_format("crema-d").classes
    letters = {c: [corpus_format("crema-d").vocabulary.word(c)] for c in classes}
    return {
        "format": RATINGS_TABLE,
        "source": "release",
        "root": str(out),
        "tables": {
            "ratings": f"ratings.{kind}",
            "utterances": f"utterances.{kind}",
            "classes": list(classes),
            "words": letters,
            "folds": {"by": "speaker", "k": 5, "seed": None},
        },
    }


@pytest.fixture(scope="module")
def crema_demo(tmp_path_factory) -> Path:
    from serrules.demo import generate_demo_corpus

    root = tmp_path_factory.mktemp("crema")
    generate_demo_corpus("crema-d", root, 60, 11)
    return root


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_crema_d_as_two_tables_gives_the_native_label_tables(crema_demo, tmp_path, kind):
    """The CREMA-D demo corpus written as the two tables (beside its native files, so the audio
    paths agree) gives, row for row, the label tables of the native parser: utterances with
    their votes, MR/PR/AR labels, both fold tables, label loss, and the counted ratings (the
    native ratings table also keeps the slow responses it excludes; the sources differ)."""
    root = tmp_path / "crema"
    shutil.copytree(crema_demo, root, ignore=shutil.ignore_patterns("*.wav"))
    entry = _crema_as_tables(root, root, kind)
    paths = {}
    for name, fmt in (("native", "crema-d"), ("tables", entry)):
        out = tmp_path / name
        paths[name] = out
        run_label_stage(
            corpus="crema-d",
            fmt=fmt,
            root=root,
            outputs={n: out / f"{n}.parquet" for n in _LABEL_STAGE},
        )
    # the ratings, whose source lines differ, are compared below
    for name in (n for n in _LABEL_STAGE if n not in ("ratings", "exclusions")):
        pd.testing.assert_frame_equal(
            pd.read_parquet(paths["tables"] / f"{name}.parquet"),
            pd.read_parquet(paths["native"] / f"{name}.parquet"),
            check_exact=True,
        )
    native = pd.read_parquet(paths["native"] / "ratings.parquet")
    counted = native[native["status"].isin(["valid", "other"])].reset_index(drop=True)
    tables = pd.read_parquet(paths["tables"] / "ratings.parquet")
    assert (native["status"] == "slow_response").any()  # the demo has slow responses
    pd.testing.assert_frame_equal(tables.drop(columns="source"), counted.drop(columns="source"))


_LABEL_STAGE = (
    "ratings",
    "utterances",
    "labels_MR",
    "labels_PR",
    "labels_AR",
    "folds",
    "folds_authors",
    "exclusions",
    "label_loss",
)


# ------------------------------------------------------------------------------ end to end


@pytest.mark.e2e
def test_the_demo_runs_a_ratings_table_corpus_through_all(demo_run):
    """The tiny demo run's ratings-table corpus (tests/demo_workflow.py): its classes are the
    entry's in every table, Table 3 and Tables 4-6 have its rows, and vs_paper and claims leave
    it out and say so."""
    from demo_workflow import RATINGS_CORPUS, TINY_CORPORA

    results = demo_run / "results"
    classes = TINY_CORPORA[RATINGS_CORPUS]["tables"]["classes"]
    base = results / RATINGS_CORPUS
    votes = [
        c for c in pd.read_parquet(base / "utterances.parquet").columns if c.startswith("votes_")
    ]
    assert votes == [f"votes_{c}" for c in classes]
    predictions = pd.read_parquet(base / "models" / "AR" / "fold1" / "predictions.parquet")
    assert [c for c in predictions.columns if c.startswith("p_")] == [f"p_{c}" for c in classes]
    assert set(pd.read_parquet(base / "per_class.parquet")["class"]) == set(classes)
    for table in ("table3", "table4"):
        assert RATINGS_CORPUS in set(pd.read_csv(results / "tables" / f"{table}.csv")["corpus"])
    vs_paper = pd.read_csv(results / "tables" / "vs_paper.csv")
    assert len(vs_paper) and RATINGS_CORPUS not in set(vs_paper["corpus"])
    left_out = f"Left out: {RATINGS_CORPUS} (ratings-table): the paper has no row for it"
    for name in ("vs_paper", "claims"):
        assert left_out in (results / "tables" / f"{name}.md").read_text()
