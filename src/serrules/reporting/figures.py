"""Figures of the reports: a matplotlib ``Figure`` on the Agg canvas (no pyplot state, no global
backend switch), and saving it to the path a rule names."""

from __future__ import annotations

import os

from serrules.base.files import make_parents
from serrules.base.provenance import PROVENANCE_KEY, provenance_json, provenance_line

#: Resolution of every PNG the pipeline writes.
DPI = 150


def new_figure(width: float, height: float):  # -> matplotlib.figure.Figure
    """An empty figure of ``width`` x ``height`` inches with constrained layout."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig, path: str | os.PathLike[str]) -> None:
    """Write ``fig`` to ``path`` (format from its extension: PNG, PDF, ...) at :data:`DPI`; a PNG
    carries the provenance of this process in a text chunk named
    :data:`~serrules.base.provenance.PROVENANCE_KEY`, a PDF in its ``Subject``."""
    make_parents(path)
    suffix = os.fspath(path).rsplit(".", 1)[-1].lower()
    metadata = {
        "png": {PROVENANCE_KEY: provenance_json()},
        "pdf": {"Subject": provenance_line()},
    }.get(suffix)
    fig.savefig(path, dpi=DPI, metadata=metadata)


__all__ = ["DPI", "new_figure", "save_figure"]
