"""MSP-PODCAST and BIIC-PODCAST demo layout (one layout, their own names and splits):
``Labels/labels_consensus.csv``, ``Labels/labels_detailed.csv`` and ``Audios/<FileName>``; read
by :mod:`serrules.corpora.podcast`."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from serrules.corpora.formats import CorpusFormat
from serrules.demo.raters import OTHER_TOKEN_INDEX, DesignedUtterance, OutcomePlan, RaterSetup, Vote
from serrules.demo.speech import AudioSpec, speaker_base_f0
from serrules.demo.writers import common

#: Share of the utterances per official split, in the order of the releases.
MSP_PODCAST_SPLITS = (("Train", 0.56), ("Development", 0.13), ("Test1", 0.20), ("Test2", 0.11))
BIIC_PODCAST_SPLITS = (("Train", 0.56), ("Development", 0.13), ("Test", 0.31))
CONSENSUS_HEADER = ("FileName", "EmoClass", "EmoAct", "EmoVal", "EmoDom", "SpkrID", "Gender")


@dataclass(frozen=True)
class Segment:
    """Where one utterance sits in the layout: file name, speaker, gender, split, speaker f0."""

    file_name: str
    speaker: str
    gender: str
    split: str
    base_f0_hz: float


def write_podcast(
    fmt: CorpusFormat,
    root: Path,
    design: list[DesignedUtterance],
    rng: np.random.Generator,
    *,
    splits: tuple[tuple[str, float], ...],
) -> common.WriterResult:
    """Labels/labels_consensus.csv + Labels/labels_detailed.csv + Audios/<FileName>; names of
    MSP-PODCAST or BIIC-PODCAST, ``splits`` = (official split, share of the utterances)."""
    segments = _segments(fmt, len(design), splits, rng)
    consensus = io.StringIO()
    writer = csv.writer(consensus, lineterminator="\n")
    writer.writerow([*CONSENSUS_HEADER, "Split_Set"])
    detailed = ["FileName,EmoDetail"]
    specs: list[AudioSpec] = []
    for i in sorted(range(len(design)), key=lambda j: segments[j].file_name):
        utt, seg = design[i], segments[i]
        votes = utt.counted_votes()
        code = _plurality_code(votes, fmt)
        v, a, d = (1.0 + (x - 1.0) * 1.5 for x in common.mean_vad(votes))
        writer.writerow(
            [seg.file_name, code, f"{a:.4f}", f"{v:.4f}", f"{d:.4f}"]
            + [seg.speaker, seg.gender, seg.split]
        )
        detailed += [f'{seg.file_name},"{_detail(fmt, vote, rng)}"' for vote in votes]
        specs.append(
            common.utterance_audio(root / "Audios" / seg.file_name, utt, fmt, seg.base_f0_hz)
        )
    common.write_text(root / "Labels" / "labels_consensus.csv", consensus.getvalue())
    common.write_text(root / "Labels" / "labels_detailed.csv", "\n".join(detailed) + "\n")
    speakers = {s.speaker for s in segments} - {"Unknown"}
    n_unknown = sum(s.speaker == "Unknown" for s in segments)
    return specs, {"n_speakers": len(speakers), "n_unknown_speaker_utterances": n_unknown}


def _segments(
    fmt: CorpusFormat, n: int, splits: tuple[tuple[str, float], ...], rng: np.random.Generator
) -> list[Segment]:
    """Splits, podcasts and speakers of ``n`` utterances: each speaker lives in one split and
    talks in 2-6 consecutive segments of one podcast; about 10 % of the segments (the first one
    always) have an unknown speaker."""
    split_of = rng.permutation(np.repeat([name for name, _ in splits], _quota(n, splits)))
    segments: list[Segment | None] = [None] * n
    next_speaker, next_podcast = 1, 1
    for name, _ in splits:
        members = rng.permutation(np.flatnonzero(split_of == name))
        pos = 0
        while pos < len(members):
            if rng.random() < 0.1 or next_podcast == 1:  # the first segment is always unknown
                size, speaker, gender = 1, "Unknown", "Unknown"
            else:
                size = int(min(rng.integers(2, 7), len(members) - pos))
                speaker, gender = str(next_speaker), str(rng.choice(["Female", "Male"]))
                next_speaker += 1
            f0 = speaker_base_f0(gender[0] if gender != "Unknown" else "?", rng)
            for seg, i in enumerate(members[pos : pos + size], start=1):
                file_name = _file_name(fmt, next_podcast, seg)
                segments[i] = Segment(file_name, speaker, gender, str(split_of[i]), f0)
            next_podcast += 1
            pos += size
    return segments


def _file_name(fmt: CorpusFormat, podcast: int, segment: int) -> str:
    """``MSP-PODCAST_0001_0008.wav`` or ``BIIC-PODCAST_0001_0016_0001.wav``."""
    prefix = fmt.name.upper()
    if fmt.name == "msp-podcast":
        return f"{prefix}_{podcast:04d}_{segment * 4:04d}.wav"
    return f"{prefix}_{podcast:04d}_{segment * 8:04d}_{1 + segment % 3:04d}.wav"


def _quota(n: int, splits: tuple[tuple[str, float], ...]) -> np.ndarray:
    """Largest-remainder integer split of n by the splits' shares, each part at least 1."""
    raw = np.array([share for _, share in splits]) * n
    sizes = np.maximum(np.floor(raw).astype(int), 1)
    while sizes.sum() < n:
        sizes[np.argmax(raw - sizes)] += 1
    while sizes.sum() > n:
        sizes[np.argmax(sizes)] -= 1
    return sizes


