"""Format-independent facts about classes and votes: the rule names, the vote statuses, the
presence threshold and the column names of per-class matrices.

The class list of each corpus format is part of its record
(:class:`serrules.corpora.formats.CorpusFormat`); nothing here depends on a format.
"""

from __future__ import annotations

import numpy as np

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


def above_presence_threshold(values: np.ndarray) -> np.ndarray:
    """The one presence test, shared by the training class counts ``n_j``, the AR test targets
    and the metrics' predicted classes: ``values`` (utterances x C shares or probabilities) >
    ``1/C``, strictly, with ``1/C`` rounded to the dtype ``values`` are stored in.

    The comparison is made in the values' own precision, never after an upcast: a share of
    exactly 1/9 stored in float32 is ``float32(1/9) = 0.11111111194``, which exceeds the float64
    1/9, so comparing the upcast value would count it as present, against "strictly greater
    than 1/C". Integer input is rejected (compare vote counts exactly: ``votes * C > total``).
    """
    arr = np.asarray(values)
    if arr.ndim != 2:
        raise ValueError(f"expected an (utterances x classes) matrix, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.floating):
        raise TypeError(f"expected shares or probabilities (float), got dtype {arr.dtype}")
    threshold = np.asarray(presence_threshold(arr.shape[1]), dtype=arr.dtype)
    with np.errstate(invalid="ignore"):
        return arr > threshold


def prefixed(prefix: str, classes: tuple[str, ...] | list[str]) -> list[str]:
    """Column names of a per-class matrix stored in a table, e.g. ``prefixed('p_', cls)``."""
    return [f"{prefix}{c}" for c in classes]


__all__ = [
    "OTHER",
    "ROW_SUM_TOLERANCE",
    "RULES",
    "VALID",
    "above_presence_threshold",
    "prefixed",
    "presence_threshold",
]
