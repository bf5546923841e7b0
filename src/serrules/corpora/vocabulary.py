"""Rater vocabularies: the emotion words a corpus release uses, mapped onto the study's classes.

A token is compared after stripping and lower-casing (a configured vocabulary may keep the case
and collapse inner runs of whitespace). Tokens that start with ``other`` (``Other``,
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

#: How whitespace in a token is treated before it is compared (:meth:`Vocabulary.normalise`).
WHITESPACE_MODES: tuple[str, ...] = ("strip", "collapse")


@dataclass(frozen=True)
class Vocabulary:
    """Emotion words of one corpus format.

    ``words``: class -> the rater words of that class as the release writes them (the first is
    the usual spelling). ``codes``: class -> the release's short code of that class (consensus
    letters, IEMOCAP's block-header code, CREMA-D's clip-name code); a rater token may be a code
    only when ``codes_are_votes``. ``other_words`` / ``other_prefix``: tokens that are the
    ``other`` status (a prefix of ``""`` matches nothing). ``case_sensitive`` and ``whitespace``
    (``strip``: leading and trailing; ``collapse``: also inner runs to one space) say how a token
    is compared (:meth:`normalise`). ``tokens`` (derived): normalised token -> class.
    """

    fmt: str
    words: Mapping[str, tuple[str, ...]]
    codes: Mapping[str, str] = field(default_factory=dict)
    codes_are_votes: bool = False
    other_words: frozenset[str] = field(default_factory=frozenset)
    other_prefix: str = "other"
    case_sensitive: bool = False
    whitespace: str = "strip"
    tokens: Mapping[str, str] = field(init=False, repr=False, compare=False)
    _other: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.whitespace not in WHITESPACE_MODES:
            raise ValueError(
                f"whitespace must be one of {WHITESPACE_MODES}, got {self.whitespace!r}"
            )
        tokens = {self.normalise(w): cls for cls, words in self.words.items() for w in words}
        if self.codes_are_votes:
            tokens.update({self.normalise(code): cls for cls, code in self.codes.items()})
        object.__setattr__(self, "tokens", tokens)
        object.__setattr__(self, "_other", frozenset(self.normalise(w) for w in self.other_words))

    def normalise(self, token: str) -> str:
        """``token`` as it is compared: stripped (inner whitespace runs collapsed to one space
        under ``whitespace="collapse"``), lower-cased unless ``case_sensitive``."""
        key = " ".join(token.split()) if self.whitespace == "collapse" else token.strip()
        return key if self.case_sensitive else key.lower()

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
        seen: dict[str, str] = {}
        for cls, words in self.words.items():
            for w in words:
                key = self.normalise(w)
                if seen.setdefault(key, cls) != cls:
                    raise ValueError(
                        f"vocabulary of {self.fmt!r}: word {w!r} names both {seen[key]!r} and "
                        f"{cls!r}"
                    )
                if self._is_other(key):
                    raise ValueError(
                        f"vocabulary of {self.fmt!r}: word {w!r} of {cls!r} is also an 'other' word"
                    )

    def word(self, cls: str) -> str:
        """The usual rater word of class ``cls``, as the release writes it."""
        return self.words[cls][0]

    def classify_token(self, token: str) -> tuple[str | None, str]:
        """``(canonical class or None, status)`` of one raw token."""
        key = self.normalise(token)
        if key in self.tokens:
            return self.tokens[key], VALID
        if self._is_other(key):
            return None, OTHER
        return None, UNKNOWN_LABEL

    def _is_other(self, key: str) -> bool:
        prefix = self.normalise(self.other_prefix) if self.other_prefix else ""
        return key in self._other or bool(prefix and key.startswith(prefix))

    def describe(self) -> str:
        """The known tokens and what counts as ``other``, for error messages."""
        other = sorted(self._other)
        if self.other_prefix:
            other.append(f"{self.other_prefix}...")
        return (
            f"known: {', '.join(sorted(self.tokens))}; "
            f"other: {', '.join(repr(o) for o in other) or 'none'}"
        )


__all__ = ["WHITESPACE_MODES", "Vocabulary"]
