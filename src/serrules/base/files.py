"""Writing output files: their folders, and a file that a killed job never leaves half-written
under its final name."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: Suffix of the temporary sibling a file is written to before it is renamed into place (resume
#: clean-up removes leftover ``*.tmp`` files of a killed job).
TMP_SUFFIX = ".tmp"

#: A file path as the workflow and the tests hand it over.
PathLike = str | os.PathLike[str]


def make_parents(*paths: str | os.PathLike[str]) -> None:
    """Create the folder of each output path (a rule names files in folders that may not exist
    yet)."""
    for path in paths:
        Path(path).parent.mkdir(parents=True, exist_ok=True)


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary sibling of ``path`` (``<name>.tmp``, parent folders created) to write to;
    when the block ends without an error it is renamed over ``path`` (atomic on one file system),
    otherwise it is removed and the error propagates."""
    path = Path(path)
    make_parents(path)
    tmp = path.with_name(path.name + TMP_SUFFIX)
    try:
        yield tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, path)


__all__ = ["TMP_SUFFIX", "PathLike", "atomic_path", "make_parents"]
