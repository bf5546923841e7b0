"""Provenance: what made an artifact, recorded in the artifact itself (docs/architecture.md,
"Provenance").

One record per process (:func:`provenance`): the package version; where the package runs from a
git checkout, its commit and whether the tree had changes; the job's rule, the digest of its code
(the rule's ``code`` param, serrules.base.code_digest) and of its settings (its other params,
:func:`settings_digest`); the versions of the libraries that compute the numbers
(:data:`LIBRARIES`); the Python version and the device the numbers were computed on. A workflow
script declares its job once (:func:`serrules.base.script_logging.start_job`), the command line
its command (:func:`set_origin`); elsewhere (the Python API) rule, code and settings are null.

Where it is stored, always under :data:`PROVENANCE_KEY`, as JSON: the schema metadata of every
Parquet table (:func:`serrules.base.tables.write_parquet`, the one writer), the metadata of a
model's ``best.safetensors``, one comment line of a Markdown (``<!-- ... -->``) or LaTeX
(``% ...``) result table (:func:`provenance_line`) and a text chunk of a PNG figure (a PDF figure:
its ``Subject``). :func:`read_provenance` reads any of them back but the PDF's.
Nothing in the record varies between two runs of the same code and settings on the same kind of
device (no time, no host name), so identical runs still write identical files.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import platform
import re
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from serrules.base.errors import ProvenanceError

#: The key of the record in Parquet schema metadata, safetensors metadata and text tables.
PROVENANCE_KEY = "serrules.provenance"

#: The libraries whose version is recorded: distribution name -> the name in the record.
LIBRARIES: tuple[str, ...] = (
    "torch",
    "transformers",
    "numpy",
    "pandas",
    "scikit-learn",
    "opensmile",
)

#: A rule's params that are not settings: the code digest (recorded on its own), which data a job
#: reads (the corpus's format, its release folder, the digest of its audio listing, the input
#: names of a comparison) and where it keeps its own files or what it asks a scheduler for. The
#: other params are the settings that change its numbers (:func:`settings_digest`).
NOT_SETTINGS = frozenset(
    {"code", "fmt", "root", "audio_listing", "files", "checkpoint_dir", "gpus"}
)

#: The package's folder: ``<checkout>/src/serrules`` in a git checkout.
_PACKAGE_DIR = Path(str(files("serrules")))
#: Longest wait for one git command (a hung git must not hold a job).
GIT_TIMEOUT_S = 10


@dataclass
class _Origin:
    rule: str | None = None
    code: str | None = None
    settings: str | None = None
    device: str = "cpu"


_ORIGIN = _Origin()


def digest_of(value: Any) -> str:
    """``sha256:<hex>`` of ``value`` as canonical JSON (keys sorted)."""
    text = json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def settings_digest(params: Mapping[str, Any]) -> str:
    """The digest of a job's settings: its params without :data:`NOT_SETTINGS`."""
    return digest_of({k: v for k, v in params.items() if k not in NOT_SETTINGS})


def set_origin(*, rule: str | None, code: str | None, settings: str | None) -> None:
    """What this process's artifacts come from: a rule (or a command) with its code and settings
    digests."""
    _ORIGIN.rule, _ORIGIN.code, _ORIGIN.settings = rule, code, settings


@contextlib.contextmanager
def origin_of(*, rule: str | None, code: str | None, settings: str | None) -> Iterator[None]:
    """:func:`set_origin` for the duration of a block (a command run inside another program,
    e.g. ``serrules.cli.main`` called by a test), then the origin before it again."""
    before = (_ORIGIN.rule, _ORIGIN.code, _ORIGIN.settings)
    set_origin(rule=rule, code=code, settings=settings)
    try:
        yield
    finally:
        _ORIGIN.rule, _ORIGIN.code, _ORIGIN.settings = before


def set_device(device: str) -> None:
    """The device this process computes its numbers on (e.g. ``cuda:0 (NVIDIA H100)``); the CPU
    unless set."""
    _ORIGIN.device = device


@functools.cache
def _git(*args: str) -> str | None:
    """Output of a git command run in the package's folder, or None (no git, not in a
    repository, a failure or a timeout)."""
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}  # status must not take the index lock
    try:
        proc = subprocess.run(
            ["git", "-C", str(_PACKAGE_DIR), *args],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
            env=env,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout if proc.returncode == 0 else None


def checkout() -> dict[str, Any] | None:
    """``{"commit", "dirty"}`` of the git checkout the package runs from, its ``src/serrules``
    (dirty: a tracked file changed or an untracked one added), or None when it runs from
    elsewhere (an installed wheel, also one in a virtual environment inside a checkout)."""
    found = _git("rev-parse", "--show-toplevel", "HEAD")
    lines = [] if found is None else found.split()
    if len(lines) != 2 or Path(lines[0]).resolve() / "src" / "serrules" != _PACKAGE_DIR.resolve():
        return None
    status = _git("status", "--porcelain")
    return {"commit": lines[1], "dirty": None if status is None else bool(status.strip())}


@functools.cache
def library_versions() -> dict[str, str | None]:
    """Installed version of each of :data:`LIBRARIES` (None where it is not installed), read
    from the package metadata without importing the library."""
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str | None] = {}
    for name in LIBRARIES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def provenance() -> dict[str, Any]:
    """The provenance record of what this process writes now."""
    import serrules

    return {
        "serrules": serrules.__version__,
        "git": checkout(),
        "rule": _ORIGIN.rule,
        "code": _ORIGIN.code,
        "settings": _ORIGIN.settings,
        "libraries": library_versions(),
        "python": platform.python_version(),
        "device": _ORIGIN.device,
    }


