"""The pooled test predictions of every train rule of one corpus with its three test sets: the
input of the per-class, confusion and calibration views (same pooling and test sets as
:func:`~serrules.evaluation.corpus_metrics.evaluate_corpus`).

Predictions are pooled only when every fold file of the corpus (all train rules) comes from the
same code and settings (:func:`fold_origin`): a fold retrained after a code change while another
was not is refused, naming the files, never averaged."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from serrules.base.classes import RULES, prefixed
from serrules.base.errors import PredictionError
from serrules.base.files import PathLike
from serrules.base.provenance import check_same_origin, read_provenance
from serrules.base.tables import read_table
from serrules.corpora.formats import FormatSpec, corpus_format
from serrules.evaluation.pooling import (
    TestSet,
    build_test_sets,
    expected_test_utterances,
    pool_predictions,
)


@dataclass
class PooledCorpus:
    """Pooled probabilities (train rule -> n x C, rows in pooled order), the test sets and what
    the predictions come from (``origin``: the ``rule``, ``code`` and ``settings`` of their
    provenance, :func:`fold_origin`)."""

    corpus: str
    classes: tuple[str, ...]
    pooled: dict[str, np.ndarray]
    test_sets: dict[str, TestSet]
    origin: dict[str, Any] | None = None

    @property
    def train_rules(self) -> list[str]:
        return list(self.pooled)


def ordered_rules(names: Sequence[str], what: str) -> list[str]:
    """``names`` in :data:`RULES` order; an unknown rule name is an error."""
    unknown = sorted(set(names) - set(RULES))
    if unknown:
        raise ValueError(f"unknown {what} rule(s) {unknown}; known: {', '.join(RULES)}")
    return [rule for rule in RULES if rule in names]


def read_test_sets(
    pooled_ids: pd.Index,
    labels_paths: Mapping[str, Path],
    utterances_path: Path,
    classes: Sequence[str],
) -> dict[str, TestSet]:
    """:func:`~serrules.evaluation.pooling.build_test_sets` on the label-stage files (test rule
    -> ``labels_<rule>.parquet``, ``utterances.parquet``), in :data:`RULES` order."""
    test_rules = ordered_rules(list(labels_paths), "test")
    t_cols = prefixed("t_", tuple(classes))
    utterance_cols = ("speaker", *prefixed("votes_", tuple(classes)))
    return build_test_sets(
        pooled_ids,
        {
            rule: read_table(
                labels_paths[rule], "labels", columns=t_cols, error=PredictionError, check=False
            )
            for rule in test_rules
        },
        read_table(
            utterances_path,
            "utterances",
            columns=utterance_cols,
            error=PredictionError,
            check=False,
        ),
        classes,
        label_sources={rule: str(labels_paths[rule]) for rule in test_rules},
        utterances_source=str(utterances_path),
    )


def fold_origin(predictions: Mapping[str, Sequence[PathLike]], label: str) -> dict[str, Any]:
    """The ``rule``, ``code`` and ``settings`` that every fold prediction file (train rule ->
    paths) was written with, read from their provenance; a :class:`ProvenanceError` naming each
    group of files when they differ (``label`` starts the message, e.g. the corpus)."""
    records = {
        f"{rule}_train {Path(path)}": read_provenance(path)
        for rule in predictions
        for path in predictions[rule]
    }
    check_same_origin(records, f"{label}: the fold predictions")
    first = next(iter(records.values()), None) or {}
    return {key: first.get(key) for key in ("rule", "code", "settings")}


def pool_fold_predictions(
    predictions: Mapping[str, Sequence[PathLike]],
    classes: Sequence[str],
    folds_path: PathLike,
    audio_index: pd.DataFrame,
    *,
    audio_source: str,
    label: str,
) -> tuple[pd.Index, dict[str, np.ndarray], dict[str, Any]]:
    """The pooled test utterance ids of a fold table, each train rule's pooled probabilities
    (n x C, rows in that order) and what they come from, with every check of
    :mod:`serrules.evaluation.pooling` and then the check that all files come from the same code
    and settings (:func:`fold_origin`)."""
    folds = read_table(folds_path, "folds", error=PredictionError, check=False)
    expected = expected_test_utterances(
        folds, audio_index, folds_source=str(folds_path), audio_source=audio_source
    )
    pooled = {
        rule: pool_predictions(
            [Path(p) for p in predictions[rule]],
            classes,
            expected,
            folds,
            label=f"{label} {rule}_train",
        ).to_numpy()
        for rule in ordered_rules(list(predictions), "train")
    }
    return expected.index, pooled, fold_origin(predictions, label)


@dataclass(frozen=True)
class CorpusFiles:
    """The files one corpus's evaluation reads: the label-stage tables (``labels``: test rule ->
    ``labels_<rule>.parquet``), the fold table the models were trained on, the audio index and
    each train rule's per-fold ``predictions.parquet`` files."""

    corpus: str
    fmt: FormatSpec
    utterances: Path
    labels: Mapping[str, Path]
    folds: Path
    audio_index: Path
    predictions: Mapping[str, Sequence[Path]]

    @classmethod
    def from_job(cls, job) -> CorpusFiles:
        """From the ``snakemake`` object of an evaluation rule's script: ``wildcards.corpus``,
        ``params.fmt``, ``params.rules`` and the inputs ``utterances``, ``labels_<rule>``,
        ``folds``, ``audio_index`` and ``<rule>`` (that train rule's fold predictions), as
        ``evaluation_label_tables`` and ``fold_predictions`` of workflow/rules/common.smk name
        them."""
        rules = list(job.params.rules)
        return cls(
            corpus=job.wildcards.corpus,
            fmt=job.params.fmt,
            utterances=Path(job.input.utterances),
            labels={rule: Path(job.input[f"labels_{rule}"]) for rule in rules},
            folds=Path(job.input.folds),
            audio_index=Path(job.input.audio_index),
            predictions={rule: [Path(p) for p in job.input[rule]] for rule in rules},
        )


