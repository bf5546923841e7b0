"""CREMA-D parser: the real tabulatedVotes sample (exact vote counts), per-response files with the
official 10 s first-click filter, demographics, broken files."""

from __future__ import annotations

import csv
import shutil
import warnings
from pathlib import Path

import pytest

from serrules.corpora import AnnotationError, parse_corpus

FIX = Path(__file__).parent / "fixtures" / "corpora"
REAL = FIX / "crema-d"
RESP = FIX / "crema-d-responses"
LETTER = {
    "A": "anger",
    "D": "disgust",
    "F": "fear",
    "H": "happiness",
    "N": "neutral",
    "S": "sadness",
}


def _rows(df):
    return [tuple(None if v != v else v for v in row) for row in df.itertuples(index=False)]


def _votes(parsed, clip):
    r = parsed.ratings[parsed.ratings["utterance_id"] == clip]
    return r["emotion"].value_counts().to_dict()


def test_real_tabulated_sample_exact_counts():
    parsed = parse_corpus("crema-d", REAL)
    assert _votes(parsed, "1001_IEO_NEU_XX") == {"neutral": 10, "happiness": 1}
    assert _votes(parsed, "1001_IEO_HAP_LO") == {"neutral": 6, "happiness": 3}
    assert _votes(parsed, "1001_IEO_HAP_HI") == {"happiness": 6, "anger": 2, "neutral": 2}
    assert _votes(parsed, "1001_IEO_SAD_LO") == {
        "neutral": 7,
        "anger": 1,
        "disgust": 1,
        "sadness": 1,
    }
    clip = parsed.ratings[parsed.ratings["utterance_id"] == "1001_IEO_NEU_XX"]
    assert list(clip["rater_id"]) == [f"vote{i}" for i in range(1, 12)]
    assert list(clip["raw_label"]) == ["H"] + ["N"] * 10
    assert set(clip["source"]) == {"processedResults/tabulatedVotes.csv:2"}
    assert (parsed.ratings["status"] == "valid").all()

    # every row of the sample, re-counted with the csv module
    with (REAL / "processedResults" / "tabulatedVotes.csv").open() as fh:
        table = list(csv.DictReader(fh))
    assert len(parsed.utterances) == len(table) == 200
    assert len(parsed.ratings) == sum(int(r["numResponses"]) for r in table) == 1863
    counts = parsed.ratings.groupby(["utterance_id", "raw_label"]).size()
    for r in table:
        for letter in LETTER:
            assert counts.get((r["fileName"], letter), 0) == int(r[letter])


def test_real_sample_speakers_and_genders():
    parsed = parse_corpus("crema-d", REAL)
    u = parsed.utterances
    assert u["speaker"].value_counts().to_dict() == {"1001": 82, "1002": 81, "1003": 37}
    # VideoDemographics.csv: 1001 Male, 1002 Female, 1003 Female
    assert dict(zip(u["speaker"], u["gender"], strict=True)) == {
        "1001": "M",
        "1002": "F",
        "1003": "F",
    }
    assert u["session"].isna().all() and u["split"].isna().all()
    assert u["audio_path"].iloc[0] == str(REAL.absolute() / "AudioWAV" / "1001_IEO_NEU_XX.wav")


EXPECTED_RESPONSES = [
    ("1001_IEO_NEU_XX", "0001", "evaluator", "N", "neutral", "valid", "finishedResponses.csv:2"),
    # first click exactly 10000 ms: kept (the release drops > 10000 only)
    ("1001_IEO_NEU_XX", "0002", "evaluator", "N", "neutral", "valid", "finishedResponses.csv:3"),
    # final ttr 12000 ms but first click 4000 ms: kept
    ("1001_IEO_NEU_XX", "0003", "evaluator", "H", "happiness", "valid", "finishedResponses.csv:4"),
    ("1001_IEO_HAP_LO", "0004", "evaluator", "A", None, "slow_response", "finishedResponses.csv:5"),
    # line 6 is a face-only response (queryType 2): not a voice rating
    ("1001_IEO_HAP_LO", "0005", "evaluator", "S", "sadness", "valid", "finishedResponses.csv:7"),
    (
        "1001_IEO_HAP_LO",
        "0005",
        "evaluator",
        "D",
        None,
        "duplicate_rater",
        "finishedResponses.csv:8",
    ),
    ("1002_DFA_ANG_XX", "0006", "evaluator", "H", "happiness", "valid", "finishedResponses.csv:9"),
    ("1099_DFA_ANG_XX", "0007", "evaluator", "A", "anger", "valid", "finishedResponses.csv:10"),
]


