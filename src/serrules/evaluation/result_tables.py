"""The evaluation stage's result tables: ``metrics.parquet`` per corpus (:func:`evaluate_corpus`)
and the study's Tables 4-6 over all corpora (:func:`write_result_tables`)."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from serrules.classes import RULES, classes_for
from serrules.evaluation.bootstrap import (
    DEFAULT_CHUNK_BYTES,
    bootstrap_metrics,
    p_value_resolution,
    paired_p_value,
    percentile_interval,
)
from serrules.evaluation.metrics import EPSILON, METRICS, SystemScores
from serrules.evaluation.pooling import (
    PredictionError,
    build_test_sets,
    expected_test_utterances,
    pool_predictions,
)
from serrules.table_writers import write_table

#: Bootstrap units: resample utterances, or speakers then utterances within each speaker.
UNITS: tuple[str, ...] = ("utterance", "speaker")

#: Key of the run settings stored in the Parquet schema metadata of ``metrics.parquet``.
METADATA_KEY = b"serrules.evaluation"

METRICS_COLUMNS: tuple[str, ...] = (
    "corpus",
    "train_rule",
    "test_rule",
    "metric",
    "value",
    "low",
    "high",
    "n_utterances",
    "p_value_vs_AR",
)

REFERENCE_RULE = "AR"

log = logging.getLogger(__name__)


def _rules(names: Sequence[str], what: str) -> list[str]:
    unknown = sorted(set(names) - set(RULES))
    if unknown:
        raise ValueError(f"unknown {what} rule(s) {unknown}; known: {', '.join(RULES)}")
    return [rule for rule in RULES if rule in names]


def evaluate_corpus(
    *,
    corpus: str,
    fmt: str,
    utterances_path: Path,
    labels_paths: Mapping[str, Path],
    folds_path: Path,
    audio_index_path: Path,
    predictions: Mapping[str, Sequence[Path]],
    n_bootstrap: int = 1000,
    alpha: float = 5.0,
    unit: str = "utterance",
    epsilon: float = EPSILON,
    out_path: Path,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> pd.DataFrame:
    """Pool every train rule's per-fold predictions, score them on every test rule with
    macro-F1 / KLD / JSD, bootstrap confidence intervals and paired p-values against AR_train,
    and write ``metrics.parquet`` (columns :data:`METRICS_COLUMNS`; the run settings go to the
    Parquet schema metadata under :data:`METADATA_KEY`). Returns the metrics frame.

    ``labels_paths``: test rule -> ``labels_<rule>.parquet``; ``predictions``: train rule -> its
    per-fold ``predictions.parquet`` files (fold number read from each file and checked).
    ``unit="speaker"`` resamples speakers, then utterances within each chosen speaker.
    """
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {UNITS}, got {unit!r}")
    classes = classes_for(fmt)
    train_rules = _rules(list(predictions), "train")
    test_rules = _rules(list(labels_paths), "test")
    if not train_rules or not test_rules:
        raise ValueError("need at least one train rule (predictions) and one test rule (labels)")

    folds = pd.read_parquet(folds_path)
    expected = expected_test_utterances(
        folds,
        pd.read_parquet(audio_index_path),
        folds_source=str(folds_path),
        audio_source=str(audio_index_path),
    )
    pooled = {
        rule: pool_predictions(
            predictions[rule], classes, expected, folds, label=f"{corpus} {rule}_train"
        ).to_numpy()
        for rule in train_rules
    }
    log.info(
        "%s: pooled %d test utterances (%d folds) for train rules %s",
        corpus,
        len(expected),
        expected.nunique(),
        ", ".join(train_rules),
    )
    test_sets = build_test_sets(
        expected.index,
        {rule: pd.read_parquet(labels_paths[rule]) for rule in test_rules},
        pd.read_parquet(utterances_path),
        classes,
        label_sources={rule: str(labels_paths[rule]) for rule in test_rules},
        utterances_source=str(utterances_path),
    )

    rows = []
    for test_rule in test_rules:
        test = test_sets[test_rule]
        if test.size == 0:
            raise PredictionError(
                f"{labels_paths[test_rule]}: no pooled utterance is kept by {test_rule}"
            )
        conditions = None
        if unit == "speaker":
            missing = pd.isna(test.speakers)
            if missing.any():
                raise PredictionError(
                    f"{utterances_path}: {missing.sum()} test utterances have no speaker, "
                    f"needed for unit='speaker' (first: {test.utterance_ids[missing][:5]})"
                )
            conditions = test.speakers.astype(str)
        systems = {
            rule: SystemScores.from_probabilities(
                pooled[rule][test.positions], test.target, epsilon
            )
            for rule in train_rules
        }
        log.info(
            "%s %s_test: %d utterances, %d resamples over %ss",
            corpus,
            test_rule,
            test.size,
            n_bootstrap,
            unit,
        )
        resampled = bootstrap_metrics(
            test.truth,
            systems,
            n_bootstrap=n_bootstrap,
            conditions=conditions,
            chunk_bytes=chunk_bytes,
        )
        for train_rule in train_rules:
            point = systems[train_rule].point_metrics(test.truth)
            for metric in METRICS:
                low, high = percentile_interval(resampled[train_rule][metric], alpha)
                p_value = math.nan
                if train_rule != REFERENCE_RULE and REFERENCE_RULE in resampled:
                    p_value = paired_p_value(
                        resampled[train_rule][metric], resampled[REFERENCE_RULE][metric]
                    )
                rows.append(
                    (corpus, train_rule, test_rule, metric, point[metric], low, high,
                     test.size, p_value)
                )  # fmt: skip
    frame = pd.DataFrame(rows, columns=list(METRICS_COLUMNS))
    rank = {name: i for i, name in enumerate((*RULES, *METRICS))}
    frame = frame.sort_values(
        ["train_rule", "test_rule", "metric"], key=lambda col: col.map(rank), kind="stable"
    ).reset_index(drop=True)
    frame["n_utterances"] = frame["n_utterances"].astype("int64")
    settings = {
        "n_bootstrap": int(n_bootstrap),
        "alpha": float(alpha),
        "unit": unit,
        "epsilon": float(epsilon),
    }
    write_metrics(frame, Path(out_path), settings)
    log.info("%s: wrote %d metric rows to %s", corpus, len(frame), out_path)
    return frame


def write_metrics(frame: pd.DataFrame, path: Path, settings: dict) -> None:
    """Write a metrics frame to Parquet with the run ``settings`` as JSON schema metadata."""
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    metadata = dict(table.schema.metadata or {})
    metadata[METADATA_KEY] = json.dumps(settings).encode()
    pq.write_table(table.replace_schema_metadata(metadata), path)


def read_metrics(path: Path) -> tuple[pd.DataFrame, dict]:
    """A ``metrics.parquet`` and its run settings (``n_bootstrap``, ``alpha``, ``unit``,
    ``epsilon``; empty when the file carries none)."""
    path = Path(path)
    frame = pd.read_parquet(path)
    missing = [c for c in METRICS_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)}")
    raw = (pq.read_schema(path).metadata or {}).get(METADATA_KEY)
    return frame, (json.loads(raw) if raw else {})


# ---------------------------------------------------------------- Tables 4-6


@dataclass(frozen=True)
class TableSpec:
    """How one metric is laid out as a study table."""

    stem: str
    metric: str
    title: str
    scale: float
    decimals: int
    higher_is_better: bool


TABLE_SPECS: tuple[TableSpec, ...] = (
    TableSpec("table4", "macro_f1", "Macro-F1 (%)", 100.0, 2, True),
    TableSpec("table5", "kld", "KLD", 1.0, 3, False),
    TableSpec("table6", "jsd", "JSD", 1.0, 3, False),
)

TEST_COLUMNS: tuple[str, ...] = tuple(f"{rule}_test" for rule in RULES)
AVERAGE = "Average"


def format_p_value(p_value: float, n_bootstrap: int | None) -> str:
    """``p=0.046``; a zero bootstrap estimate as ``p<2/B`` (``p<0.002`` for 1000 resamples), or
    ``p=0`` when the number of resamples is unknown; empty for a missing value."""
    if p_value is None or pd.isna(p_value):
        return ""
    if p_value == 0:
        return f"p<{p_value_resolution(n_bootstrap):g}" if n_bootstrap else "p=0"
    return f"p={p_value:.3f}"


def format_cell(value: float, low: float, high: float, decimals: int, p_text: str = "") -> str:
    """``value (low, high)`` with ``decimals`` decimals, then the p-value text if any."""
    text = f"{value:.{decimals}f} ({low:.{decimals}f}, {high:.{decimals}f})"
    return f"{text} {p_text}" if p_text else text


def _numbers(frame: pd.DataFrame, spec: TableSpec) -> pd.DataFrame:
    """Long frame: one row per (corpus, train rule, column) incl. the Average column."""
    part = frame.loc[frame["metric"] == spec.metric].copy()
    part["column"] = part["test_rule"] + "_test"
    keep = ["corpus", "train_rule", "column", "value", "low", "high", "p_value_vs_AR"]
    long = part[keep + ["n_utterances"]]
    averages = []
    for (corpus, train_rule), group in long.groupby(["corpus", "train_rule"], sort=False):
        if set(group["column"]) >= set(TEST_COLUMNS):
            cells = group.set_index("column").loc[list(TEST_COLUMNS)]
            averages.append(
                {
                    "corpus": corpus,
                    "train_rule": train_rule,
                    "column": AVERAGE,
                    "value": cells["value"].mean(),
                    "low": cells["low"].mean(),
                    "high": cells["high"].mean(),
                    "p_value_vs_AR": math.nan,
                    "n_utterances": pd.NA,
                }
            )
    out = pd.concat([pd.DataFrame(averages), long], ignore_index=True) if averages else long
    out.insert(3, "metric", spec.metric)
    return out


def build_result_table(
    frame: pd.DataFrame, spec: TableSpec, n_bootstrap: Mapping[str, int | None]
) -> tuple[pd.DataFrame, list[tuple[int, str]], pd.DataFrame]:
    """Display frame (Corpus, Train, Average, MR_test, PR_test, AR_test), bold cells (best per
    corpus and column on the displayed, rounded values; ties all bold) and the long CSV frame."""
    numbers = _numbers(frame, spec)
    corpora = list(dict.fromkeys(frame["corpus"]))
    columns = [AVERAGE, *TEST_COLUMNS]
    display_rows, rounded_rows = [], []
    csv_rows = []
    for corpus in corpora:
        for train_rule in RULES:
            cells = numbers[(numbers["corpus"] == corpus) & (numbers["train_rule"] == train_rule)]
            if cells.empty:
                continue
            cells = cells.set_index("column")
            row: dict[str, object] = {"Corpus": corpus, "Train": f"{train_rule}_train"}
            rounded: dict[str, float] = {}
            for column in columns:
                if column not in cells.index:
                    row[column] = ""
                    continue
                cell = cells.loc[column]
                value, low, high = (spec.scale * cell[k] for k in ("value", "low", "high"))
                p_text = format_p_value(cell["p_value_vs_AR"], n_bootstrap.get(corpus))
                row[column] = format_cell(value, low, high, spec.decimals, p_text)
                rounded[column] = round(value, spec.decimals)
                csv_rows.append(cells.loc[[column]].reset_index())
            display_rows.append(row)
            rounded_rows.append((corpus, rounded))
    bold = []
    for corpus in corpora:
        positions = [i for i, (c, _) in enumerate(rounded_rows) if c == corpus]
        for column in columns:
            scored = {
                i: rounded_rows[i][1][column] for i in positions if column in rounded_rows[i][1]
            }
            if not scored:
                continue
            best = max(scored.values()) if spec.higher_is_better else min(scored.values())
            bold += [(i, column) for i, v in scored.items() if v == best]
    display = pd.DataFrame(display_rows, columns=["Corpus", "Train", *columns])
    csv = (
        pd.concat(csv_rows, ignore_index=True)[
            [
                "corpus",
                "train_rule",
                "column",
                "metric",
                "value",
                "low",
                "high",
                "p_value_vs_AR",
                "n_utterances",
            ]
        ]  # fmt: skip
        if csv_rows
        else pd.DataFrame()
    )
    return display, bold, csv


def _caption(spec: TableSpec, settings: list[dict]) -> str:
    n_boot = {s.get("n_bootstrap") for s in settings}
    alphas = {s.get("alpha") for s in settings}
    units = {s.get("unit") for s in settings}
    n_text = f"{n_boot.pop()} resamples" if len(n_boot) == 1 and None not in n_boot else "resamples"
    level = f"{100 - alphas.pop():g}% " if len(alphas) == 1 and None not in alphas else ""
    unit_text = (
        {"utterance": " over utterances", "speaker": " over speakers, then utterances"}.get(
            next(iter(units)), ""
        )
        if len(units) == 1
        else ""
    )
    best = "highest" if spec.higher_is_better else "lowest"
    return (
        f"{spec.title} of each train rule (rows) on each test rule (columns), predictions "
        f"pooled over folds, with {level}bootstrap confidence intervals ({n_text}{unit_text}). "
        "Average: mean of the three test columns, its bounds the mean of their bounds. "
        "p: two-sided paired bootstrap p-value against AR_train on the same resamples and test "
        "set (p<2/B: no resample crossed zero). "
        f"Bold: best ({best}) per corpus and column."
    )


def write_result_tables(metrics_paths: list[Path], out_dir: Path) -> None:
    """Write Tables 4 (macro-F1), 5 (KLD) and 6 (JSD) as ``table{4,5,6}.{csv,md,tex}`` in
    ``out_dir`` from the corpora's ``metrics.parquet`` files (corpus order = file order)."""
    if not metrics_paths:
        raise ValueError("no metrics files given")
    frames, settings, n_bootstrap = [], [], {}
    for path in metrics_paths:
        frame, meta = read_metrics(path)
        frames.append(frame)
        settings.append(meta)
        for corpus in frame["corpus"].unique():
            n_bootstrap[corpus] = meta.get("n_bootstrap")
    frame = pd.concat(frames, ignore_index=True)
    dup = frame.duplicated(["corpus", "train_rule", "test_rule", "metric"])
    if dup.any():
        first = frame.loc[dup].iloc[0]
        raise ValueError(
            f"metrics rows repeated across files, e.g. {first['corpus']} {first['train_rule']} "
            f"{first['test_rule']} {first['metric']}"
        )
    out_dir = Path(out_dir)
    for spec in TABLE_SPECS:
        display, bold, csv = build_result_table(frame, spec, n_bootstrap)
        write_table(
            display,
            out_dir / spec.stem,
            caption=_caption(spec, settings),
            label=f"tab:{spec.metric}",
            bold=bold,
            csv_frame=csv,
        )
