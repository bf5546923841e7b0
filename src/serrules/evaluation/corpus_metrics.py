"""One corpus's evaluation: pooled predictions of every train rule scored under every test rule,
with bootstrap intervals and paired p-values, written to ``metrics.parquet``
(:func:`evaluate_corpus`, :func:`write_metrics`, :func:`read_metrics`). The settings stored with
the metrics name the code and settings of the fold predictions they score (``predictions``), so
that the tables over several corpora combine only metrics of one origin
(:func:`read_metrics_tables`)."""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from serrules.base.classes import RULES
from serrules.base.provenance import check_same_origin, read_provenance
from serrules.base.tables import contract, read_table, write_parquet
from serrules.evaluation.bootstrap import (
    BootstrapSettings,
    paired_p_value,
    percentile_interval,
)
from serrules.evaluation.metrics import METRICS, SystemScores
from serrules.evaluation.pooled_corpus import CorpusFiles, load_pooled_corpus, ordered_rules
from serrules.evaluation.pooling import PredictionError, TestSet, with_divergence_target

#: Key of the run settings stored in the Parquet schema metadata of ``metrics.parquet``.
METADATA_KEY = b"serrules.evaluation"

#: Columns of ``metrics.parquet`` (its contract in :mod:`serrules.base.tables`).
METRICS_COLUMNS: tuple[str, ...] = tuple(contract("metrics").column_names())

REFERENCE_RULE = "AR"

log = logging.getLogger(__name__)


def evaluate_corpus(
    files: CorpusFiles,
    *,
    bootstrap: BootstrapSettings,
    out_path: Path,
    divergence_target: str = "votes",
    label_smoothing: float = 0.0,
    protocol: Mapping | None = None,
) -> pd.DataFrame:
    """Pool every train rule's per-fold predictions, score them on every test rule with
    macro-F1 / KLD / JSD, bootstrap confidence intervals and paired p-values against AR_train,
    and write ``metrics.parquet`` (columns :data:`METRICS_COLUMNS`; the run settings go to the
    Parquet schema metadata under :data:`METADATA_KEY`). Returns the metrics frame.

    ``files.labels``: test rule -> ``labels_<rule>.parquet``; ``files.predictions``: train rule
    -> its per-fold ``predictions.parquet`` files (fold number read from each file and checked).
    ``bootstrap``: resamples, interval level, unit (``speaker`` resamples speakers, then
    utterances within each chosen speaker), divergence floor. ``divergence_target`` /
    ``label_smoothing``: KLD/JSD target on MR_test/PR_test
    (:func:`~serrules.evaluation.pooling.with_divergence_target`); ``protocol`` (the record of
    :func:`serrules.base.protocols.protocol_record`) is stored with the settings, and so is
    what the fold predictions come from (``predictions``: their rule, code and settings digests,
    :func:`~serrules.evaluation.pooled_corpus.fold_origin`).
    """
    corpus = files.corpus
    train_rules = ordered_rules(list(files.predictions), "train")
    test_rules = ordered_rules(list(files.labels), "test")
    if not train_rules or not test_rules:
        raise ValueError("need at least one train rule (predictions) and one test rule (labels)")

    data = load_pooled_corpus(files)
    pooled = data.pooled
    log.info(
        "%s: pooled %d test utterances for train rules %s",
        corpus,
        len(next(iter(pooled.values()))),
        ", ".join(train_rules),
    )
    test_sets = with_divergence_target(data.test_sets, divergence_target, label_smoothing)
    rows = [
        (corpus, *row)
        for row in score_test_sets(
            test_sets,
            pooled,
            reference=REFERENCE_RULE,
            bootstrap=bootstrap,
            label=corpus,
            labels_sources={rule: str(files.labels[rule]) for rule in test_rules},
            utterances_source=str(files.utterances),
        )
    ]
    frame = pd.DataFrame(rows, columns=list(METRICS_COLUMNS))
    rank = {name: i for i, name in enumerate((*RULES, *METRICS))}
    frame = frame.sort_values(
        ["train_rule", "test_rule", "metric"], key=lambda col: col.map(rank), kind="stable"
    ).reset_index(drop=True)
    frame["n_utterances"] = frame["n_utterances"].astype("int64")
    settings = {
        **bootstrap.record(),
        "divergence_target": divergence_target,
        "label_smoothing": float(label_smoothing),
    }
    if protocol is not None:
        settings["protocol"] = dict(protocol)
    settings["predictions"] = data.origin
    write_metrics(frame, Path(out_path), settings)
    log.info("%s: wrote %d metric rows to %s", corpus, len(frame), out_path)
    return frame


