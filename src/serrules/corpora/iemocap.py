"""IEMOCAP: ``Session{1..5}/dialog/EmoEvaluation/<dialog>.txt`` (categorical rater lines).

A file holds one block per utterance, blocks separated by blank lines::

    [6.2901 - 8.2357]	Ses01F_impro01_F000	neu	[2.5000, 2.5000, 2.5000]
    C-E2:	Neutral;	()
    C-E3:	Anger; Frustration;	(comment; may hold : and ;)
    C-F1:	Neutral;	()
    A-E3:	val 3; act 2; dom  2;	()

* ``C-E<n>`` lines are external evaluators (``rater_kind="evaluator"``), ``C-F1``/``C-M1`` the
  actors' self-evaluations (``"self"``: valid votes only with ``include_self_evaluations=True``,
  otherwise status ``self_evaluation``). ``rater_id`` is the slot name (``C-E1``...), unique
  within an utterance.
* Every emotion a rater selected is one ratings row (the study counts all of them).
* ``A-`` (dimensional) lines and ``% ... TURN_NAME ...`` header lines are skipped.
* Speaker = session + gender letter of the id's LAST ``_`` field (``Ses01F_impro01_M000`` ->
  ``Ses01_M``).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from serrules.base.classes import OTHER, VALID
from serrules.base.errors import AnnotationError
from serrules.corpora.parsing import (
    classified_ratings,
    relative,
    require_dir,
    unsafe_name,
    unsafe_name_message,
)
from serrules.corpora.records import (
    DUPLICATE_LABEL,
    DUPLICATE_RATER,
    EVALUATOR,
    SELF,
    SELF_EVALUATION,
    ParsedCorpus,
    RatingRows,
    empty_exclusions,
    meta_utterances,
)
from serrules.corpora.text import AnnotationWarning, read_lines

if TYPE_CHECKING:
    from serrules.corpora.formats import CorpusFormat
    from serrules.corpora.vocabulary import Vocabulary

SESSIONS = (1, 2, 3, 4, 5)

_BLOCK = re.compile(
    r"^\[\s*(\d+(?:\.\d*)?)\s*-\s*(\d+(?:\.\d*)?)\s*\]\s+(\S+)\s+(\S+)\s+\[([^\]]*)\]\s*$"
)
_RATER = re.compile(r"^C-([A-Za-z]+)(\d*)\s*:(.*)$")
_UTT_ID = re.compile(r"^Ses(\d{2})[FM]_.+_([FM])\d+$")


def session_annotation_files(root: Path) -> list[tuple[int, Path]]:
    """``(session, file)`` for every ``*.txt`` directly in ``Session<n>/dialog/EmoEvaluation``
    (hidden files and sub-folders ignored), sessions 1-5 all required."""
    out = []
    for s in SESSIONS:
        folder = require_dir(
            root / f"Session{s}" / "dialog" / "EmoEvaluation",
            f"IEMOCAP session {s} annotations (EmoEvaluation/<dialog>.txt)",
        )
        files = sorted(
            p for p in folder.glob("*.txt") if p.is_file() and not p.name.startswith(".")
        )
        if not files:
            raise FileNotFoundError(f"no <dialog>.txt annotation files in {folder}")
        out += [(s, p) for p in files]
    return out


def _utterance_meta(utt: str, session: int, path: Path, lineno: int, root: Path) -> tuple:
    if unsafe_name(utt):
        raise AnnotationError(path, lineno, unsafe_name_message(utt, "utterance id"))
    m = _UTT_ID.match(utt)
    if not m:
        raise AnnotationError(
            path, lineno, f"utterance id {utt!r} is not of the form Ses<nn><F|M>_..._<F|M><nnn>"
        )
    if int(m.group(1)) != session:
        raise AnnotationError(
            path,
            lineno,
            f"utterance {utt!r} belongs to session {int(m.group(1))}, file to {session}",
        )
    gender = m.group(2)
    dialog = utt.rsplit("_", 1)[0]
    audio = root / f"Session{session}" / "sentences" / "wav" / dialog / f"{utt}.wav"
    return utt, f"Ses{session:02d}_{gender}", gender, session, str(audio)


def parse_iemocap(
    root: Path, *, fmt: CorpusFormat, include_self_evaluations: bool, unknown_labels: str
) -> ParsedCorpus:
    """Parse an IEMOCAP release rooted at ``root`` (absolute) into a :class:`ParsedCorpus`;
    called by :func:`serrules.corpora.parse_corpus`."""
    reader = _Reader(root, fmt.vocabulary)
    for session, path in session_annotation_files(root):
        reader.read_file(session, path)
    kind = np.asarray(reader.rows.rater_kind, dtype=object)
    notes = np.asarray(reader.notes, dtype=object)
    ratings = classified_ratings(
        reader.rows,
        fmt.vocabulary,
        root,
        unknown_labels,
        exclude=[
            ((kind == SELF) & (not include_self_evaluations), SELF_EVALUATION),
            (notes == DUPLICATE_RATER, DUPLICATE_RATER),
            (notes == DUPLICATE_LABEL, DUPLICATE_LABEL),
        ],
    )
    return ParsedCorpus(ratings, meta_utterances(reader.utterances), empty_exclusions())


@dataclass
class _Block:
    """The utterance block being read: its id, header line and rater slots seen so far."""

    utterance_id: str
    line: int
    slots: set[str] = field(default_factory=set)
    rated: bool = False  # has a C- line


class _Reader:
    """Reads the EmoEvaluation files of one release, one after another, into ratings rows
    (``notes``: per row, the duplicate status the file's structure gives it, else "") and
    utterance metadata."""

    def __init__(self, root: Path, vocab: Vocabulary) -> None:
        self.root, self.vocab = root, vocab
        self.rows = RatingRows()
        self.notes: list[str] = []
        self.utterances: list[tuple] = []
        self.seen: dict[str, str] = {}  # utterance id -> where it was annotated
        self.path, self.rel = root, ""  # the file being read, and its path in ``source``

    def read_file(self, session: int, path: Path) -> None:
        """Read one file; an utterance block without a C- line is a warning (truncated file?)."""
        self.path, self.rel = path, relative(self.root, path)
        blocks: list[_Block] = []
        current: _Block | None = None  # None after a blank line: a C- line there is an error
        for lineno, line in enumerate(read_lines(path), start=1):
            text = line.strip()
            if not text:
                current = None
            elif text.startswith(("%", "A-")) or "TURN_NAME" in text:
                continue  # the file's header, dimensional ratings
            elif text.startswith("["):
                current = self._open_block(session, lineno, text)
                blocks.append(current)
            elif text.startswith("C-"):
                if current is None:
                    raise AnnotationError(
                        path, lineno, "categorical rater line outside an utterance block"
                    )
                self._rater_line(current, lineno, text)
            else:
                raise AnnotationError(
                    path,
                    lineno,
                    "unrecognised line (expected a block header, C-, A- or blank line)",
                )
        if not blocks:
            raise AnnotationError(
                path,
                None,
                "no utterance block ('[start - end]<TAB>id<TAB>code<TAB>[v, a, d]') in the file "
                "(empty or truncated?)",
            )
        unrated = [b.line for b in blocks if not b.rated]
        if unrated:
            warnings.warn(
                f"{path}: {len(unrated)} of {len(blocks)} utterance block(s) have no categorical "
                f"(C-) rater line (truncated file?), first at line {unrated[0]}; they have no "
                "votes",
                AnnotationWarning,
                stacklevel=3,
            )

    def _open_block(self, session: int, lineno: int, text: str) -> _Block:
        path = self.path
        m = _BLOCK.match(text)
        if not m:
            raise AnnotationError(
                path,
                lineno,
                "block header does not parse; expected "
                "'[start - end]<TAB>utterance_id<TAB>code<TAB>[v, a, d]'",
            )
        utt = m.group(3)
        if utt in self.seen:
            raise AnnotationError(
                path, lineno, f"utterance {utt!r} already annotated at {self.seen[utt]}"
            )
        self.seen[utt] = f"{self.rel}:{lineno}"
        self.utterances.append(_utterance_meta(utt, session, path, lineno, self.root))
        return _Block(utt, lineno)

    def _rater_line(self, block: _Block, lineno: int, text: str) -> None:
        """One ratings row per emotion of a ``C-<slot>:`` line; a slot seen before in the block
        makes every row a duplicate rater, an emotion seen before in the line a duplicate label."""
        path = self.path
        m = _RATER.match(text)
        if not m:
            raise AnnotationError(
                path, lineno, "rater line does not parse; expected 'C-<slot>:<TAB>Emotion;'"
            )
        letter, number, rest = m.group(1), m.group(2), m.group(3)
        kinds = {"E": EVALUATOR, "F": SELF, "M": SELF}
        if letter.upper() not in kinds:
            raise AnnotationError(
                path,
                lineno,
                f"unknown rater slot 'C-{letter}{number}' (expected C-E<n>, C-F<n> or C-M<n>)",
            )
        slot = f"C-{letter}{number}"
        block.rated = True
        # the comment "( ... )" may contain ':' and ';': the emotions end where it starts
        cut = rest.find("(")
        words = rest if cut < 0 else rest[:cut]
        tokens = [t.strip() for t in words.split(";") if t.strip()]
        if not tokens:
            raise AnnotationError(path, lineno, f"rater line {slot} names no emotion")
        duplicate_slot = slot in block.slots
        block.slots.add(slot)
        seen_classes: set[str] = set()
        source = f"{self.rel}:{lineno}"
        for token in tokens:
            emotion, status = self.vocab.classify_token(token)
            key = emotion if status == VALID else (OTHER if status == OTHER else token.lower())
            if duplicate_slot:
                self.notes.append(DUPLICATE_RATER)
            else:
                self.notes.append(DUPLICATE_LABEL if key in seen_classes else "")
            seen_classes.add(key)
            self.rows.add(block.utterance_id, slot, kinds[letter.upper()], token, source)
