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
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from serrules.base.classes import OTHER, VALID
from serrules.base.errors import AnnotationError
from serrules.corpora.parsing import (
    classify_labels,
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
    UNKNOWN_LABEL,
    ParsedCorpus,
    empty_exclusions,
    meta_utterances,
    ratings_frame,
)
from serrules.corpora.text import AnnotationWarning, read_lines

if TYPE_CHECKING:
    from serrules.corpora.formats import CorpusFormat

SESSIONS = (1, 2, 3, 4, 5)
#: The annotation files read (relative to the release root); hidden files are skipped.
ANNOTATION_GLOB = "Session*/dialog/EmoEvaluation/*.txt"

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
    vocab = fmt.vocabulary
    r_utt, r_rater, r_kind, r_raw, r_src, r_pre = [], [], [], [], [], []
    utts: list[tuple] = []
    seen_utt: dict[str, str] = {}

    for session, path in session_annotation_files(root):
        rel = relative(root, path)
        current: str | None = None
        slots: set[str] = set()
        lines = read_lines(path)
        blocks = 0
        unrated: list[int] = []  # header lines of blocks without any C- line (truncated file?)
        rated, block_line = True, 0
        for lineno, line in enumerate(lines, start=1):
            text = line.strip()
            if not text:
                current = None
                continue
            if text.startswith("%") or "TURN_NAME" in text:
                continue
            if text.startswith("["):
                m = _BLOCK.match(text)
                if not m:
                    raise AnnotationError(
                        path,
                        lineno,
                        "block header does not parse; expected "
                        "'[start - end]<TAB>utterance_id<TAB>code<TAB>[v, a, d]'",
                    )
                current = m.group(3)
                if current in seen_utt:
                    raise AnnotationError(
                        path,
                        lineno,
                        f"utterance {current!r} already annotated at {seen_utt[current]}",
                    )
                seen_utt[current] = f"{rel}:{lineno}"
                utts.append(_utterance_meta(current, session, path, lineno, root))
                slots = set()
                if not rated:
                    unrated.append(block_line)
                blocks, rated, block_line = blocks + 1, False, lineno
                continue
            if text.startswith("A-"):
                continue
            if text.startswith("C-"):
                if current is None:
                    raise AnnotationError(
                        path, lineno, "categorical rater line outside an utterance block"
                    )
                m = _RATER.match(text)
                if not m:
                    raise AnnotationError(
                        path, lineno, "rater line does not parse; expected 'C-<slot>:<TAB>Emotion;'"
                    )
                letter, number, rest = m.group(1), m.group(2), m.group(3)
                if letter.upper() == "E":
                    kind = EVALUATOR
                elif letter.upper() in ("F", "M"):
                    kind = SELF
                else:
                    raise AnnotationError(
                        path,
                        lineno,
                        f"unknown rater slot 'C-{letter}{number}' (expected C-E<n>, "
                        "C-F<n> or C-M<n>)",
                    )
                slot = f"C-{letter}{number}"
                rated = True
                # the comment "( ... )" may contain ':' and ';': the emotions end where it starts
                cut = rest.find("(")
                words = rest if cut < 0 else rest[:cut]
                tokens = [t.strip() for t in words.split(";") if t.strip()]
                if not tokens:
                    raise AnnotationError(path, lineno, f"rater line {slot} names no emotion")
                dup_slot = slot in slots
                slots.add(slot)
                seen_cls: set[str] = set()
                for tok in tokens:
                    emo, st = vocab.classify_token(tok)
                    key = emo if st == VALID else (OTHER if st == OTHER else tok.lower())
                    pre = (
                        DUPLICATE_RATER
                        if dup_slot
                        else (DUPLICATE_LABEL if key in seen_cls else "")
                    )
                    seen_cls.add(key)
                    r_utt.append(current)
                    r_rater.append(slot)
                    r_kind.append(kind)
                    r_raw.append(tok)
                    r_src.append(f"{rel}:{lineno}")
                    r_pre.append(pre)
                continue
            raise AnnotationError(
                path, lineno, "unrecognised line (expected a block header, C-, A- or blank line)"
            )
        if not blocks:
            raise AnnotationError(
                path,
                None,
                "no utterance block ('[start - end]<TAB>id<TAB>code<TAB>[v, a, d]') in the file "
                "(empty or truncated?)",
            )
        if not rated:
            unrated.append(block_line)
        if unrated:
            warnings.warn(
                f"{path}: {len(unrated)} of {blocks} utterance block(s) have no categorical "
                f"(C-) rater line (truncated file?), first at line {unrated[0]}; they have no "
                "votes",
                AnnotationWarning,
                stacklevel=2,
            )

    raw = pd.Series(r_raw, dtype="str")
    src = pd.Series(r_src, dtype="str")
    emotion, status = classify_labels(vocab, raw, src, root, unknown_labels)
    status = status.to_numpy(dtype=object)
    pre = np.asarray(r_pre, dtype=object)
    kind = np.asarray(r_kind, dtype=object)
    known = status != UNKNOWN_LABEL
    excl_self = known & (kind == SELF) & (not include_self_evaluations)
    status = np.where(excl_self, SELF_EVALUATION, status)
    status = np.where(known & ~excl_self & (pre != ""), pre, status)
    emotion = emotion.where(status == VALID, None)

    ratings = ratings_frame(
        utterance_id=r_utt,
        rater_id=r_rater,
        rater_kind=r_kind,
        raw_label=raw,
        emotion=emotion,
        status=status,
        source=src,
    )
    return ParsedCorpus(ratings, meta_utterances(utts), empty_exclusions())
