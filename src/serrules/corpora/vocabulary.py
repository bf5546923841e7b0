"""Rater vocabularies: the emotion words a corpus release uses, mapped onto the study's classes.

A token is compared after stripping and lower-casing. Tokens that start with ``other`` (``Other``,
``Other-annoyed``, ``Other - bored``) are the ``other`` status; tokens the vocabulary does not know
are ``unknown_label``. The vectorised mapping of a whole column (each distinct token classified
once) is :func:`serrules.corpora.parsing.classify_tokens`.

Each format's vocabulary is part of its record (:mod:`serrules.corpora.formats`); the demo writers
write the same words and codes the parsers read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from serrules.base.classes import OTHER, VALID
from serrules.corpora.statuses import UNKNOWN_LABEL


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


__all__ = ["Vocabulary"]
