"""Write one result table as CSV, Markdown and LaTeX side by side (``<stem>.csv/.md/.tex``)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd


def _escape_latex(text: str) -> str:
    out = str(text)
    for a, b in (
        ("\\", r"\textbackslash{}"),
        ("&", r"\&"),
        ("%", r"\%"),
        ("_", r"\_"),
        ("#", r"\#"),
        ("$", r"\$"),
    ):
        out = out.replace(a, b)
    return out


def to_markdown(df: pd.DataFrame, bold: Iterable[tuple[int, str]] = ()) -> str:
    """GitHub Markdown table; cells in ``bold`` (row position, column) are wrapped in **."""
    bold = set(bold)
    cols = list(df.columns)
    lines = ["| " + " | ".join(str(c) for c in cols) + " |", "|" + "---|" * len(cols)]
    for i, (_, row) in enumerate(df.iterrows()):
        cells = []
        for c in cols:
            v = "" if pd.isna(row[c]) else str(row[c])
            cells.append(f"**{v}**" if (i, c) in bold and v else v)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def to_latex(
    df: pd.DataFrame, caption: str, label: str, bold: Iterable[tuple[int, str]] = ()
) -> str:
    """A booktabs ``table`` environment; cells in ``bold`` are wrapped in \\textbf."""
    bold = set(bold)
    cols = list(df.columns)
    spec = "l" * len(cols)
    lines = [
        r"\begin{table}[t]",
        r"\centering",
        rf"\caption{{{_escape_latex(caption)}}}",
        rf"\label{{{label}}}",
        rf"\begin{{tabular}}{{{spec}}}",
        r"\toprule",
        " & ".join(_escape_latex(c) for c in cols) + r" \\",
        r"\midrule",
    ]
    for i, (_, row) in enumerate(df.iterrows()):
        cells = []
        for c in cols:
            v = "" if pd.isna(row[c]) else _escape_latex(row[c])
            cells.append(rf"\textbf{{{v}}}" if (i, c) in bold and v else v)
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def write_table(
    df: pd.DataFrame,
    stem: str | Path,
    caption: str,
    label: str,
    bold: Iterable[tuple[int, str]] = (),
    csv_frame: pd.DataFrame | None = None,
) -> list[Path]:
    """Write ``<stem>.csv`` (``csv_frame`` if given: the machine-readable numbers), ``<stem>.md``
    (the display frame ``df``, then the caption as a footnote paragraph) and ``<stem>.tex``
    (``df`` with the caption). Returns the three paths."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    bold = list(bold)
    paths = [stem.with_suffix(".csv"), stem.with_suffix(".md"), stem.with_suffix(".tex")]
    (df if csv_frame is None else csv_frame).to_csv(paths[0], index=False)
    paths[1].write_text(to_markdown(df, bold) + f"\n{caption}\n")
    paths[2].write_text(to_latex(df, caption, label, bold))
    return paths
