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

from serrules.classes import RULES, classes_for
from serrules.evaluation.corpus_metrics import read_test_sets
from serrules.evaluation.pooling import TestSet, expected_test_utterances, pool_predictions

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
    classes = classes_for(fmt)
    folds = pd.read_parquet(folds_path)
    expected = expected_test_utterances(
        folds,
        pd.read_parquet(audio_index_path),
        folds_source=str(folds_path),
        audio_source=str(audio_index_path),
    )
    pooled = {
        rule: pool_predictions(
            [Path(p) for p in predictions[rule]],
            classes,
            expected,
            folds,
            label=f"{corpus} {rule}_train",
        ).to_numpy()
        for rule in RULES
        if rule in predictions
    }
    test_sets = read_test_sets(
        expected.index,
        {rule: Path(path) for rule, path in labels_paths.items()},
        Path(utterances_path),
        classes,
    )
    return PooledCorpus(corpus, classes, pooled, test_sets)
