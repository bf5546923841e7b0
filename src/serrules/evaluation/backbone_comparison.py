"""The backbone leaderboard (rule ``backbone_comparison``; :mod:`serrules.reporting.backbones`
writes ``results/tables/backbones.{md,csv}``).

Every backbone's pooled fold predictions of a corpus are scored on the same test sets and the
same bootstrap resamples (one :meth:`~serrules.evaluation.bootstrap.BootstrapSettings.resample` call
per cell, as Tables 4-6 and ``protocol_comparison``): per corpus, train rule, test rule, metric and
backbone the value, its percentile interval, and the difference from the reference backbone (the
paper's wav2vec2-large-robust-12 by default) with a two-sided paired bootstrap p-value.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import pandas as pd

from serrules.base.classes import RULES
from serrules.corpora.formats import corpus_format
from serrules.evaluation.bootstrap import BootstrapSettings, paired_p_value, percentile_interval
from serrules.evaluation.metrics import METRICS, SystemScores
from serrules.evaluation.pooled_corpus import (
    CorpusFiles,
    pool_systems,
    read_test_sets,
    system_files,
)
from serrules.evaluation.pooling import with_divergence_target

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


def compare_corpus_backbones(
    files: Mapping[str, CorpusFiles],
    *,
    reference: str,
    bootstrap: BootstrapSettings,
    divergence_target: str,
    target_smoothing: float,
) -> pd.DataFrame:
    """Rows of :data:`BACKBONE_COLUMNS` for one corpus. ``files[backbone]``: that backbone's
    files (:func:`~serrules.evaluation.pooled_corpus.system_files`; the label stage and the fold
    table are shared); ``reference``: the backbone the others are compared with; ``bootstrap``:
    the run's evaluation settings, whose resamples every backbone shares; ``divergence_target``
    and ``target_smoothing``: the KLD/JSD target of the run (``evaluation.divergence_target``,
    ``training.target_smoothing``)."""
    if reference not in files:
        raise ValueError(f"reference backbone {reference!r} is not among {list(files)}")
    shared = files[reference]
    classes = corpus_format(shared.fmt).classes
    ids, pooled = pool_systems(files)
    base_sets = read_test_sets(ids, shared.labels, shared.utterances, classes)
    sets = with_divergence_target(base_sets, divergence_target, target_smoothing)
    rows = []
    for test_rule in RULES:
        test = sets[test_rule]
        conditions = test.speakers.astype(str) if bootstrap.unit == "speaker" else None
        for train_rule in RULES:
            systems = {
                b: SystemScores.from_probabilities(
                    pooled[b][train_rule][test.positions], test.target, bootstrap.epsilon
                )
                for b in pooled
            }
            resampled = bootstrap.resample(test.truth, systems, conditions)
            points = {b: systems[b].point_metrics(test.truth) for b in systems}
            for metric in METRICS:
                ref = resampled[reference][metric]
                for b in systems:
                    low, high = percentile_interval(resampled[b][metric], bootstrap.alpha)
                    same = b == reference
                    rows.append(
                        (shared.corpus, train_rule, test_rule, metric, b, points[b][metric], low,
                         high, reference, points[b][metric] - points[reference][metric],
                         float("nan") if same else paired_p_value(resampled[b][metric], ref),
                         test.size)
                    )  # fmt: skip
    log.info("%s: %d backbone cells", shared.corpus, len(rows))
    return pd.DataFrame(rows, columns=list(BACKBONE_COLUMNS))


def compare_backbones(
    *,
    corpora: Mapping[str, str],
    files: Mapping[str, Mapping],
    settings: Mapping,
) -> pd.DataFrame:
    """The workflow's entry point. ``corpora``: name -> format; ``files[corpus]``: the tree of
    ``backbone_files`` (workflow/rules/common.smk; read by
    :func:`~serrules.evaluation.pooled_corpus.system_files`); ``settings``: ``reference``,
    ``evaluation`` (the run's section: :class:`BootstrapSettings` and ``divergence_target``)
    and ``target_smoothing``."""
    bootstrap = BootstrapSettings.from_mapping(settings["evaluation"])
    return pd.concat(
        [
            compare_corpus_backbones(
                system_files(corpus, fmt, files[corpus]),
                reference=settings["reference"],
                bootstrap=bootstrap,
                divergence_target=settings["evaluation"]["divergence_target"],
                target_smoothing=float(settings["target_smoothing"]),
            )
            for corpus, fmt in corpora.items()
        ],
        ignore_index=True,
    )


__all__ = ["BACKBONE_COLUMNS", "compare_backbones", "compare_corpus_backbones"]
