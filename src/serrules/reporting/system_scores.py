"""Tables of ``serrules score``: the scores of one or two systems on a corpus's test sets
(:class:`~serrules.evaluation.system_scoring.SystemScore`) laid out as the cells of Tables 4-6."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from serrules.base.files import make_parents
from serrules.evaluation.pooled_corpus import PathLike
from serrules.evaluation.system_scoring import SystemScore
from serrules.reporting.result_tables import (
    AVERAGE,
    TABLE_SPECS,
    TEST_COLUMNS,
    format_cell,
    format_p_value,
    table_numbers,
)
from serrules.reporting.writers import markdown_provenance, to_markdown


def score_tables(score: SystemScore) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Display frame (System, Metric, Average, MR_test, PR_test, AR_test; cells as in Tables
    4-6) and the long CSV frame (``system, column, metric, value, low, high, p_value,
    n_utterances``; macro-F1 as a fraction)."""
    as_metrics = score.frame.rename(columns={"system": "train_rule", "p_value": "p_value_vs_AR"})
    as_metrics.insert(0, "corpus", score.corpus)
    n_bootstrap = int(score.settings["n_bootstrap"])
    display_rows, csv_parts = [], []
    for spec in TABLE_SPECS:
        numbers = table_numbers(as_metrics, spec)
        csv_parts.append(numbers)
        for system in score.systems:
            cells = numbers[numbers["train_rule"] == system].set_index("column")
            row: dict[str, str] = {"System": system, "Metric": spec.title}
            for column in (AVERAGE, *TEST_COLUMNS):
                if column not in cells.index:
                    row[column] = ""
                    continue
                cell = cells.loc[column]
                value, low, high = (spec.scale * cell[k] for k in ("value", "low", "high"))
                p_text = format_p_value(cell["p_value_vs_AR"], n_bootstrap)
                row[column] = format_cell(value, low, high, spec.decimals, p_text)
            display_rows.append(row)
    display = pd.DataFrame(display_rows, columns=["System", "Metric", AVERAGE, *TEST_COLUMNS])
    csv = pd.concat(csv_parts, ignore_index=True).rename(
        columns={"train_rule": "system", "p_value_vs_AR": "p_value"}
    )
    csv = csv[
        ["system", "column", "metric", "value", "low", "high", "p_value", "n_utterances"]
    ].copy()
    csv["n_utterances"] = csv["n_utterances"].astype("Int64")
    csv.insert(0, "corpus", score.corpus)
    return display, csv


def score_markdown(score: SystemScore) -> str:
    """Markdown: a caption paragraph (corpus, test-set sizes, settings) and the table."""
    display, _ = score_tables(score)
    sizes = (
        score.frame.drop_duplicates("test_rule").set_index("test_rule")["n_utterances"].to_dict()
    )
    s = score.settings
    unit = "speakers, then utterances" if s["unit"] == "speaker" else "utterances"
    level = 100 - float(s["alpha"])
    text = (
        f"Scores on {score.corpus} ("
        + ", ".join(f"{rule}_test: {sizes[rule]} utterances" for rule in sizes)
        + f"). Cells: value ({level:g}% bootstrap confidence interval, {s['n_bootstrap']} "
        f"resamples over {unit}; settings from {score.settings_source}). Macro-F1 in %, "
        "KLD and JSD against the vote distribution (lower is better). Average: mean of the "
        "three test columns and of their bounds."
    )
    if score.reference is not None:
        text += (
            f" p: two-sided paired bootstrap p-value against {score.reference} on the same "
            "resamples (p<2/B: no resample crossed zero)."
        )
    return text + "\n\n" + to_markdown(display)


def write_scores(score: SystemScore, *, md: PathLike, csv: PathLike) -> None:
    """Write ``md`` (:func:`score_markdown` and the provenance comment) and ``csv`` (the long
    numbers)."""
    make_parents(md, csv)
    Path(md).write_text(score_markdown(score) + "\n" + markdown_provenance())
    score_tables(score)[1].to_csv(csv, index=False)


__all__ = ["score_markdown", "score_tables", "write_scores"]
