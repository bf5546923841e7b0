"""MSP-PODCAST / BIIC-PODCAST Labels parser: CSV and JSON variants, consensus, broken files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from serrules.corpora import AnnotationError, parse_corpus

FIX = Path(__file__).parent / "fixtures" / "corpora"
BROKEN = FIX / "broken" / "msp-podcast"
P8, P19, P33, P48 = (
    "MSP-PODCAST_0001_0008.wav",
    "MSP-PODCAST_0001_0019.wav",
    "MSP-PODCAST_0002_0033.wav",
    "MSP-PODCAST_0023_0048_0001.wav",
)
D = "Labels/labels_detailed.csv"

EXPECTED_RATINGS = [
    (P8, "WORKER00012", "evaluator", "Angry", "anger", "valid", f"{D}:2"),
    (P8, "WORKER00345", "evaluator", "Angry", "anger", "valid", f"{D}:3"),
    (P8, "WORKER00777", "evaluator", "Contempt", "contempt", "valid", f"{D}:4"),
    (P19, "WORKER00012", "evaluator", "Neutral", "neutral", "valid", f"{D}:5"),
    (P19, "WORKER00012", "evaluator", "Happy", None, "duplicate_rater", f"{D}:6"),
    (P19, "WORKER00901", "evaluator", "Neutral", "neutral", "valid", f"{D}:7"),
    (P33, "WORKER00345", "evaluator", "Other-Concerned", None, "other", f"{D}:8"),
    (P33, "WORKER00777", "evaluator", "Surprise", "surprise", "valid", f"{D}:9"),
    (P33, "WORKER00901", "evaluator", "Fear", "fear", "valid", f"{D}:10"),
    # line 11 is blank
    (P48, "WORKER00012", "evaluator", "Happy", "happiness", "valid", f"{D}:12"),
    (P48, "WORKER00345", "evaluator", "Sad", "sadness", "valid", f"{D}:13"),
    (P48, "WORKER00777", "evaluator", "Disgust", "disgust", "valid", f"{D}:14"),
]


def _rows(df):
    return [tuple(None if v != v else v for v in row) for row in df.itertuples(index=False)]


def _copy(tmp_path: Path, name: str = "msp-podcast") -> Path:
    root = tmp_path / name
    shutil.copytree(FIX / name, root)
    return root


def test_msp_podcast_csv_exact():
    root = FIX / "msp-podcast"
    parsed = parse_corpus("msp-podcast", root)
    assert _rows(parsed.ratings) == EXPECTED_RATINGS
    u = parsed.utterances
    assert list(u["utterance_id"]) == [P8, P19, P33, P48]
    assert list(u["speaker"]) == ["127", "127", "Unknown", "931"]
    assert list(u["gender"]) == ["F", "F", "Unknown", "M"]
    assert u["session"].isna().all()
    assert list(u["split"]) == ["Train", "Development", "Test1", "Test2"]
    audios = root.absolute() / "Audios"
    assert list(u["audio_path"]) == [str(audios / n) for n in (P8, P19, P33, P48)]
    # detailed labels of a file the consensus does not list: one utterance-level exclusion
    assert _rows(parsed.exclusions) == [
        ("MSP-PODCAST_9999_0001.wav", None, "not_in_consensus", f"{D}:15")
    ]


def test_csv_and_json_variants_give_identical_ratings():
    csv = parse_corpus("msp-podcast", FIX / "msp-podcast")
    js = parse_corpus("msp-podcast", FIX / "msp-podcast-json")
    cols = ["utterance_id", "rater_id", "rater_kind", "raw_label", "emotion", "status"]
    pd.testing.assert_frame_equal(csv.ratings[cols], js.ratings[cols])
    assert js.ratings["source"].iloc[4] == (
        "Labels/labels_detailed.json:MSP-PODCAST_0001_0019.wav/WORKER00012"
    )
    assert list(js.exclusions["utterance_id"]) == ["MSP-PODCAST_9999_0001.wav"]
    assert list(js.exclusions["reason"]) == ["not_in_consensus"]
    pd.testing.assert_frame_equal(
        csv.utterances.drop(columns="audio_path"), js.utterances.drop(columns="audio_path")
    )


def test_csv_preferred_when_both_present(tmp_path: Path):
    root = _copy(tmp_path)
    shutil.copy(FIX / "msp-podcast-json" / "Labels" / "labels_detailed.json", root / "Labels")
    parsed = parse_corpus("msp-podcast", root)
    assert parsed.ratings["source"].str.startswith(D).all()


def test_biic_podcast_columns_read_by_header_name():
    parsed = parse_corpus("biic-podcast", FIX / "biic-podcast")
    r = parsed.ratings
    assert list(r["rater_id"]) == [
        "WORKER0001",
        "WORKER0002",
        "WORKER0001",
        "WORKER0003",
        "WORKER0002",
        "WORKER0003",
    ]
    assert list(r["emotion"].fillna("-")) == [
        "neutral",
        "neutral",
        "sadness",
        "-",
        "contempt",
        "surprise",
    ]
    assert list(r["status"]) == ["valid", "valid", "valid", "other", "valid", "valid"]
    u = parsed.utterances
    assert list(u["speaker"]) == ["0012", "0012", "Unknown"]
    assert list(u["gender"]) == ["M", "M", "Unknown"]
    assert list(u["split"]) == ["Train", "Development", "Test"]
    assert parsed.exclusions.empty


def test_older_consensus_spelling_and_validation_split(tmp_path: Path):
    root = _copy(tmp_path)
    cons = root / "Labels" / "labels_consensus.csv"
    text = cons.read_text().replace("Development", "Validation")
    cons.unlink()
    (root / "Labels" / "labels_concensus.csv").write_text(text)
    parsed = parse_corpus("msp-podcast", root)
    assert list(parsed.utterances["split"]) == ["Train", "Development", "Test1", "Test2"]


@pytest.mark.parametrize(
    ("case", "target", "line", "what"),
    [
        ("detailed_malformed.csv", "labels_detailed.csv", 3, "EmoDetail does not parse"),
        (
            "detailed_extra_field.csv",
            "labels_detailed.csv",
            4,
            "row has 3 fields but the header has 2",
        ),
        ("detailed_unknown_label.csv", "labels_detailed.csv", 3, "unknown emotion label"),
        ("consensus_bad_split.csv", "labels_consensus.csv", 3, "Split_Set must be one of"),
    ],
)
def test_broken_files(tmp_path: Path, case: str, target: str, line: int, what: str):
    root = _copy(tmp_path)
    shutil.copy(BROKEN / case, root / "Labels" / target)
    with pytest.raises(AnnotationError) as err:
        parse_corpus("msp-podcast", root)
    path = (root / "Labels" / target).absolute()
    assert (err.value.path, err.value.line) == (path, line)
    assert str(err.value).startswith(f"{path}:{line}: ")
    assert what in str(err.value)


def test_unknown_label_excluded_on_request(tmp_path: Path):
    root = _copy(tmp_path)
    shutil.copy(BROKEN / "detailed_unknown_label.csv", root / "Labels" / "labels_detailed.csv")
    parsed = parse_corpus("msp-podcast", root, unknown_labels="exclude")
    assert list(parsed.ratings["raw_label"]) == ["Angry", "Frustrated", "Neutral"]
    assert list(parsed.ratings["status"]) == ["valid", "unknown_label", "valid"]


def test_json_errors_name_the_key(tmp_path: Path):
    root = _copy(tmp_path, "msp-podcast-json")
    js = root / "Labels" / "labels_detailed.json"
    js.write_text(js.read_text().replace('"EmoClass_Major": "Fear"', '"EmoClass_Major": "Bored"'))
    with pytest.raises(AnnotationError, match=r"key 'MSP-PODCAST_0002_0033.wav/WORKER00901'"):
        parse_corpus("msp-podcast", root)
    js.write_text('{"a.wav": {"W1": {"EmoClass_Major": "Angry"}},\n  oops}')
    with pytest.raises(AnnotationError, match=r"labels_detailed.json:2: invalid JSON"):
        parse_corpus("msp-podcast", root)


@pytest.mark.parametrize("missing", ["labels_consensus.csv", "labels_detailed.csv"])
def test_missing_label_files(tmp_path: Path, missing: str):
    root = _copy(tmp_path)
    (root / "Labels" / missing).unlink()
    with pytest.raises(FileNotFoundError, match=missing.replace(".csv", "")):
        parse_corpus("msp-podcast", root)


def _synthetic_detailed(n_utt: int, per_utt: int) -> tuple[str, str]:
    words = ["Angry", "Sad", "Happy", "Neutral", "Other-bored", "Contempt", "Fear", "Surprise"]
    cons = ["FileName,EmoClass,EmoAct,EmoVal,EmoDom,SpkrID,Gender,Split_Set"]
    det = ["FileName,EmoDetail"]
    for i in range(n_utt):
        name = f"MSP-PODCAST_{i // 100:04d}_{i % 100:04d}.wav"
        cons.append(f"{name},N,3,3,3,{i % 50},{'Female' if i % 2 else 'Male'},Train")
        for k in range(per_utt):
            det.append(f'{name},"WORKER{k:05d}; {words[(i + k) % 8]}; ; A:3.0; V:3.0; D:3.0;"')
    return "\n".join(cons) + "\n", "\n".join(det) + "\n"


def test_vectorised_parse_of_a_larger_file(tmp_path: Path):
    """20k rater lines: checks counts and that errors still land on the right physical line."""
    cons, det = _synthetic_detailed(4000, 5)
    (tmp_path / "Labels").mkdir()
    (tmp_path / "Labels" / "labels_consensus.csv").write_text(cons)
    (tmp_path / "Labels" / "labels_detailed.csv").write_text(det)
    parsed = parse_corpus("msp-podcast", tmp_path)
    assert len(parsed.ratings) == 20000 and len(parsed.utterances) == 4000
    assert (parsed.ratings["status"] == "other").sum() == 20000 // 8
    lines = det.splitlines()
    lines[12345] = lines[12345].replace("WORKER", "").split(";", 1)[0] + '"'
    (tmp_path / "Labels" / "labels_detailed.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(AnnotationError, match=r"labels_detailed.csv:12346: EmoDetail"):
        parse_corpus("msp-podcast", tmp_path)
