"""Hostile copies of the native files: one fixture test per fault class (structure that parses but
means something else, encodings, empty and truncated files, absurd values, duplicate keys, ids that
escape the corpus). Several cases are inputs the fuzz suite found breaking the parsers (marked
"fuzz regression")."""

from __future__ import annotations

import codecs
import json
import shutil
import time
from pathlib import Path

import pandas as pd
import pytest

from serrules.corpora import AnnotationError, parse_corpus
from serrules.corpora.text import AnnotationWarning

FIX = Path(__file__).parent / "fixtures" / "corpora"
IEMOCAP_F1 = "Session1/dialog/EmoEvaluation/Ses01F_impro01.txt"
CONSENSUS = "Labels/labels_consensus.csv"
DETAILED = "Labels/labels_detailed.csv"
DETAILED_JSON = "Labels/labels_detailed.json"
TABULATED = "processedResults/tabulatedVotes.csv"


def _copy(tmp_path: Path, folder: str) -> Path:
    root = tmp_path / folder
    shutil.copytree(FIX / folder, root)
    return root


def _edit(root: Path, rel: str, data: bytes | str) -> Path:
    path = (root / rel).absolute()
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def _text(folder: str, rel: str) -> str:
    return (FIX / folder / rel).read_text(encoding="utf-8")


def _raises(fmt: str, root: Path, path: Path, line: int | None, *what: str) -> AnnotationError:
    with pytest.raises(AnnotationError) as err:
        parse_corpus(fmt, root)
    assert (err.value.path, err.value.line) == (path, line), str(err.value)
    for w in what:
        assert w in str(err.value)
    return err.value


def _tables(parsed) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    return parsed.ratings, parsed.utterances, parsed.exclusions


def _same(a, b) -> None:
    """Same tables up to the corpus root in ``audio_path``."""
    a.utterances["audio_path"] = a.utterances["audio_path"].str.rsplit("/", n=1).str[-1]
    b.utterances["audio_path"] = b.utterances["audio_path"].str.rsplit("/", n=1).str[-1]
    for x, y in zip(_tables(a), _tables(b), strict=True):
        pd.testing.assert_frame_equal(x, y)


# --- structure that parses but means something else ----------------------------------------
def test_header_one_name_short_is_not_a_column_shift(tmp_path):
    """A header with one name fewer than its rows used to move every column by one (the ids
    became the index, emotion codes became ids: every file 'not in consensus')."""
    root = _copy(tmp_path, "msp-podcast")
    text = _text("msp-podcast", CONSENSUS).replace("EmoClass,", "", 1)
    path = _edit(root, CONSENSUS, text)
    _raises("msp-podcast", root, path, 2, "row has 8 fields but the header has 7")


def test_trailing_comma_on_every_row_names_the_field_count(tmp_path):
    root = _copy(tmp_path, "msp-podcast")
    lines = _text("msp-podcast", CONSENSUS).splitlines()
    path = _edit(root, CONSENSUS, "\n".join([lines[0]] + [x + "," for x in lines[1:]]) + "\n")
    _raises("msp-podcast", root, path, 2, "trailing comma", "row has 9 fields")


def test_one_row_with_an_extra_field(tmp_path):
    root = _copy(tmp_path, "crema-d")
    lines = _text("crema-d", "VideoDemographics.csv").splitlines()
    lines[3] += ',"extra"'
    path = _edit(root, "VideoDemographics.csv", "\n".join(lines) + "\n")
    _raises("crema-d", root, path, 4, "row has 6 fields but the header has 5")


def test_header_naming_a_column_twice(tmp_path):
    root = _copy(tmp_path, "msp-podcast")
    text = _text("msp-podcast", CONSENSUS).replace("EmoAct", "SpkrID", 1)
    path = _edit(root, CONSENSUS, text)
    _raises("msp-podcast", root, path, 1, "names column 'SpkrID' twice")


