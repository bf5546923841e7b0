"""Native per-rater annotation parsers, one module per corpus format.

``parse_corpus(fmt, root, ...)`` reads a licensed release (or a demo corpus written in the same
layout) and returns a :class:`~serrules.corpora.records.ParsedCorpus`: one ratings row per
(utterance, rater, chosen emotion), utterance metadata and parse-time exclusions.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from serrules.base.classes import classes_for
from serrules.base.errors import AnnotationError
from serrules.corpora.crema_d import parse_crema_d
from serrules.corpora.iemocap import parse_iemocap
from serrules.corpora.msp_improv import parse_msp_improv
from serrules.corpora.podcast import parse_podcast
from serrules.corpora.records import ParsedCorpus


def _podcast(fmt: str) -> Callable[..., ParsedCorpus]:
    def parse(root: str | Path, **kw: Any) -> ParsedCorpus:
        return parse_podcast(root, fmt=fmt, **kw)

    return parse


#: format -> parser; every parser takes (root, *, include_self_evaluations, unknown_labels, ...)
PARSERS: dict[str, Callable[..., ParsedCorpus]] = {
    "iemocap": parse_iemocap,
    "msp-improv": parse_msp_improv,
    "msp-podcast": _podcast("msp-podcast"),
    "biic-podcast": _podcast("biic-podcast"),
    "crema-d": parse_crema_d,
}

#: options only some formats take (passed through ``parse_corpus(**options)``)
FORMAT_OPTIONS: dict[str, frozenset[str]] = {
    "iemocap": frozenset(),
    "msp-improv": frozenset(),
    "msp-podcast": frozenset(),
    "biic-podcast": frozenset(),
    "crema-d": frozenset({"max_response_ms"}),
}


def parse_corpus(
    fmt: str,
    root: str | Path,
    *,
    include_self_evaluations: bool = False,
    unknown_labels: str = "error",
    **options: Any,
) -> ParsedCorpus:
    """Parse the native annotations of a ``fmt`` corpus (one of ``serrules.base.classes.FORMATS``)
    rooted at ``root``.

    ``include_self_evaluations``: count IEMOCAP actors' self-evaluations (``C-F1``/``C-M1``) as
    valid votes (default False: status ``self_evaluation``). ``unknown_labels``: ``"error"``
    raises :class:`AnnotationError` at the file and line of an emotion word the corpus vocabulary
    does not know; ``"exclude"`` keeps the row with status ``unknown_label``. Format options:
    ``max_response_ms`` (crema-d). The result is validated before it is returned.
    """
    classes = classes_for(fmt)
    extra = set(options) - FORMAT_OPTIONS[fmt]
    if extra:
        allowed = sorted(FORMAT_OPTIONS[fmt]) or "none"
        raise TypeError(f"{fmt} parser got unknown option(s) {sorted(extra)}; allowed: {allowed}")
    root = Path(root).absolute()
    if not root.is_dir():
        raise FileNotFoundError(f"{fmt} corpus root {root} is not a folder")
    parsed = PARSERS[fmt](
        root,
        include_self_evaluations=include_self_evaluations,
        unknown_labels=unknown_labels,
        **options,
    )
    return parsed.validate(classes)


__all__ = ["AnnotationError", "PARSERS", "ParsedCorpus", "parse_corpus"]


#: glob patterns (relative to a release root) of the files each parser reads; the workflow
#: declares them as inputs so that an edited annotation file re-runs the label stage
ANNOTATION_GLOBS: dict[str, tuple[str, ...]] = {
    "iemocap": ("Session*/dialog/EmoEvaluation/*.txt",),
    "msp-improv": ("Evaluation.txt", "Evalution.txt"),
    "msp-podcast": (
        "Labels/labels_consensus.csv",
        "Labels/labels_concensus.csv",
        "Labels/labels_detailed.csv",
        "Labels/labels_detailed.json",
    ),
    "biic-podcast": (
        "Labels/labels_consensus.csv",
        "Labels/labels_concensus.csv",
        "Labels/labels_detailed.csv",
        "Labels/labels_detailed.json",
    ),
    "crema-d": (
        "finishedResponses.csv",
        "finishedEmoResponses.csv",
        "processedResults/tabulatedVotes.csv",
        "VideoDemographics.csv",
    ),
}


def _existing_files(root: str | Path, patterns: tuple[str, ...]) -> list[Path]:
    """The files under ``root`` that match any of ``patterns`` (sorted, each once)."""
    root = Path(root)
    return sorted({p for pattern in patterns for p in root.glob(pattern) if p.is_file()})


def annotation_files(fmt: str, root: str | Path) -> list[Path]:
    """The native annotation files of a release that exist under ``root`` (sorted)."""
    return _existing_files(root, ANNOTATION_GLOBS[fmt])


#: glob patterns (relative to a release root) of the audio files the parsers point
#: ``audio_path`` at; the workflow declares them as inputs of the audio check, so that a
#: replaced or repaired audio file re-runs the check and every stage that reads the audio
AUDIO_GLOBS: dict[str, tuple[str, ...]] = {
    "iemocap": ("Session*/sentences/wav/*/*.wav",),
    "msp-improv": ("Audio/session*/*/*/*.wav",),
    "msp-podcast": ("Audios/*.wav",),
    "biic-podcast": ("Audios/*.wav",),
    "crema-d": ("AudioWAV/*.wav",),
}


def audio_files(fmt: str, root: str | Path) -> list[Path]:
    """The audio files of a release that exist under ``root`` (sorted)."""
    return _existing_files(root, AUDIO_GLOBS[fmt])
