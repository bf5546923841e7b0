"""CREMA-D: voice-only (``queryType == 1``) crowd ratings.

Sources, first present wins:

1. ``finishedResponses.csv``: one row per response (rater = ``localid``, vote = ``respEmo``, a
   letter A D F H N S). Like the official tabulation (``processFinishedResponses.R`` of the
   release), responses whose FIRST click came more than ``max_response_ms`` (default 10000 ms,
   strictly greater) after the clip are dropped with status ``slow_response``. First-click times
   come from ``finishedEmoResponses.csv``, matched with the release's own key
   ``sessionNums*1000 + queryType*100 + questNum``. Without that file the ``ttr`` column of
   ``finishedResponses.csv`` (time of the FINAL response, never shorter) is used instead and a
   warning says so; ``max_response_ms=None`` switches the filter off.
2. ``processedResults/tabulatedVotes.csv``: per-clip vote counts (already filtered by the
   release). Rows ``1xxxxx`` (voice only) are expanded into anonymous raters ``vote1..voteN`` per
   clip, in the column order A, D, F, H, N, S.

Speaker = actor id (first 4 digits of the clip name); gender from ``VideoDemographics.csv``
(``Male``/``Female`` -> M/F); a missing file or an actor it does not list gives ``Unknown``.
No session, no official split.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from serrules.base.errors import AnnotationError
from serrules.corpora.native_files import (
    CREMA_D_DEMOGRAPHICS_FILE,
    CREMA_D_FIRST_CLICK_FILE,
    CREMA_D_RESPONSES_FILE,
    CREMA_D_TABULATED_FILE,
)
from serrules.corpora.parsing import (
    blank_rows,
    check_unique,
    classified_ratings,
    classify_labels,
    line_sources,
    ratings_table,
    read_csv_table,
    relative,
)
from serrules.corpora.records import (
    DUPLICATE_RATER,
    EVALUATOR,
    SLOW_RESPONSE,
    ParsedCorpus,
    RatingRows,
    empty_exclusions,
    utterances_frame,
)

if TYPE_CHECKING:
    from serrules.corpora.formats import CorpusFormat
    from serrules.corpora.vocabulary import Vocabulary


#: The official tabulation drops responses whose first click took more than 10 s.
OFFICIAL_MAX_RESPONSE_MS = 10000.0
VOICE_ONLY = 1
#: Upper bound on one clip's vote count in ``tabulatedVotes.csv``, checked before the votes are
#: expanded into rows (the release has 4-12 voice-only votes per clip; 10^9 would exhaust memory).
MAX_VOTES_PER_CLIP = 1000

log = logging.getLogger(__name__)
VOTE_LETTERS = ("A", "D", "F", "H", "N", "S")

_CLIP = r"^\d{4}_[A-Z]{3}_[A-Z]{3}_[A-Z]{2}$"


def _first_line(mask, lines: pd.Series) -> int | None:
    mask = np.asarray(mask, dtype=bool)
    return int(lines.iloc[int(np.flatnonzero(mask)[0])]) if mask.any() else None


def _numbers(df: pd.DataFrame, cols: list[str], path: Path) -> dict[str, np.ndarray]:
    out = {}
    for c in cols:
        v = pd.to_numeric(df[c].str.strip(), errors="coerce")
        bad = v.isna().to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            value = df[c].iloc[i]
            raise AnnotationError(path, int(df["_line"].iloc[i]), f"{c} is not a number: {value!r}")
        out[c] = v.to_numpy(dtype=float)
    return out


def _voice_only(df: pd.DataFrame, voice: np.ndarray, message: str, rel: str) -> pd.DataFrame:
    """The voice-only rows of ``df``; logs ``message`` % (file, rows kept, rows not read)."""
    log.info(message, rel, int(voice.sum()), int((~voice).sum()))
    return df.loc[voice]


def _check_clips(names: pd.Series, lines: pd.Series, path: Path, col: str) -> None:
    line = _first_line(~names.str.match(_CLIP), lines)
    if line is not None:
        raise AnnotationError(
            path, line, f"{col} is not a CREMA-D clip name (<actor 4 digits>_<SEN>_<EMO>_<LV>)"
        )


def read_demographics(root: Path) -> dict[str, str]:
    """Actor id -> ``F``/``M`` from ``VideoDemographics.csv``; empty (with a warning) when the
    file is missing, so every speaker's gender is ``Unknown``."""
    path = root / CREMA_D_DEMOGRAPHICS_FILE
    if not path.is_file():
        warnings.warn(
            f"{path} not found: every CREMA-D speaker's gender is 'Unknown'", stacklevel=3
        )
        return {}
    df = read_csv_table(path, ["ActorID", "Sex"])
    df = df.loc[~blank_rows(df)]
    check_unique(df["ActorID"].str.strip(), df["_line"], path, "ActorID")
    sex = df["Sex"].str.strip().map({"Male": "M", "Female": "F"})
    line = _first_line(sex.isna(), df["_line"])
    if line is not None:
        raise AnnotationError(path, line, "Sex must be Male or Female")
    return dict(zip(df["ActorID"].str.strip(), sex, strict=True))


