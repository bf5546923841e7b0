"""IEMOCAP EmoEvaluation parser: exact rows of a hand-written native fixture, broken files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from serrules.corpora import AnnotationError, parse_corpus

FIX = Path(__file__).parent / "fixtures" / "corpora"
S1 = "Session1/dialog/EmoEvaluation"
F1 = f"{S1}/Ses01F_impro01.txt"
F2 = f"{S1}/Ses01M_script01_1b.txt"

# (utterance_id, rater_id, rater_kind, raw_label, emotion, status, source) checked by hand
EXPECTED_RATINGS = [
    ("Ses01F_impro01_F000", "C-E2", "evaluator", "Neutral", "neutral", "valid", f"{F1}:4"),
    ("Ses01F_impro01_F000", "C-E3", "evaluator", "Neutral state", "neutral", "valid", f"{F1}:5"),
    ("Ses01F_impro01_F000", "C-E4", "evaluator", "Neutral", "neutral", "valid", f"{F1}:6"),
    ("Ses01F_impro01_F000", "C-F1", "self", "Neutral", None, "self_evaluation", f"{F1}:7"),
    ("Ses01F_impro01_M000", "C-E1", "evaluator", "Anger", "anger", "valid", f"{F1}:12"),
    ("Ses01F_impro01_M000", "C-E1", "evaluator", "Frustration", "frustration", "valid", f"{F1}:12"),
    ("Ses01F_impro01_M000", "C-E3", "evaluator", "Frustration", "frustration", "valid", f"{F1}:13"),
    ("Ses01F_impro01_M000", "C-E4", "evaluator", "Other", None, "other", f"{F1}:14"),
    ("Ses01F_impro01_M000", "C-E4", "evaluator", "Frustration", "frustration", "valid", f"{F1}:14"),
    ("Ses01F_impro01_M000", "C-M1", "self", "Anger", None, "self_evaluation", f"{F1}:15"),
    ("Ses01F_impro01_F001", "C-E2", "evaluator", "Happiness", "happiness", "valid", f"{F1}:19"),
    ("Ses01F_impro01_F001", "C-E2", "evaluator", "Excited", "excitement", "valid", f"{F1}:19"),
    ("Ses01F_impro01_F001", "C-E3", "evaluator", "Happiness", "happiness", "valid", f"{F1}:20"),
    ("Ses01F_impro01_F001", "C-E4", "evaluator", "Surprise", "surprise", "valid", f"{F1}:21"),
    ("Ses01F_impro01_F001", "C-E4", "evaluator", "Happiness", "happiness", "valid", f"{F1}:21"),
    ("Ses01M_script01_1b_F003", "C-E1", "evaluator", "Sadness", "sadness", "valid", f"{F2}:4"),
    ("Ses01M_script01_1b_F003", "C-E2", "evaluator", "Sadness", "sadness", "valid", f"{F2}:5"),
    ("Ses01M_script01_1b_F003", "C-E2", "evaluator", "Sadness", None, "duplicate_label", f"{F2}:5"),
    ("Ses01M_script01_1b_F003", "C-E3", "evaluator", "Fear", "fear", "valid", f"{F2}:6"),
    ("Ses01M_script01_1b_F003", "C-E3", "evaluator", "Disgust", None, "duplicate_rater", f"{F2}:7"),
    (
        "Ses02F_impro03_M012",
        "C-E1",
        "evaluator",
        "Anger",
        "anger",
        "valid",
        "Session2/dialog/EmoEvaluation/Ses02F_impro03.txt:4",
    ),
    (
        "Ses02F_impro03_M012",
        "C-E2",
        "evaluator",
        "Other:bored",
        None,
        "other",
        "Session2/dialog/EmoEvaluation/Ses02F_impro03.txt:5",
    ),
    (
        "Ses02F_impro03_M012",
        "C-E3",
        "evaluator",
        "Excited",
        "excitement",
        "valid",
        "Session2/dialog/EmoEvaluation/Ses02F_impro03.txt:6",
    ),
    (
        "Ses03M_impro01_M001",
        "C-E1",
        "evaluator",
        "Anger",
        "anger",
        "valid",
        "Session3/dialog/EmoEvaluation/Ses03M_impro01.txt:4",
    ),
    (
        "Ses03M_impro01_M001",
        "C-E2",
        "evaluator",
        "Anger",
        "anger",
        "valid",
        "Session3/dialog/EmoEvaluation/Ses03M_impro01.txt:5",
    ),
    (
        "Ses04F_script02_2_F010",
        "C-E1",
        "evaluator",
        "Neutral",
        "neutral",
        "valid",
        "Session4/dialog/EmoEvaluation/Ses04F_script02_2.txt:4",
    ),
    (
        "Ses05M_impro07_F020",
        "C-E1",
        "evaluator",
        "Surprise",
        "surprise",
        "valid",
        "Session5/dialog/EmoEvaluation/Ses05M_impro07.txt:4",
    ),
    (
        "Ses05M_impro07_F020",
        "C-F1",
        "self",
        "Fear",
        None,
        "self_evaluation",
        "Session5/dialog/EmoEvaluation/Ses05M_impro07.txt:5",
    ),
]

# (utterance_id, speaker, gender, session, dialog)
EXPECTED_UTTERANCES = [
    ("Ses01F_impro01_F000", "Ses01_F", "F", 1, "Ses01F_impro01"),
    ("Ses01F_impro01_M000", "Ses01_M", "M", 1, "Ses01F_impro01"),
    ("Ses01F_impro01_F001", "Ses01_F", "F", 1, "Ses01F_impro01"),
    ("Ses01M_script01_1b_F003", "Ses01_F", "F", 1, "Ses01M_script01_1b"),
    ("Ses02F_impro03_M012", "Ses02_M", "M", 2, "Ses02F_impro03"),
    ("Ses03M_impro01_M001", "Ses03_M", "M", 3, "Ses03M_impro01"),
    ("Ses04F_script02_2_F010", "Ses04_F", "F", 4, "Ses04F_script02_2"),
    ("Ses05M_impro07_F020", "Ses05_F", "F", 5, "Ses05M_impro07"),
]


def _rows(df):
    return [tuple(None if v != v else v for v in row) for row in df.itertuples(index=False)]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "iemocap"
    shutil.copytree(FIX / "iemocap", root)
    return root


def test_exact_ratings_and_utterances():
    root = FIX / "iemocap"
    parsed = parse_corpus("iemocap", root)
    assert _rows(parsed.ratings) == EXPECTED_RATINGS
    u = parsed.utterances
    assert list(u["utterance_id"]) == [e[0] for e in EXPECTED_UTTERANCES]
    assert list(u["speaker"]) == [e[1] for e in EXPECTED_UTTERANCES]
    assert list(u["gender"]) == [e[2] for e in EXPECTED_UTTERANCES]
    assert list(u["session"]) == [e[3] for e in EXPECTED_UTTERANCES]
    assert u["split"].isna().all()
    expected_audio = [
        str(root.absolute() / f"Session{s}" / "sentences" / "wav" / d / f"{i}.wav")
        for i, _, _, s, d in EXPECTED_UTTERANCES
    ]
    assert list(u["audio_path"]) == expected_audio
    assert parsed.exclusions.empty


def test_hidden_files_and_subfolders_are_ignored():
    parsed = parse_corpus("iemocap", FIX / "iemocap")
    assert not parsed.ratings["source"].str.contains("Categorical|/\\._", regex=True).any()


def test_self_evaluations_counted_when_asked():
    parsed = parse_corpus("iemocap", FIX / "iemocap", include_self_evaluations=True)
    self_rows = parsed.ratings[parsed.ratings["rater_kind"] == "self"]
    assert list(self_rows["status"]) == ["valid", "valid", "valid"]
    assert list(self_rows["emotion"]) == ["neutral", "anger", "fear"]
    # every other row is unchanged
    others = parsed.ratings[parsed.ratings["rater_kind"] == "evaluator"]
    assert _rows(others) == [r for r in EXPECTED_RATINGS if r[2] == "evaluator"]


@pytest.mark.parametrize(
    ("case", "line", "what"),
    [
        ("bad_header.txt", 3, "block header does not parse"),
        ("outside_block.txt", 6, "outside an utterance block"),
        ("no_emotion.txt", 5, "names no emotion"),
        ("unknown_label.txt", 5, "unknown emotion label 'Boredom'"),
    ],
)
def test_broken_files_name_file_and_line(tree: Path, case: str, line: int, what: str):
    target = tree / S1 / "Ses01F_impro09.txt"
    shutil.copy(FIX / "broken" / "iemocap" / case, target)
    with pytest.raises(AnnotationError) as err:
        parse_corpus("iemocap", tree)
    assert err.value.path == target.absolute()
    assert err.value.line == line
    assert str(err.value).startswith(f"{target.absolute()}:{line}: ")
    assert what in str(err.value)


def test_unknown_label_excluded_on_request(tree: Path):
    shutil.copy(FIX / "broken" / "iemocap" / "unknown_label.txt", tree / S1 / "Ses01F_impro09.txt")
    parsed = parse_corpus("iemocap", tree, unknown_labels="exclude")
    rows = parsed.ratings[parsed.ratings["utterance_id"] == "Ses01F_impro09_F000"]
    assert list(zip(rows["raw_label"], rows["status"], strict=True)) == [
        ("Neutral", "valid"),
        ("Boredom", "unknown_label"),
        ("Neutral", "valid"),
    ]
    assert rows["emotion"].isna().tolist() == [False, True, False]


def test_missing_session_folder(tree: Path):
    shutil.rmtree(tree / "Session3")
    with pytest.raises(FileNotFoundError, match="Session3/dialog/EmoEvaluation"):
        parse_corpus("iemocap", tree)


def test_utterance_in_wrong_session_and_duplicate_utterance(tree: Path):
    f = tree / "Session2" / "dialog" / "EmoEvaluation" / "Ses02F_impro03.txt"
    f.write_text(f.read_text().replace("Ses02F_impro03_M012", "Ses03F_impro03_M012"))
    with pytest.raises(AnnotationError, match=r"Ses02F_impro03.txt:3: .*session 3"):
        parse_corpus("iemocap", tree)
    f.write_text(f.read_text().replace("Ses03F_impro03_M012", "Ses02F_impro03_M012"))
    dup = tree / "Session2" / "dialog" / "EmoEvaluation" / "Ses02F_impro04.txt"
    dup.write_text(f.read_text())
    with pytest.raises(AnnotationError, match=r"Ses02F_impro04.txt:3: .*already annotated"):
        parse_corpus("iemocap", tree)
