"""The corpus-format registry: one record per format, and what the record guarantees."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from serrules.corpora import FORMATS, CorpusFormat, corpus_format, parse_corpus
from serrules.corpora.formats import FoldDesign
from serrules.corpora.listing import listed_files, listing_digest
from serrules.corpora.vocabulary import Vocabulary

FIX = Path(__file__).parent / "fixtures" / "corpora"


def test_registry_lists_every_format_once_by_name():
    assert list(FORMATS) == ["iemocap", "msp-improv", "msp-podcast", "biic-podcast", "crema-d"]
    for name, record in FORMATS.items():
        assert record.name == name and corpus_format(name) is record
        assert corpus_format(record) is record


def test_unknown_format_names_the_known_ones():
    with pytest.raises(KeyError, match="unknown corpus format 'ravdess'; known: iemocap, "):
        corpus_format("ravdess")


@pytest.mark.parametrize("fmt", FORMATS)
def test_vocabulary_words_and_codes_name_exactly_the_classes(fmt):
    record = FORMATS[fmt]
    vocab = record.vocabulary
    assert set(vocab.words) == set(record.classes)
    assert set(vocab.tokens.values()) == set(record.classes)
    for cls in record.classes:  # the word the demo writes is one the parser reads as that class
        assert vocab.classify_token(vocab.word(cls)) == (cls, "valid")
        if vocab.codes and vocab.codes_are_votes:
            assert vocab.classify_token(vocab.codes[cls]) == (cls, "valid")


def test_codes_are_rater_tokens_only_where_the_release_uses_them():
    iemocap, improv = FORMATS["iemocap"].vocabulary, FORMATS["msp-improv"].vocabulary
    assert iemocap.codes["neutral"] == "neu"
    assert iemocap.classify_token("neu") == (None, "unknown_label")
    assert improv.classify_token(" a ") == ("anger", "valid")


def test_a_record_whose_vocabulary_misses_a_class_is_refused():
    record = FORMATS["msp-improv"]
    words = {c: w for c, w in record.vocabulary.words.items() if c != "neutral"}
    with pytest.raises(ValueError, match=r"has no words for classes \['neutral'\]"):
        dataclasses.replace(record, vocabulary=Vocabulary("msp-improv", words))
    with pytest.raises(ValueError, match="vocabulary is that of 'iemocap'"):
        dataclasses.replace(record, vocabulary=FORMATS["iemocap"].vocabulary)


def test_fold_designs():
    assert {f: r.folds.n_folds for f, r in FORMATS.items()} == {
        "iemocap": 5,
        "msp-improv": 6,
        "msp-podcast": 1,
        "biic-podcast": 1,
        "crema-d": 5,
    }
    with pytest.raises(ValueError, match=r"lack a table for fold scheme\(s\) \['authors'\]"):
        FoldDesign("session", sessions={"paper": FORMATS["iemocap"].folds.sessions["paper"]})
    with pytest.raises(ValueError, match="unknown fold column 'gender'"):
        FoldDesign("gender")


def test_options_are_checked_per_format(tmp_path: Path):
    with pytest.raises(TypeError, match=r"iemocap parser got unknown option\(s\) \['max_resp"):
        parse_corpus("iemocap", tmp_path, max_response_ms=5.0)
    assert FORMATS["crema-d"].options == {"max_response_ms"}


def test_annotation_files_match_the_parser_inputs():
    files = FORMATS["msp-podcast"].annotation_files(FIX / "msp-podcast")
    assert [f.name for f in files] == ["labels_consensus.csv", "labels_detailed.csv"]
    iemocap = FORMATS["iemocap"].annotation_files(FIX / "iemocap")
    assert len(iemocap) == 7 and all(f.parent.name == "EmoEvaluation" for f in iemocap)
    assert FORMATS["crema-d"].audio_files(FIX / "crema-d") == []


def test_planning_imports_no_pandas_torch_or_the_demo():
    """What the workflow imports to plan (every ``serrules`` module common.smk imports) loads no
    pandas, pyarrow, torch or demo code: Snakemake pays those imports on every call (docs/scale.md).
    The parsers, and pandas with them, load when a corpus is parsed."""
    smk = (Path(__file__).parents[1] / "workflow" / "rules" / "common.smk").read_text()
    modules = sorted(set(re.findall(r"^from (serrules[\w.]*) import", smk, flags=re.M)))
    assert "serrules.corpora.formats" in modules and len(modules) > 5
    heavy = ("pandas", "pyarrow", "torch", "sklearn", "scipy", "librosa", "serrules.demo")
    code = (
        f"import sys, importlib; [importlib.import_module(m) for m in {modules!r}]; "
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "[]"
    code = (
        "import sys; from serrules.corpora import FORMATS; "
        "FORMATS['iemocap'].parser; print('pandas' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "True"  # the parser, imported on use, brings pandas


def test_record_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        FORMATS["iemocap"].name = "x"  # type: ignore[misc]
    assert isinstance(FORMATS["iemocap"], CorpusFormat)


@pytest.mark.parametrize("fmt", FORMATS)
def test_audio_listing_finds_what_pathlib_glob_finds(fmt, tmp_path: Path):
    """The scandir listing matches Path.glob on each format's audio patterns (nested session
    folders, files that do not match, a folder named like a file, a dangling link)."""
    record = FORMATS[fmt]
    for pattern in record.audio_globs:
        concrete = pattern.replace("*", "x1")
        for name in (concrete, concrete.replace("x1.wav", "x2.wav"), concrete + ".txt"):
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / name).write_bytes(b"RIFF")
        (tmp_path / concrete.replace("x1.wav", "dir.wav")).mkdir()
        (tmp_path / concrete.replace("x1.wav", "gone.wav")).symlink_to(tmp_path / "nowhere")
    expected = sorted({p for g in record.audio_globs for p in tmp_path.glob(g) if p.is_file()})
    assert record.audio_files(tmp_path) == expected and len(expected) == 2 * len(record.audio_globs)
    assert set(listed_files(tmp_path, record.audio_globs)) == {
        str(p.relative_to(tmp_path)) for p in expected
    }


def test_audio_listing_digest_follows_paths_sizes_and_times(tmp_path: Path):
    record = FORMATS["msp-podcast"]
    (tmp_path / "Audios").mkdir()
    wav = tmp_path / "Audios" / "a.wav"
    wav.write_bytes(b"0123")
    first = record.audio_listing(tmp_path)
    assert first.startswith("1 files, sha256 ") and record.audio_listing(tmp_path) == first
    os.utime(wav, ns=(0, 10**18))
    changed = record.audio_listing(tmp_path)  # new mtime
    assert changed != first
    wav.write_bytes(b"4567")  # same size, edited in place ...
    os.utime(wav, ns=(0, 10**18))  # ... and the old mtime put back: not seen
    assert record.audio_listing(tmp_path) == changed
    wav.write_bytes(b"45678")
    os.utime(wav, ns=(0, 10**18))
    assert record.audio_listing(tmp_path) != changed  # new size
    (tmp_path / "Audios" / "b.wav").write_bytes(b"")
    assert record.audio_listing(tmp_path).startswith("2 files")
    (tmp_path / "Audios" / "notes.txt").write_bytes(b"x")  # not audio: not listed
    assert record.audio_listing(tmp_path).startswith("2 files")
    assert listing_digest(tmp_path / "missing", record.audio_globs).startswith("0 files")


def _odd_release(root: Path) -> None:
    """An ``Audios/`` folder of 60 WAV names, a tab and a byte that is not UTF-8 among them, a
    folder and a dangling link named like WAVs, and a file that is not a WAV."""
    audios = root / "Audios"
    audios.mkdir(parents=True)
    for i in range(57):
        (audios / f"clip_{i:03d}.wav").write_bytes(b"x" * i)
    (audios / "tab\there.wav").write_bytes(b"t")
    (audios / "a.wav\x01b.wav").write_bytes(b"c")
    with open(os.path.join(os.fsencode(audios), b"bad\xff.wav"), "wb") as f:
        f.write(b"b")
    (audios / "folder.wav").mkdir()
    (audios / "gone.wav").symlink_to(root / "nowhere")
    (audios / "notes.txt").write_bytes(b"n")


def test_audio_listing_of_odd_names_lists_and_digests_them(tmp_path: Path):
    """Names with a tab, a control character or a byte that is not UTF-8 are listed and digested
    without error (the last as its own bytes); folders, dangling links and other files are
    not listed."""
    _odd_release(tmp_path)
    files = listed_files(tmp_path, ("Audios/*.wav",))
    assert len(files) == 60
    assert "Audios/tab\there.wav" in files and "Audios/folder.wav" not in files
    assert FORMATS["msp-podcast"].audio_listing(tmp_path).startswith("60 files, sha256 ")
    lines = "".join(f"{r}\t{st.st_size}\t{st.st_mtime_ns}\n" for r, st in sorted(files.items()))
    want = hashlib.sha256(lines.encode("utf-8", "surrogateescape")).hexdigest()
    assert listing_digest(tmp_path, ("Audios/*.wav",)) == f"60 files, sha256 {want}"
