"""What every demo writer shares: the :class:`DemoWriter` record and the small steps of writing
simulated votes as native annotation text (vote tallies, rating scales, free-text pools)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
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
from serrules.demo.speech import AudioSpec

#: What a writer returns: the audio to render and counts of the native quirks it wrote.
WriterResult = tuple[list[AudioSpec], dict[str, int]]
#: ``write(fmt, root, design, rng)``: lays out one corpus under ``root``.
WriteFunction = Callable[
    [CorpusFormat, Path, list[DesignedUtterance], np.random.Generator], WriterResult
]


@dataclass(frozen=True, kw_only=True)
class DemoWriter:
    """The demo corpus of one format (registered under ``fmt``, a format name of
    :data:`serrules.corpora.formats.FORMAT_NAMES`): ``write`` lays it out; ``top_level_entries`` =
    what it creates under the corpus root (refused if already there); ``layout_minimum`` =
    utterances the layout itself needs (e.g. both speakers of every session); ``plan`` and
    ``raters`` = the simulated vote outcomes and rater behaviour; ``paper_table3`` = the paper's
    Table 3 row the plan is calibrated to (rule -> data loss %, rating loss %), where the paper
    has one; ``layout_entries`` = further top-level entries that depend on the record (a
    configured format's file names)."""

    fmt: str
    write: WriteFunction
    top_level_entries: tuple[str, ...]
    layout_minimum: int
    plan: OutcomePlan
    raters: RaterSetup
    paper_table3: Mapping[str, tuple[float, float]] | None = None
    layout_entries: Callable[[CorpusFormat], tuple[str, ...]] | None = None

    def entries(self, fmt: CorpusFormat) -> tuple[str, ...]:
        """What the writer creates under the corpus root for the record ``fmt``."""
        extra = self.layout_entries(fmt) if self.layout_entries is not None else ()
        return tuple(dict.fromkeys([*self.top_level_entries, *extra]))


#: Free text of "other" answers.
OTHER_TEXTS = ("Bored", "Amused", "Concerned", "Confused", "Disappointed", "Sarcastic", "Tired")
#: Secondary emotions of the layouts that ask for them (MSP-IMPROV, the podcasts).
SECONDARY_WORDS = (
    "Frustrated",
    "Annoyed",
    "Depressed",
    "Excited",
    "Concerned",
    "Disappointed",
    "Amused",
    "Confused",
    "Surprised",
    "Bored",
)


def balanced_groups(n: int, n_groups: int, rng: np.random.Generator) -> np.ndarray:
    """Group index per item: sizes differ by at most one, order shuffled."""
    return rng.permutation(np.arange(n) % n_groups)


def mean_vad(votes: list[Vote]) -> np.ndarray:
    """Mean valence, arousal, dominance of the votes (1-5 scale; 3, 3, 3 without votes)."""
    if not votes:
        return np.full(3, 3.0)
    return np.mean([v.vad for v in votes], axis=0)


def to_scale(value: float, top: int) -> int:
    """Round a 1-5 rating onto a 1-``top`` integer scale."""
    return int(np.clip(np.round(1.0 + (value - 1.0) * (top - 1) / 4.0), 1, top))


def majority_code(votes: list[Vote], fmt: CorpusFormat, *, other: str, none: str) -> str:
    """Vocabulary code of the class (``other`` for "other") chosen by strictly more than half of
    the raters; ``none`` when no answer has such a majority."""
    tally: dict[int, int] = {}
    for v in votes:
        for label in set(v.labels):
            tally[label] = tally.get(label, 0) + 1
    if not tally:
        return none
    best = max(tally.values())
    leaders = [k for k, c in tally.items() if c == best]
    if len(leaders) != 1 or 2 * best <= len(votes):
        return none
    return (
        other if leaders[0] == OTHER_TOKEN_INDEX else fmt.vocabulary.codes[fmt.classes[leaders[0]]]
    )


def utterance_audio(
    path: Path, utt: DesignedUtterance, fmt: CorpusFormat, base_f0_hz: float
) -> AudioSpec:
    """The audio of one designed utterance, spoken at ``base_f0_hz`` and written to ``path``."""
    return AudioSpec(path, utt.blend, fmt.classes, base_f0_hz, utt.duration_s)


def write_text(path: Path, text: str) -> None:
    """Write an annotation file (UTF-8, line ends as given), creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="")


__all__ = [
    "OTHER_TEXTS",
    "SECONDARY_WORDS",
    "DemoWriter",
    "WriteFunction",
    "WriterResult",
    "balanced_groups",
    "majority_code",
    "mean_vad",
    "to_scale",
    "utterance_audio",
    "write_text",
]