def load_pooled_corpus(files: CorpusFiles) -> PooledCorpus:
    """Pool each train rule's per-fold predictions and build MR_test, PR_test and AR_test
    (every check of :mod:`serrules.evaluation.pooling` applies)."""
    classes = corpus_format(files.fmt).classes
    audio_index = read_table(
        files.audio_index, "audio_index", columns=("status",), error=PredictionError, check=False
    )
    pooled_ids, pooled, origin = pool_fold_predictions(
        files.predictions,
        classes,
        files.folds,
        audio_index,
        audio_source=str(files.audio_index),
        label=files.corpus,
    )
    test_sets = read_test_sets(pooled_ids, files.labels, files.utterances, classes)
    return PooledCorpus(files.corpus, classes, pooled, test_sets, origin)


def system_files(corpus: str, fmt: FormatSpec, named: Mapping[str, Any]) -> dict[str, CorpusFiles]:
    """One corpus's files per system of a paired comparison, from the tree the workflow lays out
    (``comparison_files`` and ``backbone_files`` of workflow/rules/common.smk): the shared
    label-stage tables ``utterances``, ``audio_index`` and ``labels`` (test rule -> path), and per
    system (a protocol or a backbone) its ``folds`` table and fold ``predictions`` (system ->
    train rule -> paths)."""
    return {
        system: CorpusFiles(
            corpus=corpus,
            fmt=fmt,
            utterances=Path(named["utterances"]),
            labels={rule: Path(path) for rule, path in named["labels"].items()},
            folds=Path(named["folds"][system]),
            audio_index=Path(named["audio_index"]),
            predictions={rule: [Path(x) for x in paths] for rule, paths in by_rule.items()},
        )
        for system, by_rule in named["predictions"].items()
    }


def pool_systems(
    files: Mapping[str, CorpusFiles],
) -> tuple[pd.Index, dict[str, dict[str, np.ndarray]]]:
    """Several systems of one corpus (``files[name]``: a protocol's or a backbone's files) pooled
    for a paired comparison: each system's predictions per train rule pooled on its own fold
    table, and the pooled test utterance ids they share. The label stage is shared, so the
    audio index is read once, from the first system's files. Two systems that pool different
    test utterances are a :class:`PredictionError` naming their fold tables."""
    first = next(iter(files.values()))
    classes = corpus_format(first.fmt).classes
    audio_index = read_table(
        first.audio_index, "audio_index", columns=("status",), error=PredictionError, check=False
    )
    pooled, expected_ids = {}, None
    for name, system in files.items():
        ids, pooled[name], _ = pool_fold_predictions(
            system.predictions,
            classes,
            system.folds,
            audio_index,
            audio_source=str(first.audio_index),
            label=f"{first.corpus} {name}",
        )
        if expected_ids is not None and not ids.equals(expected_ids):
            folds = {n: str(f.folds) for n, f in files.items()}
            raise PredictionError(
                f"{first.corpus}: the fold tables {folds} of {', '.join(files)} pool different "
                "test utterances; their predictions cannot be compared on one test set"
            )
        expected_ids = ids
    return expected_ids, pooled


__all__ = [
    "CorpusFiles",
    "PathLike",
    "PooledCorpus",
    "fold_origin",
    "load_pooled_corpus",
    "ordered_rules",
    "pool_fold_predictions",
    "pool_systems",
    "read_test_sets",
    "system_files",
]