def _slow_keys(df: pd.DataFrame, path: Path) -> np.ndarray:
    """Response keys (release formula) of first clicks slower than the limit."""
    n = _numbers(df, ["sessionNums", "queryType", "questNum"], path)
    return n["sessionNums"] * 1000 + n["queryType"] * 100 + n["questNum"]


def _from_responses(
    root: Path, path: Path, vocab: Vocabulary, unknown_labels: str, max_response_ms: float | None
) -> tuple[pd.DataFrame, pd.Series]:
    rel = relative(root, path)
    need = ["localid", "queryType", "clipName", "respEmo", "ttr", "sessionNums", "questNum"]
    df = read_csv_table(path, need, index_col_blank=True)
    df = df.loc[~blank_rows(df)]
    qt = _numbers(df, ["queryType"], path)["queryType"]
    df = _voice_only(
        df,
        qt == VOICE_ONLY,
        "%s: %d voice-only responses (queryType 1) kept; %d face-only or audio-visual "
        "responses are outside this speech study and not read",
        rel,
    )
    clips = df["clipName"].str.strip()
    _check_clips(clips, df["_line"], path, "clipName")
    rater = df["localid"].str.strip()
    line = _first_line(rater == "", df["_line"])
    if line is not None:
        raise AnnotationError(path, line, "empty localid")
    rows = RatingRows(
        utterance_id=clips,
        rater_id=rater,
        rater_kind=EVALUATOR,
        raw_label=df["respEmo"].str.strip(),
        source=line_sources(rel, df["_line"]),
    )
    # an unknown label is reported before anything of the first-click file
    emotion, status = classify_labels(vocab, rows.raw_label, rows.source, root, unknown_labels)
    slow = np.zeros(len(df), dtype=bool)
    if max_response_ms is not None:
        first_click = root / CREMA_D_FIRST_CLICK_FILE
        if first_click.is_file():
            fc = read_csv_table(
                first_click, ["sessionNums", "queryType", "questNum", "ttr"], index_col_blank=True
            )
            fc = fc.loc[~blank_rows(fc)]
            ttr = _numbers(fc, ["ttr"], first_click)["ttr"]
            slow_keys = _slow_keys(fc.loc[ttr > max_response_ms], first_click)
            slow = np.isin(_slow_keys(df, path), slow_keys)
        else:
            warnings.warn(
                f"{first_click} not found: the {max_response_ms:g} ms filter uses the ttr of "
                f"{path.name} (final response time), which drops more than the official "
                "first-click filter",
                stacklevel=3,
            )
            slow = _numbers(df, ["ttr"], path)["ttr"] > max_response_ms
    duplicate = pd.DataFrame({"c": clips.to_numpy(), "r": rater.to_numpy()}).duplicated()
    ratings = ratings_table(
        rows,
        emotion,
        status,
        exclude=[(slow, SLOW_RESPONSE), (duplicate.to_numpy(), DUPLICATE_RATER)],
    )
    return ratings, pd.Series(pd.unique(clips.to_numpy()), dtype="str")