def provenance_json(record: Mapping[str, Any] | None = None) -> str:
    """A record (this process's by default) as one line of JSON."""
    return json.dumps(provenance() if record is None else dict(record), separators=(",", ":"))


def provenance_line() -> str:
    """``serrules.provenance: {...}``: the line a text table carries in a comment."""
    return f"{PROVENANCE_KEY}: {provenance_json()}"


_TEXT_LINE = re.compile(re.escape(PROVENANCE_KEY) + r": (\{.*\})")


def _safetensors_metadata(path: Path) -> dict[str, str]:
    """The string metadata of a safetensors file, from its JSON header (no framework needed)."""
    with open(path, "rb") as fh:
        size = int.from_bytes(fh.read(8), "little")
        header = json.loads(fh.read(size))
    return header.get("__metadata__") or {}


def _png_text(path: Path) -> dict[str, str]:
    """The ``tEXt`` chunks of a PNG file (keyword -> text)."""
    data = path.read_bytes()
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        raise ValueError("not a PNG file")
    out, pos = {}, 8
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos : pos + 4], "big")
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + size]
        if kind == b"tEXt":
            key, _, text = body.partition(b"\0")
            out[key.decode("latin-1")] = text.decode("latin-1")
        pos += 12 + size
    return out


def read_provenance(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The provenance record an artifact carries: a Parquet table, a ``.safetensors`` model, a
    PNG figure or a Markdown / LaTeX table; None when it has none (written before provenance was
    recorded, or not by this package). An unreadable file raises :class:`ProvenanceError`
    naming it."""
    path = Path(path)
    try:
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq

            raw = (pq.read_schema(path).metadata or {}).get(PROVENANCE_KEY.encode())
            text = None if raw is None else raw.decode()
        elif path.suffix == ".safetensors":
            text = _safetensors_metadata(path).get(PROVENANCE_KEY)
        elif path.suffix == ".png":
            text = _png_text(path).get(PROVENANCE_KEY)
        else:
            match = _TEXT_LINE.search(path.read_text(errors="replace"))
            text = None if match is None else match.group(1)
        return None if text is None else json.loads(text)
    except Exception as exc:  # pyarrow, json and OS errors of a damaged or foreign file
        raise ProvenanceError(f"{path}: cannot read its provenance ({exc})") from exc


def origin(record: Mapping[str, Any] | None) -> tuple[str | None, str | None]:
    """(code digest, settings digest) of a record; (None, None) for none."""
    if record is None:
        return None, None
    return record.get("code"), record.get("settings")


def short(digest: str | None) -> str:
    """``sha256:1a2b3c4d5e6f`` (the first 12 hex digits), or ``none``."""
    return "none" if digest is None else digest[: len("sha256:") + 12]


def check_same_origin(records: Mapping[str, Mapping[str, Any] | None], what: str) -> None:
    """All ``records`` (label -> record, e.g. ``"AR fold 1 (<path>)"``) come from the same code
    and settings; otherwise :class:`ProvenanceError` naming each group of labels with its digests.
    ``what`` names the whole (e.g. ``"msp-podcast: the fold predictions"``)."""
    groups: dict[tuple[str | None, str | None], list[str]] = {}
    for label, record in records.items():
        groups.setdefault(origin(record), []).append(label)
    if len(groups) < 2:
        return
    parts = [
        f"code {short(code)}, settings {short(settings)}"
        + (" (no provenance: written before it was recorded)" if code is None else "")
        + f": {', '.join(labels)}"
        for (code, settings), labels in groups.items()
    ]
    raise ProvenanceError(
        f"{what} come from different code or settings and are not combined: "
        + "; ".join(parts)
        + ". Rerun the stale ones (`snakemake -n` lists them, with the reason)."
    )


def describe(record: Mapping[str, Any] | None) -> list[str]:
    """A record as ``key: value`` lines (``serrules show``)."""
    if record is None:
        return ["provenance: none (written before provenance was recorded, or not by serrules)"]
    git = record.get("git")
    where = (
        "not a git checkout"
        if not git
        else f"{git['commit']}{' (with uncommitted changes)' if git.get('dirty') else ''}"
    )
    libraries = ", ".join(f"{k} {v}" for k, v in (record.get("libraries") or {}).items() if v)
    return [
        "provenance:",
        f"  serrules {record.get('serrules')}, commit {where}",
        f"  rule: {record.get('rule') or 'none (written outside the workflow)'}",
        f"  code: {record.get('code') or 'none'}",
        f"  settings: {record.get('settings') or 'none'}",
        f"  device: {record.get('device')}, Python {record.get('python')}",
        f"  libraries: {libraries}",
    ]


__all__ = [
    "GIT_TIMEOUT_S",
    "LIBRARIES",
    "NOT_SETTINGS",
    "PROVENANCE_KEY",
    "check_same_origin",
    "checkout",
    "describe",
    "digest_of",
    "library_versions",
    "origin",
    "origin_of",
    "provenance",
    "provenance_json",
    "provenance_line",
    "read_provenance",
    "set_device",
    "set_origin",
    "settings_digest",
    "short",
]
