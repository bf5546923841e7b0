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

from serrules.evaluation.bootstrap import BootstrapSettings, paired_p_value, percentile_interval
from serrules.evaluation.metrics import METRICS
from serrules.evaluation.paired_systems import SystemTarget, paired_cells
from serrules.evaluation.pooled_corpus import CorpusFiles, system_files

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
    target = SystemTarget(
        divergence_target=divergence_target,
        target_smoothing=target_smoothing,
        epsilon=bootstrap.epsilon,
    )
    corpus = files[reference].corpus
    rows = []
    for cell in paired_cells(files, bootstrap=bootstrap, targets=dict.fromkeys(files, target)):
        for metric in METRICS:
            ref = cell.resampled[reference][metric]
            for b, points in cell.points.items():
                low, high = percentile_interval(cell.resampled[b][metric], bootstrap.alpha)
                same = b == reference
                rows.append(
                    (corpus, cell.train_rule, cell.test_rule, metric, b, points[metric], low, high,
                     reference, points[metric] - cell.points[reference][metric],
                     float("nan") if same else paired_p_value(cell.resampled[b][metric], ref),
                     cell.size)
                )  # fmt: skip
    log.info("%s: %d backbone cells", corpus, len(rows))
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
