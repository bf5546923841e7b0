"""The paper against itself (``paper_audit``): its internal consistency, checked from its own
printed numbers (``paper_results.yaml``), and the numbers of its text that the project itself can
check (class counts of the format records, the model's parameter count, the settings of the
paper preset). Depends on no run.

One row per check (:data:`AUDIT_COLUMNS`) with the printed number, what the check computes, the
tolerance and a verdict, ``holds`` or ``fails``. A check "to the printed rounding" allows for
the rounding of every number involved: a printed number with d decimals stands for any value
within half a unit of its last digit, so the mean of three printed cells may differ from the
printed mean of the unrounded cells by up to the mean of their half widths plus the printed
mean's own (the ``basis`` says when the plain rounding of the printed cells' mean differs). The
checks are documented one by one in docs/paper_comparison.md ("The paper against itself").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from serrules.base.classes import RULES
from serrules.base.files import make_parents
from serrules.corpora.formats import corpus_format
from serrules.evaluation.pooled_corpus import PathLike
from serrules.reporting.published import (
    decimals,
    load_published,
    printed_cells,
    rounding_half_width,
    statement,
    statement_numbers,
)
from serrules.reporting.relative_improvement import RATIO_STATEMENTS, VERSUS, ratio_search
from serrules.reporting.result_tables import LOWER_IS_BETTER, TABLE_SPECS, TEST_COLUMNS
from serrules.reporting.table3_fig1 import AVERAGE
from serrules.reporting.writers import markdown_provenance, to_markdown

AUDIT_COLUMNS: tuple[str, ...] = (
    "check",
    "id",
    "source",
    "what",
    "printed",
    "computed",
    "difference",
    "tolerance",
    "verdict",
    "basis",
)
#: The checks in the order of docs/paper_comparison.md, with what each verifies.
CHECKS: Mapping[str, str] = {
    "average_column": "Tables 4-6: each Average cell (value and bounds) is the mean of its row's "
    "three test columns, to the printed rounding",
    "value_in_ci": "Tables 4-6: each printed value lies inside its own printed interval",
    "table3_average": "Table 3: the Average row is the mean of the four corpus rows",
    "bold": "Tables 4-6: the bold cells are the best of their corpus and column",
    "statement": "numbers of the text checked against the printed tables or the text itself",
    "relative_improvement": "Sec. 5.2 / 7: the relative improvements under each definition, on "
    "the printed Table 4",
    "qualitative": "the text's qualitative claims on the printed Tables 4-6",
    "project": "numbers of the text checked against the project (format records, the model it "
    "builds, the paper preset's settings)",
}


def _verdict(ok: bool) -> str:
    return "holds" if ok else "fails"


def _row(check: str, id_: str, source: str, what: str, printed, computed, **more) -> dict:
    row = dict.fromkeys(AUDIT_COLUMNS)
    row.update(check=check, id=id_, source=source, what=what, printed=printed, computed=computed)
    row.update(more)
    return row


def _close(printed: str, computed: float, tolerance: float) -> tuple[float, bool]:
    difference = computed - float(printed)
    # 1e-12: the binary float noise of a mean of decimal numbers
    return difference, abs(difference) <= tolerance + 1e-12


def _rounds_to(value: float, printed: str) -> bool:
    return f"{value:.{decimals(printed)}f}" == f"{float(printed):.{decimals(printed)}f}"


# --------------------------------------------------------------------------- Tables 4-6


def _mean_row(check: str, id_: str, source: str, what: str, printed: str, values: list) -> dict:
    """A printed number against the mean of the printed ``values``, to the printed rounding: the
    mean of their half widths plus the printed number's own."""
    mean = float(np.mean([float(v) for v in values]))
    tolerance = rounding_half_width(printed) + float(
        np.mean([rounding_half_width(v) for v in values])
    )
    difference, ok = _close(printed, mean, tolerance)
    basis = f"mean of {', '.join(values)}"
    if not _rounds_to(mean, printed):
        places = decimals(printed)
        basis += f" = {mean:.{places + 2}f}, which rounds to {mean:.{places}f}"
    return _row(
        check,
        id_,
        source,
        what,
        printed,
        mean,
        difference=difference,
        tolerance=tolerance,
        verdict=_verdict(ok),
        basis=basis,
    )