def test_reordered_columns_parse_the_same(tmp_path):
    """Columns are read by name: a spreadsheet that reorders them changes nothing."""
    root = _copy(tmp_path, "msp-podcast")
    df = pd.read_csv(root / CONSENSUS, dtype=str, keep_default_na=False)
    df[list(reversed(df.columns))].to_csv(root / CONSENSUS, index=False)
    _same(parse_corpus("msp-podcast", root), parse_corpus("msp-podcast", FIX / "msp-podcast"))


@pytest.mark.parametrize(
    ("doc", "what"),
    [
        ([], "top level is an empty array"),  # fuzz regression: "too many values to unpack"
        ({}, "empty object: no files"),
        ([{"FileName": "MSP-PODCAST_0001_0008.wav"}], "top level is an array"),
        ({"MSP-PODCAST_0001_0008.wav": []}, "value is an empty array, expected an object"),
        (
            {"MSP-PODCAST_0001_0008.wav": [{"worker": "W1", "EmoClass_Major": "Angry"}]},
            "value is an array, expected an object of workers",
        ),
        (
            {"MSP-PODCAST_0001_0008.wav": {"W1": ["Angry"]}},
            "key 'MSP-PODCAST_0001_0008.wav/W1': value is an array",
        ),
        ({"MSP-PODCAST_0001_0008.wav": {"W1": "Angry"}}, "value is a str ('Angry')"),
        ({"MSP-PODCAST_0001_0008.wav": {"W1": {"EmoClass_Major": 3}}}, "EmoClass_Major"),
        ({"MSP-PODCAST_0001_0008.wav": None}, "value is null"),
    ],
)
def test_json_nesting_variants_are_clear_errors(tmp_path, doc, what):
    root = _copy(tmp_path, "msp-podcast-json")
    path = _edit(root, DETAILED_JSON, json.dumps(doc))
    _raises("msp-podcast", root, path, None, what)


# --- encodings ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fmt", "folder", "rel"),
    [
        ("iemocap", "iemocap", IEMOCAP_F1),
        ("msp-improv", "msp-improv", "Evaluation.txt"),
        ("msp-podcast", "msp-podcast", CONSENSUS),
        ("msp-podcast", "msp-podcast", DETAILED),
        ("msp-podcast", "msp-podcast-json", DETAILED_JSON),
        ("crema-d", "crema-d", TABULATED),
    ],
)
def test_utf8_bom_is_accepted_by_every_parser(tmp_path, fmt, folder, rel):
    root = _copy(tmp_path, folder)
    _edit(root, rel, codecs.BOM_UTF8 + (FIX / folder / rel).read_bytes())
    _same(parse_corpus(fmt, root), parse_corpus(fmt, FIX / folder))


@pytest.mark.parametrize(
    ("fmt", "folder", "rel"),
    [
        ("iemocap", "iemocap", IEMOCAP_F1),  # fuzz regression: "rater line before the first clip"
        ("msp-improv", "msp-improv", "Evaluation.txt"),
        ("msp-podcast", "msp-podcast", DETAILED),
        ("msp-podcast", "msp-podcast-json", DETAILED_JSON),
    ],
)
@pytest.mark.parametrize(
    ("encoding", "what"),
    [
        ("utf-16", "UTF-16 (little-endian) text (byte-order mark FF FE)"),
        ("utf-16-le", "looks like UTF-16 (little-endian) text without a byte-order mark"),
        ("utf-16-be", "looks like UTF-16 (big-endian) text without a byte-order mark"),
        ("utf-32", "UTF-32 (little-endian) text"),
    ],
)
def test_utf16_and_utf32_say_what_the_file_is(tmp_path, fmt, folder, rel, encoding, what):
    root = _copy(tmp_path, folder)
    path = _edit(root, rel, _text(folder, rel).encode(encoding))
    _raises(fmt, root, path, None, what, "re-save it as UTF-8")


