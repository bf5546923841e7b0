"""Rater vocabularies: the emotion words each corpus release uses, mapped onto the study's classes.

A token is compared after stripping and lower-casing. Tokens that start with ``other`` (``Other``,
``Other-annoyed``, ``Other - bored``) are the ``other`` status; tokens the vocabulary does not know
are ``unknown_label``. Mapping is vectorised: each distinct token is classified once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from serrules.base.classes import OTHER, VALID, classes_for

#: Status of a rating whose emotion word the corpus vocabulary does not know.
UNKNOWN_LABEL = "unknown_label"


@dataclass(frozen=True)
class Vocabulary:
    """Emotion words of one corpus format (lower-case token -> canonical class name)."""

    fmt: str
    words: Mapping[str, str]
    other_words: frozenset[str] = field(default_factory=frozenset)
    other_prefix: str = "other"

    def __post_init__(self) -> None:
        known = set(classes_for(self.fmt))
        bad = sorted({c for c in self.words.values() if c not in known})
        if bad:
            raise ValueError(f"vocabulary of {self.fmt!r} maps onto non-classes {bad}")
        missing = sorted(known - set(self.words.values()))
        if missing:
            raise ValueError(f"vocabulary of {self.fmt!r} has no word for classes {missing}")

    def classify_token(self, token: str) -> tuple[str | None, str]:
        """``(canonical class or None, status)`` of one raw token."""
        key = token.strip().lower()
        if key in self.words:
            return self.words[key], VALID
        if key in self.other_words or (self.other_prefix and key.startswith(self.other_prefix)):
            return None, OTHER
        return None, UNKNOWN_LABEL

    def classify(self, raw: pd.Series) -> tuple[pd.Series, pd.Series]:
        """Vectorised :meth:`classify_token` over a string Series: ``(emotion, status)`` Series
        aligned with ``raw`` (emotion is null unless the status is ``valid``)."""
        codes, uniques = pd.factorize(raw.astype("str"), use_na_sentinel=True)
        emo_u = np.empty(len(uniques) + 1, dtype=object)
        st_u = np.empty(len(uniques) + 1, dtype=object)
        for i, tok in enumerate(uniques):
            emo_u[i], st_u[i] = self.classify_token(str(tok))
        emo_u[-1], st_u[-1] = None, UNKNOWN_LABEL  # a missing token (code -1) is unknown
        emotion = pd.Series(emo_u[codes], index=raw.index, dtype="str")
        status = pd.Series(st_u[codes], index=raw.index, dtype="str")
        return emotion, status


def _words(**groups: tuple[str, ...]) -> dict[str, str]:
    return {w.lower(): cls for cls, words in groups.items() for w in words}


VOCABULARIES: dict[str, Vocabulary] = {
    # IEMOCAP rater words (EmoEvaluation C- lines); "Neutral state" occurs in some files.
    "iemocap": Vocabulary(
        "iemocap",
        _words(
            neutral=("Neutral", "Neutral state"),
            happiness=("Happiness",),
            excitement=("Excited",),
            sadness=("Sadness",),
            anger=("Anger",),
            frustration=("Frustration",),
            fear=("Fear",),
            surprise=("Surprise",),
            disgust=("Disgust",),
        ),
    ),
    # MSP-IMPROV primary emotion (words as written, plus the one-letter consensus codes).
    "msp-improv": Vocabulary(
        "msp-improv",
        _words(
            anger=("Angry", "Anger", "A"),
            happiness=("Happy", "Happiness", "H"),
            sadness=("Sad", "Sadness", "S"),
            neutral=("Neutral", "N"),
        ),
        other_words=frozenset({"o"}),
    ),
    # MSP-PODCAST primary emotion words, plus the one-letter codes A S H U F D C N (O = other).
    "msp-podcast": Vocabulary(
        "msp-podcast",
        _words(
            anger=("Angry", "Anger", "A"),
            sadness=("Sad", "Sadness", "S"),
            happiness=("Happy", "Happiness", "H"),
            surprise=("Surprise", "Surprised", "U"),
            fear=("Fear", "F"),
            disgust=("Disgust", "Disgusted", "D"),
            contempt=("Contempt", "C"),
            neutral=("Neutral", "N"),
        ),
        other_words=frozenset({"o"}),
    ),
    # CREMA-D respEmo letters.
    "crema-d": Vocabulary(
        "crema-d",
        _words(
            anger=("A",),
            disgust=("D",),
            fear=("F",),
            happiness=("H",),
            neutral=("N",),
            sadness=("S",),
        ),
        other_prefix="",
    ),
}
VOCABULARIES["biic-podcast"] = Vocabulary(
    "biic-podcast", VOCABULARIES["msp-podcast"].words, other_words=frozenset({"o"})
)


def vocabulary_for(fmt: str) -> Vocabulary:
    """The rater vocabulary of a corpus format."""
    classes_for(fmt)  # clear error for an unknown format
    return VOCABULARIES[fmt]
