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
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from serrules.base.classes import RULES
from serrules.base.protocols import PROTOCOLS
from serrules.base.tables import load_table
from serrules.corpora.formats import corpus_format
from serrules.evaluation.bootstrap import bootstrap_metrics, paired_p_value
from serrules.evaluation.metrics import METRICS, SystemScores
from serrules.evaluation.pooled_corpus import pool_fold_predictions, read_test_sets
from serrules.evaluation.pooling import PredictionError, with_divergence_target

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


def comparison_bootstrap(settings: Mapping[str, Mapping]) -> tuple[int, str]:
    """The ``evaluation.n_bootstrap`` and ``evaluation.unit`` both protocols share (the paired
    test needs the same resamples); different values raise ``ValueError``."""
    paper_eval = settings["paper"]["evaluation"]
    n_bootstrap, unit = int(paper_eval["n_bootstrap"]), paper_eval["unit"]
    for p in PROTOCOLS:
        ev = settings[p]["evaluation"]
        if (int(ev["n_bootstrap"]), ev["unit"]) != (n_bootstrap, unit):
            raise ValueError(
                "protocol_comparison needs the same evaluation.n_bootstrap and evaluation.unit "
                f"for both protocols, got {paper_eval} and {ev}"
            )
    return n_bootstrap, unit


def compare_corpus(
    *,
    corpus: str,
    fmt: str,
    predictions: Mapping[str, Mapping[str, Sequence[Path]]],
    folds_paths: Mapping[str, Path],
    utterances_path: Path,
    labels_paths: Mapping[str, Path],
    audio_index_path: Path,
    settings: Mapping[str, Mapping],
    n_bootstrap: int = 1000,
    unit: str = "utterance",
) -> pd.DataFrame:
    """Rows of :data:`COMPARISON_COLUMNS` for one corpus.

    ``predictions[protocol][train_rule]`` = per-fold prediction files; ``folds_paths[protocol]``
    = the fold table that protocol trained on; ``settings[protocol]`` = ``{"evaluation": ...,
    "target_smoothing": ...}``. Both protocols must cover the same pooled test utterances.
    """
    classes = corpus_format(fmt).classes
    audio_index = load_table(
        audio_index_path, "audio_index", columns=("status",), error=PredictionError
    )
    pooled, expected_ids = {}, None
    for protocol in PROTOCOLS:
        ids, pooled[protocol] = pool_fold_predictions(
            {rule: predictions[protocol][rule] for rule in RULES},
            classes,
            folds_paths[protocol],
            audio_index,
            audio_source=str(audio_index_path),
            label=f"{corpus} {protocol}",
        )
        if expected_ids is not None and not ids.equals(expected_ids):
            raise PredictionError(
                f"{corpus}: the protocols' fold tables {dict(folds_paths)} pool different test "
                "utterances; their predictions cannot be compared on one test set"
            )
        expected_ids = ids
    base_sets = read_test_sets(expected_ids, labels_paths, utterances_path, classes)
    sets = {
        p: with_divergence_target(
            base_sets,
            settings[p]["evaluation"]["divergence_target"],
            float(settings[p]["target_smoothing"]),
        )
        for p in PROTOCOLS
    }
    rows = []
    for test_rule in RULES:
        test = base_sets[test_rule]
        conditions = test.speakers.astype(str) if unit == "speaker" else None
        for train_rule in RULES:
            systems = {
                p: SystemScores.from_probabilities(
                    pooled[p][train_rule][test.positions],
                    sets[p][test_rule].target,
                    float(settings[p]["evaluation"]["epsilon"]),
                )
                for p in PROTOCOLS
            }
            resampled = bootstrap_metrics(
                test.truth, systems, n_bootstrap=n_bootstrap, conditions=conditions
            )
            points = {p: systems[p].point_metrics(test.truth) for p in PROTOCOLS}
            for metric in METRICS:
                paper, authors = points["paper"][metric], points["authors"][metric]
                p_value = paired_p_value(resampled["authors"][metric], resampled["paper"][metric])
                rows.append(
                    (corpus, train_rule, test_rule, metric, paper, authors,
                     authors - paper, p_value, test.size)
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
    n_bootstrap, unit = comparison_bootstrap(settings)
    frames = []
    for corpus, fmt in corpora.items():
        corpus_files = files[corpus]
        frames.append(
            compare_corpus(
                corpus=corpus,
                fmt=fmt,
                predictions={
                    p: {
                        rule: [Path(path) for path in corpus_files["predictions"][p][rule]]
                        for rule in RULES
                    }
                    for p in PROTOCOLS
                },
                folds_paths={p: Path(corpus_files["folds"][p]) for p in PROTOCOLS},
                utterances_path=Path(corpus_files["utterances"]),
                labels_paths={r: Path(corpus_files["labels"][r]) for r in RULES},
                audio_index_path=Path(corpus_files["audio_index"]),
                settings=settings,
                n_bootstrap=n_bootstrap,
                unit=unit,
            )
        )
    return pd.concat(frames, ignore_index=True)


__all__ = [
    "COMPARISON_COLUMNS",
    "compare_corpus",
    "compare_protocols",
    "comparison_bootstrap",
]