def test_binary_data_is_named(tmp_path):
    root = _copy(tmp_path, "iemocap")
    data = (FIX / "iemocap" / IEMOCAP_F1).read_bytes()
    at = data.index(b"[6.29")
    path = _edit(root, IEMOCAP_F1, data[:at] + b"\x00\x89PNG\x00" + data[at:])
    _raises("iemocap", root, path, 3, f"binary data (NUL byte at byte offset {at})")


def test_control_character_is_named(tmp_path):
    root = _copy(tmp_path, "msp-podcast")
    text = _text("msp-podcast", DETAILED).replace("Angry", "An\x07gry", 1)
    path = _edit(root, DETAILED, text)
    _raises("msp-podcast", root, path, 2, "control character U+0007")


def test_legacy_text_is_an_error_where_no_release_carries_it(tmp_path):
    """IEMOCAP files are ASCII: a Latin-1 byte is an error naming the first line and the count."""
    root = _copy(tmp_path, "iemocap")
    text = _text("iemocap", IEMOCAP_F1).replace("(impatient)", "(impatienté)")
    text = text.replace("(annoyed:", "(énervé:")
    path = _edit(root, IEMOCAP_F1, text.encode("latin-1"))
    _raises("iemocap", root, path, 12, "not UTF-8 text (byte 0xE9; 2 line(s) affected)")


def test_legacy_free_text_falls_back_with_a_counted_warning(tmp_path):
    """MSP-IMPROV's rater lines carry free text: Windows-1252 lines are read, counted, named."""
    root = _copy(tmp_path, "msp-improv")
    text = _text("msp-improv", "Evaluation.txt").replace("Other-amused", "Other-amusé’")
    lines = text.splitlines(keepends=True)
    n = next(i for i, x in enumerate(lines) if "amus" in x)
    data = b"".join(x.encode("cp1252") if i == n else x.encode() for i, x in enumerate(lines))
    path = _edit(root, "Evaluation.txt", data)
    with pytest.warns(AnnotationWarning) as rec:
        parsed = parse_corpus("msp-improv", root)
    assert len(rec) == 1
    assert str(rec[0].message).startswith(f"{path}: 1 of {len(lines)} line(s) are not UTF-8")
    assert f"first: line {n + 1}" in str(rec[0].message)
    assert "Other-amusé’" in set(parsed.ratings["raw_label"])


def test_mixed_utf8_and_legacy_lines_are_counted(tmp_path):
    root = _copy(tmp_path, "msp-podcast")
    text = _text("msp-podcast", DETAILED).replace("Other-Concerned", "Other-Inquiète")
    lines = text.splitlines(keepends=True) + ['MSP-PODCAST_0001_0008.wav,"W9; Other-été;"\n']
    legacy = {i for i, x in enumerate(lines) if "è" in x or "é" in x}
    assert legacy == {7, len(lines) - 1}
    data = b"".join(x.encode("latin-1" if i in legacy else "utf-8") for i, x in enumerate(lines))
    path = _edit(root, DETAILED, data)
    with pytest.warns(AnnotationWarning) as rec:
        parsed = parse_corpus("msp-podcast", root)
    assert str(rec[0].message).startswith(f"{path}: 2 of {len(lines)} line(s) are not UTF-8")
    assert "(first: line 8)" in str(rec[0].message)
    assert {"Other-Inquiète", "Other-été"} <= set(parsed.ratings["raw_label"])


def test_bom_in_the_middle_of_a_file(tmp_path):
    root = _copy(tmp_path, "msp-improv")
    lines = _text("msp-improv", "Evaluation.txt").splitlines(keepends=True)
    lines[6] = "\ufeff" + lines[6]
    path = _edit(root, "Evaluation.txt", "".join(lines))
    _raises("msp-improv", root, path, 7, "byte-order mark inside the file")