def _plurality_code(votes: list[Vote], fmt: CorpusFormat) -> str:
    """Code of the unique most frequent primary answer (``O`` = other), ``X`` on a tie."""
    tally = np.bincount([v.labels[0] + 1 for v in votes], minlength=len(fmt.classes) + 1)
    best = tally.max()
    if best == 0 or (tally == best).sum() != 1:
        return "X"
    top = int(tally.argmax()) - 1
    return "O" if top == OTHER_TOKEN_INDEX else fmt.vocabulary.codes[fmt.classes[top]]


def _detail(fmt: CorpusFormat, vote: Vote, rng: np.random.Generator) -> str:
    """``WORKER00012; Angry; Frustrated,Annoyed; A:5.0; V:2.0; D:4.0;`` (secondary field absent
    when empty; "other" = ``Other-<text>``; A/V/D on the 1-7 scale)."""
    if vote.labels[0] == OTHER_TOKEN_INDEX:
        primary = f"Other-{rng.choice(common.OTHER_TEXTS)}"
    else:
        primary = fmt.vocabulary.word(fmt.classes[vote.labels[0]])
    k = int(rng.choice([0, 0, 1, 2, 3]))
    fields = [f"WORKER{vote.rater + 1:05d}", primary]
    if k:
        fields.append(",".join(rng.choice(common.SECONDARY_WORDS, size=k, replace=False)))
    va, vv, vd = (common.to_scale(x, 7) for x in vote.vad)
    fields += [f"A:{va:.1f}", f"V:{vv:.1f}", f"D:{vd:.1f}"]
    return "; ".join(fields) + ";"


#: The two podcast corpora share their rater setup (5-7 raters from a pool of 60).
_PODCAST_RATERS = {"min_raters": 5, "max_raters": 7, "pool_size": 60, "p_noise": 0.12}

MSP_PODCAST = common.DemoWriter(
    fmt="msp-podcast",
    write=partial(write_podcast, splits=MSP_PODCAST_SPLITS),
    top_level_entries=("Labels", "Audios"),
    layout_minimum=len(MSP_PODCAST_SPLITS),  # one per split
    plan=OutcomePlan(majority=0.552, tie=0.199, all_other=0.02, majority_alpha=4.0),
    raters=RaterSetup(p_other=0.062, **_PODCAST_RATERS),
    paper_table3={"MR": (44.81, 59.87), "PR": (19.85, 49.24), "AR": (0.0, 6.15)},
)
BIIC_PODCAST = common.DemoWriter(
    fmt="biic-podcast",
    write=partial(write_podcast, splits=BIIC_PODCAST_SPLITS),
    top_level_entries=("Labels", "Audios"),
    layout_minimum=len(BIIC_PODCAST_SPLITS),  # one per split
    plan=OutcomePlan(
        majority=0.798, tie=0.0, all_other=0.01, majority_alpha=5.0, plurality_min_raters=8
    ),
    raters=RaterSetup(p_other=0.006, **_PODCAST_RATERS),
    paper_table3={"MR": (20.25, 43.18), "PR": (0.06, 30.76), "AR": (0.0, 0.61)},
)

__all__ = [
    "BIIC_PODCAST",
    "BIIC_PODCAST_SPLITS",
    "MSP_PODCAST",
    "MSP_PODCAST_SPLITS",
    "Segment",
    "write_podcast",
]
