"""The package's error types, all in one place.

Every error the package raises on bad input is a :class:`SerrulesError`, so a caller (the command
line, a workflow script) can catch the whole family with one ``except``. Each subclass also keeps
the
built-in type it has always been (``ValueError``, ``RuntimeError``, ``FileNotFoundError``), so code
written against those keeps working. The message always names the place: a file and line, a table
and column, a configuration key.
"""

from __future__ import annotations

import os
from pathlib import Path


class SerrulesError(Exception):
    """Base class of every error this package raises on bad input or an unusable setup."""


class AnnotationError(SerrulesError, ValueError):
    """A native annotation file is malformed or says something the parser cannot accept.

    The message always starts with the place: ``"<path>:<line>: <what is wrong>"`` (1-based
    physical line number), or ``"<path>: <what is wrong>"`` when the problem has no single line
    (a missing column, a JSON key: the key is then named in the text).
    """

    def __init__(self, path: str | Path, line: int | None, what: str) -> None:
        self.path = Path(path)
        self.line = line
        self.what = what
        where = f"{self.path}:{line}" if line is not None else f"{self.path}"
        super().__init__(f"{where}: {what}")

    def __reduce__(self):  # keep the three fields when pickled (e.g. across processes)
        return (type(self), (self.path, self.line, self.what))


class TableError(SerrulesError, ValueError):
    """A pipeline table breaks its contract (:mod:`serrules.base.tables`): a missing column, a
    wrong dtype, a duplicate or null key, an id that is not in the table it refers to. The message
    names the file (or the table), the column and the offending ids."""


class PredictionError(TableError):
    """A prediction file (or the tables it is checked against) breaks the pooling contract."""


class FoldError(TableError):
    """The utterances cannot be assigned to the study's folds (the message says why)."""


class AudioError(SerrulesError, RuntimeError):
    """An audio file that cannot be used; ``reason`` is one of
    :data:`serrules.audio.loading.FAILURE_REASONS`."""

    def __init__(self, path: str | os.PathLike[str] | None, reason: str, detail: str = "") -> None:
        self.path = None if path is None else str(path)
        self.reason = reason
        self.detail = detail
        message = f"{self.path}: {reason}"
        if detail:
            message += f" ({detail})"
        super().__init__(message)


class ConfigError(SerrulesError, ValueError):
    """A configuration value is missing, unknown or out of range; the message names the key."""


class ProtocolError(ConfigError):
    """Unknown protocol name (the message lists the known ones)."""


class DeviceError(SerrulesError, RuntimeError):
    """Training cannot run on the device this job was given; the message names cause and fix."""


class PretrainedNotFoundError(SerrulesError, FileNotFoundError):
    """``model.pretrained`` has no local copy; the message names the command that fetches it."""


class ModelInputError(SerrulesError, ValueError):
    """A model folder lacks what prediction needs (file, metadata key)."""


class CliError(SerrulesError, ValueError):
    """A command-line argument that cannot be used; the message says which and why."""


class ProvenanceError(SerrulesError, ValueError):
    """Artifacts of different code or settings that would be combined (e.g. fold predictions
    pooled into one evaluation), or a provenance record that cannot be read; the message names
    the files (serrules.base.provenance)."""


__all__ = [
    "AnnotationError",
    "AudioError",
    "CliError",
    "ConfigError",
    "DeviceError",
    "FoldError",
    "ModelInputError",
    "PredictionError",
    "PretrainedNotFoundError",
    "ProtocolError",
    "ProvenanceError",
    "SerrulesError",
    "TableError",
]
