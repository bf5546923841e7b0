"""Write one result table as CSV, Markdown and LaTeX, each to the path its rule declares.

Each Markdown and LaTeX file carries the provenance of the process that wrote it in one comment
line (:func:`markdown_provenance`, :func:`latex_provenance`; :mod:`serrules.base.provenance`),
invisible where the table is rendered; the CSV stays plain data for spreadsheets and
``pandas.read_csv``, and its provenance is that of the ``.md`` and ``.tex`` written with it.

LaTeX goes through pandas' ``Styler.to_latex`` (booktabs rules, caption, label, float
position), with this module's escaping so that captions, headers and cells are escaped alike.
Markdown stays hand-written: ``DataFrame.to_markdown`` (tabulate's ``pipe``/``github`` formats)
pads every cell to its column's width and writes alignment rows (``|:-----|``), so the demo's
``table4.md`` differs from the pipeline's unpadded ``| a | b |`` / ``|---|---|`` layout on every
line (measured: 0 of its 14 table lines identical); tabulate has no setting for unpadded cells.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from os import PathLike
from pathlib import Path

import pandas as pd

from serrules.base.files import make_parents
from serrules.base.provenance import provenance_line

_LATEX_SPECIAL = (
    ("\\", r"\textbackslash{}"),
    ("&", r"\&"),
    ("%", r"\%"),
    ("_", r"\_"),
    ("#", r"\#"),
    ("$", r"\$"),
)


def _escape_latex(text: object) -> str:
    out = str(text)
    for a, b in _LATEX_SPECIAL:
        out = out.replace(a, b)
    return out


def _cell_text(value: object) -> str:
    return "" if pd.isna(value) else str(value)


def to_markdown(df: pd.DataFrame, bold: Iterable[tuple[int, str]] = ()) -> str:
    """GitHub Markdown table; cells in ``bold`` (row position, column) are wrapped in **."""
    bold = set(bold)
    cols = list(df.columns)
    lines = ["| " + " | ".join(str(c) for c in cols) + " |", "|" + "---|" * len(cols)]
    for i, row in enumerate(df.itertuples(index=False, name=None)):
        cells = [_cell_text(v) for v in row]
        cells = [
            f"**{v}**" if (i, c) in bold and v else v for c, v in zip(cols, cells, strict=True)
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def to_latex(
    df: pd.DataFrame, caption: str, label: str, bold: Iterable[tuple[int, str]] = ()
) -> str:
    """A booktabs ``table`` environment (``Styler.to_latex``); cells in ``bold`` (row position,
    column) are wrapped in ``\\textbf``."""
    bold = set(bold)
    cols = list(df.columns)
    text = df.map(_cell_text)
    # Styler writes the cell text as given: escape (and embolden) here, once for all parts
    body = pd.DataFrame(
        [
            [
                rf"\textbf{{{_escape_latex(v)}}}" if (i, c) in bold and v else _escape_latex(v)
                for c, v in zip(cols, row, strict=True)
            ]
            for i, row in enumerate(text.itertuples(index=False, name=None))
        ],
        columns=[_escape_latex(c) for c in cols],
    )
    return body.style.hide(axis="index").to_latex(
        column_format="l" * len(cols),
        position="t",
        position_float="centering",
        hrules=True,
        label=label,
        caption=_escape_latex(caption),
    )


def markdown_provenance() -> str:
    """The provenance line of a Markdown file: an HTML comment (not rendered)."""
    return f"<!-- {provenance_line()} -->\n"


def latex_provenance() -> str:
    """The provenance line of a LaTeX file: a comment."""
    return f"% {provenance_line()}\n"


def write_table(
    df: pd.DataFrame,
    *,
    csv: str | PathLike[str],
    md: str | PathLike[str],
    tex: str | PathLike[str],
    caption: str,
    label: str,
    bold: Iterable[tuple[int, str]] = (),
    csv_frame: pd.DataFrame | None = None,
) -> None:
    """Write ``csv`` (``csv_frame`` if given: the machine-readable numbers), ``md`` (the display
    frame ``df``, then the caption as a footnote paragraph, then the provenance comment) and
    ``tex`` (the provenance comment, then ``df`` with the caption); the caller (a rule) names the
    three files."""
    bold = list(bold)
    make_parents(csv, md, tex)
    (df if csv_frame is None else csv_frame).to_csv(csv, index=False)
    Path(md).write_text(to_markdown(df, bold) + f"\n{caption}\n\n" + markdown_provenance())
    Path(tex).write_text(latex_provenance() + to_latex(df, caption, label, bold))


def write_sections(
    sections: Sequence[tuple[str, Sequence[str], pd.DataFrame]],
    *,
    csv_frame: pd.DataFrame,
    csv: str | PathLike[str],
    md: str | PathLike[str],
    tex: str | PathLike[str],
    caption: str,
    label: str,
) -> None:
    """A table in sections (title, summary lines, display frame each): ``csv`` holds
    ``csv_frame`` (every row, machine-readable), ``md`` one heading, summary paragraph and table
    per section and then the caption, ``tex`` one table environment per section, labelled
    ``<label>-<k>`` (k = 1, 2, ...), each captioned with its title and summary."""
    make_parents(csv, md, tex)
    csv_frame.to_csv(csv, index=False)
    parts, latex = [], []
    for k, (title, lines, frame) in enumerate(sections, start=1):
        parts += [f"## {title}", "", *(f"- {line}" for line in lines), ""]
        parts.append(to_markdown(frame))
        latex.append(to_latex(frame, " ".join([f"{title}.", *lines]), f"{label}-{k}"))
    Path(md).write_text("\n".join(parts) + f"\n{caption}\n\n" + markdown_provenance())
    Path(tex).write_text(latex_provenance() + f"% {caption}\n" + "\n".join(latex))


__all__ = [
    "latex_provenance",
    "markdown_provenance",
    "to_latex",
    "to_markdown",
    "write_sections",
    "write_table",
]
