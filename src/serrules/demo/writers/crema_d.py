"""CREMA-D demo layout: ``finishedResponses.csv``, ``finishedEmoResponses.csv`` (first clicks),
``VideoDemographics.csv`` (R ``write.csv`` quoting) and ``AudioWAV/<clip>.wav``; read by
:mod:`serrules.corpora.crema_d`.

Voice-only responses (queryType 1) carry the simulated votes; some clips also get face-only (2)
and audio-visual (3) responses, which the parser must leave out, and about 4 % get one extra voice
response whose first click came after more than 10 s (the official tabulation drops it; it is not
among the counted votes of the summary). All other first clicks come within 6 s and final
responses within 9 s, so either time filter keeps them.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from serrules.corpora.formats import FORMATS, CorpusFormat
from serrules.demo.raters import DesignedUtterance, OutcomePlan, RaterSetup
from serrules.demo.speech import speaker_base_f0
from serrules.demo.writers import common

SENTENCES = ("IEO", "TIE", "IOM", "IWW", "TAI", "MTI", "IWL", "ITH", "DFA", "ITS", "TSI", "WSI")
#: Intensity level of a clip name -> its dispLevel (XX = unspecified, the only level of neutral).
LEVELS = {"LO": 20, "MD": 50, "HI": 80, "XX": None}
#: The columns of the release's files ("" = R's row-name column).
RESPONSE_COLUMNS = (
    *("", "localid", "pos", "ans", "ttr", "queryType", "numTries", "clipNum", "questNum"),
    *("subType", "clipName", "sessionNums", "respEmo", "respLevel", "dispEmo", "dispVal"),
    "dispLevel",
)
FIRST_CLICK_COLUMNS = (
    *("", "localid", "sessionNums", "queryType", "questNum", "pos", "ttr", "numTries"),
    *("clipNum", "clipName"),
)
DEMOGRAPHICS_COLUMNS = ("ActorID", "Age", "Sex", "Race", "Ethnicity")
RACES = ("Caucasian", "African American", "Asian", "Unspecified")
#: Clips per actor (4 to 91 actors, as many as the release has at most).
CLIPS_PER_ACTOR = 10
#: Distinct participants (``localid``) the responses come from.
N_PARTICIPANTS = 200
#: Questions per query type in one participant session, as in the release.
SESSION_QUESTIONS = 30
VOICE_ONLY = 1


class Response(NamedTuple):
    """One participant's response to one clip."""

    localid: int
    clip: int  # index of the utterance
    query_type: int  # 1 voice only, 2 face only, 3 audio-visual
    letter: str  # respEmo
    arousal: float  # 1-5, sets respLevel
    slow: bool  # first click after more than 10 s


def write_crema_d(
    fmt: CorpusFormat, root: Path, design: list[DesignedUtterance], rng: np.random.Generator
) -> common.WriterResult:
    """finishedResponses.csv + finishedEmoResponses.csv + VideoDemographics.csv +
    AudioWAV/<clip>.wav (see the module docstring)."""
    n_actors = int(np.clip(np.ceil(len(design) / CLIPS_PER_ACTOR), 4, 91))
    actors = [int(a) for a in np.arange(1001, 1001 + n_actors)]
    sex = {a: ("Female" if k % 2 else "Male") for k, a in enumerate(actors)}
    f0 = {a: speaker_base_f0(s[0], rng) for a, s in sex.items()}
    clips = _clip_names(fmt, design, actors, rng)
    responses = _responses(fmt, design, rng)
    _write_responses(fmt, root, design, clips, responses, rng)
    demographics = [_r_csv_line(DEMOGRAPHICS_COLUMNS)]
    for a in actors:
        race = str(rng.choice(RACES))
        ethnicity = "Hispanic" if rng.random() < 0.1 else "Not Hispanic"
        demographics.append(_r_csv_line([a, int(rng.integers(20, 75)), sex[a], race, ethnicity]))
    common.write_text(root / "VideoDemographics.csv", "\n".join(demographics) + "\n")
    specs = [
        common.utterance_audio(root / "AudioWAV" / f"{clip}.wav", utt, fmt, f0[int(clip[:4])])
        for clip, utt in zip(clips, design, strict=True)
    ]
    return specs, {
        "n_non_voice_responses": sum(r.query_type != VOICE_ONLY for r in responses),
        "n_slow_responses": sum(r.slow for r in responses),
        "n_actors": n_actors,
    }


def _clip_names(
    fmt: CorpusFormat, design: list[DesignedUtterance], actors: list[int], rng: np.random.Generator
) -> list[str]:
    """``<actor>_<sentence>_<EMO>_<level>`` per utterance, each name once (EMO = the code of the
    dominant class; neutral clips have level XX only)."""
    used: set[str] = set()
    names: list[str] = []
    for i, utt in enumerate(design):
        emo = fmt.vocabulary.codes[fmt.classes[utt.dominant]]
        levels = ["XX"] if emo == "NEU" else list(LEVELS)
        combos = [(s, lv) for s in SENTENCES for lv in levels]
        clip = next(
            name
            for j in range(len(actors))
            for sent, lvl in rng.permutation(combos)
            if (name := f"{actors[(i + j) % len(actors)]}_{sent}_{emo}_{lvl}") not in used
        )
        used.add(clip)
        names.append(clip)
    return names


