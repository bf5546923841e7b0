"""Random damage to native annotation files (hypothesis strategies) and the parser contract they
are checked against; used by ``tests/test_corpora_fuzz.py`` and ``benchmarks/fuzz_census.py``.

Damages: truncation at any byte, byte flips, inserted random bytes, re-encoding (UTF-16/32,
Latin-1, Windows-1252, UTF-8 with BOM), dropped / duplicated / swapped lines, inserted blank lines,
byte-order marks (start or anywhere), dropped / duplicated / swapped CSV columns (every line, or
the header only, or one row), a trailing comma on every data row, and JSON re-nesting (objects as
arrays, lists of records, empty containers). One input applies 1-3 of them.
"""

from __future__ import annotations

import codecs
import json
import tracemalloc
import warnings
from pathlib import Path

import yaml
from hypothesis import strategies as st

from serrules.corpora import AnnotationError, parse_corpus
from serrules.corpora.records import ParsedCorpus
from serrules.corpora.text import AnnotationWarning

FIXTURES = Path(__file__).parent / "fixtures" / "corpora"

#: the config entry of the ratings-table fixture, and of its Parquet copy
RATINGS_TABLE = yaml.safe_load((FIXTURES / "ratings-table" / "corpus.yaml").read_text())["corpora"][
    "fixture"
]
RATINGS_PARQUET = {
    **RATINGS_TABLE,
    "tables": {
        **RATINGS_TABLE["tables"],
        "ratings": "ratings.parquet",
        "utterances": "utterances.parquet",
    },
}

#: (format or config entry, fixture folder, file damaged): every file the parsers read
TARGETS = [
    ("iemocap", "iemocap", "Session1/dialog/EmoEvaluation/Ses01F_impro01.txt"),
    ("iemocap", "iemocap", "Session1/dialog/EmoEvaluation/Ses01M_script01_1b.txt"),
    ("msp-improv", "msp-improv", "Evaluation.txt"),
    ("msp-podcast", "msp-podcast", "Labels/labels_detailed.csv"),
    ("msp-podcast", "msp-podcast", "Labels/labels_consensus.csv"),
    ("msp-podcast", "msp-podcast-json", "Labels/labels_detailed.json"),
    ("biic-podcast", "biic-podcast", "Labels/labels_detailed.csv"),
    ("crema-d", "crema-d", "processedResults/tabulatedVotes.csv"),
    ("crema-d", "crema-d", "VideoDemographics.csv"),
    ("crema-d", "crema-d-responses", "finishedResponses.csv"),
    ("crema-d", "crema-d-responses", "finishedEmoResponses.csv"),
    (RATINGS_TABLE, "ratings-table", "ratings.csv"),
    (RATINGS_TABLE, "ratings-table", "utterances.csv"),
    (RATINGS_PARQUET, "ratings-table-parquet", "ratings.parquet"),
    (RATINGS_PARQUET, "ratings-table-parquet", "utterances.parquet"),
]

#: Peak traced memory of one parse (the fixtures are a few kB: anything near this is a runaway).
MAX_TRACED_BYTES = 64 * 1024**2

ENCODINGS = ("utf-16", "utf-16-le", "utf-16-be", "utf-32", "latin-1", "cp1252", "utf-8-sig")
BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
KINDS = (
    "truncate",
    "flip",
    "insert_bytes",
    "reencode",
    "drop_line",
    "dup_line",
    "swap_lines",
    "blank_lines",
    "bom",
    "columns",
    "header_columns",
    "row_columns",
    "trailing_comma",
    "json_nesting",
)


def lines_of(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True) or [b""]


def _edit_fields(line: bytes, op: str, i: int, j: int) -> bytes:
    end = line[len(line.rstrip(b"\r\n")) :]
    fields = line[: len(line) - len(end)].split(b",")
    a, b = i % len(fields), j % len(fields)
    if op == "drop":
        del fields[a]
    elif op == "dup":
        fields.insert(a, fields[a])
    else:
        fields[a], fields[b] = fields[b], fields[a]
    return b",".join(fields) + end


def _renest(value, how: str, depth: int):
    """Re-nest the JSON document at ``depth`` (0 = top level)."""
    if depth > 0 and isinstance(value, dict) and value:
        key = next(iter(value))
        return {**value, key: _renest(value[key], how, depth - 1)}
    if not isinstance(value, dict):
        return value
    if how == "array":
        return list(value.values())
    if how == "pairs":
        return [[k, v] for k, v in value.items()]
    if how == "records":
        return [
            {"key": k, **(v if isinstance(v, dict) else {"value": v})} for k, v in value.items()
        ]
    if how == "empty_object":
        return {}
    if how == "empty_array":
        return []
    return None  # "null"


