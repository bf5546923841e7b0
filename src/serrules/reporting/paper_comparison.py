"""The paper's printed numbers and claims beside the run's (``vs_paper`` and ``claims`` tables).

The published values live in one data file of the package, ``paper_results.yaml``
(:mod:`serrules.reporting.published`). :func:`vs_paper_frame` sets each published cell of a
corpus of the run (Tables 3-6) and each corpus size the text states (Sec. 4.1) beside the
reproduced value (with its CI where the pipeline has one) and says whether each value lies inside
the other's interval; :func:`vs_paper_summary` condenses it to one line per table and protocol;
:func:`claims_frame` turns every quantitative claim of the results section into a verdict:
``holds``, ``fails`` or ``inconclusive`` (paired bootstrap p >= 0.05; rules in
docs/paper_comparison.md). Both take one metrics frame per protocol, so ``protocol_comparison``
gets one column pair per protocol. Corpora whose format the paper has no row for are left out,
and the captions name them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from serrules.base.tables import read_table
from serrules.corpora.formats import corpus_format
from serrules.evaluation.corpus_metrics import read_metrics_tables
from serrules.evaluation.pooled_corpus import PathLike
from serrules.labels.label_loss import read_label_loss
from serrules.reporting.published import (
    load_published,
    statement,
    statement_numbers,
)
from serrules.reporting.relative_improvement import (
    closest_definition,
    ratio_search,
    relative_improvement,
)
from serrules.reporting.result_tables import LOWER_IS_BETTER, METRIC_SPECS, TEST_COLUMNS
from serrules.reporting.table3_fig1 import AVERAGE, average_losses, percent
from serrules.reporting.writers import write_sections, write_table

#: Significance level of the verdicts (paired bootstrap p-value vs AR_train).
ALPHA = 0.05
#: Where the text states each corpus's size (Sec. 4.1): statement id -> (the paper's corpus,
#: what its numbers count, in their printed order: all utterances, or the utterances of each
#: part of the official split).
CORPUS_SIZE_STATEMENTS: Mapping[str, tuple[str, tuple[str, ...]]] = {
    "S4.1-IEMOCAP-size": ("IEMOCAP", ("utterances",)),
    "S4.1-IMPROV-size": ("MSP-IMPROV", ("utterances",)),
    "S4.1-PODCAST-split": ("MSP-PODCAST", ("train", "dev", "test")),
    "S4.1-BPODCAST-split": ("BIIC-PODCAST", ("train", "dev", "test")),
}
SIZE_SOURCE = "Sec. 4.1"
VS_PAPER_COLUMNS: tuple[str, ...] = (
    "protocol",
    "source",
    "corpus",
    "paper_corpus",
    "row",
    "column",
    "metric",
    "published",
    "published_low",
    "published_high",
    "reproduced",
    "low",
    "high",
    "difference",
    "published_in_reproduced_ci",
    "reproduced_in_published_ci",
)
SUMMARY_COLUMNS: tuple[str, ...] = (
    "protocol",
    "source",
    "cells",
    "published_in_reproduced_ci",
    "reproduced_in_published_ci",
    "equal_as_printed",
    "mean_abs_difference",
    "max_abs_difference",
    "summary",
)
CLAIM_COLUMNS: tuple[str, ...] = (
    "protocol",
    "id",
    "section",
    "claim",
    "paper",
    "reproduced",
    "verdict",
    "basis",
)


def table_source(table: int) -> str:
    """The ``source`` of a printed table's cells (``Table 4``)."""
    return f"Table {table}"


def corpus_sizes(utterances: PathLike, fmt: str) -> dict[str, int]:
    """What the text's Sec. 4.1 counts, from a run's ``utterances.parquet``: every parsed
    utterance (``utterances``) and, for a format with an official split, the utterances of each
    part (``train``, ``dev``, ``test``; the format record's split -> part mapping)."""
    frame = read_table(utterances, "utterances", columns=("split",), check=False)
    sizes = {"utterances": len(frame)}
    parts = corpus_format(fmt).folds.split_parts
    if parts:
        counts = frame["split"].map(parts).value_counts()
        sizes.update({part: int(counts.get(part, 0)) for part in ("train", "dev", "test")})
    return sizes