def _from_tabulated(root: Path, path: Path, vocab: Vocabulary) -> tuple[pd.DataFrame, pd.Series]:
    rel = relative(root, path)
    df = read_csv_table(
        path, ["_rowname", *VOTE_LETTERS, "fileName", "numResponses"], index_col_blank=True
    )
    df = df.loc[~blank_rows(df)]
    key = _numbers(df, ["_rowname"], path)["_rowname"]
    df = _voice_only(
        df,
        (key // 100000) == VOICE_ONLY,
        "%s: %d voice-only clips (1xxxxx) kept; %d face-only or audio-visual rows not read",
        rel,
    )
    clips = df["fileName"].str.strip()
    _check_clips(clips, df["_line"], path, "fileName")
    num = _numbers(df, [*VOTE_LETTERS, "numResponses"], path)
    check_unique(clips, df["_line"], path, "fileName")
    check_unique(df["_rowname"].str.strip(), df["_line"], path, "row key")
    counts = np.stack([num[c] for c in VOTE_LETTERS], axis=1)
    bad = ~np.isfinite(counts) | (counts < 0) | (counts != np.round(counts))
    line = _first_line(bad.any(axis=1), df["_line"])
    if line is not None:
        raise AnnotationError(path, line, "vote counts must be non-negative integers")
    line = _first_line(counts.sum(axis=1) > MAX_VOTES_PER_CLIP, df["_line"])
    if line is not None:
        raise AnnotationError(
            path,
            line,
            f"more than {MAX_VOTES_PER_CLIP} votes for one clip (the release has 4-12): "
            "a damaged count?",
        )
    counts = counts.astype(np.int64)
    total = counts.sum(axis=1)
    line = _first_line(total != num["numResponses"], df["_line"])
    if line is not None:
        raise AnnotationError(path, line, "numResponses differs from the sum of A,D,F,H,N,S")
    # expand: clip-major, then letter order, one row per vote
    flat = counts.ravel()
    clip_idx = np.repeat(np.repeat(np.arange(len(df)), len(VOTE_LETTERS)), flat)
    letters = np.repeat(np.tile(np.array(VOTE_LETTERS, dtype=object), len(df)), flat)
    starts = np.repeat(np.cumsum(total) - total, total)
    vote_no = np.arange(int(total.sum())) - starts + 1
    raters = pd.Series(vote_no).astype("str")
    rows = RatingRows(
        utterance_id=clips.to_numpy()[clip_idx],
        rater_id=("vote" + raters).to_numpy(),
        rater_kind=EVALUATOR,
        raw_label=letters,
        source=line_sources(rel, df["_line"].to_numpy()[clip_idx]),
    )
    # every letter is a class of the vocabulary: nothing unknown to report
    ratings = classified_ratings(rows, vocab, root, "error")
    return ratings, pd.Series(clips.to_numpy(), dtype="str")


def parse_crema_d(
    root: Path,
    *,
    fmt: CorpusFormat,
    unknown_labels: str,
    max_response_ms: float | None = OFFICIAL_MAX_RESPONSE_MS,
    include_self_evaluations: bool = False,
) -> ParsedCorpus:
    """Parse a CREMA-D release rooted at ``root`` (absolute; voice-only ratings;
    ``include_self_evaluations`` has no effect: the corpus has no self-evaluations); called by
    :func:`serrules.corpora.parse_corpus`."""
    responses, tabulated = root / CREMA_D_RESPONSES_FILE, root / CREMA_D_TABULATED_FILE
    if responses.is_file():
        ratings, clips = _from_responses(
            root, responses, fmt.vocabulary, unknown_labels, max_response_ms
        )
    elif tabulated.is_file():
        ratings, clips = _from_tabulated(root, tabulated, fmt.vocabulary)
    else:
        raise FileNotFoundError(
            f"CREMA-D ratings not found: expected {responses} (per-response) or {tabulated} "
            "(per-clip vote counts)"
        )
    sex = read_demographics(root)
    actor = clips.str.slice(0, 4)
    gender = actor.map(lambda a: sex.get(a, "Unknown"))
    utterances = utterances_frame(
        utterance_id=clips,
        speaker=actor,
        gender=gender,
        session=None,
        split=None,
        audio_path=(str(root / "AudioWAV") + "/") + clips + ".wav",
    )
    return ParsedCorpus(ratings, utterances, empty_exclusions())
