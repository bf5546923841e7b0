"""The backbone leaderboard (rule ``backbone_comparison``; :mod:`serrules.reporting.backbones`
writes ``results/tables/backbones.{md,csv}``).

Every backbone's pooled fold predictions of a corpus are scored on the same test sets and the
same bootstrap resamples (one :func:`~serrules.evaluation.bootstrap.bootstrap_metrics` call per
cell, as Tables 4-6 and ``protocol_comparison``): per corpus, train rule, test rule, metric and
backbone the value, its percentile interval, and the difference from the reference backbone (the
paper's wav2vec2-large-robust-12 by default) with a two-sided paired bootstrap p-value.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from serrules.base.classes import RULES
from serrules.base.tables import load_table
from serrules.corpora.formats import corpus_format
from serrules.evaluation.bootstrap import bootstrap_metrics, paired_p_value, percentile_interval
from serrules.evaluation.metrics import METRICS, SystemScores
from serrules.evaluation.pooled_corpus import pool_fold_predictions, read_test_sets
from serrules.evaluation.pooling import PredictionError, with_divergence_target

log = logging.getLogger(__name__)

BACKBONE_COLUMNS: tuple[str, ...] = (
    "corpus",
    "train_rule",
    "test_rule",
    "metric",
    "backbone",
    "value",
    "low",
    "high",
    "reference",
    "difference",
    "p_value",
    "n_utterances",
)


def _pooled(corpus, fmt, predictions, files) -> tuple[pd.Index, dict[str, dict]]:
    """Each backbone's pooled test probabilities per train rule; one set of test utterances."""
    classes = corpus_format(fmt).classes
    audio_index = load_table(
        files["audio_index"], "audio_index", columns=("status",), error=PredictionError
    )
    pooled, expected = {}, None
    for backbone, by_rule in predictions.items():
        ids, pooled[backbone] = pool_fold_predictions(
            by_rule,
            classes,
            files["folds"],
            audio_index,
            audio_source=str(files["audio_index"]),
            label=f"{corpus} {backbone}",
        )
        if expected is not None and not ids.equals(expected):
            raise PredictionError(f"{corpus}: {backbone} pools other test utterances")
        expected = ids
    return expected, pooled


def compare_corpus_backbones(
    *,
    corpus: str,
    fmt: str,
    predictions: Mapping[str, Mapping[str, Sequence[Path]]],
    files: Mapping[str, Path],
    evaluation: Mapping,
    target_smoothing: float,
    reference: str,
) -> pd.DataFrame:
    """Rows of :data:`BACKBONE_COLUMNS` for one corpus. ``predictions[backbone][train_rule]``:
    the fold prediction files; ``files``: ``folds``, ``utterances``, ``audio_index`` and
    ``labels_<rule>`` of the label stage; ``evaluation``: the run's evaluation settings."""
    classes = corpus_format(fmt).classes
    ids, pooled = _pooled(corpus, fmt, predictions, files)
    labels = {r: Path(files[f"labels_{r}"]) for r in RULES}
    base_sets = read_test_sets(ids, labels, Path(files["utterances"]), classes)
    sets = with_divergence_target(base_sets, evaluation["divergence_target"], target_smoothing)
    n_bootstrap, alpha = int(evaluation["n_bootstrap"]), float(evaluation["alpha"])
    rows = []
    for test_rule in RULES:
        test = sets[test_rule]
        conditions = test.speakers.astype(str) if evaluation["unit"] == "speaker" else None
        for train_rule in RULES:
            systems = {
                b: SystemScores.from_probabilities(
                    pooled[b][train_rule][test.positions], test.target, float(evaluation["epsilon"])
                )
                for b in pooled
            }
            resampled = bootstrap_metrics(
                test.truth, systems, n_bootstrap=n_bootstrap, conditions=conditions
            )
            points = {b: systems[b].point_metrics(test.truth) for b in systems}
            for metric in METRICS:
                ref = resampled[reference][metric]
                for b in systems:
                    low, high = percentile_interval(resampled[b][metric], alpha)
                    same = b == reference
                    rows.append(
                        (corpus, train_rule, test_rule, metric, b, points[b][metric], low, high,
                         reference, points[b][metric] - points[reference][metric],
                         float("nan") if same else paired_p_value(resampled[b][metric], ref),
                         test.size)
                    )  # fmt: skip
    log.info("%s: %d backbone cells", corpus, len(rows))
    return pd.DataFrame(rows, columns=list(BACKBONE_COLUMNS))


def compare_backbones(
    *,
    corpora: Mapping[str, str],
    prediction_paths: Mapping[str, Path],
    label_paths: Mapping[str, Path],
    settings: Mapping,
) -> pd.DataFrame:
    """The workflow's entry point. ``corpora``: name -> format; ``prediction_paths``: keys
    ``<backbone>/<corpus>/<train rule>/fold<k>``; ``label_paths``: keys ``<corpus>/<table>``
    (``utterances``, ``audio_index``, ``folds``, ``labels_<rule>``); ``settings``:
    ``backbones``, ``reference``, ``evaluation``, ``target_smoothing``."""
    frames = []
    for corpus, fmt in corpora.items():
        predictions = {b: {r: [] for r in RULES} for b in settings["backbones"]}
        for key, path in sorted(prediction_paths.items()):
            backbone, name, rule, _fold = key.split("/")
            if name == corpus:
                predictions[backbone][rule].append(Path(path))
        files = {
            k.split("/", 1)[1]: Path(v)
            for k, v in label_paths.items()
            if k.startswith(f"{corpus}/")
        }
        frames.append(
            compare_corpus_backbones(
                corpus=corpus,
                fmt=fmt,
                predictions=predictions,
                files=files,
                evaluation=settings["evaluation"],
                target_smoothing=float(settings["target_smoothing"]),
                reference=settings["reference"],
            )
        )
    return pd.concat(frames, ignore_index=True)


__all__ = ["BACKBONE_COLUMNS", "compare_backbones", "compare_corpus_backbones"]