def average_column_rows(cells: pd.DataFrame) -> list[dict]:
    """Each printed Average cell (value, low, high) against the mean of its row's three test
    columns (the project's Average, docs/paper_comparison.md)."""
    rows = []
    for (table, corpus, rule), part in cells.groupby(["table", "corpus", "train_rule"], sort=False):
        by = part.set_index("column")
        for key, name in (("printed", "value"), ("low", "lower bound"), ("high", "upper bound")):
            avg = by.loc[AVERAGE, key]
            tests = [by.loc[c, key] for c in TEST_COLUMNS]
            if avg is None or any(t is None for t in tests):
                continue
            rows.append(
                _mean_row(
                    "average_column",
                    f"T{table}/{corpus}/{rule}_train/Average/{key}",
                    f"Table {table}",
                    f"Average {name} = mean of the three test columns' {name}s",
                    avg,
                    tests,
                )
            )
    return rows


def value_in_ci_rows(cells: pd.DataFrame) -> list[dict]:
    """Each printed value inside its own printed interval (low <= value <= high)."""
    rows = []
    for cell in cells.itertuples(index=False):
        if cell.low is None or cell.high is None:
            continue
        ok = float(cell.low) <= float(cell.printed) <= float(cell.high)
        rows.append(
            _row(
                "value_in_ci",
                f"T{cell.table}/{cell.corpus}/{cell.train_rule}_train/{cell.column}",
                f"Table {cell.table}",
                "printed value inside its printed interval",
                cell.printed,
                math.nan,
                tolerance=0.0,
                verdict=_verdict(ok),
                basis=f"{cell.printed} in ({cell.low}, {cell.high})",
            )
        )
    return rows


def _best(values: pd.Series, metric: str) -> set[str]:
    floats = values.astype(float)
    target = floats.min() if metric in LOWER_IS_BETTER else floats.max()
    return set(floats.index[floats == target])


def bold_rows(cells: pd.DataFrame) -> list[dict]:
    """Per table, corpus and column: the rows whose value is bold are exactly those with the
    best printed value (highest macro-F1, lowest KLD/JSD), and a row whose upper bound alone is
    bold (Table 4, BIIC-PODCAST) has the best upper bound."""
    rows = []
    for (table, corpus, column), part in cells.groupby(["table", "corpus", "column"], sort=False):
        metric = part["metric"].iloc[0]
        by = part.set_index("train_rule")
        bold_value = set(by.index[by["bold"] == "value"])
        bold_high = set(by.index[by["bold"] == "high"])
        best = _best(by["printed"], metric)
        ok = bold_value == best
        basis = (
            f"bold value: {', '.join(sorted(bold_value)) or 'none'}; "
            f"best value: {', '.join(sorted(best))} "
            f"({'lowest' if metric in LOWER_IS_BETTER else 'highest'})"
        )
        if bold_high:
            best_high = _best(by["high"], "macro_f1" if metric not in LOWER_IS_BETTER else metric)
            ok = ok and bold_high <= best_high
            basis += (
                f"; bold upper bound: {', '.join(sorted(bold_high))}; "
                f"best upper bound: {', '.join(sorted(best_high))}"
            )
        printed = ", ".join(f"{r} {by.loc[r, 'printed']}" for r in by.index)
        rows.append(
            _row(
                "bold",
                f"T{table}/{corpus}/{column}",
                f"Table {table}",
                "bold cells are the best of their corpus and column",
                printed,
                math.nan,
                verdict=_verdict(ok),
                basis=basis,
            )
        )
    return rows


