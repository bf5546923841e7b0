"""Rater vocabularies: the emotion words a corpus release uses, mapped onto the study's classes.

A token is compared after stripping and lower-casing. Tokens that start with ``other`` (``Other``,
``Other-annoyed``, ``Other - bored``) are the ``other`` status; tokens the vocabulary does not know
are ``unknown_label``. Mapping is vectorised: each distinct token is classified once.

Each format's vocabulary is part of its record (:mod:`serrules.corpora.formats`); the demo writers
write the same words and codes the parsers read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from serrules.base.classes import OTHER, VALID
from serrules.corpora.records import UNKNOWN_LABEL


@dataclass(frozen=True)
class Vocabulary:
    """Emotion words of one corpus format.

    ``words``: class -> the rater words of that class as the release writes them (the first is
    the usual spelling). ``codes``: class -> the release's short code of that class (consensus
    letters, IEMOCAP's block-header code, CREMA-D's clip-name code); a rater token may be a code
    only when ``codes_are_votes``. ``tokens`` (derived): lower-case token -> class.
    """

    fmt: str
    words: Mapping[str, tuple[str, ...]]
    codes: Mapping[str, str] = field(default_factory=dict)
    codes_are_votes: bool = False
    other_words: frozenset[str] = field(default_factory=frozenset)
    other_prefix: str = "other"
    tokens: Mapping[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        tokens = {w.lower(): cls for cls, words in self.words.items() for w in words}
        if self.codes_are_votes:
            tokens.update({code.lower(): cls for cls, code in self.codes.items()})
        object.__setattr__(self, "tokens", tokens)

    def check(self, classes: Sequence[str]) -> None:
        """Raise ``ValueError`` unless the words (and codes) name exactly the classes."""
        known = set(classes)
        for what, table in (("words", self.words), ("codes", self.codes)):
            bad = sorted(set(table) - known)
            if bad:
                raise ValueError(f"vocabulary of {self.fmt!r} maps {what} onto non-classes {bad}")
            missing = sorted(known - set(table))
            if table and missing:
                raise ValueError(f"vocabulary of {self.fmt!r} has no {what} for classes {missing}")
        if not self.words:
            raise ValueError(f"vocabulary of {self.fmt!r} has no words")

    def word(self, cls: str) -> str:
        """The usual rater word of class ``cls``, as the release writes it."""
        return self.words[cls][0]

    def classify_token(self, token: str) -> tuple[str | None, str]:
        """``(canonical class or None, status)`` of one raw token."""
        key = token.strip().lower()
        if key in self.tokens:
            return self.tokens[key], VALID
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


__all__ = ["Vocabulary"]
