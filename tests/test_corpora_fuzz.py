"""Fuzzing the native parsers: every native fixture, randomly damaged (``tests/fuzz_damage.py``),
must either parse into tables that pass the table contracts or raise the package's
``AnnotationError`` naming the damaged file (and a line inside it, where the error has one):
never another exception, within a per-input time limit (hypothesis deadline) and a memory bound.

The profile is fixed and derandomised, so CI replays the same inputs on every run: 30 damaged
inputs per target file, each parsed in both label modes. ``SERRULES_FUZZ_EXAMPLES`` (inputs per
target file) and ``SERRULES_FUZZ_RANDOM=1`` explore further; ``benchmarks/fuzz_census.py`` counts
outcomes without stopping at a failure.
Inputs that once broke a parser are kept in ``test_corpora_faults.py`` as fixture tests.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from fuzz_damage import FIXTURES, TARGETS, check_parse, damage
from hypothesis import HealthCheck, given, settings

from serrules.corpora.formats import corpus_format

EXAMPLES = int(os.environ.get("SERRULES_FUZZ_EXAMPLES", "30"))
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=os.environ.get("SERRULES_FUZZ_RANDOM") != "1",
    database=None,
    deadline=2000,  # ms per damaged input, both label modes (undamaged fixtures: 5-40 ms)
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module")
def copies(tmp_path_factory):
    """One pristine copy per fixture folder; each input damages one file and restores it."""
    base = tmp_path_factory.mktemp("fuzz")
    for folder in {t[1] for t in TARGETS}:
        shutil.copytree(FIXTURES / folder, base / folder)
    # each parser is imported here, so that its first import is not a timed input
    assert all(callable(corpus_format(fmt).parser) for fmt, _, _ in TARGETS)
    return base


def _fuzz_test(fmt: str, folder: str, rel: str):
    original = (FIXTURES / folder / rel).read_bytes()

    @FUZZ
    @given(data=damage(original))
    def test(copies, data):
        root = copies / folder
        target = (root / rel).absolute()
        try:
            for unknown in ("error", "exclude"):
                check_parse(fmt, root, target, data[0], unknown)
        finally:
            target.write_bytes(original)

    name = fmt if isinstance(fmt, str) else fmt["format"]
    test.__doc__ = f"{name} parser on a damaged {folder}/{rel}"
    return test


for _fmt, _folder, _rel in TARGETS:
    _name = "test_fuzz_" + f"{_folder}_{Path(_rel).stem}".replace("-", "_")
    globals()[_name] = _fuzz_test(_fmt, _folder, _rel)