def _ar_versus_others(part: pd.DataFrame, metric: str) -> tuple[bool, int, str]:
    """AR_train against the two other rules in one corpus and column: whether it is better than
    both, in how many of the two comparisons the printed intervals do not overlap, and the
    printed values."""
    by = part.set_index("train_rule")
    lower = metric in LOWER_IS_BETTER
    ar = float(by.loc["AR", "printed"])
    others = [r for r in RULES if r != "AR"]
    better = all(
        (ar < float(by.loc[r, "printed"])) if lower else (ar > float(by.loc[r, "printed"]))
        for r in others
    )
    apart = sum(
        float(by.loc["AR", "high"]) < float(by.loc[r, "low"])
        if lower
        else float(by.loc["AR", "low"]) > float(by.loc[r, "high"])
        for r in others
    )
    return better, apart, ", ".join(f"{r} {by.loc[r, 'printed']}" for r in RULES)


def qualitative_rows(cells: pd.DataFrame) -> list[dict]:
    """The text's qualitative claims on the printed tables:

    * Sec. 5.2, "AR_Train performs the best among the three rules on average and across 4
      public emotion databases" (Table 4): per corpus, AR_train's Average cell is the highest,
      and the mean of the Average column over the corpora is highest for AR_train;
    * Sec. 5.3, AR_train better than MR_train and PR_train on each test set (Table 4): per test
      column, AR_train highest in every corpus;
    * Sec. 5.4, the consistent pattern of Tables 5 and 6: per table and corpus, AR_train lowest
      in every column.

    The basis also counts the comparisons whose printed intervals do not overlap (a reader's
    check; the paper reports no test)."""
    rows = []

    def add(id_, source, what, groups, computed=math.nan, basis_prefix=""):
        results = {key: _ar_versus_others(part, part["metric"].iloc[0]) for key, part in groups}
        failing = [key for key, (better, _, _) in results.items() if not better]
        apart = sum(a for _, a, _ in results.values())
        if len(results) == 1:
            basis = next(iter(results.values()))[2]
        else:
            basis = f"not in {', '.join(failing)}" if failing else f"in all {len(results)}"
        rows.append(
            _row(
                "qualitative",
                id_,
                source,
                what,
                "qualitative",
                computed,
                verdict=_verdict(not failing),
                basis=f"{basis_prefix}{basis}; intervals apart from AR_train's in {apart} of "
                f"{2 * len(results)} comparisons",
            )
        )

    f1 = cells[cells["table"] == 4]
    average = f1[f1["column"] == AVERAGE]
    for corpus, part in average.groupby("corpus", sort=False):
        add(
            f"S5.2-best/{corpus}",
            "Sec. 5.2 (Table 4)",
            f"AR_train has the highest Average macro-F1 of the three rules on {corpus}",
            [(corpus, part)],
        )
    means = average.assign(v=average["printed"].astype(float)).groupby("train_rule")["v"].mean()
    rows.append(
        _row(
            "qualitative",
            "S5.2-best/mean",
            "Sec. 5.2 (Table 4)",
            "AR_train has the highest mean of the Average column over the four corpora",
            "qualitative",
            float(means["AR"]),
            verdict=_verdict(all(means["AR"] > means[r] for r in RULES if r != "AR")),
            basis=", ".join(f"{r} {means[r]:.4f}" for r in RULES),
        )
    )
    for column in TEST_COLUMNS:
        add(
            f"S5.3-{column}",
            "Sec. 5.3 (Table 4)",
            f"AR_train has the highest macro-F1 on {column} in every corpus",
            f1[f1["column"] == column].groupby("corpus", sort=False),
            basis_prefix="corpora: ",
        )
    for spec in TABLE_SPECS:
        if spec.higher_is_better:
            continue
        table, metric = spec.number, spec.metric
        for corpus, part in cells[cells["table"] == table].groupby("corpus", sort=False):
            add(
                f"S5.4-T{table}/{corpus}",
                f"Sec. 5.4 (Table {table})",
                f"AR_train has the lowest {metric.upper()} in every column on {corpus}",
                part.groupby("column", sort=False),
                basis_prefix="columns: ",
            )
    return rows


# --------------------------------------------------------------------------- Table 3 and the text