def score_test_sets(
    test_sets: Mapping[str, TestSet],
    pooled: Mapping[str, np.ndarray],
    *,
    reference: str | None,
    bootstrap: BootstrapSettings,
    label: str = "",
    labels_sources: Mapping[str, str] | None = None,
    utterances_source: str = "utterances.parquet",
) -> list[tuple]:
    """Score every system (``pooled``: name -> probabilities, rows in pooled order) on every
    test set: point value, bootstrap interval and, for every system but ``reference``, the
    paired bootstrap p-value against ``reference`` (NaN when there is none). All systems share
    the resamples of a test set. Returns rows ``(system, test_rule, metric, value, low, high,
    n_utterances, p_value)`` in test-set, system, metric order.

    This is the scoring of :func:`evaluate_corpus` (systems = train rules, reference =
    AR_train) and of ``serrules score`` (systems = outside prediction files).
    """
    labels_sources = dict(labels_sources or {})
    rows = []
    for test_rule, test in test_sets.items():
        if test.size == 0:
            source = labels_sources.get(test_rule, f"labels_{test_rule}.parquet")
            raise PredictionError(f"{source}: no pooled utterance is kept by {test_rule}")
        conditions = None
        if bootstrap.unit == "speaker":
            missing = pd.isna(test.speakers)
            if missing.any():
                raise PredictionError(
                    f"{utterances_source}: {missing.sum()} test utterances have no speaker, "
                    f"needed for unit='speaker' (first: {test.utterance_ids[missing][:5]})"
                )
            conditions = test.speakers.astype(str)
        systems = {
            name: SystemScores.from_probabilities(
                probs[test.positions], test.target, bootstrap.epsilon
            )
            for name, probs in pooled.items()
        }
        log.info(
            "%s %s_test: %d utterances, %d resamples over %ss",
            label,
            test_rule,
            test.size,
            bootstrap.n_bootstrap,
            bootstrap.unit,
        )
        resampled = bootstrap.resample(test.truth, systems, conditions)
        for name in systems:
            point = systems[name].point_metrics(test.truth)
            for metric in METRICS:
                low, high = percentile_interval(resampled[name][metric], bootstrap.alpha)
                p_value = math.nan
                if reference is not None and name != reference and reference in resampled:
                    p_value = paired_p_value(resampled[name][metric], resampled[reference][metric])
                rows.append((name, test_rule, metric, point[metric], low, high, test.size, p_value))
    return rows


def write_metrics(frame: pd.DataFrame, path: Path, settings: dict) -> None:
    """Write a metrics frame to Parquet with the run ``settings`` as JSON schema metadata."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_parquet(frame, path, metadata={METADATA_KEY: json.dumps(settings).encode()})


def read_metrics(path: Path) -> tuple[pd.DataFrame, dict]:
    """A ``metrics.parquet`` and its run settings (``n_bootstrap``, ``alpha``, ``unit``,
    ``epsilon``; empty when the file carries none)."""
    path = Path(path)
    frame = read_table(path, "metrics")
    raw = (pq.read_schema(path).metadata or {}).get(METADATA_KEY)
    return frame, (json.loads(raw) if raw else {})


def read_metrics_tables(paths: Sequence[str | os.PathLike[str]]) -> list[tuple[pd.DataFrame, dict]]:
    """:func:`read_metrics` of several ``metrics.parquet`` files that are to be combined (the
    corpora of Tables 4-6), after checking that they come from the same evaluation code and
    settings and score fold predictions of the same training code and settings; otherwise a
    :class:`~serrules.base.errors.ProvenanceError` naming the files of each origin."""
    tables = [read_metrics(Path(p)) for p in paths]
    check_same_origin({str(p): read_provenance(p) for p in paths}, "the metrics tables")
    scored = {str(p): meta.get("predictions") for p, (_, meta) in zip(paths, tables, strict=True)}
    check_same_origin(scored, "the fold predictions scored in the metrics tables")
    return tables


__all__ = [
    "METADATA_KEY",
    "METRICS_COLUMNS",
    "REFERENCE_RULE",
    "evaluate_corpus",
    "read_metrics",
    "read_metrics_tables",
    "score_test_sets",
    "write_metrics",
]
