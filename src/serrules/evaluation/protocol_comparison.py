"""Paper vs authors: the two protocols' pooled predictions scored on the same test sets and the same
bootstrap resamples (rule ``protocol_comparison``; :mod:`serrules.reporting.protocol_comparison`
writes ``results/tables/protocols.{csv,md,tex}``).

For each corpus, train rule, test rule and metric: both protocols' values, their difference
(authors - paper) and a two-sided paired bootstrap p-value. Both protocols' systems go through one
:func:`~serrules.evaluation.bootstrap.bootstrap_metrics` call, so they see the same resamples
(the same machinery as Tables 4-6; nothing is re-implemented here). Each protocol scores KLD/JSD
against its own divergence target (``evaluation.divergence_target``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import pandas as pd

from serrules.base.protocols import PROTOCOLS
from serrules.evaluation.bootstrap import BootstrapSettings, paired_p_value
from serrules.evaluation.metrics import METRICS
from serrules.evaluation.paired_systems import SystemTarget, paired_cells
from serrules.evaluation.pooled_corpus import CorpusFiles, system_files

log = logging.getLogger(__name__)

COMPARISON_COLUMNS: tuple[str, ...] = (
    "corpus",
    "train_rule",
    "test_rule",
    "metric",
    "paper",
    "authors",
    "difference",
    "p_value",
    "n_utterances",
)


def comparison_bootstrap(settings: Mapping[str, Mapping]) -> BootstrapSettings:
    """The bootstrap both protocols share (the paired test needs the same resamples): built from
    the paper protocol's ``evaluation`` section, whose ``n_bootstrap`` and ``unit`` the authors'
    must equal (else ``ValueError``). Each protocol keeps its own ``epsilon``."""
    paper_eval = settings["paper"]["evaluation"]
    shared = BootstrapSettings.from_mapping(paper_eval)
    for p in PROTOCOLS:
        ev = settings[p]["evaluation"]
        if (int(ev["n_bootstrap"]), ev["unit"]) != (shared.n_bootstrap, shared.unit):
            raise ValueError(
                "protocol_comparison needs the same evaluation.n_bootstrap and evaluation.unit "
                f"for both protocols, got {paper_eval} and {ev}"
            )
    return shared


def compare_corpus(
    files: Mapping[str, CorpusFiles],
    *,
    settings: Mapping[str, Mapping],
    bootstrap: BootstrapSettings,
) -> pd.DataFrame:
    """Rows of :data:`COMPARISON_COLUMNS` for one corpus.

    ``files[protocol]``: that protocol's files (its per-fold predictions and the fold table it
    trained on; the label-stage tables and the audio index, the same for both, are read from
    the first); ``settings[protocol]`` = ``{"evaluation": ..., "target_smoothing": ...}``;
    ``bootstrap``: the shared resamples (:func:`comparison_bootstrap`). Both protocols must
    cover the same pooled test utterances.
    """
    targets = {
        p: SystemTarget(
            divergence_target=settings[p]["evaluation"]["divergence_target"],
            target_smoothing=float(settings[p]["target_smoothing"]),
            epsilon=float(settings[p]["evaluation"]["epsilon"]),
        )
        for p in PROTOCOLS
    }
    corpus = files[PROTOCOLS[0]].corpus
    rows = []
    for cell in paired_cells(
        {p: files[p] for p in PROTOCOLS}, bootstrap=bootstrap, targets=targets
    ):
        for metric in METRICS:
            paper, authors = cell.points["paper"][metric], cell.points["authors"][metric]
            p_value = paired_p_value(
                cell.resampled["authors"][metric], cell.resampled["paper"][metric]
            )
            rows.append(
                (corpus, cell.train_rule, cell.test_rule, metric, paper, authors, authors - paper,
                 p_value, cell.size)
            )  # fmt: skip
    log.info("%s: compared %d cells", corpus, len(rows))
    return pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))


def compare_protocols(
    *,
    corpora: Mapping[str, str],
    files: Mapping[str, Mapping],
    settings: Mapping[str, Mapping],
) -> pd.DataFrame:
    """The workflow's entry point. ``corpora``: name -> format; ``files[corpus]``: the corpus's
    label-stage tables ``utterances``, ``audio_index`` and ``labels`` (test rule -> path), and
    per protocol its ``folds`` table (protocol -> path) and fold ``predictions`` (protocol ->
    train rule -> paths), as ``comparison_files`` of workflow/rules/common.smk lays them out;
    ``settings[protocol]``: ``record``, ``evaluation``, ``target_smoothing``. Returns the rows of
    :data:`COMPARISON_COLUMNS` of every corpus (:mod:`serrules.reporting.protocol_comparison`
    writes them as tables)."""
    bootstrap = comparison_bootstrap(settings)
    frames = []
    for corpus, fmt in corpora.items():
        per_protocol = system_files(corpus, fmt, files[corpus])
        frames.append(compare_corpus(per_protocol, settings=settings, bootstrap=bootstrap))
    return pd.concat(frames, ignore_index=True)


__all__ = [
    "COMPARISON_COLUMNS",
    "compare_corpus",
    "compare_protocols",
    "comparison_bootstrap",
]