def _inside(value: float, low: float, high: float) -> object:
    if any(v is None or pd.isna(v) for v in (value, low, high)):
        return pd.NA
    return bool(low <= value <= high)


@dataclass(frozen=True)
class Reproduction:
    """What a run reproduced, to set beside the paper: its label-loss table (Table 3), per
    protocol its metrics (Tables 4-6), its corpora's formats (corpus -> format), which say
    which of the paper's corpora it has, and per corpus the sizes of :func:`corpus_sizes`."""

    label_loss: pd.DataFrame
    metrics: Mapping[str, pd.DataFrame]
    formats: Mapping[str, str]
    sizes: Mapping[str, Mapping[str, int]] = field(default_factory=dict)

    def paper_corpora(self, published: Mapping[str, Any]) -> dict[str, str]:
        """Paper corpus name -> the run's corpus of that format (the first one, in run order)."""
        out: dict[str, str] = {}
        for paper_name, fmt in published["corpora"].items():
            names = [c for c, f in self.formats.items() if f == fmt]
            if names:
                out[paper_name] = names[0]
        return out

    def left_out(self, published: Mapping[str, Any]) -> list[str]:
        """The run's corpora that are not compared: a format the paper has no row for, or a
        second corpus of a format already compared."""
        compared = set(self.paper_corpora(published).values())
        return [c for c in self.formats if c not in compared]

    def average_loss(self, published: Mapping[str, Any]) -> pd.DataFrame | None:
        """Table 3's Average row over the run's corpora that the paper has (by rule), or None
        when it has none of them."""
        run = self.paper_corpora(published).values()
        in_paper = self.label_loss[self.label_loss["corpus"].isin(run)]
        return average_losses(in_paper).set_index("rule") if len(in_paper) else None


def table_cells(metrics: pd.DataFrame) -> pd.DataFrame:
    """Tables 4-6 cells of a metrics frame in the result tables' unit (macro-F1 x 100: the
    metrics table holds fractions), plus the Average column (mean of the three test columns,
    bounds the mean of the bounds, as in the result tables)."""
    scale = np.array([METRIC_SPECS[m].scale for m in metrics["metric"]], dtype=float)
    part = metrics.assign(
        column=metrics["test_rule"] + "_test",
        **{k: metrics[k] * scale for k in ("value", "low", "high")},
    )
    cols = ["corpus", "train_rule", "metric", "column", "value", "low", "high", "p_value_vs_AR"]
    part = part[cols]
    avg = (
        part.groupby(["corpus", "train_rule", "metric"], sort=False)[["value", "low", "high"]]
        .mean()
        .reset_index()
        .assign(column=AVERAGE, p_value_vs_AR=math.nan)
    )
    return pd.concat([part, avg[cols]], ignore_index=True)


def _size_rows(published: Mapping[str, Any], reproduced: Reproduction) -> list[dict]:
    """Sec. 4.1's corpus sizes beside the run's (no interval: counts)."""
    run = reproduced.paper_corpora(published)
    rows = []
    for statement_id, (paper_corpus, counted) in CORPUS_SIZE_STATEMENTS.items():
        corpus = run.get(paper_corpus)
        sizes = reproduced.sizes.get(corpus) if corpus else None
        if not sizes:
            continue
        numbers = statement_numbers(statement(published, statement_id))
        for what, number in zip(counted, numbers, strict=True):
            if what not in sizes:
                continue
            rows.append(
                {
                    "source": SIZE_SOURCE,
                    "corpus": corpus,
                    "paper_corpus": paper_corpus,
                    "row": what,
                    "column": "utterances",
                    "metric": "count",
                    "published": float(number),
                    "reproduced": float(sizes[what]),
                }
            )
    return rows


