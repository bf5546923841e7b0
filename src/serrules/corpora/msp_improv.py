"""MSP-IMPROV: ``Evaluation.txt`` (some copies spell it ``Evalution.txt``).

One header line per clip, then one ``;``-separated line per rater; blank lines separate clips::

    UTD-IMPROV-S01A-F01-S-FM01.avi; N; A:3.000000; V:3.500000; D:3.000000 ; N:3.000000;
    rater01; Neutral; Calm,Bored; A:3; V:3; D:3; N:3;

Fields are split on ``;`` and stripped (spacing and the ``N:`` field vary). The vote is the
PRIMARY emotion (field 2). ``UTD-IMPROV-`` becomes ``MSP-IMPROV-`` (the audio names); the id
``MSP-IMPROV-S01A-F01-P-FM01`` gives sentence group ``S01A``, speaker ``F01`` (gender F, number
01 = session 1), scenario ``P``. A repeated (clip, rater) pair keeps its FIRST line; later ones get
status ``duplicate_rater``. Rater lines after a blank line still belong to the last clip header
(only a rater line before any header is an error); a clip header seen twice continues that clip.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from serrules.base.errors import AnnotationError
from serrules.corpora.native_files import MSP_IMPROV_ANNOTATION_FILES
from serrules.corpora.parsing import classified_ratings, find_first, relative
from serrules.corpora.records import (
    DUPLICATE_RATER,
    EVALUATOR,
    ParsedCorpus,
    RatingRows,
    empty_exclusions,
    meta_utterances,
)
from serrules.corpora.text import AnnotationWarning, read_lines

if TYPE_CHECKING:
    from serrules.corpora.formats import CorpusFormat


_CLIP = re.compile(r"^(?:UTD|MSP)-IMPROV-(.+)\.(?:avi|wav|mp4)$", re.IGNORECASE)
_ID = re.compile(r"^(S\d{2}[A-Z])-([FM])(\d{2})-([RSPT])-([A-Z]{2}\d+)$")
#: the first field of a line is a clip name when it looks like a media file
_MEDIA = re.compile(r"\.(?:avi|wav|mp4)$", re.IGNORECASE)


def _clip_meta(field0: str, path: Path, lineno: int, root: Path) -> tuple:
    m = _CLIP.match(field0)
    if not m or not _ID.match(m.group(1)):
        raise AnnotationError(
            path,
            lineno,
            f"clip name {field0!r} is not of the form UTD-IMPROV-S<nn><A|H|S|N>-<F|M><nn>-"
            "<R|S|P|T>-<pair><nn>.avi",
        )
    rest = m.group(1)
    group, gender, number, scenario, _ = _ID.match(rest).groups()
    session = int(number)
    if not 1 <= session <= 6:
        raise AnnotationError(path, lineno, f"speaker number {number} of {field0!r} is not 01-06")
    utt = f"MSP-IMPROV-{rest}"
    audio = root / "Audio" / f"session{session}" / group / scenario / f"{utt}.wav"
    return utt, f"{gender}{number}", gender, session, str(audio)


def parse_msp_improv(
    root: Path, *, fmt: CorpusFormat, unknown_labels: str, include_self_evaluations: bool = False
) -> ParsedCorpus:
    """Parse an MSP-IMPROV release rooted at ``root`` (absolute; ``include_self_evaluations``
    has no effect: the corpus has no self-evaluations); called by
    :func:`serrules.corpora.parse_corpus`."""
    path = find_first(root, MSP_IMPROV_ANNOTATION_FILES, "MSP-IMPROV rater annotations")
    rel = relative(root, path)
    vocab = fmt.vocabulary
    lines = read_lines(path)  # legacy single-byte lines allowed here, with a warning

    rows = RatingRows(rater_kind=EVALUATOR)
    utts: dict[str, tuple] = {}
    n_lines: dict[str, tuple[int, int]] = {}  # clip -> (first header line, rater lines)
    current: str | None = None
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        fields = [f.strip() for f in line.split(";")]
        if _MEDIA.search(fields[0]):
            meta = _clip_meta(fields[0], path, lineno, root)
            current = meta[0]
            utts.setdefault(current, meta)
            n_lines.setdefault(current, (lineno, 0))
            continue
        if current is None:
            raise AnnotationError(path, lineno, "rater line before the first clip header line")
        if len(fields) < 2 or not fields[0] or not fields[1] or ":" in fields[1]:
            raise AnnotationError(
                path,
                lineno,
                "rater line does not parse; expected '<rater>; <primary emotion>; "
                "<secondary emotions>; A:..; V:..; D:..; N:..;'",
            )
        n_lines[current] = (n_lines[current][0], n_lines[current][1] + 1)
        rows.utterance_id.append(current)
        rows.rater_id.append(fields[0])
        rows.raw_label.append(fields[1])
        rows.source.append(f"{rel}:{lineno}")
    if not utts:
        raise AnnotationError(path, None, "no clip header line (UTD-IMPROV-...avi; ...) found")
    unrated = [line for line, n in n_lines.values() if n == 0]
    if unrated:
        warnings.warn(
            f"{path}: {len(unrated)} of {len(utts)} clip(s) have no rater line (truncated "
            f"file?), first header at line {unrated[0]}; they have no votes",
            AnnotationWarning,
            stacklevel=2,
        )

    pairs = pd.DataFrame({"u": rows.utterance_id, "r": rows.rater_id})
    duplicate = pairs.duplicated(keep="first").to_numpy()
    ratings = classified_ratings(
        rows, vocab, root, unknown_labels, exclude=[(duplicate, DUPLICATE_RATER)]
    )
    return ParsedCorpus(ratings, meta_utterances(list(utts.values())), empty_exclusions())