def _responses(
    fmt: CorpusFormat, design: list[DesignedUtterance], rng: np.random.Generator
) -> list[Response]:
    """The counted votes as voice-only responses, plus now and then a slow extra voice response
    and face-only / audio-visual responses (by clip)."""
    letters = [fmt.vocabulary.word(c) for c in fmt.classes]  # respEmo letters, in class order
    out: list[Response] = []
    for i, utt in enumerate(design):
        votes = utt.counted_votes()
        for vote in votes:
            letter = letters[vote.labels[0]]
            out.append(Response(vote.rater + 1, i, VOICE_ONLY, letter, vote.vad[1], False))
        if rng.random() < 0.04:  # an extra voice response the official time filter drops
            taken = {v.rater + 1 for v in votes}
            pool = rng.permutation(np.arange(1, N_PARTICIPANTS + 1))
            rater = next(r for r in pool if r not in taken)
            out.append(Response(int(rater), i, VOICE_ONLY, str(rng.choice(letters)), 3.0, True))
        if rng.random() < 0.3:  # face-only and audio-visual responses
            for _ in range(int(rng.integers(1, 4))):
                letter = str(rng.choice(letters))
                localid = int(rng.integers(1, N_PARTICIPANTS + 1))
                out.append(Response(localid, i, int(rng.integers(2, 4)), letter, 3.0, False))
    return out


def _write_responses(
    fmt: CorpusFormat,
    root: Path,
    design: list[DesignedUtterance],
    clips: list[str],
    responses: list[Response],
    rng: np.random.Generator,
) -> None:
    """finishedResponses.csv and finishedEmoResponses.csv: the responses by participant, with
    the release's session and question numbering, answer level and response times."""
    questions: dict[tuple[int, int], int] = {}
    pos: dict[int, int] = {}
    lines = [_r_csv_line(RESPONSE_COLUMNS)]
    first_clicks = [_r_csv_line(FIRST_CLICK_COLUMNS)]
    for n_row, r in enumerate(sorted(responses, key=lambda r: r.localid), start=1):
        key = (r.localid, r.query_type)
        questions[key] = asked = questions.get(key, 0) + 1
        session = 100 * r.localid + (asked - 1) // SESSION_QUESTIONS
        pos[r.localid] = pos.get(r.localid, 0) + int(rng.integers(1, 4))
        level = int(np.clip(round(25.0 * r.arousal - 25.0 + rng.normal(0, 8)), 0, 100))
        first_ttr = int(rng.integers(10_500, 20_000)) if r.slow else int(rng.integers(700, 6000))
        row = {
            "": str(n_row),
            "localid": r.localid,
            "pos": pos[r.localid],
            "ttr": first_ttr + int(rng.integers(300, 3000)),
            "queryType": r.query_type,
            "numTries": int(rng.random() < 0.15),
            "clipNum": r.clip + 1,
            "questNum": (asked - 1) % SESSION_QUESTIONS + 1,
            "subType": 4,
            "clipName": clips[r.clip],
            "sessionNums": session,
            "respEmo": r.letter,
            "respLevel": level,
            "dispEmo": fmt.vocabulary.word(fmt.classes[design[r.clip].dominant]),
            "dispVal": clips[r.clip].rsplit("_", 1)[1],
        }
        row["ans"] = f"{r.letter}_{level}"
        row["dispLevel"] = LEVELS[row["dispVal"]]
        lines.append(_r_csv_line([row[c] for c in RESPONSE_COLUMNS]))
        first_click = {**row, "pos": pos[r.localid] - 1, "ttr": first_ttr}
        first_clicks.append(_r_csv_line([first_click[c] for c in FIRST_CLICK_COLUMNS]))
    common.write_text(root / "finishedResponses.csv", "\n".join(lines) + "\n")
    common.write_text(root / "finishedEmoResponses.csv", "\n".join(first_clicks) + "\n")


def _r_csv_line(values: list | tuple) -> str:
    """One CSV line as R's write.csv writes it: strings quoted, numbers bare, NA bare."""
    out = []
    for v in values:
        if v is None:
            out.append("NA")
        elif isinstance(v, str):
            out.append('"' + v.replace('"', '""') + '"')
        else:
            out.append(str(v))
    return ",".join(out)


CREMA_D = common.DemoWriter(
    fmt="crema-d",
    write=write_crema_d,
    top_level_entries=(
        "finishedResponses.csv",
        "finishedEmoResponses.csv",
        "VideoDemographics.csv",
        "AudioWAV",
    ),
    # one actor per speaker-disjoint fold of the format (41 utterances give 5 actors)
    layout_minimum=CLIPS_PER_ACTOR * (FORMATS["crema-d"].folds.speaker_groups - 1) + 1,
    plan=OutcomePlan(majority=0.65, tie=0.12, all_other=0.0),
    raters=RaterSetup(
        min_raters=6, max_raters=10, pool_size=200, p_other=0.0, p_noise=0.12, has_other=False
    ),
)

__all__ = ["CREMA_D", "Response", "write_crema_d"]
