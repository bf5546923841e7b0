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
from collections.abc import Callable
from pathlib import Path
from stat import S_ISREG
from typing import TypeVar

_WILDCARDS = frozenset("*?[")
_Row = TypeVar("_Row")


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


def _collect(
    directory: str,
    parts: tuple[str, ...],
    rel: str,
    found: dict[str, _Row],
    row: Callable[[str, os.stat_result], _Row],
) -> None:
    """``found[relative path] = row(relative path, stat)`` for each file under ``directory``
    matching the pattern ``parts``. One loop per directory, the row made while its entry is at
    hand (faster at 150,000 files than formatting (path, stat) pairs afterwards)."""
    head, rest = parts[0], parts[1:]
    if head == "**":  # zero or more folders, as pathlib's glob (symbolic links not followed)
        if rest:
            _collect(directory, rest, rel, found, row)
        try:
            with os.scandir(directory) as it:
                folders = [(e.name, e.path) for e in it if e.is_dir(follow_symlinks=False)]
        except (FileNotFoundError, NotADirectoryError):
            return
        for name, path in folders:
            _collect(path, parts, f"{rel}{name}/", found, row)
        return
    for name, path, entry in _entries(directory, head):
        if rest:
            if os.path.isdir(path):
                _collect(path, rest, f"{rel}{name}/", found, row)
            continue
        try:
            st = entry.stat() if entry is not None else os.stat(path)
        except OSError:  # a dangling link, or removed while listing
            continue
        if S_ISREG(st.st_mode):
            path_rel = rel + name
            found[path_rel] = row(path_rel, st)


def _listing(
    root: str | Path, patterns: tuple[str, ...], row: Callable[[str, os.stat_result], _Row]
) -> dict[str, _Row]:
    found: dict[str, _Row] = {}
    for pattern in patterns:
        parts = tuple(p for p in pattern.split("/") if p)
        if parts:
            _collect(str(root), parts, "", found, row)
    return found


def _stat(rel: str, st: os.stat_result) -> os.stat_result:
    return st


def _line(rel: str, st: os.stat_result) -> str:
    return f"{rel}\t{st.st_size}\t{st.st_mtime_ns}\n"


def listed_files(root: str | Path, patterns: tuple[str, ...]) -> dict[str, os.stat_result]:
    """The files under ``root`` that match any of ``patterns`` (``/``-separated globs, ``*``, ``?``
    and ``[...]`` within one path component, ``**`` for any number of folders), keyed by their
    path relative to ``root``."""
    return _listing(root, patterns, _stat)


def listing_digest(root: str | Path, patterns: tuple[str, ...]) -> str:
    """``"<n> files, sha256 <hex>"`` over the sorted (relative path, size, mtime in ns) of
    :func:`listed_files`: it changes when a matching file is added, removed, resized or
    rewritten (a new modification time)."""
    lines = _listing(root, patterns, _line)
    text = "".join([lines[rel] for rel in sorted(lines)])
    data = text.encode("utf-8", "surrogateescape")  # a name that is not UTF-8: its own bytes
    return f"{len(lines)} files, sha256 {hashlib.sha256(data).hexdigest()}"


__all__ = ["listed_files", "listing_digest"]