def table3_printed(published: Mapping[str, Any]) -> dict[tuple[str, str, str], str]:
    """Table 3 as printed: (corpus or Average, rule, measure) -> the printed percentage."""
    return {
        (c["corpus"], c["rule"], c["measure"]): str(c["printed"])
        for c in published["cells"]
        if c["table"] == 3
    }


def table3_average_rows(published: Mapping[str, Any]) -> list[dict]:
    """Table 3's printed Average row against the mean of its four printed corpus rows."""
    t3 = table3_printed(published)
    corpora = list(published["corpora"])
    rows = []
    for rule in RULES:
        for measure in ("data_loss", "rating_loss"):
            printed = t3[(AVERAGE, rule, measure)]
            values = [t3[(c, rule, measure)] for c in corpora]
            rows.append(
                _mean_row(
                    "table3_average",
                    f"T3/Average/{rule}/{measure}",
                    "Table 3",
                    f"Average row, {rule} {measure.replace('_', ' ')} = mean of the corpus rows",
                    printed,
                    values,
                )
            )
    return rows


def _statement_row(id_, source, what, printed, computed, tolerance, basis) -> dict:
    difference, ok = _close(printed, computed, tolerance)
    return _row(
        "statement",
        id_,
        source,
        what,
        printed,
        computed,
        difference=difference,
        tolerance=tolerance,
        verdict=_verdict(ok),
        basis=basis,
    )


#: Table 3 cells of the numbers of S5.1-averages, in their printed order.
_S51_CELLS: tuple[tuple[str, str], ...] = (
    ("MR", "data_loss"),
    ("PR", "data_loss"),
    ("AR", "rating_loss"),
    ("MR", "rating_loss"),
    ("PR", "rating_loss"),
)
_MEASURES: tuple[str, ...] = ("data_loss", "rating_loss")


def _numbers(published: Mapping[str, Any], statement_id: str) -> list[str]:
    return statement_numbers(statement(published, statement_id))


def _table3_statement_rows(published: Mapping[str, Any]) -> list[dict]:
    """Sec. 2.2 (IEMOCAP's MR losses), Sec. 3 (AR's gain over MR and PR: the difference of
    Table 3's Average cells) and Sec. 5.1 (the Average row) against the printed Table 3."""
    t3 = table3_printed(published)
    rows = []

    def numbers(id_):
        return _numbers(published, id_)

    for number, measure in zip(numbers("S2.2-IEMOCAP-MR"), _MEASURES, strict=True):
        cell = t3[("IEMOCAP", "MR", measure)]
        rows.append(
            _statement_row(
                f"S2.2-IEMOCAP-MR/{measure}",
                "Sec. 2.2",
                f"IEMOCAP's MR {measure.replace('_', ' ')} = Table 3",
                number,
                float(cell),
                0.0,
                f"Table 3, IEMOCAP, MR: {cell}",
            )
        )
    for versus in ("MR", "PR"):
        for number, measure in zip(numbers(f"S3-AR-vs-{versus}"), _MEASURES, strict=True):
            a, b = t3[(AVERAGE, versus, measure)], t3[(AVERAGE, "AR", measure)]
            tolerance = (
                rounding_half_width(number) + rounding_half_width(a) + rounding_half_width(b)
            )
            rows.append(
                _statement_row(
                    f"S3-AR-vs-{versus}/{measure}",
                    "Sec. 3",
                    f"AR keeps this much more {'data' if measure == 'data_loss' else 'ratings'} "
                    f"than {versus} = {versus} loss - AR loss (Table 3, Average row)",
                    number,
                    float(a) - float(b),
                    tolerance,
                    f"{a} - {b}",
                )
            )
    for number, (rule, measure) in zip(numbers("S5.1-averages"), _S51_CELLS, strict=True):
        cell = t3[(AVERAGE, rule, measure)]
        rows.append(
            _statement_row(
                f"S5.1-averages/{rule}/{measure}",
                "Sec. 5.1",
                f"average {rule} {measure.replace('_', ' ')} = Table 3, Average row",
                number,
                float(cell),
                0.0,
                f"Table 3, Average, {rule}: {cell}",
            )
        )
    return rows