def test_responses_with_official_first_click_filter():
    parsed = parse_corpus("crema-d", RESP)
    assert _rows(parsed.ratings) == EXPECTED_RESPONSES
    u = parsed.utterances
    assert list(u["utterance_id"]) == [
        "1001_IEO_NEU_XX",
        "1001_IEO_HAP_LO",
        "1002_DFA_ANG_XX",
        "1099_DFA_ANG_XX",
    ]
    assert list(u["speaker"]) == ["1001", "1001", "1002", "1099"]
    assert list(u["gender"]) == ["M", "M", "F", "Unknown"]  # 1099 is not in the demographics


def test_filter_off_and_fallback_without_first_click_file(tmp_path: Path):
    off = parse_corpus("crema-d", RESP, max_response_ms=None)
    assert off.ratings["status"].tolist().count("slow_response") == 0
    root = tmp_path / "c"
    shutil.copytree(RESP, root)
    (root / "finishedEmoResponses.csv").unlink()
    with pytest.warns(UserWarning, match="final response time"):
        parsed = parse_corpus("crema-d", root)
    # fallback: final-response ttr 12000 (line 4) is now over the limit, 4000 (line 5) is not
    assert parsed.ratings["status"].tolist()[2:5] == ["slow_response", "valid", "valid"]


def test_tabulated_used_when_no_responses_and_missing_demographics(tmp_path: Path):
    root = tmp_path / "c"
    (root / "processedResults").mkdir(parents=True)
    shutil.copy(REAL / "processedResults" / "tabulatedVotes.csv", root / "processedResults")
    with pytest.warns(UserWarning, match="VideoDemographics.csv not found"):
        parsed = parse_corpus("crema-d", root)
    assert (parsed.utterances["gender"] == "Unknown").all()


def test_missing_ratings(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match="finishedResponses.csv.*tabulatedVotes.csv"):
        parse_corpus("crema-d", tmp_path)


def test_unknown_letter_error_and_exclude(tmp_path: Path):
    root = tmp_path / "c"
    root.mkdir()
    shutil.copy(
        FIX / "broken" / "crema-d" / "finishedResponses_unknown.csv", root / "finishedResponses.csv"
    )
    shutil.copy(REAL / "VideoDemographics.csv", root)
    path = (root / "finishedResponses.csv").absolute()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(AnnotationError) as err:
            parse_corpus("crema-d", root)
        assert (err.value.path, err.value.line) == (path, 3)
        assert str(err.value).startswith(f"{path}:3: unknown emotion label 'X'")
        parsed = parse_corpus("crema-d", root, unknown_labels="exclude")
    assert list(parsed.ratings["status"]) == ["valid", "unknown_label"]


def test_tabulated_total_mismatch(tmp_path: Path):
    root = tmp_path / "c"
    (root / "processedResults").mkdir(parents=True)
    shutil.copy(
        FIX / "broken" / "crema-d" / "tabulatedVotes_bad_total.csv",
        root / "processedResults" / "tabulatedVotes.csv",
    )
    shutil.copy(REAL / "VideoDemographics.csv", root)
    with pytest.raises(AnnotationError, match=r"tabulatedVotes.csv:3: numResponses differs"):
        parse_corpus("crema-d", root)


def test_unknown_option_is_rejected():
    with pytest.raises(TypeError, match="max_response_ms"):
        parse_corpus("iemocap", FIX / "iemocap", max_response_ms=5000)
