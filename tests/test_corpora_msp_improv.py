"""MSP-IMPROV Evaluation.txt parser: exact rows of a native fixture, broken files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from serrules.corpora import AnnotationError, parse_corpus

FIX = Path(__file__).parent / "fixtures" / "corpora"
A = "MSP-IMPROV-S01A-F01-S-FM01"
B = "MSP-IMPROV-S02H-M03-P-MF12"
C = "MSP-IMPROV-S15N-F06-T-FF03"

EXPECTED_RATINGS = [
    (A, "rater01", "evaluator", "Angry", "anger", "valid", "Evaluation.txt:2"),
    (A, "rater02", "evaluator", "Angry", "anger", "valid", "Evaluation.txt:3"),
    (A, "rater03", "evaluator", "Sad", "sadness", "valid", "Evaluation.txt:4"),
    (A, "rater01", "evaluator", "Neutral", None, "duplicate_rater", "Evaluation.txt:5"),
    (B, "rater04", "evaluator", "Happy", "happiness", "valid", "Evaluation.txt:8"),
    (B, "rater05", "evaluator", "Other-amused", None, "other", "Evaluation.txt:9"),
    (B, "rater06", "evaluator", "Happy", "happiness", "valid", "Evaluation.txt:10"),
    (C, "rater07", "evaluator", "Neutral", "neutral", "valid", "Evaluation.txt:13"),
    (C, "rater08", "evaluator", "N", "neutral", "valid", "Evaluation.txt:14"),
]


def _rows(df):
    return [tuple(None if v != v else v for v in row) for row in df.itertuples(index=False)]


def _tree(tmp_path: Path, broken: str | None = None, name: str = "Evaluation.txt") -> Path:
    root = tmp_path / "msp-improv"
    root.mkdir()
    src = (
        FIX / "broken" / "msp-improv" / broken if broken else FIX / "msp-improv" / "Evaluation.txt"
    )
    shutil.copy(src, root / name)
    return root


def test_exact_rows():
    root = FIX / "msp-improv"
    parsed = parse_corpus("msp-improv", root)
    assert _rows(parsed.ratings) == EXPECTED_RATINGS
    u = parsed.utterances
    assert list(u["utterance_id"]) == [A, B, C]
    assert list(u["speaker"]) == ["F01", "M03", "F06"]
    assert list(u["gender"]) == ["F", "M", "F"]
    assert list(u["session"]) == [1, 3, 6]
    assert u["split"].isna().all()
    base = root.absolute() / "Audio"
    assert list(u["audio_path"]) == [
        str(base / "session1" / "S01A" / "S" / f"{A}.wav"),
        str(base / "session3" / "S02H" / "P" / f"{B}.wav"),
        str(base / "session6" / "S15N" / "T" / f"{C}.wav"),
    ]
    assert parsed.exclusions.empty


def test_misspelled_file_name_is_read(tmp_path: Path):
    parsed = parse_corpus("msp-improv", _tree(tmp_path, name="Evalution.txt"))
    assert [r[:6] for r in _rows(parsed.ratings)] == [r[:6] for r in EXPECTED_RATINGS]
    assert parsed.ratings["source"].iloc[0] == "Evalution.txt:2"


def test_missing_file(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="Evaluation.txt.*Evalution.txt"):
        parse_corpus("msp-improv", tmp_path)


@pytest.mark.parametrize(
    ("case", "line", "what"),
    [
        ("malformed.txt", 3, "rater line does not parse"),
        ("unknown_label.txt", 5, "unknown emotion label 'Frustrated'"),
        ("bad_clip.txt", 1, "speaker number 09"),
    ],
)
def test_broken_files(tmp_path: Path, case: str, line: int, what: str):
    root = _tree(tmp_path, case)
    with pytest.raises(AnnotationError) as err:
        parse_corpus("msp-improv", root)
    path = (root / "Evaluation.txt").absolute()
    assert (err.value.path, err.value.line) == (path, line)
    assert str(err.value).startswith(f"{path}:{line}: ")
    assert what in str(err.value)


def test_unknown_label_excluded_on_request(tmp_path: Path):
    parsed = parse_corpus(
        "msp-improv", _tree(tmp_path, "unknown_label.txt"), unknown_labels="exclude"
    )
    assert list(parsed.ratings["status"]) == ["valid", "unknown_label", "valid"]
    assert list(parsed.ratings["emotion"].fillna("-")) == ["anger", "-", "sadness"]


def test_rater_line_before_first_header(tmp_path: Path):
    root = tmp_path / "r"
    root.mkdir()
    (root / "Evaluation.txt").write_text("\nrater01; Angry; ; A:1; V:1; D:1; N:1;\n")
    with pytest.raises(AnnotationError, match=r"Evaluation.txt:2: rater line before"):
        parse_corpus("msp-improv", root)