# --- empty and truncated files -----------------------------------------------------------------
@pytest.mark.parametrize("content", [b"", b"\n\n  \n", codecs.BOM_UTF8])
def test_empty_iemocap_dialog_file_is_an_error(tmp_path, content):
    root = _copy(tmp_path, "iemocap")
    path = _edit(root, IEMOCAP_F1, content)
    _raises("iemocap", root, path, None, "empty file")


def test_iemocap_file_without_any_block(tmp_path):
    root = _copy(tmp_path, "iemocap")
    path = _edit(root, IEMOCAP_F1, "% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]\n\n")
    _raises("iemocap", root, path, None, "no utterance block", "empty or truncated")


def test_iemocap_truncated_after_a_block_header_warns_with_a_count(tmp_path):
    root = _copy(tmp_path, "iemocap")
    text = _text("iemocap", IEMOCAP_F1)
    path = _edit(root, IEMOCAP_F1, text[: text.index("C-E2:\tHappiness")])
    with pytest.warns(AnnotationWarning) as rec:
        parsed = parse_corpus("iemocap", root)
    assert str(rec[0].message).startswith(
        f"{path}: 1 of 3 utterance block(s) have no categorical (C-) rater line (truncated file?)"
        ", first at line 18"
    )
    assert "Ses01F_impro01_F001" in set(parsed.utterances["utterance_id"])
    assert "Ses01F_impro01_F001" not in set(parsed.ratings["utterance_id"])


def test_msp_improv_truncated_after_a_clip_header_warns(tmp_path):
    root = _copy(tmp_path, "msp-improv")
    text = _text("msp-improv", "Evaluation.txt").rstrip("\n")
    last = text.rindex("\nUTD-IMPROV-")
    end = text.index("\n", last + 1)
    _edit(root, "Evaluation.txt", text[:end] + "\n")
    with pytest.warns(AnnotationWarning, match=r"1 of \d+ clip\(s\) have no rater line"):
        parse_corpus("msp-improv", root)


@pytest.mark.parametrize("rel", [CONSENSUS, DETAILED])
def test_csv_with_only_a_header(tmp_path, rel):
    root = _copy(tmp_path, "msp-podcast")
    path = _edit(root, rel, _text("msp-podcast", rel).splitlines()[0] + "\n\n")
    _raises("msp-podcast", root, path, None, "header but no data rows")


def test_truncated_inside_a_quoted_field_has_a_line(tmp_path):
    root = _copy(tmp_path, "msp-podcast")
    text = _text("msp-podcast", DETAILED)
    cut = text.index('"WORKER00777')
    path = _edit(root, DETAILED, text[: cut + 12])
    _raises("msp-podcast", root, path, 4, "quoted field left open until the end of the file")


def test_stray_quote_spanning_lines(tmp_path):
    root = _copy(tmp_path, "crema-d")
    lines = _text("crema-d", "VideoDemographics.csv").splitlines()
    lines[2] = lines[2].replace('"Female"', '"Female', 1)
    path = _edit(root, "VideoDemographics.csv", "\n".join(lines) + "\n")
    with pytest.raises(AnnotationError) as err:
        parse_corpus("crema-d", root)
    assert err.value.path == path and err.value.line == 3


# --- absurd values, duplicate keys -------------------------------------------------------------
def test_absurd_vote_count_is_refused_before_allocating(tmp_path):
    root = _copy(tmp_path, "crema-d")
    lines = _text("crema-d", TABULATED).splitlines()
    fields = lines[1].split(",")
    fields[5], fields[8] = "1000000000", str(1000000000 + 1)  # N votes and numResponses
    lines[1] = ",".join(fields)
    path = _edit(root, TABULATED, "\n".join(lines) + "\n")
    start = time.perf_counter()
    _raises("crema-d", root, path, 2, "more than 1000 votes for one clip")
    assert time.perf_counter() - start < 5