def _text_statement_rows(published: Mapping[str, Any]) -> list[dict]:
    """The text against itself: Sec. 4.1 (test set 1 + test set 2 = the test set), Sec. 7
    (repeats Sec. 5.2's ratios), Sec. 4.5 (the interval's percentiles are p and 100 - p)."""
    rows = []
    split = statement(published, "S4.1-PODCAST-split")
    total, *parts = (
        str(split["numbers"]).split(";")[-1].replace("(", " ").replace(")", " ").replace("+", " ")
    ).split()
    rows.append(
        _statement_row(
            "S4.1-PODCAST-split/test",
            "Sec. 4.1",
            "MSP-PODCAST's test set = test set 1 + test set 2",
            total,
            float(sum(int(p) for p in parts)),
            0.0,
            " + ".join(parts),
        )
    )
    first, second = (_numbers(published, s) for s in RATIO_STATEMENTS)
    for versus, a, b in zip(VERSUS, first, second, strict=True):
        rows.append(
            _statement_row(
                f"S7-relative/{versus}",
                "Sec. 7",
                f"the conclusion repeats Sec. 5.2's relative improvement over {versus}_train",
                b,
                float(a),
                0.0,
                f"Sec. 5.2 prints {a}",
            )
        )
    low, high = statement_numbers(statement(published, "S4.5-CI"))
    rows.append(
        _statement_row(
            "S4.5-CI/central",
            "Sec. 4.5",
            "the lower percentile is that of a central interval with the printed upper one "
            "(100 - upper)",
            low,
            100 - float(high),
            0.0,
            f"upper percentile {high}: a central interval's lower one is {100 - float(high):g} "
            "(a 95% interval: 2.5 and 97.5)",
        )
    )
    return rows


def statement_rows(published: Mapping[str, Any]) -> list[dict]:
    """The text's numbers that the printed tables, or the text itself, can check."""
    return _table3_statement_rows(published) + _text_statement_rows(published)


def relative_improvement_rows(published: Mapping[str, Any]) -> list[dict]:
    """Sec. 5.2's 5.13% / 5.58% under each definition of the ratio, on the printed Table 4:
    ``holds`` when the values the definition can take, with every printed cell anywhere within
    its rounding, meet the printed number's own rounding interval."""
    search = ratio_search(published)
    return [
        _row(
            "relative_improvement",
            f"S5.2-relative/{r.versus}/{r.definition}",
            "Sec. 5.2 (Table 4)",
            f"relative improvement over {r.versus}_train: {r.text}",
            f"{r.printed:.2f}",
            r.on_printed_table,
            difference=r.residual,
            tolerance=rounding_half_width(f"{r.printed:.2f}"),
            verdict=_verdict(r.consistent),
            basis=f"within the printed cells' rounding: {r.range_low:.2f} to {r.range_high:.2f}",
        )
        for r in search.itertuples(index=False)
    ]


# --------------------------------------------------------------------------- the project

#: S4.2-classes prints the class counts in this order of the paper's corpora.
CLASS_COUNT_ORDER: tuple[str, ...] = ("MSP-IMPROV", "MSP-PODCAST", "BIIC-PODCAST", "IEMOCAP")
#: S4.7-training's numbers, in their printed order: config keys of the training section.
TRAINING_KEYS: tuple[str, ...] = ("lr", "batch_size", "epochs")


def _project_row(id_, source, what, printed, computed, basis, tolerance=0.0) -> dict:
    difference, ok = _close(printed, float(computed), tolerance)
    return _row(
        "project",
        id_,
        source,
        what,
        printed,
        float(computed),
        difference=difference,
        tolerance=tolerance,
        verdict=_verdict(ok),
        basis=basis,
    )


