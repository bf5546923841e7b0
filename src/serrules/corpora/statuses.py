"""The exclusion reasons the parsers write: a rating's ``status`` other than ``valid``/``other``
(:mod:`serrules.base.classes`), or the ``reason`` of an exclusions row (docs/architecture.md).

Kept apart from :mod:`serrules.corpora.records` (the tables, which need pandas) so that the
format records, and through them Snakemake's planning, import no pandas.
"""

from __future__ import annotations

SELF_EVALUATION = "self_evaluation"
DUPLICATE_RATER = "duplicate_rater"
DUPLICATE_LABEL = "duplicate_label"
UNKNOWN_LABEL = "unknown_label"
SLOW_RESPONSE = "slow_response"
NOT_IN_CONSENSUS = "not_in_consensus"

__all__ = [
    "DUPLICATE_LABEL",
    "DUPLICATE_RATER",
    "NOT_IN_CONSENSUS",
    "SELF_EVALUATION",
    "SLOW_RESPONSE",
    "UNKNOWN_LABEL",
]
