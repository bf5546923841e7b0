"""Format-independent facts about classes and votes: the rule names, the vote statuses, the
presence threshold and the column names of per-class matrices.

The class list of each corpus format is part of its record
(:class:`serrules.corpora.formats.CorpusFormat`); nothing here depends on a format.
"""

from __future__ import annotations

#: Label aggregation rules: majority, plurality, all-inclusive.
RULES: tuple[str, ...] = ("MR", "PR", "AR")

#: Vote status values in ratings tables. Anything else is an exclusion reason.
VALID = "valid"
OTHER = "other"


#: Largest accepted deviation from 1 of the sum of a row that must be a distribution over the
#: classes (training targets ``y_``, predicted probabilities ``p_``; both are stored as float32).
ROW_SUM_TOLERANCE = 1e-4


def presence_threshold(n_classes: int) -> float:
    """A class is present (multi-hot ground truth, or a positive prediction) when its share or
    probability is STRICTLY greater than this value, 1/C."""
    if n_classes < 2:
        raise ValueError(f"need at least 2 classes, got {n_classes}")
    return 1.0 / n_classes


def prefixed(prefix: str, classes: tuple[str, ...] | list[str]) -> list[str]:
    """Column names of a per-class matrix stored in a table, e.g. ``prefixed('p_', cls)``."""
    return [f"{prefix}{c}" for c in classes]


__all__ = ["OTHER", "ROW_SUM_TOLERANCE", "RULES", "VALID", "prefixed", "presence_threshold"]
