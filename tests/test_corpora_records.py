"""ParsedCorpus contract: column builders, validate(), parse_corpus dispatch, error format."""

from __future__ import annotations

import pickle
from pathlib import Path

import pandas as pd
import pytest

from serrules.corpora import FORMATS, AnnotationError, parse_corpus
from serrules.corpora.records import (
    EXCLUSION_COLUMNS,
    RATING_COLUMNS,
    UTTERANCE_COLUMNS,
    ParsedCorpus,
    empty_exclusions,
    ratings_frame,
    utterances_frame,
)

FIX = Path(__file__).parent / "fixtures" / "corpora"
FIXTURE_ROOT = {
    "iemocap": "iemocap",
    "msp-improv": "msp-improv",
    "msp-podcast": "msp-podcast",
    "biic-podcast": "biic-podcast",
    "crema-d": "crema-d",
}


def _small() -> ParsedCorpus:
    r = ratings_frame(
        utterance_id=["u1", "u1"],
        rater_id=["r1", "r2"],
        rater_kind="evaluator",
        raw_label=["Angry", "Bored"],
        emotion=["anger", None],
        status=["valid", "unknown_label"],
        source=["f:2", "f:3"],
    )
    u = utterances_frame(
        utterance_id=["u1"], speaker="s1", gender="F", session=[3], split=None, audio_path=["/a"]
    )
    return ParsedCorpus(r, u, empty_exclusions())


def test_builders_give_contract_columns_and_dtypes():
    p = _small().validate(["anger"])
    assert tuple(p.ratings.columns) == RATING_COLUMNS
    assert tuple(p.utterances.columns) == UTTERANCE_COLUMNS
    assert tuple(p.exclusions.columns) == EXCLUSION_COLUMNS
    assert str(p.utterances["session"].dtype) == "Int64"
    assert all(pd.api.types.is_string_dtype(p.ratings[c]) for c in RATING_COLUMNS)
    assert p.ratings["rater_kind"].tolist() == ["evaluator", "evaluator"]
    assert p.status_counts().to_dict() == {"unknown_label": 1, "valid": 1}


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda p: p.ratings.__delitem__("source"),
            r"parsed corpus: ratings table lacks column\(s\) source",
        ),
        (
            lambda p: p.ratings.__setitem__("emotion", pd.array(["anger", "anger"], dtype="str")),
            "emotion must be set exactly",
        ),
        (lambda p: p.utterances.__setitem__("gender", pd.array(["female"], dtype="str")), "gender"),
        (
            lambda p: p.ratings.__setitem__("utterance_id", pd.array(["u1", "u9"], dtype="str")),
            r"parsed corpus: ratings table: 1 utterance_id value\(s\) not in parsed corpus "
            r"\(utterances\): u9",
        ),
        (
            lambda p: p.utterances.__setitem__("session", pd.array([1.0], dtype="float64")),
            "column session holds float64 values, expected int",
        ),
        (
            lambda p: p.ratings.__setitem__("source", pd.array(["f:2", None], dtype="str")),
            r"ratings table: column source has 1 null value\(s\) \(rows 1\)",
        ),
    ],
)
def test_validate_catches_contract_violations(mutate, message):
    p = _small()
    mutate(p)
    with pytest.raises(ValueError, match=message):
        p.validate()


def test_validate_checks_class_names():
    with pytest.raises(ValueError, match="not a class"):
        _small().validate(["sadness"])


def test_builders_reject_ragged_columns():
    with pytest.raises(ValueError, match="differ in length"):
        utterances_frame(
            utterance_id=["a", "b"],
            speaker=["s"],
            gender="F",
            session=None,
            split=None,
            audio_path=["x", "y"],
        )


def test_annotation_error_format_and_pickling():
    e = AnnotationError("/x/f.txt", 7, "bad thing")
    assert str(e) == "/x/f.txt:7: bad thing" and isinstance(e, ValueError)
    e2 = pickle.loads(pickle.dumps(e))
    assert (e2.path, e2.line, str(e2)) == (Path("/x/f.txt"), 7, str(e))
    assert str(AnnotationError("/x/f.json", None, "key 'a': bad")) == "/x/f.json: key 'a': bad"


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_parses_its_fixture_and_validates(fmt):
    parsed = parse_corpus(fmt, FIX / FIXTURE_ROOT[fmt])
    parsed.validate(FORMATS[fmt].classes)
    valid = parsed.ratings[parsed.ratings["status"] == "valid"]
    assert len(valid) > 0 and valid["emotion"].isin(FORMATS[fmt].classes).all()


def test_dispatch_errors(tmp_path: Path):
    with pytest.raises(KeyError, match="unknown corpus format"):
        parse_corpus("ravdess", tmp_path)
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        parse_corpus("iemocap", tmp_path / "nope")
    with pytest.raises(ValueError, match="unknown_labels"):
        parse_corpus("msp-improv", FIX / "msp-improv", unknown_labels="ignore")
