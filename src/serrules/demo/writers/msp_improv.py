"""MSP-IMPROV demo layout: ``Evaluation.txt`` (a clip header line, then one line per rater) and
``Audio/session{s}/<S01A>/<scenario>/MSP-IMPROV-<id>.wav``; read by
:mod:`serrules.corpora.msp_improv`."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from serrules.corpora.formats import CorpusFormat
from serrules.demo.raters import OTHER_TOKEN_INDEX, DesignedUtterance, OutcomePlan, RaterSetup, Vote
from serrules.demo.speech import AudioSpec, speaker_base_f0
from serrules.demo.writers import common

SESSIONS = (1, 2, 3, 4, 5, 6)


def write_msp_improv(
    fmt: CorpusFormat, root: Path, design: list[DesignedUtterance], rng: np.random.Generator
) -> common.WriterResult:
    """Evaluation.txt + Audio/session{s}/<S01A>/<scenario>/MSP-IMPROV-<id>.wav; speakers
    F01-F06/M01-M06 = sessions 1-6, both genders in each; one repeated (clip, rater) line."""
    classes, vocab = fmt.classes, fmt.vocabulary
    n = len(design)
    session_of = common.balanced_groups(n, len(SESSIONS), rng) + 1
    gender_of = rng.choice(["F", "M"], size=n)
    for s in SESSIONS:  # both speakers of every session talk
        idx = np.flatnonzero(session_of == s)
        gender_of[idx[0]], gender_of[idx[1]] = "F", "M"
    base_f0 = {(s, g): speaker_base_f0(g, rng) for s in SESSIONS for g in "FM"}
    scenario_of = rng.choice(list("RSPT"), size=n, p=[0.15, 0.15, 0.5, 0.2])
    sentence_of = rng.integers(1, 21, size=n)
    turn_counter: dict[tuple, int] = {}
    duplicate_at = next(i for i, u in enumerate(design) if u.counted_votes())
    blocks: list[str] = []
    specs: list[AudioSpec] = []
    for i, utt in enumerate(design):
        s, g = int(session_of[i]), str(gender_of[i])
        group = f"S{sentence_of[i]:02d}{vocab.codes[classes[utt.dominant]]}"
        key = (group, g, s, scenario_of[i])
        turn_counter[key] = turn_counter.get(key, 0) + 1
        pair = g + ("M" if g == "F" else "F")
        stem = f"{group}-{g}{s:02d}-{scenario_of[i]}-{pair}{turn_counter[key]:02d}"
        lines = _clip_lines(fmt, stem, utt.counted_votes(), rng)
        if i == duplicate_at:  # the release repeats some (clip, rater) pairs
            lines.append(lines[1])
        blocks.append("\n".join(lines) + "\n")
        wav = root / "Audio" / f"session{s}" / group / scenario_of[i] / f"MSP-IMPROV-{stem}.wav"
        specs.append(common.utterance_audio(wav, utt, fmt, base_f0[(s, g)]))
    common.write_text(root / "Evaluation.txt", "\n".join(blocks))
    return specs, {"n_duplicate_ratings": 1}


def _clip_lines(
    fmt: CorpusFormat, stem: str, votes: list[Vote], rng: np.random.Generator
) -> list[str]:
    """The clip header (consensus code, mean A/V/D with arousal reversed, naturalness) and one
    line per rater: primary emotion, 0-2 secondary ones, A/V/D/N on the 1-5 scale."""
    code = common.majority_code(votes, fmt, other="O", none="X")
    v, a, d = common.mean_vad(votes)
    nat = float(rng.uniform(2.5, 4.5))
    lines = [f"UTD-IMPROV-{stem}.avi; {code}; A:{6.0 - a:.6f}; V:{v:.6f}; D:{d:.6f} ; N:{nat:.6f};"]
    for vote in votes:
        label = vote.labels[0]
        primary = "Other" if label == OTHER_TOKEN_INDEX else fmt.vocabulary.word(fmt.classes[label])
        k = int(rng.choice([0, 0, 1, 2]))
        secondary = ",".join(rng.choice(common.SECONDARY_WORDS, size=k, replace=False))
        va, vv, vd = (common.to_scale(x, 5) for x in vote.vad)
        lines.append(
            f"E{vote.rater + 1:04d}; {primary}; {secondary}; A:{6 - va:.1f}; V:{vv:.1f}; "
            f"D:{vd:.1f}; N:{common.to_scale(nat, 5):.1f};"
        )
    return lines


MSP_IMPROV = common.DemoWriter(
    fmt="msp-improv",
    write=write_msp_improv,
    top_level_entries=("Evaluation.txt", "Audio"),
    layout_minimum=2 * len(SESSIONS),  # both speakers of 6 sessions
    plan=OutcomePlan(majority=0.908, tie=0.056, all_other=0.01),
    raters=RaterSetup(min_raters=5, max_raters=8, pool_size=40, p_other=0.046, p_noise=0.12),
    paper_table3={"MR": (9.18, 28.52), "PR": (5.63, 26.41), "AR": (0.0, 5.12)},
)

__all__ = ["MSP_IMPROV", "write_msp_improv"]
