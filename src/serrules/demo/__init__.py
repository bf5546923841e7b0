"""Built-in demo corpora: synthetic speech-like audio and simulated raters, written in the native
layout of any supported corpus format, so the whole workflow runs without a licensed release.

``generate_demo_corpus(fmt, out_dir, n_utterances, seed)`` is the one entry point; see
``docs/demo.md`` for what is simulated and how.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

from serrules.corpora.formats import FormatSpec, corpus_format
from serrules.demo.raters import (
    CLASS_VAD,
    check_summary,
    design_corpus,
    min_utterances,
    summarise,
)
from serrules.demo.speech import CLASS_PROSODY, render_audio
from serrules.demo.writers import demo_writer

__all__ = ["generate_demo_corpus", "minimum_utterances", "format_seed_sequence"]


def minimum_utterances(fmt: FormatSpec) -> int:
    """Smallest ``n_utterances`` accepted for ``fmt`` (every class must win MR and PR
    a few times; IEMOCAP needs both speakers of 5 sessions, MSP-IMPROV of 6)."""
    fmt = corpus_format(fmt)
    return min_utterances(len(fmt.classes), demo_writer(fmt).layout_minimum)


def format_seed_sequence(fmt: FormatSpec, seed: int) -> np.random.SeedSequence:
    """Root random stream of one corpus: the user's seed combined with a stable hash of the
    format name, so corpora generated with the same seed do not share random numbers."""
    name = corpus_format(fmt).name
    return np.random.SeedSequence([int(seed), zlib.crc32(name.encode("utf-8"))])


def generate_demo_corpus(
    fmt: FormatSpec, out_dir: str | Path, n_utterances: int, seed: int
) -> dict:
    """Write a synthetic corpus in the native layout of ``fmt`` under ``out_dir``.

    Returns a JSON-serialisable summary computed from the simulated votes (independently of the
    parsers): ``n_utterances``, ``n_ratings`` (counted rating tokens: evaluator votes, valid or
    "other", first occurrence of each (utterance, rater) pair), ``n_valid_votes``,
    ``n_other_votes``, ``n_self_evaluation_votes`` (IEMOCAP actor self-evaluations, not counted),
    ``n_mr_kept``, ``n_pr_kept``, ``n_ar_kept``, ``mr_wins``/``pr_wins`` per class, plus counts
    of native quirks the writer added (e.g. ``n_duplicate_ratings``, ``n_non_voice_responses``).
    Same arguments give byte-identical files.
    """
    try:
        fmt = corpus_format(fmt)
    except KeyError as exc:  # a bad argument value here, as for n_utterances and seed
        raise ValueError(exc.args[0]) from None
    if isinstance(n_utterances, bool) or not isinstance(n_utterances, (int, np.integer)):
        raise TypeError(f"n_utterances must be an integer, got {n_utterances!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    unsimulated = [c for c in fmt.classes if c not in CLASS_VAD or c not in CLASS_PROSODY]
    if unsimulated:
        raise ValueError(
            f"{fmt.name}: the demo simulates only the classes {sorted(CLASS_VAD)}, not "
            f"{unsimulated}"
        )
    minimum = minimum_utterances(fmt)
    if n_utterances < minimum:
        raise ValueError(
            f"{fmt.name}: n_utterances={n_utterances} is below the demo minimum of {minimum} "
            "(every class must win MR and PR at least 3 times and every session must have "
            "both speakers)"
        )
    root = Path(out_dir).resolve()
    writer = demo_writer(fmt)
    clashes = [name for name in writer.entries(fmt) if (root / name).exists()]
    if clashes:
        raise FileExistsError(
            f"{root}: {', '.join(clashes)} already exist; the demo generator writes a fresh corpus "
            "and never mixes with an older one (remove them first)"
        )
    design_ss, layout_ss, audio_ss = format_seed_sequence(fmt, seed).spawn(3)
    design = design_corpus(
        fmt,
        int(n_utterances),
        np.random.default_rng(design_ss),
        plan=writer.plan,
        setup=writer.raters,
    )
    summary = summarise(fmt, design)
    check_summary(summary)
    root.mkdir(parents=True, exist_ok=True)
    specs, extra = writer.write(fmt, root, design, np.random.default_rng(layout_ss))
    render_audio(specs, audio_ss)
    summary.update(extra)
    summary["seed"] = int(seed)
    return summary
