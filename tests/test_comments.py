"""Comments say why, in a line or two: no file of the code (.ci/, src/, tests/, benchmarks/,
workflow/, the Snakefile) carries a date, an hour of the day or a timing history. Measured
figures live in docs/benchmarks.md, with their command, machine and date; history belongs in
the commit messages."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: What a comment must not hold, by name.
FORBIDDEN: dict[str, re.Pattern[str]] = {
    "a date": re.compile(r"\b20\d\d-[01]\d-[0-3]\d\b"),
    "an hour of the day": re.compile(r"\b\d{1,2}:\d\d UTC\b"),
    "a timing history": re.compile(r"\btook [~\d]|\bbefore this (?:change|setting)\b"),
}
#: The folders of the code (native-format fixtures are data, not code).
CODE = (".ci", "src/serrules", "tests", "benchmarks", "workflow")
SUFFIXES = {"", ".py", ".sh", ".smk", ".yaml", ".rst"}


def code_files() -> list[Path]:
    files = [REPO / "Snakefile"]
    for folder in CODE:
        for path in sorted((REPO / folder).rglob("*")):
            rel = path.relative_to(REPO).parts
            if path.is_file() and path.suffix in SUFFIXES and "fixtures" not in rel:
                files.append(path)
    return files


def offences(text: str) -> list[str]:
    """``line: what`` of each forbidden thing in ``text``."""
    return [
        f"{n}: {what}"
        for n, line in enumerate(text.splitlines(), start=1)
        for what, pattern in FORBIDDEN.items()
        if pattern.search(line)
    ]


def test_no_comment_carries_a_date_or_a_timing_history():
    files = code_files()
    assert len(files) > 100
    found = [
        f"{path.relative_to(REPO)}:{hit}"
        for path in files
        if path != Path(__file__).resolve()
        for hit in offences(path.read_text(errors="replace"))
    ]
    assert not found, "\n".join(found)


def test_the_check_finds_each_kind():
    text = "# measured 2026-12-03\n# at 16:30 UTC\n# the install took 69 s with uv\n# fine: 10 s\n"
    assert offences(text) == [
        "1: a date",
        "2: an hour of the day",
        "3: a timing history",
    ]
