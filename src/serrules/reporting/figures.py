"""Figures of the reports: a matplotlib ``Figure`` on the Agg canvas (no pyplot state, no global
backend switch), and saving it to the path a rule names."""

from __future__ import annotations

import os

from serrules.base.files import make_parents

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
    """Write ``fig`` to ``path`` (format from its extension: PNG, PDF, ...) at :data:`DPI`."""
    make_parents(path)
    fig.savefig(path, dpi=DPI)


__all__ = ["DPI", "new_figure", "save_figure"]