def vs_paper_frame(published: Mapping[str, Any], reproduced: Reproduction) -> pd.DataFrame:
    """One row per (protocol, published cell of a corpus of the run): published value (and CI
    bounds where printed), reproduced value (CI for Tables 4-6), difference (reproduced -
    published, in the project's unit) and the two containment flags; then the corpus sizes of
    Sec. 4.1 (utterances, and per part of an official split). Table 3's Average row is compared
    with the mean over the run's corpora that the paper has (its ``corpus`` column names them).
    Columns :data:`VS_PAPER_COLUMNS`."""
    run = reproduced.paper_corpora(published)
    loss = reproduced.label_loss.set_index(["corpus", "rule"])
    average = reproduced.average_loss(published)
    sizes = _size_rows(published, reproduced)
    rows = []
    for protocol, frame in reproduced.metrics.items():
        cells = table_cells(frame).set_index(["corpus", "train_rule", "metric", "column"])
        for cell in published["cells"]:
            value = cell["value"]
            low, high = cell.get("value_low"), cell.get("value_high")
            base = {
                "protocol": protocol,
                "source": table_source(int(cell["table"])),
                "paper_corpus": cell["corpus"],
                "published": value,
                "published_low": low,
                "published_high": high,
            }
            if cell["table"] == 3:
                if cell["corpus"] == AVERAGE:
                    if average is None:
                        continue
                    got = 100.0 * float(average.loc[cell["rule"], cell["measure"]])
                    corpus = f"{AVERAGE} ({', '.join(run.values())})"
                elif cell["corpus"] in run:
                    corpus = run[cell["corpus"]]
                    got = 100.0 * float(loss.loc[(corpus, cell["rule"]), cell["measure"]])
                else:
                    continue
                r_low = r_high = math.nan
                row, column, metric = cell["rule"], cell["measure"], cell["measure"]
            else:
                if cell["corpus"] not in run:
                    continue
                corpus = run[cell["corpus"]]
                key = (corpus, cell["train_rule"], cell["metric"], cell["column"])
                if key not in cells.index:
                    continue
                got, r_low, r_high = (float(cells.loc[key, k]) for k in ("value", "low", "high"))
                row, column, metric = cell["train_rule"], cell["column"], cell["metric"]
            rows.append(
                {
                    **base,
                    "corpus": corpus,
                    "row": row,
                    "column": column,
                    "metric": metric,
                    "reproduced": got,
                    "low": r_low,
                    "high": r_high,
                }
            )
        rows += [
            {**size, "protocol": protocol, "published_low": None, "published_high": None}
            for size in sizes
        ]
    out = pd.DataFrame(rows, columns=list(VS_PAPER_COLUMNS))
    out["difference"] = out["reproduced"] - out["published"]
    out["published_in_reproduced_ci"] = [
        _inside(*v) for v in zip(out["published"], out["low"], out["high"], strict=True)
    ]
    out["reproduced_in_published_ci"] = [
        _inside(*v)
        for v in zip(out["reproduced"], out["published_low"], out["published_high"], strict=True)
    ]
    return out


#: The unit of a source's differences, in the summary lines.
_UNITS: Mapping[str, str] = {
    "Table 3": "points (%)",
    "Table 4": "points (F1 x 100)",
    "Table 5": "(KLD)",
    "Table 6": "(JSD)",
    SIZE_SOURCE: "utterances",
}


def _count(flags: pd.Series) -> int:
    return int(flags.dropna().astype(bool).sum())


