"""Evaluation stage: pool per-fold test predictions, score them with macro-F1 / KLD / JSD under
the three test rules, bootstrap confidence intervals (vectorised, identical to the
``confidence-intervals`` toolkit), paired p-values against AR_train.

Modules: :mod:`~serrules.evaluation.metrics` (metric definitions),
:mod:`~serrules.evaluation.bootstrap` (resampling, intervals, p-values),
:mod:`~serrules.evaluation.pooling` (prediction checks and test sets),
:mod:`~serrules.evaluation.corpus_metrics` (``metrics.parquet`` of one corpus). Tables 4-6 are
written by :mod:`serrules.reporting.result_tables`.
"""

from serrules.evaluation.bootstrap import bootstrap_metrics, paired_p_value, percentile_interval
from serrules.evaluation.corpus_metrics import evaluate_corpus, read_metrics, write_metrics
from serrules.evaluation.metrics import EPSILON, METRICS, SystemScores, macro_f1
from serrules.evaluation.pooling import PredictionError, pool_predictions

__all__ = [
    "EPSILON",
    "METRICS",
    "PredictionError",
    "SystemScores",
    "bootstrap_metrics",
    "evaluate_corpus",
    "macro_f1",
    "paired_p_value",
    "percentile_interval",
    "pool_predictions",
    "read_metrics",
    "write_metrics",
]