def _settings_rows(published: Mapping[str, Any], settings: Mapping[str, Any]) -> list[dict]:
    """Sec. 4.4 (beta), 4.5 (the interval's percentiles) and 4.7 (learning rate, batch size,
    epochs) against the run's config under the paper preset."""
    training, evaluation = settings["training"], settings["evaluation"]
    (beta,) = _numbers(published, "S4.4-beta")
    rows = [
        _project_row(
            "S4.4-beta",
            "Sec. 4.4",
            "class-balanced loss beta",
            beta,
            training["beta"] if not isinstance(training["beta"], str) else math.nan,
            f"training.beta = {training['beta']} (paper preset)",
        )
    ]
    low, high = _numbers(published, "S4.5-CI")
    alpha = float(evaluation["alpha"])
    for name, printed, computed in (("lower", low, alpha / 2), ("upper", high, 100 - alpha / 2)):
        rows.append(
            _project_row(
                f"S4.5-CI/{name}",
                "Sec. 4.5",
                f"{name} percentile of the confidence interval",
                printed,
                computed,
                f"evaluation.alpha = {alpha:g}: percentiles {alpha / 2:g} and {100 - alpha / 2:g}",
            )
        )
    for key, printed in zip(TRAINING_KEYS, _numbers(published, "S4.7-training"), strict=True):
        rows.append(
            _project_row(
                f"S4.7-training/{key}",
                "Sec. 4.7",
                f"training.{key}",
                printed,
                training[key],
                f"training.{key} = {training[key]} (optimizer {training['optimizer']})",
            )
        )
    return rows


def _model_rows(
    published: Mapping[str, Any],
    class_counts: Mapping[str, int],
    parameter_counts: Callable[[int], Mapping[str, int]],
) -> list[dict]:
    """Sec. 4.2 (class counts) against the format records, Sec. 4.6 (parameter count) against
    the model the project builds, for every class count of the paper's corpora."""
    rows = []
    for corpus, number in zip(CLASS_COUNT_ORDER, _numbers(published, "S4.2-classes"), strict=True):
        rows.append(
            _project_row(
                f"S4.2-classes/{corpus}",
                "Sec. 4.2",
                f"number of target emotions of {corpus}",
                number,
                class_counts[corpus],
                f"the {published['corpora'][corpus]} format record's classes",
            )
        )
    (millions,) = _numbers(published, "S4.6-params")
    sizes = sorted({int(class_counts[c]) for c in CLASS_COUNT_ORDER})
    counts = {n: parameter_counts(n) for n in sizes}
    for key, what in (
        ("pruned_plus_head", "the model the study fine-tunes: 12 of 24 layers kept, plus the head"),
        ("full_plus_head", "the full 24-layer backbone plus the head"),
    ):
        values = [counts[n][key] for n in sizes]
        rows.append(
            _project_row(
                f"S4.6-params/{key}",
                "Sec. 4.6",
                f"about {millions} million parameters: {what}",
                millions,
                round(values[0] / 1e6, 2),
                ", ".join(f"C = {n}: {v:,}" for n, v in zip(sizes, values, strict=True))
                + " (serrules.training.models.wav2vec2.parameter_counts); 'about': holds within "
                "1 million",
                tolerance=1.0,
            )
        )
    return rows


def project_rows(
    published: Mapping[str, Any],
    *,
    class_counts: Mapping[str, int],
    settings: Mapping[str, Any],
    parameter_counts: Callable[[int], Mapping[str, int]],
) -> list[dict]:
    """The text's numbers that the project checks: the class counts of the format records
    (``class_counts``: paper corpus -> number of classes), the parameter count of the model it
    builds (``parameter_counts(n_classes)``, as
    :func:`serrules.training.models.wav2vec2.parameter_counts`), and ``settings`` (the run's
    config resolved under the paper preset: its ``training`` and ``evaluation`` sections)."""
    return _model_rows(published, class_counts, parameter_counts) + _settings_rows(
        published, settings
    )


