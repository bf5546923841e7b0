"""The one error type every annotation parser raises for bad input."""

from __future__ import annotations

from pathlib import Path


class AnnotationError(ValueError):
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
