"""IEMOCAP demo layout: ``Session{1..5}/dialog/EmoEvaluation/<dialog>.txt`` (one block per
utterance: header, ``C-`` categorical and ``A-`` dimensional rater lines) and
``Session{n}/sentences/wav/<dialog>/<utt>.wav``; read by :mod:`serrules.corpora.iemocap`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from serrules.corpora.formats import CorpusFormat
from serrules.demo.raters import (
    OTHER_TOKEN_INDEX,
    DesignedUtterance,
    OutcomePlan,
    RaterSetup,
    Vote,
)
from serrules.demo.speech import AudioSpec, speaker_base_f0
from serrules.demo.writers import common

SESSIONS = (1, 2, 3, 4, 5)
HEADER = "% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]\n\n"
#: Rater comments; they may hold ":" and ";" (the parser must cut the emotions before them).
COMMENTS = (
    "(sarcastic; ends with a laugh)",
    "(note: hard to tell; maybe tired)",
    "(mixed: angry then calm)",
    "(whispering)",
)


@dataclass(frozen=True)
class Dialog:
    """One dialog of a session: its number in the session (0-based: improvised and scripted
    dialogs alternate) and its turns with the gender of each turn's speaker."""

    session: int
    index: int
    turns: list[DesignedUtterance]
    genders: list[str]

    @property
    def name(self) -> str:
        """``Ses01F_impro01``, ``Ses01F_script01_2``, ...; the sixth dialog is a ``_1b`` part."""
        k, side = self.index, "FM"[(self.index // 2) % 2]
        if k % 2 == 0:
            return f"Ses{self.session:02d}{side}_impro{k // 2 + 1:02d}"
        part = "1b" if k == 5 else str(1 + (k // 2) % 3)
        return f"Ses{self.session:02d}{side}_script{k // 2 + 1:02d}_{part}"

    def words(self, fmt: CorpusFormat) -> tuple[str, ...]:
        """The rater word of each class (class order); every third dialog writes the
        vocabulary's other neutral word, "Neutral state"."""
        neutral = fmt.vocabulary.words["neutral"][1 if self.index % 3 == 2 else 0]
        return tuple(neutral if c == "neutral" else fmt.vocabulary.word(c) for c in fmt.classes)


@dataclass(frozen=True)
class Turn:
    """One utterance block of an EmoEvaluation file: the designed utterance, its id and its
    time span in the dialog (seconds)."""

    utt: DesignedUtterance
    utt_id: str
    start_s: float
    end_s: float


def write_iemocap(
    fmt: CorpusFormat, root: Path, design: list[DesignedUtterance], rng: np.random.Generator
) -> common.WriterResult:
    """Session{1..5}/dialog/EmoEvaluation/<dialog>.txt + sentences/wav/<dialog>/<utt>.wav;
    dialogs of 3-8 turns, both speakers of every session talk."""
    session_of = common.balanced_groups(len(design), len(SESSIONS), rng)
    base_f0 = {(s, g): speaker_base_f0(g, rng) for s in SESSIONS for g in "FM"}
    specs: list[AudioSpec] = []
    n_dialogs = 0
    for s in SESSIONS:
        members = [design[i] for i in np.flatnonzero(session_of == s - 1)]
        genders = rng.choice(["F", "M"], size=len(members))
        genders[:2] = ["F", "M"]  # both speakers of the session talk
        pos, k = 0, 0
        while pos < len(members):
            size = int(min(rng.integers(3, 9), len(members) - pos))
            turns = slice(pos, pos + size)
            dialog = Dialog(s, k, members[turns], [str(g) for g in genders[turns]])
            specs += _write_dialog(fmt, root, dialog, base_f0, rng)
            pos, k = pos + size, k + 1
        n_dialogs += k
    n_self = sum(v.kind == "self" for utt in design for v in utt.votes)
    return specs, {"n_self_evaluation_lines": n_self, "n_dialogs": n_dialogs}


def _write_dialog(
    fmt: CorpusFormat,
    root: Path,
    dialog: Dialog,
    base_f0: dict[tuple[int, str], float],
    rng: np.random.Generator,
) -> list[AudioSpec]:
    """Write one dialog's EmoEvaluation file (and, for the first dialog of a session, the
    release clutter the parser must ignore); return its turns' audio."""
    session_dir = root / f"Session{dialog.session}"
    eval_dir = session_dir / "dialog" / "EmoEvaluation"
    words = dialog.words(fmt)
    blocks: list[str] = []
    specs: list[AudioSpec] = []
    seen, clock = {"F": 0, "M": 0}, float(rng.uniform(2.0, 8.0))
    for utt, gender in zip(dialog.turns, dialog.genders, strict=True):
        turn = Turn(utt, f"{dialog.name}_{gender}{seen[gender]:03d}", clock, clock + utt.duration_s)
        seen[gender] += 1
        clock = turn.end_s + float(rng.uniform(0.2, 2.5))
        blocks.append(_block(fmt, turn, words, rng))
        wav = session_dir / "sentences" / "wav" / dialog.name / f"{turn.utt_id}.wav"
        specs.append(common.utterance_audio(wav, utt, fmt, base_f0[(dialog.session, gender)]))
    common.write_text(eval_dir / f"{dialog.name}.txt", HEADER + "\n".join(blocks))
    if dialog.index == 0:
        first = f"{dialog.name}_{dialog.genders[0]}000"
        category = f"{first} :{words[dialog.turns[0].dominant]}; ()\n"
        common.write_text(eval_dir / "Categorical" / f"{dialog.name}_e1_cat.txt", category)
        (eval_dir / f"._{dialog.name}.txt").write_bytes(b"\x00\x05\x16\x07\x00\x02Mac OS X")
    return specs


def _block(fmt: CorpusFormat, turn: Turn, words: tuple[str, ...], rng: np.random.Generator) -> str:
    """One utterance block: the header (summary code, mean V/A/D), then a ``C-`` line per rater
    (evaluators ``E<n>``, then the actor's self-evaluation ``F1``/``M1``), then an ``A-`` line per
    rater in the same order."""
    evaluators = sorted(turn.utt.counted_votes(), key=lambda v: v.rater)
    selfs = [v for v in turn.utt.votes if v.kind == "self"]
    code = common.majority_code(evaluators, fmt, other="oth", none="xxx")
    v, a, d = common.mean_vad(evaluators)
    header = f"[{turn.start_s:.4f} - {turn.end_s:.4f}]\t{turn.utt_id}\t{code}"
    self_name = f"{'FM'[int(rng.integers(0, 2))]}1"
    panel = [(f"E{e.rater + 1}", e) for e in evaluators] + [(self_name, x) for x in selfs]
    categorical = [
        f"C-{name}:\t{_tokens(vote, words, rng)}\t{_comment(rng)}" for name, vote in panel
    ]
    dimensional = [f"A-{name}:\t{_dimensions(vote)}\t{_comment(rng)}" for name, vote in panel]
    lines = [f"{header}\t[{v:.4f}, {a:.4f}, {d:.4f}]", *categorical, *dimensional]
    return "\n".join(lines) + "\n"


def _tokens(vote: Vote, words: tuple[str, ...], rng: np.random.Generator) -> str:
    """``Anger; Frustration;``: the rater's emotions; "other" as ``Other`` or ``Other:<text>``."""
    tokens = []
    for label in vote.labels:
        if label != OTHER_TOKEN_INDEX:
            tokens.append(words[label])
        else:
            tokens.append(
                "Other" if rng.random() < 0.5 else f"Other:{rng.choice(common.OTHER_TEXTS)}"
            )
    return "".join(f"{t}; " for t in tokens).rstrip()


def _dimensions(vote: Vote) -> str:
    """``val 3; act 2; dom  2;`` (1-5 scale, two spaces before the dominance as in the release)."""
    val, act, dom = (common.to_scale(x, 5) for x in vote.vad)
    return f"val {val}; act {act}; dom  {dom};"


def _comment(rng: np.random.Generator) -> str:
    """A rater comment now and then, else ``()``."""
    return str(rng.choice(COMMENTS)) if rng.random() < 0.08 else "()"


IEMOCAP = common.DemoWriter(
    fmt="iemocap",
    write=write_iemocap,
    top_level_entries=tuple(f"Session{s}" for s in SESSIONS),
    layout_minimum=2 * len(SESSIONS),  # both speakers of 5 sessions
    plan=OutcomePlan(majority=0.686, tie=0.253, all_other=0.03),
    raters=RaterSetup(
        min_raters=3,
        max_raters=4,
        pool_size=6,
        p_other=0.035,
        p_noise=0.10,
        multi_select=True,
        p_second=0.3,
        p_third=0.08,
        p_self_eval=0.35,
    ),
    paper_table3={"MR": (31.37, 49.44), "PR": (25.32, 45.70), "AR": (0.0, 3.10)},
)

__all__ = ["IEMOCAP", "Dialog", "Turn", "write_iemocap"]