@pytest.mark.parametrize("value", ["inf", "1e400", "-1", "2.5", "nan"])
def test_non_integer_vote_counts(tmp_path, value):
    root = _copy(tmp_path, "crema-d")
    lines = _text("crema-d", TABULATED).splitlines()
    fields = lines[3].split(",")
    fields[1] = value
    lines[3] = ",".join(fields)
    path = _edit(root, TABULATED, "\n".join(lines) + "\n")
    with pytest.raises(AnnotationError) as err:
        parse_corpus("crema-d", root)
    assert (err.value.path, err.value.line) == (path, 4)


def test_same_clip_under_two_row_keys_names_both_lines(tmp_path):
    """fuzz regression: a duplicated tabulatedVotes row failed the table contract (ValueError)."""
    root = _copy(tmp_path, "crema-d")
    lines = _text("crema-d", TABULATED).splitlines()
    dup = lines[1].replace('"100001"', '"100901"', 1)
    lines.insert(6, dup)
    path = _edit(root, TABULATED, "\n".join(lines) + "\n")
    _raises("crema-d", root, path, 7, "fileName '1001_IEO_NEU_XX' listed twice: lines 2 and 7")


def test_podcast_consensus_duplicate_names_both_lines(tmp_path):
    root = _copy(tmp_path, "msp-podcast")
    lines = _text("msp-podcast", CONSENSUS).splitlines()
    lines.append(lines[2].replace("Development", "Train"))
    path = _edit(root, CONSENSUS, "\n".join(lines) + "\n")
    _raises("msp-podcast", root, path, 6, "listed twice: lines 3 and 6")


def test_demographics_duplicate_actor(tmp_path):
    root = _copy(tmp_path, "crema-d")
    lines = _text("crema-d", "VideoDemographics.csv").splitlines()
    lines.append(lines[1].replace('"Male"', '"Female"'))
    path = _edit(root, "VideoDemographics.csv", "\n".join(lines) + "\n")
    _raises("crema-d", root, path, len(lines), "ActorID '1001' listed twice: lines 2 and")


# --- ids that escape the corpus ----------------------------------------------------------------
@pytest.mark.parametrize(
    "name",
    [
        "../../../etc/passwd.wav",
        "/etc/passwd.wav",
        "sub/MSP-PODCAST_0001_0008.wav",
        "..\\..\\x.wav",
        "MSP-PODCAST..wav",
        "C:x.wav",
    ],
)
def test_podcast_file_names_cannot_leave_the_corpus(tmp_path, name):
    root = _copy(tmp_path, "msp-podcast")
    text = _text("msp-podcast", CONSENSUS).replace("MSP-PODCAST_0002_0033.wav", name)
    path = _edit(root, CONSENSUS, text)
    _raises("msp-podcast", root, path, 4, "could point outside the corpus folder", repr(name))


def test_podcast_detailed_and_json_names_cannot_leave_the_corpus(tmp_path):
    root = _copy(tmp_path, "msp-podcast")
    text = _text("msp-podcast", DETAILED).replace("MSP-PODCAST_0002_0033.wav", "../x.wav", 1)
    path = _edit(root, DETAILED, text)
    _raises("msp-podcast", root, path, 8, "'../x.wav' could point outside")
    root = _copy(tmp_path / "j", "msp-podcast-json")
    doc = json.loads(_text("msp-podcast-json", DETAILED_JSON))
    doc["/abs/x.wav"] = doc.pop("MSP-PODCAST_0001_0008.wav")
    path = _edit(root, DETAILED_JSON, json.dumps(doc))
    _raises("msp-podcast", root, path, None, "'/abs/x.wav' could point outside")


@pytest.mark.parametrize("utt", ["Ses01F_../../x_F000", "Ses01F_a/b_F000"])
def test_iemocap_ids_cannot_leave_the_corpus(tmp_path, utt):
    root = _copy(tmp_path, "iemocap")
    text = _text("iemocap", IEMOCAP_F1).replace("Ses01F_impro01_F001", utt)
    path = _edit(root, IEMOCAP_F1, text)
    _raises("iemocap", root, path, 18, "could point outside the corpus folder")
