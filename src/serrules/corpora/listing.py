"""A cheap listing of a release's files: the paths matching a format's glob patterns, found with
:func:`os.scandir`, and one digest of (relative path, size, modification time in ns) over them.

The workflow passes the digest of a release's audio listing to the audio check as a rule
parameter, so that Snakemake reruns that check (and every stage after it) when an audio file is
added, removed, replaced or rewritten, without declaring each of the release's files as an input
(which cost ~24 s of planning at 150,000 clips; docs/scale.md). Each directory is read once
with ``os.scandir`` and each matching file costs one ``stat`` (symbolic links are followed, as
Snakemake does for an input).

A file edited in place so that its size and modification time stay the same is not seen by the
digest; Snakemake's own input check (the modification time) would not see it either.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

_WILDCARDS = frozenset("*?[")


def _entries(directory: str, head: str) -> list[tuple[str, str, os.DirEntry | None]]:
    """(name, path, scandir entry or None) of ``directory``'s entries matching ``head``."""
    if not _WILDCARDS & set(head):
        path = os.path.join(directory, head)
        return [(head, path, None)] if os.path.lexists(path) else []
    match = re.compile(fnmatch.translate(head)).match
    try:
        with os.scandir(directory) as it:
            return [(e.name, e.path, e) for e in it if match(e.name)]
    except (FileNotFoundError, NotADirectoryError):
        return []


def _walk(directory: str, parts: tuple[str, ...], rel: str) -> Iterator[tuple[str, os.stat_result]]:
    """(relative path, stat) of the files under ``directory`` matching the pattern ``parts``."""
    head, rest = parts[0], parts[1:]
    for name, path, entry in _entries(directory, head):
        if rest:
            if os.path.isdir(path):
                yield from _walk(path, rest, f"{rel}{name}/")
            continue
        try:
            st = entry.stat() if entry is not None else os.stat(path)
        except OSError:  # a dangling link, or removed while listing
            continue
        if stat.S_ISREG(st.st_mode):
            yield f"{rel}{name}", st


def listed_files(root: str | Path, patterns: tuple[str, ...]) -> dict[str, os.stat_result]:
    """The files under ``root`` that match any of ``patterns`` (``/``-separated globs, ``*``, ``?``
    and ``[...]`` within one path component), keyed by their path relative to ``root``."""
    found: dict[str, os.stat_result] = {}
    for pattern in patterns:
        parts = tuple(p for p in pattern.split("/") if p)
        if parts:
            found.update(_walk(str(root), parts, ""))
    return found


def listing_digest(root: str | Path, patterns: tuple[str, ...]) -> str:
    """``"<n> files, sha256 <hex>"`` over the sorted (relative path, size, mtime in ns) of
    :func:`listed_files`: it changes when a matching file is added, removed, resized or
    rewritten (a new modification time)."""
    files = listed_files(root, patterns)
    lines = "".join(
        f"{rel}\t{files[rel].st_size}\t{files[rel].st_mtime_ns}\n" for rel in sorted(files)
    )
    text = lines.encode("utf-8", "surrogateescape")  # a name that is not UTF-8: its own bytes
    return f"{len(files)} files, sha256 {hashlib.sha256(text).hexdigest()}"


__all__ = ["listed_files", "listing_digest"]
