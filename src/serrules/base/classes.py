"""The one place for the study's class lists, corpus formats, rule names and the presence threshold.

Every other module asks this one; nothing else spells a class list out.
"""

from __future__ import annotations

#: MSP-PODCAST and BIIC-PODCAST share the primary-emotion classes of the MSP-PODCAST protocol.
_PODCAST_CLASSES: tuple[str, ...] = (
    "anger",
    "sadness",
    "happiness",
    "surprise",
    "fear",
    "disgust",
    "contempt",
    "neutral",
)

#: Native corpus formats the pipeline can read, and the emotion classes each one is scored on
#: (order = column order of every vote, target and probability matrix of that corpus).
CORPUS_CLASSES: dict[str, tuple[str, ...]] = {
    "iemocap": (
        "neutral",
        "happiness",
        "sadness",
        "anger",
        "surprise",
        "fear",
        "disgust",
        "frustration",
        "excitement",
    ),
    "msp-improv": ("anger", "happiness", "sadness", "neutral"),
    "msp-podcast": _PODCAST_CLASSES,
    "biic-podcast": _PODCAST_CLASSES,
    "crema-d": ("anger", "disgust", "fear", "happiness", "neutral", "sadness"),
}

FORMATS: tuple[str, ...] = tuple(CORPUS_CLASSES)

#: Label aggregation rules: majority, plurality, all-inclusive.
RULES: tuple[str, ...] = ("MR", "PR", "AR")

#: Vote status values in ratings tables. Anything else is an exclusion reason.
VALID = "valid"
OTHER = "other"


def classes_for(fmt: str) -> tuple[str, ...]:
    """Class list of a corpus format; a clear error for an unknown one."""
    try:
        return CORPUS_CLASSES[fmt]
    except KeyError:
        raise KeyError(f"unknown corpus format {fmt!r}; known: {', '.join(FORMATS)}") from None


def presence_threshold(n_classes: int) -> float:
    """A class is present (multi-hot ground truth, or a positive prediction) when its share or
    probability is STRICTLY greater than this value, 1/C."""
    if n_classes < 2:
        raise ValueError(f"need at least 2 classes, got {n_classes}")
    return 1.0 / n_classes


def prefixed(prefix: str, classes: tuple[str, ...] | list[str]) -> list[str]:
    """Column names of a per-class matrix stored in a table, e.g. ``prefixed('p_', cls)``."""
    return [f"{prefix}{c}" for c in classes]