def vs_paper_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per (protocol, source) of a ``vs_paper`` frame: how many cells, in how many the
    published value lies inside the reproduced CI and the reproduced value inside the published
    CI (Tables 4-6), in how many they are equal as printed (Table 3, two decimals; corpus sizes),
    the mean and largest absolute difference, and a one-line ``summary``
    (columns :data:`SUMMARY_COLUMNS`)."""
    rows = []
    for (protocol, source), part in frame.groupby(["protocol", "source"], sort=False):
        n = len(part)
        diff = part["difference"].abs()
        inside_rep = _count(part["published_in_reproduced_ci"])
        inside_pub = _count(part["reproduced_in_published_ci"])
        equal = int((diff < 0.005).sum()) if source in ("Table 3", SIZE_SOURCE) else pd.NA
        unit = _UNITS.get(source, "")
        if source.startswith("Table") and source != "Table 3":
            text = (
                f"{source} ({protocol}): published value inside the reproduced CI in "
                f"{inside_rep} of {n} cells; reproduced value inside the published CI in "
                f"{inside_pub} of {n}; mean |difference| {diff.mean():.3g} {unit}"
            )
        else:
            text = (
                f"{source} ({protocol}): equal as printed in {equal} of {n} "
                f"{'cells' if source == 'Table 3' else 'counts'}; mean |difference| "
                f"{diff.mean():.3g} {unit}"
            )
        rows.append(
            {
                "protocol": protocol,
                "source": source,
                "cells": n,
                "published_in_reproduced_ci": inside_rep,
                "reproduced_in_published_ci": inside_pub,
                "equal_as_printed": equal,
                "mean_abs_difference": float(diff.mean()),
                "max_abs_difference": float(diff.max()),
                "summary": text,
            }
        )
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


def _verdict_better(
    cells: pd.DataFrame, versus: str, metric: str, columns: Sequence[str]
) -> tuple[float, str, str]:
    """AR_train better than ``versus`` on the cells (run corpora x ``columns``): reproduced =
    mean difference (AR - versus; for KLD/JSD versus - AR, so > 0 favours AR). Verdict: holds
    when the mean favours AR, at least one cell favours AR with p < ALPHA and none favours
    ``versus`` with p < ALPHA; fails when the mean favours ``versus`` and at least one cell does
    with p < ALPHA; inconclusive otherwise (every favouring cell has p >= ALPHA, or both sides
    have significant cells)."""
    part = cells[(cells["metric"] == metric) & cells["column"].isin(columns)]
    ar = part[part["train_rule"] == "AR"].set_index(["corpus", "column"])["value"]
    other = part[part["train_rule"] == versus].set_index(["corpus", "column"])
    common = ar.index.intersection(other.index)
    if len(common) == 0:
        return math.nan, "inconclusive", "no cells in this run"
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
    diff = sign * (ar.loc[common] - other.loc[common, "value"])
    p = other.loc[common, "p_value_vs_AR"]
    sig_ar = int(((diff > 0) & (p < ALPHA)).sum())
    sig_other = int(((diff < 0) & (p < ALPHA)).sum())
    mean = float(diff.mean())
    if mean > 0 and sig_ar and not sig_other:
        verdict = "holds"
    elif mean < 0 and sig_other and not sig_ar:
        verdict = "fails"
    else:
        verdict = "inconclusive"
    basis = (
        f"{len(common)} cells; AR better in {int((diff > 0).sum())} "
        f"({sig_ar} with p<{ALPHA}), worse in {int((diff < 0).sum())} ({sig_other} with p<{ALPHA})"
    )
    return mean, verdict, basis


def claims_frame(published: Mapping[str, Any], reproduced: Reproduction) -> pd.DataFrame:
    """One row per (protocol, claim): the claim, the paper's number, the reproduced number
    and the verdict (rules: :func:`_verdict_better`; label-loss claims are counts, not
    samples: they hold when the reproduced value prints as the paper's, two decimals, and are
    inconclusive when the run lacks some of the paper's corpora). A relative-improvement claim's
    verdict is the direction's; its reproduced number is the ratio by the definition that comes
    closest to the printed ratios on the printed Table 4
    (:func:`serrules.reporting.relative_improvement.closest_definition`), named in ``basis``."""
    run = reproduced.paper_corpora(published)
    average = reproduced.average_loss(published)
    definition = None  # of the relative improvement: found once, on the printed Table 4
    rows = []
    for protocol, frame in reproduced.metrics.items():
        cells = table_cells(frame[frame["corpus"].isin(run.values())])
        for claim in published["claims"]:
            paper = claim.get("printed", math.nan)
            if claim["kind"] == "label_loss":
                if average is None:
                    got, verdict, basis = math.nan, "inconclusive", "no corpus of the paper"
                else:
                    got = 100.0 * float(average.loc[claim["rule"], claim["measure"]])
                    basis = f"mean over {len(run)} corpora ({', '.join(run.values())})"
                    if len(run) < len(published["corpora"]):
                        # an average over fewer corpora is not the paper's average
                        verdict = "inconclusive"
                        basis += f"; the paper averages {len(published['corpora'])}"
                    else:
                        verdict = "holds" if percent(got / 100.0) == f"{paper:.2f}" else "fails"
            elif claim["kind"] == "relative":
                name = definition or closest_definition(ratio_search(published))
                definition = name
                got = relative_improvement(cells, claim["versus"], name, claim["metric"])
                _, verdict, basis = _verdict_better(
                    cells, claim["versus"], claim["metric"], TEST_COLUMNS
                )
                basis += f"; reproduced ratio by {name} (docs/paper_comparison.md)"
            else:
                got, verdict, basis = _verdict_better(
                    cells, claim["versus"], claim["metric"], claim["columns"]
                )
            rows.append(
                {
                    "protocol": protocol,
                    "id": claim["id"],
                    "section": claim["section"],
                    "claim": claim["text"],
                    "paper": paper,
                    "reproduced": got,
                    "verdict": verdict,
                    "basis": basis,
                }
            )
    return pd.DataFrame(rows, columns=list(CLAIM_COLUMNS))


def _fmt(value: object, decimals: int = 2) -> str:
    if value is None or pd.isna(value):
        return ""
    return f"{float(value):.{decimals}f}"


def _flag(value: object) -> str:
    return "" if value is None or pd.isna(value) else ("yes" if value else "no")


#: Decimals of reproduced values in the display, by metric (Table 3's losses: 2).
_DECIMALS: Mapping[str, int] = {"macro_f1": 2, "kld": 3, "jsd": 3, "count": 0}
_TITLES: Mapping[str, str] = {
    "Table 3": "Table 3: data and rating loss (%)",
    "Table 4": "Table 4: macro-F1 (x 100)",
    "Table 5": "Table 5: KLD",
    "Table 6": "Table 6: JSD",
    SIZE_SOURCE: "Sec. 4.1: corpus sizes (utterances)",
}


def _published_text(row: pd.Series, decimals: int) -> str:
    text = _fmt(row["published"], decimals)
    if pd.notna(row["published_low"]):
        text += (
            f" ({_fmt(row['published_low'], decimals)}, {_fmt(row['published_high'], decimals)})"
        )
    return text


def vs_paper_display(frame: pd.DataFrame) -> pd.DataFrame:
    """Markdown/LaTeX frame of one source's rows: one row per published cell (the published
    value in the project's unit), one column pair (reproduced (CI), difference) per protocol."""
    key = ["corpus", "row", "column"]
    protocols = list(dict.fromkeys(frame["protocol"]))
    first = frame[frame["protocol"] == protocols[0]].reset_index(drop=True)
    out = first[key].copy()
    decimals = [_DECIMALS.get(m, 2) for m in first["metric"]]
    out["published"] = [
        _published_text(r, d) for (_, r), d in zip(first.iterrows(), decimals, strict=True)
    ]
    for protocol in protocols:
        part = frame[frame["protocol"] == protocol].reset_index(drop=True)
        texts, diffs = [], []
        for (_, r), d in zip(part.iterrows(), decimals, strict=True):
            text = _fmt(r["reproduced"], d)
            if pd.notna(r["low"]):
                text += f" ({_fmt(r['low'], d)}, {_fmt(r['high'], d)})"
                text += f" [paper inside CI: {_flag(r['published_in_reproduced_ci'])}]"
            texts.append(text)
            diffs.append(f"{r['difference']:+.{d}f}")
        out[f"reproduced ({protocol})"] = texts
        out[f"difference ({protocol})"] = diffs
    return out


def vs_paper_sections(
    frame: pd.DataFrame, summary: pd.DataFrame
) -> list[tuple[str, list[str], pd.DataFrame]]:
    """(title, summary lines, display frame) per source of a ``vs_paper`` frame, in the order
    Table 3, Tables 4-6, Sec. 4.1."""
    return [
        (
            _TITLES.get(source, source),
            list(summary.loc[summary["source"] == source, "summary"]),
            vs_paper_display(part),
        )
        for source, part in frame.groupby("source", sort=False)
    ]


def _run_note(reproduced: Reproduction, published: Mapping[str, Any], demo: bool) -> str:
    note = ""
    if demo:
        note += (
            " The corpora of this run are the synthetic demo corpora: their numbers are not the "
            "paper's, and the table shows the mechanism only."
        )
    left = [f"{c} ({reproduced.formats[c]})" for c in reproduced.left_out(published)]
    if left:
        note += (
            f" Left out: {', '.join(left)}: the paper has no row for "
            f"{'it' if len(left) == 1 else 'them'} (a format it does not report, or a second "
            "corpus of a format already compared)."
        )
    return note


def write_paper_comparison(
    label_loss_paths: Sequence[PathLike],
    metrics_paths: Mapping[str, Sequence[PathLike]],
    formats: Mapping[str, str],
    *,
    vs_paper: Mapping[str, PathLike],
    claims: Mapping[str, PathLike],
    utterances: Mapping[str, PathLike] | None = None,
    published: PathLike | None = None,
    demo: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Write ``vs_paper`` (``{"csv", "md", "tex", "summary"}`` paths: the summary is a CSV of
    :func:`vs_paper_summary`) and ``claims`` (``{"csv", "md", "tex"}``) from the run's
    label-loss tables, its ``utterances.parquet`` per corpus (corpus sizes, Sec. 4.1) and, per
    protocol, its ``metrics.parquet`` files. ``demo``: the corpora are synthetic, and the
    captions say that the numbers are not the paper's."""
    data = load_published(published)
    loss = read_label_loss(label_loss_paths)
    metrics = {
        p: pd.concat([frame for frame, _ in read_metrics_tables(paths)], ignore_index=True)
        for p, paths in metrics_paths.items()
    }
    compared = Reproduction(loss, metrics, formats).paper_corpora(data).values()
    sizes = {c: corpus_sizes(p, formats[c]) for c, p in (utterances or {}).items() if c in compared}
    reproduced = Reproduction(loss, metrics, formats, sizes)
    versus = vs_paper_frame(data, reproduced)
    summary = vs_paper_summary(versus)
    verdicts = claims_frame(data, reproduced)
    note = _run_note(reproduced, data, demo)
    write_sections(
        vs_paper_sections(versus, summary),
        csv_frame=versus,
        csv=vs_paper["csv"],
        md=vs_paper["md"],
        tex=vs_paper["tex"],
        caption=(
            "The paper's printed values beside the reproduced ones, in the project's units "
            "(Table 3 in %, F1 x 100, KLD/JSD as printed, corpus sizes in utterances); "
            "difference = reproduced - published; per protocol. The Average column is the mean "
            "of the three test columns, its bounds the mean of their bounds." + note
        ),
        label="tab:vs_paper",
    )
    summary.to_csv(vs_paper["summary"], index=False)
    shown = verdicts.assign(
        paper=[_fmt(v) for v in verdicts["paper"]],
        reproduced=[_fmt(v, 4 if abs(v) < 1 else 2) for v in verdicts["reproduced"]],
    )
    write_table(
        shown,
        csv_frame=verdicts,
        csv=claims["csv"],
        md=claims["md"],
        tex=claims["tex"],
        caption=(
            "Claims of the paper's results section with verdicts (holds / fails / inconclusive "
            f"when the paired bootstrap p-values vs AR_train are >= {ALPHA}; rules in "
            "docs/paper_comparison.md). Quoted text in quotation marks; the rest paraphrases the "
            "section." + note
        ),
        label="tab:claims",
    )
    return versus, verdicts


__all__ = [
    "ALPHA",
    "CLAIM_COLUMNS",
    "CORPUS_SIZE_STATEMENTS",
    "SUMMARY_COLUMNS",
    "VS_PAPER_COLUMNS",
    "Reproduction",
    "claims_frame",
    "corpus_sizes",
    "table_cells",
    "table_source",
    "vs_paper_display",
    "vs_paper_frame",
    "vs_paper_sections",
    "vs_paper_summary",
    "write_paper_comparison",
]
