"""The one reading policy for native annotation files (every parser reads text through here).

* **UTF-8**, with or without a byte-order mark (the mark is dropped).
* **Legacy single-byte text** (Windows-1252, else Latin-1) is accepted only in the files that carry
  annotators' free text (:data:`LEGACY_FALLBACK_FILES`), line by line: each line that is not
  UTF-8 is decoded that way and an :class:`AnnotationWarning` names the file, the number of such
  lines and the first one. Anywhere else a non-UTF-8 byte is an :class:`AnnotationError` naming
  the line and how many lines are affected.
* **UTF-16/UTF-32** (with a byte-order mark, or NUL bytes in the pattern of 2-byte text) and
  **binary data** (other NUL bytes, control characters) are errors that say what the file looks
  like. A byte-order mark in the middle of a file (two files joined together) is an error.
* **Empty files** (0 bytes, or only blank lines) are errors: an annotation file of a release is
  never empty, so an empty one is a damaged or half-copied file.
* Files above :data:`MAX_ANNOTATION_BYTES` are refused before they are read.

Lines are physical lines: ``\\r\\n``, ``\\r`` and ``\\n`` each end one line (as in CSV readers),
numbered from 1.
"""

from __future__ import annotations

import codecs
import re
import warnings
from pathlib import Path

from serrules.base.errors import AnnotationError

#: Files (by name) in which a release may carry legacy single-byte free text: MSP-IMPROV's rater
#: lines and the podcasts' per-worker labels hold annotators' typed "Other-<text>" descriptions.
LEGACY_FALLBACK_FILES = frozenset({"Evaluation.txt", "Evalution.txt", "labels_detailed.csv"})

#: Largest annotation file read (the biggest native file, MSP-PODCAST's labels_detailed.csv,
#: is about 0.1 GB); a larger one is not an annotation file of the supported releases.
MAX_ANNOTATION_BYTES = 2 * 1024**3

_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32 (little-endian)"),
    (codecs.BOM_UTF32_BE, "UTF-32 (big-endian)"),
    (codecs.BOM_UTF16_LE, "UTF-16 (little-endian)"),
    (codecs.BOM_UTF16_BE, "UTF-16 (big-endian)"),
)
# C0 control characters other than tab, line feed, carriage return (and DEL)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f]")
_RESAVE = "re-save it as UTF-8"


class AnnotationWarning(UserWarning):
    """An annotation file was read, but not exactly as written (e.g. legacy-encoded lines)."""


def _line_of_offset(data: bytes, offset: int) -> int:
    head = data[:offset]
    return head.count(b"\n") + head.replace(b"\r\n", b"\n").count(b"\r") + 1


def _check_bytes(path: Path, data: bytes) -> bytes:
    """Refuse empty, UTF-16/32 and binary data; return ``data`` without a UTF-8 BOM."""
    if not data:
        raise AnnotationError(path, None, "empty file (0 bytes): damaged or half-copied?")
    for bom, name in _BOMS:
        if data.startswith(bom):
            raise AnnotationError(
                path, None, f"{name} text (byte-order mark {bom.hex(' ').upper()}); {_RESAVE}"
            )
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    nul = data.find(b"\x00")
    if nul >= 0:
        head = data[:4096]
        odd, even = head[1::2].count(0), head[0::2].count(0)
        if max(odd, even) > len(head) // 4 and min(odd, even) < max(odd, even) // 8:
            order = "little" if odd > even else "big"
            raise AnnotationError(
                path,
                None,
                f"looks like UTF-16 ({order}-endian) text without a byte-order mark (NUL bytes "
                f"between the characters); {_RESAVE}",
            )
        raise AnnotationError(
            path,
            _line_of_offset(data, nul),
            f"binary data (NUL byte at byte offset {nul}): not a text annotation file",
        )
    return data


def _decode(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    lines = data.splitlines(keepends=True)
    legacy = path.name in LEGACY_FALLBACK_FILES
    out: list[str] = []
    bad_lines: list[int] = []
    for i, raw in enumerate(lines, start=1):
        try:
            out.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            bad_lines.append(i)
            if legacy:
                try:
                    out.append(raw.decode("cp1252"))
                except UnicodeDecodeError:
                    out.append(raw.decode("latin-1"))
    if not legacy:
        byte = data[first_bad]
        raise AnnotationError(
            path,
            bad_lines[0],
            f"not UTF-8 text (byte 0x{byte:02X}; {len(bad_lines)} line(s) affected): legacy "
            f"single-byte text is accepted only in {', '.join(sorted(LEGACY_FALLBACK_FILES))}; "
            f"{_RESAVE}",
        )
    warnings.warn(
        f"{path}: {len(bad_lines)} of {len(lines)} line(s) are not UTF-8 and were read as "
        f"Windows-1252/Latin-1 text (first: line {bad_lines[0]}); {_RESAVE} to silence this",
        AnnotationWarning,
        stacklevel=3,
    )
    return "".join(out)


def read_text(path: str | Path) -> str:
    """The text of an annotation file under the policy above; newlines are normalised to ``\\n``
    (one per physical line), the byte-order mark is dropped."""
    path = Path(path)
    size = path.stat().st_size
    if size > MAX_ANNOTATION_BYTES:
        raise AnnotationError(
            path,
            None,
            f"{size} bytes: larger than any annotation file of the supported releases "
            f"(limit {MAX_ANNOTATION_BYTES} bytes)",
        )
    data = _check_bytes(path, path.read_bytes())
    text = _decode(path, data)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    bom = text.find("\ufeff")
    if bom >= 0:
        raise AnnotationError(
            path,
            text.count("\n", 0, bom) + 1,
            "byte-order mark inside the file (several files joined together?)",
        )
    m = _CONTROL.search(text)
    if m:
        raise AnnotationError(
            path,
            text.count("\n", 0, m.start()) + 1,
            f"control character U+{ord(m.group()):04X}: binary data or a damaged text file",
        )
    if not text.strip():
        raise AnnotationError(path, None, "empty file (only blank lines): damaged or half-copied?")
    return text


def read_lines(path: str | Path) -> list[str]:
    """:func:`read_text` split into physical lines (line ``i`` is ``lines[i - 1]``)."""
    text = read_text(path)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final newline ends the last line; it does not start a new one
    return lines