def paper_audit_frame(
    published: Mapping[str, Any],
    *,
    class_counts: Mapping[str, int],
    settings: Mapping[str, Any],
    parameter_counts: Callable[[int], Mapping[str, int]],
) -> pd.DataFrame:
    """Every check of the audit, one row each (columns :data:`AUDIT_COLUMNS`, checks in the
    order of :data:`CHECKS`)."""
    cells = printed_cells(published)
    rows = (
        average_column_rows(cells)
        + value_in_ci_rows(cells)
        + table3_average_rows(published)
        + bold_rows(cells)
        + statement_rows(published)
        + relative_improvement_rows(published)
        + qualitative_rows(cells)
        + project_rows(
            published,
            class_counts=class_counts,
            settings=settings,
            parameter_counts=parameter_counts,
        )
    )
    return pd.DataFrame(rows, columns=list(AUDIT_COLUMNS))


# --------------------------------------------------------------------------- writing


def _number_text(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, str):
        return value
    return f"{float(value):.4f}".rstrip("0").rstrip(".")


def audit_markdown(frame: pd.DataFrame, published: Mapping[str, Any]) -> str:
    """The audit as Markdown: a summary per check, the failing rows, then every row by check,
    and the statements that only a run can check."""
    shown = frame.assign(
        **{k: [_number_text(v) for v in frame[k]] for k in ("computed", "difference", "tolerance")}
    )
    summary = pd.DataFrame(
        [
            {
                "check": check,
                "what it verifies": text,
                "rows": int((frame["check"] == check).sum()),
                "holds": int(((frame["check"] == check) & (frame["verdict"] == "holds")).sum()),
                "fails": int(((frame["check"] == check) & (frame["verdict"] == "fails")).sum()),
            }
            for check, text in CHECKS.items()
        ]
    )
    detail = [c for c in AUDIT_COLUMNS if c != "check"]
    parts = [
        "# The paper against itself",
        "",
        "Each check uses the paper's printed numbers only (the package's paper_results.yaml) or "
        "the project (format records, the model it builds, the paper preset's settings); no run. "
        "Checks and tolerances: docs/paper_comparison.md.",
        "",
        to_markdown(summary),
        "## Failing checks",
        "",
    ]
    failing = shown[shown["verdict"] == "fails"]
    parts.append(to_markdown(failing[detail]) if len(failing) else "None.\n")
    for check, text in CHECKS.items():
        part = shown[shown["check"] == check]
        parts += [f"## {check}: {text}", "", to_markdown(part[detail])]
    run_only = [
        s["id"] for s in published["statements"] if "a run" in str(s.get("checked_against", ""))
    ]
    parts += [
        "## Checked on a run",
        "",
        "These numbers of the text describe the corpora; `vs_paper` sets them beside a run's "
        f"label tables: {', '.join(run_only)}.",
        "",
    ]
    return "\n".join(parts)


def write_paper_audit(
    *,
    csv: PathLike,
    md: PathLike,
    settings: Mapping[str, Any],
    published: PathLike | None = None,
) -> pd.DataFrame:
    """Write ``paper_audit`` as CSV (every row, full precision) and Markdown. ``settings``: the
    ``training``, ``evaluation`` and ``model`` sections of the run's config under the paper
    preset (``model`` gives ``keep_layers`` and ``head_hidden`` for the parameter count)."""
    from serrules.training.models.wav2vec2 import parameter_counts

    data = load_published(published)
    class_counts = {name: len(corpus_format(fmt).classes) for name, fmt in data["corpora"].items()}
    model = settings["model"]

    def counts(n_classes: int) -> Mapping[str, int]:
        return parameter_counts(
            n_classes, keep_layers=model["keep_layers"], head_hidden=model["head_hidden"]
        )

    frame = paper_audit_frame(
        data, class_counts=class_counts, settings=settings, parameter_counts=counts
    )
    make_parents(csv, md)
    frame.to_csv(csv, index=False)
    Path(md).write_text(audit_markdown(frame, data) + "\n" + markdown_provenance())
    return frame


__all__ = [
    "AUDIT_COLUMNS",
    "CHECKS",
    "CLASS_COUNT_ORDER",
    "audit_markdown",
    "average_column_rows",
    "bold_rows",
    "paper_audit_frame",
    "project_rows",
    "qualitative_rows",
    "relative_improvement_rows",
    "statement_rows",
    "table3_average_rows",
    "table3_printed",
    "value_in_ci_rows",
    "write_paper_audit",
]
