"""The pooled test predictions of every train rule of one corpus with its three test sets: the
input of the per-class, confusion and calibration views (same pooling and test sets as
:func:`~serrules.evaluation.corpus_metrics.evaluate_corpus`)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from serrules.base.classes import RULES
from serrules.corpora.formats import corpus_format
from serrules.evaluation.pooling import (
    TestSet,
    build_test_sets,
    expected_test_utterances,
    pool_predictions,
)

PathLike = str | os.PathLike[str]


@dataclass
class PooledCorpus:
    """Pooled probabilities (train rule -> n x C, rows in pooled order) and the test sets."""

    corpus: str
    classes: tuple[str, ...]
    pooled: dict[str, np.ndarray]
    test_sets: dict[str, TestSet]

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
    return build_test_sets(
        pooled_ids,
        {rule: pd.read_parquet(labels_paths[rule]) for rule in test_rules},
        pd.read_parquet(utterances_path),
        classes,
        label_sources={rule: str(labels_paths[rule]) for rule in test_rules},
        utterances_source=str(utterances_path),
    )


def pool_fold_predictions(
    predictions: Mapping[str, Sequence[PathLike]],
    classes: Sequence[str],
    folds_path: PathLike,
    audio_index: pd.DataFrame,
    *,
    audio_source: str,
    label: str,
) -> tuple[pd.Index, dict[str, np.ndarray]]:
    """The pooled test utterance ids of a fold table and each train rule's pooled probabilities
    (n x C, rows in that order), with every check of :mod:`serrules.evaluation.pooling`."""
    folds = pd.read_parquet(folds_path)
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
    return expected.index, pooled


def load_pooled_corpus(
    *,
    corpus: str,
    fmt: str,
    utterances_path: PathLike,
    labels_paths: Mapping[str, PathLike],
    folds_path: PathLike,
    audio_index_path: PathLike,
    predictions: Mapping[str, Sequence[PathLike]],
) -> PooledCorpus:
    """Pool each train rule's per-fold predictions and build MR_test, PR_test and AR_test
    (every check of :mod:`serrules.evaluation.pooling` applies)."""
    classes = corpus_format(fmt).classes
    pooled_ids, pooled = pool_fold_predictions(
        predictions,
        classes,
        folds_path,
        pd.read_parquet(audio_index_path),
        audio_source=str(audio_index_path),
        label=corpus,
    )
    test_sets = read_test_sets(
        pooled_ids,
        {rule: Path(path) for rule, path in labels_paths.items()},
        Path(utterances_path),
        classes,
    )
    return PooledCorpus(corpus, classes, pooled, test_sets)
