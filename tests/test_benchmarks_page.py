"""Measured figures have one home, docs/benchmarks.md: each row there names the benchmark, what it
measures, its command, the result, the machine and the date; the other docs link to a row by its
name, and the README carries no date (its figures link to the page)."""

from __future__ import annotations

import re

from doc_commands import REPO, doc_files, table_cells
from test_comments import FORBIDDEN

PAGE = REPO / "docs" / "benchmarks.md"
HEADER = ["benchmark", "what", "command", "result", "machine", "date"]
#: a link to a row: ([benchmarks.md](benchmarks.md), "row name"), possibly across a line break
ROW_LINK = re.compile(r"\(\[(?:docs/)?benchmarks\.md\]\((?:docs/)?benchmarks\.md\),\s+\"([^\"]+)\"")


def benchmark_rows() -> list[list[str]]:
    """The rows of the page's table of benchmarks (the table headed by HEADER)."""
    lines = PAGE.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if table_cells(line) == HEADER)
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append(table_cells(line))
    return rows


def test_every_row_says_what_how_result_machine_and_date():
    rows = benchmark_rows()
    assert len(rows) >= 15
    names = [row[0] for row in rows]
    assert len(set(names)) == len(names), names
    for row in rows:
        assert len(row) == len(HEADER), row
        name, what, command, result, machine, date = row
        assert what and result, row
        assert re.fullmatch(r"`[^`]+`", command), f"{name}: one command in backticks"
        assert re.fullmatch(r".+, \d+ cores, \d+ GiB; Python \d.*", machine), f"{name}: {machine}"
        assert re.fullmatch(r"20\d\d-[01]\d-[0-3]\d", date), f"{name}: {date}"


def test_each_link_to_a_row_names_one():
    names = {row[0] for row in benchmark_rows()}
    links = []
    for path in doc_files():
        text = " ".join(path.read_text().split())  # a link may break across lines
        links += [(path.name, name) for name in ROW_LINK.findall(text)]
    assert len(links) >= 10
    broken = [f"{where}: {name!r}" for where, name in links if name not in names]
    assert not broken, broken


def test_the_readme_is_a_front_door():
    lines = (REPO / "README.md").read_text().splitlines()
    assert len(lines) <= 250
    for what in ("a date", "an hour of the day"):
        hits = [n for n, line in enumerate(lines, 1) if FORBIDDEN[what].search(line)]
        assert not hits, f"README.md lines {hits}: {what}"