@st.composite
def damage(draw, data: bytes) -> tuple[bytes, list[str]]:
    """``data`` after 1-3 random damages, and the names of the damages applied."""
    done = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(KINDS))
        n = len(data)
        lines = lines_of(data)
        pos = draw(st.integers(0, n))
        li, lj = (draw(st.integers(0, len(lines) - 1)) for _ in range(2))
        if kind == "truncate":
            data = data[:pos]
        elif kind == "flip" and n:
            at = min(pos, n - 1)
            data = data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1 :]
        elif kind == "insert_bytes":
            data = data[:pos] + draw(st.binary(min_size=1, max_size=8)) + data[pos:]
        elif kind == "reencode":
            enc = draw(st.sampled_from(ENCODINGS))
            text = data.decode("utf-8", errors="replace")
            if enc in ("latin-1", "cp1252"):  # make sure a non-ASCII character is there
                text = text.replace("\ufffd", "?").replace("Other", "Othér", 1)
            data = text.encode(enc, errors="replace")
            kind = f"reencode:{enc}"
        elif kind == "drop_line":
            del lines[li]
            data = b"".join(lines)
        elif kind == "dup_line":
            lines.insert(li, lines[li])
            data = b"".join(lines)
        elif kind == "swap_lines":
            lines[li], lines[lj] = lines[lj], lines[li]
            data = b"".join(lines)
        elif kind == "blank_lines":
            lines.insert(li, draw(st.sampled_from([b"\n", b"\r\n", b"  \n", b"\n\n\n"])))
            data = b"".join(lines)
        elif kind == "bom":
            bom = draw(st.sampled_from(BOMS))
            data = data[:pos] + bom + data[pos:] if draw(st.booleans()) else bom + data
        elif kind in ("columns", "header_columns", "row_columns"):
            op = draw(st.sampled_from(["drop", "dup", "swap"]))
            i, j = draw(st.integers(0, 30)), draw(st.integers(0, 30))
            which = {"columns": range(len(lines)), "header_columns": [0], "row_columns": [li]}
            for k in which[kind]:
                lines[k] = _edit_fields(lines[k], op, i, j)
            data = b"".join(lines)
            kind = f"{kind}:{op}"
        elif kind == "trailing_comma":
            data = lines[0] + b"".join(line.rstrip(b"\r\n") + b",\n" for line in lines[1:])
        elif kind == "json_nesting":
            try:
                doc = json.loads(data)
            except ValueError:
                continue
            how = draw(
                st.sampled_from(
                    ["array", "pairs", "records", "empty_object", "empty_array", "null"]
                )
            )
            depth = draw(st.integers(0, 2))
            data = json.dumps(_renest(doc, how, depth), indent=1).encode()
            kind = f"json_nesting:{how}@{depth}"
        done.append(kind)
    return data, done


def check_parse(fmt: str | dict, root: Path, target: Path, damaged: bytes, unknown: str) -> str:
    """Write ``damaged`` to ``target`` and parse the corpus; return ``"parsed"`` or
    ``"annotation_error"``. Raises AssertionError when the parser breaks its contract (another
    exception escapes, the error names another file or a line outside the file, memory runs
    away). A ratings-table corpus may name its other table, at the line that refers to the
    damaged one, when the message names the damaged file ("votes for utterance 'x', which has no
    row in utterances.csv"); a Parquet table's location is a row number."""
    target.write_bytes(damaged)
    tracemalloc.start()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AnnotationWarning)
            parsed = parse_corpus(fmt, root, unknown_labels=unknown)
    except AnnotationError as err:
        if err.path != target:  # a reference into the damaged table (see the docstring)
            other = err.path.parent == target.parent and f" {target.name} " in f" {err.what} "
            assert other, f"error names {err.path}, damaged file is {target}"
            assert str(err).startswith(str(err.path))
            return "annotation_error"
        if err.line is not None and target.suffix == ".parquet":  # a row number
            assert err.line >= 1, f"row {err.line}"
        elif err.line is not None:
            n_lines = len(lines_of(damaged))
            assert 1 <= err.line <= n_lines + 1, f"line {err.line} outside 1..{n_lines}"
        assert str(err).startswith(str(target))
        return "annotation_error"
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak < MAX_TRACED_BYTES, f"parse peaked at {peak / 2**20:.0f} MiB"
    assert isinstance(parsed, ParsedCorpus)  # parse_corpus validated the table contracts
    return "parsed"
