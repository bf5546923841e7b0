"""The corpus-format registry: one :class:`CorpusFormat` record per native format, the one home
of what the pipeline knows about that format.

A record holds the format's emotion classes (their order = the column order of every vote,
target and probability matrix of such a corpus), its rater vocabulary, its parser and the options
only that parser takes, the glob patterns of its annotation and audio files (relative to a release
root) and its fold design (which column makes the folds, and the session tables / split mapping /
number of speaker groups). Code resolves a format name once, with :func:`corpus_format`, and
passes the record on.

One format has no fixed record: ``ratings-table`` (:data:`RATINGS_TABLE`), any corpus given as
two plain tables, whose classes, words, columns and folds come from the corpus's config entry.
:func:`corpus_format` builds its record from that entry (or from :func:`format_spec` of it, the
plain data a workflow job gets as its ``fmt`` param), checked against the config schema.

Adding a corpus format = one new record here + its parser module in :mod:`serrules.corpora` + its
demo writer module in :mod:`serrules.demo.writers`, registered there under the format's name
(docs/corpora.md, "Adding a corpus format"). The registry knows nothing of the demo: the demo
imports it, never the other way round, so the label stage and Snakemake's planning
(``workflow/rules/common.smk`` imports this module) load no demo code. Nothing here imports
torch.
"""

from __future__ import annotations

import functools
import importlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from serrules.base.config import corpus_tables
from serrules.base.errors import ConfigError
from serrules.corpora import native_files
from serrules.corpora.listing import listed_files, listing_digest
from serrules.corpora.table_layout import TableLayout
from serrules.corpora.vocabulary import Vocabulary

if TYPE_CHECKING:
    from serrules.corpora.records import ParsedCorpus

#: (train sessions, dev sessions, test sessions) per fold, in fold order.
SessionTable = tuple[tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]], ...]

#: Fold-table variants (``training.iemocap_folds``): the paper's tables, or the authors' released
#: code, which differ for IEMOCAP only. Every session-fold format has a table for each.
FOLD_SCHEMES: tuple[str, ...] = ("paper", "authors")
#: The parts of every fold, in the order of a session table's (train, dev, test).
FOLD_PARTS: tuple[str, ...] = ("train", "dev", "test")


@dataclass(frozen=True)
class FoldDesign:
    """How a format's utterances are split into folds (assignment: :mod:`serrules.labels.folds`).

    ``column``: the utterances column the folds are made from: ``session`` (``sessions`` = one
    session table per fold scheme), ``split`` (one fold; ``split_parts`` = official split ->
    part) or ``speaker`` (``speaker_groups`` speaker-disjoint folds; ``speaker_seed`` shuffles
    the sorted speakers before they are dealt out, None keeps the sorted order)."""

    column: str
    sessions: Mapping[str, SessionTable] = field(default_factory=dict)
    split_parts: Mapping[str, str] = field(default_factory=dict)
    speaker_groups: int = 0
    speaker_seed: int | None = None

    def __post_init__(self) -> None:
        if self.column == "session":
            missing = [s for s in FOLD_SCHEMES if s not in self.sessions]
            if missing:
                raise ValueError(f"session folds lack a table for fold scheme(s) {missing}")
        elif self.column == "split":
            if not self.split_parts:
                raise ValueError("split folds need the split -> part mapping")
        elif self.column == "speaker":
            if self.speaker_groups < 2:
                raise ValueError(f"speaker folds need >= 2 groups, got {self.speaker_groups}")
        else:
            raise ValueError(f"unknown fold column {self.column!r} (session, split or speaker)")

    @property
    def n_folds(self) -> int:
        """Number of folds."""
        if self.column == "session":
            return len(self.sessions[FOLD_SCHEMES[0]])
        if self.column == "split":
            return 1
        return self.speaker_groups


@dataclass(frozen=True)
class CorpusFormat:
    """Everything the pipeline knows about one native corpus format (see the module docstring).

    ``parser_ref``: ``"module:function"`` of the parser, imported on first use of
    :attr:`parser` (the parsers bring pandas; Snakemake's planning reads these records and never
    parses). ``parser(root, *, fmt, include_self_evaluations, unknown_labels, **options)``
    returns a :class:`~serrules.corpora.records.ParsedCorpus`; ``options`` = the keyword options
    only this format's parser takes; ``layout`` = the tables and column names of a corpus
    described by its config entry (``ratings-table``; None for a native format)."""

    name: str
    classes: tuple[str, ...]
    vocabulary: Vocabulary
    parser_ref: str
    annotation_globs: tuple[str, ...]
    audio_globs: tuple[str, ...]
    folds: FoldDesign
    options: frozenset[str] = frozenset()
    layout: TableLayout | None = None

    def __post_init__(self) -> None:
        if self.vocabulary.fmt != self.name:
            raise ValueError(f"{self.name}: vocabulary is that of {self.vocabulary.fmt!r}")
        self.vocabulary.check(self.classes)
        if len(set(self.classes)) != len(self.classes) or len(self.classes) < 2:
            raise ValueError(f"{self.name}: classes {self.classes} are not >= 2 distinct names")

    @property
    def parser_module(self) -> str:
        """The module of the parser (what the label stage's code digest counts of the parsers,
        workflow/rules/common.smk ``code_digest``)."""
        return self.parser_ref.partition(":")[0]

    @property
    def parser(self) -> Callable[..., ParsedCorpus]:
        """The parser function (see the class docstring)."""
        module, _, function = self.parser_ref.partition(":")
        return getattr(importlib.import_module(module), function)

    def annotation_files(self, root: str | Path) -> list[Path]:
        """The native annotation files of a release that exist under ``root`` (sorted); the
        workflow declares them as inputs, so an edited annotation file re-runs the label stage."""
        return _existing_files(root, self.annotation_globs)

    def audio_files(self, root: str | Path) -> list[Path]:
        """The audio files of a release that exist under ``root`` (sorted)."""
        return [Path(root) / rel for rel in sorted(listed_files(root, self.audio_globs))]

    def audio_listing(self, root: str | Path) -> str:
        """One digest of the release's audio files (relative path, size, modification time):
        the audio check's rule parameter, so an added, removed or rewritten audio file re-runs it
        and every later stage (:mod:`serrules.corpora.listing`)."""
        return listing_digest(root, self.audio_globs)

    def check_options(self, options: Mapping[str, Any]) -> None:
        """Raise ``TypeError`` for a parser option this format does not take."""
        extra = set(options) - self.options
        if extra:
            allowed = sorted(self.options) or "none"
            raise TypeError(
                f"{self.name} parser got unknown option(s) {sorted(extra)}; allowed: {allowed}"
            )


def _existing_files(root: str | Path, patterns: tuple[str, ...]) -> list[Path]:
    """The files under ``root`` that match any of ``patterns`` (sorted, each once)."""
    root = Path(root)
    return sorted({p for pattern in patterns for p in root.glob(pattern) if p.is_file()})


# --------------------------------------------------------------------------- the records


def _session_table(folds: str) -> SessionTable:
    """A session table from the paper's notation, one ``train/dev/test`` fold per word:
    ``"1,2,3/4/5 2,3,4/5/1"`` -> ``(((1, 2, 3), (4,), (5,)), ((2, 3, 4), (5,), (1,)))``."""
    return tuple(
        tuple(tuple(int(s) for s in part.split(",")) for part in fold.split("/"))
        for fold in folds.split()
    )


#: IEMOCAP, paper's Table 7, its last fold read as (1,2,5/3/4): the paper's typo is explained in
#: docs/labels.md ("Folds").
_IEMOCAP_PAPER = _session_table("1,2,3/4/5 2,3,4/5/1 3,4,5/1/2 1,4,5/2/3 1,2,5/3/4")
#: IEMOCAP, the authors' released code.
_IEMOCAP_AUTHORS = _session_table("1,2,3/5/4 1,2,5/4/3 1,4,5/3/2 3,4,5/2/1 2,3,4/1/5")
#: MSP-IMPROV, paper's Table 8 (session = speaker number 1-6). The authors' released label files
#: (labels_consensus_EmoP_4class_*/labels_consensus_<k>.csv, Split_Set column) use the same six
#: partitions, numbered differently: :data:`MSP_IMPROV_AUTHORS_FILE_TO_FOLD`.
_MSP_IMPROV_FOLDS = _session_table(
    "1,2,3,4/5/6 1,2,3,6/4/5 1,2,5,6/3/4 1,4,5,6/2/3 3,4,5,6/1/2 2,3,4,5/6/1"
)
#: The authors' MSP-IMPROV file number k -> the paper's (this project's) fold number: their file
#: 1 (train 1,2,5,6 / dev 3 / test 4) is the paper's partition 3, and so on.
MSP_IMPROV_AUTHORS_FILE_TO_FOLD: Mapping[int, int] = {1: 3, 2: 4, 3: 5, 4: 6, 5: 1, 6: 2}

#: The podcasts' official split (as the parser writes it) -> part of the single fold
#: (``Validation``, older releases' name of ``Development``, is accepted as well).
_PODCAST_SPLIT_PARTS: Mapping[str, str] = {
    "Train": "train",
    "Development": "dev",
    "Validation": "dev",
    "Test1": "test",
    "Test2": "test",
    "Test": "test",
}

#: MSP-PODCAST and BIIC-PODCAST share the primary-emotion classes of the MSP-PODCAST protocol.
_PODCAST_CLASSES: tuple[str, ...] = (
    "anger",
    "sadness",
    "happiness",
    "surprise",
    "fear",
    "disgust",
    "contempt",
    "neutral",
)
#: Primary-emotion words (first = the spelling of the releases) and one-letter codes.
_PODCAST_WORDS: Mapping[str, tuple[str, ...]] = {
    "anger": ("Angry", "Anger"),
    "sadness": ("Sad", "Sadness"),
    "happiness": ("Happy", "Happiness"),
    "surprise": ("Surprise", "Surprised"),
    "fear": ("Fear",),
    "disgust": ("Disgust", "Disgusted"),
    "contempt": ("Contempt",),
    "neutral": ("Neutral",),
}
_PODCAST_CODES: Mapping[str, str] = {
    "anger": "A",
    "sadness": "S",
    "happiness": "H",
    "surprise": "U",
    "fear": "F",
    "disgust": "D",
    "contempt": "C",
    "neutral": "N",
}


def _podcast(name: str) -> CorpusFormat:
    """MSP-PODCAST and BIIC-PODCAST: one layout, one parser, their own names."""
    return CorpusFormat(
        name=name,
        classes=_PODCAST_CLASSES,
        # primary emotion words, plus the one-letter codes A S H U F D C N (O = other)
        vocabulary=Vocabulary(
            name,
            _PODCAST_WORDS,
            codes=_PODCAST_CODES,
            codes_are_votes=True,
            other_words=frozenset({"o"}),
        ),
        parser_ref="serrules.corpora.podcast:parse_podcast",
        annotation_globs=(
            *native_files.PODCAST_CONSENSUS_FILES,
            *native_files.PODCAST_DETAILED_FILES,
        ),
        audio_globs=("Audios/*.wav",),
        folds=FoldDesign("split", split_parts=_PODCAST_SPLIT_PARTS),
    )


IEMOCAP = CorpusFormat(
    name="iemocap",
    classes=(
        "neutral",
        "happiness",
        "sadness",
        "anger",
        "surprise",
        "fear",
        "disgust",
        "frustration",
        "excitement",
    ),
    # rater words of the EmoEvaluation C- lines ("Neutral state" occurs in some files); the
    # codes are those of the block headers, never rater tokens
    vocabulary=Vocabulary(
        "iemocap",
        {
            "neutral": ("Neutral", "Neutral state"),
            "happiness": ("Happiness",),
            "excitement": ("Excited",),
            "sadness": ("Sadness",),
            "anger": ("Anger",),
            "frustration": ("Frustration",),
            "fear": ("Fear",),
            "surprise": ("Surprise",),
            "disgust": ("Disgust",),
        },
        codes={
            "neutral": "neu",
            "happiness": "hap",
            "excitement": "exc",
            "sadness": "sad",
            "anger": "ang",
            "frustration": "fru",
            "fear": "fea",
            "surprise": "sur",
            "disgust": "dis",
        },
    ),
    parser_ref="serrules.corpora.iemocap:parse_iemocap",
    annotation_globs=(native_files.IEMOCAP_ANNOTATION_GLOB,),
    audio_globs=("Session*/sentences/wav/*/*.wav",),
    folds=FoldDesign("session", sessions={"paper": _IEMOCAP_PAPER, "authors": _IEMOCAP_AUTHORS}),
)

MSP_IMPROV = CorpusFormat(
    name="msp-improv",
    classes=("anger", "happiness", "sadness", "neutral"),
    # primary emotion words as written, plus the one-letter consensus codes (O = other)
    vocabulary=Vocabulary(
        "msp-improv",
        {
            "anger": ("Angry", "Anger"),
            "happiness": ("Happy", "Happiness"),
            "sadness": ("Sad", "Sadness"),
            "neutral": ("Neutral",),
        },
        codes={"anger": "A", "happiness": "H", "sadness": "S", "neutral": "N"},
        codes_are_votes=True,
        other_words=frozenset({"o"}),
    ),
    parser_ref="serrules.corpora.msp_improv:parse_msp_improv",
    annotation_globs=native_files.MSP_IMPROV_ANNOTATION_FILES,
    audio_globs=("Audio/session*/*/*/*.wav",),
    folds=FoldDesign(
        "session", sessions={"paper": _MSP_IMPROV_FOLDS, "authors": _MSP_IMPROV_FOLDS}
    ),
)

MSP_PODCAST = _podcast("msp-podcast")
BIIC_PODCAST = _podcast("biic-podcast")

CREMA_D = CorpusFormat(
    name="crema-d",
    classes=("anger", "disgust", "fear", "happiness", "neutral", "sadness"),
    # respEmo letters (no "other" answer); the codes are those of the clip names
    vocabulary=Vocabulary(
        "crema-d",
        {
            "anger": ("A",),
            "disgust": ("D",),
            "fear": ("F",),
            "happiness": ("H",),
            "neutral": ("N",),
            "sadness": ("S",),
        },
        codes={
            "anger": "ANG",
            "disgust": "DIS",
            "fear": "FEA",
            "happiness": "HAP",
            "neutral": "NEU",
            "sadness": "SAD",
        },
        other_prefix="",
    ),
    parser_ref="serrules.corpora.crema_d:parse_crema_d",
    annotation_globs=(
        native_files.CREMA_D_RESPONSES_FILE,
        native_files.CREMA_D_FIRST_CLICK_FILE,
        native_files.CREMA_D_TABULATED_FILE,
        native_files.CREMA_D_DEMOGRAPHICS_FILE,
    ),
    audio_globs=("AudioWAV/*.wav",),
    folds=FoldDesign("speaker", speaker_groups=5),
    options=frozenset({"max_response_ms"}),
)

#: Every native format, by name (the config's ``corpora.<name>.format`` values).
FORMATS: dict[str, CorpusFormat] = {
    f.name: f for f in (IEMOCAP, MSP_IMPROV, MSP_PODCAST, BIIC_PODCAST, CREMA_D)
}

#: The format of a corpus given as two plain tables (docs/corpora.md, "Your own corpus"): its
#: record is built from the corpus's config entry.
RATINGS_TABLE = "ratings-table"
#: Formats whose record is built from the corpus's config entry.
CONFIGURED_FORMATS: tuple[str, ...] = (RATINGS_TABLE,)
#: The parser of a ratings-table corpus (every record of that format has it).
RATINGS_TABLE_PARSER = "serrules.corpora.ratings_table:parse_ratings_table"
#: The module of every format's parser, configured formats included (the label stage's code
#: digest counts only the parser of the corpus it parses: workflow/rules/common.smk).
PARSER_MODULES: tuple[str, ...] = tuple(
    ref.partition(":")[0]
    for ref in (*(f.parser_ref for f in FORMATS.values()), RATINGS_TABLE_PARSER)
)
#: Every value of the config's ``corpora.<name>.format``.
FORMAT_NAMES: tuple[str, ...] = (*FORMATS, *CONFIGURED_FORMATS)

#: What code passes on for a corpus's format: a record, a name of :data:`FORMATS`, or the config
#: entry of the corpus (or its :func:`format_spec`), needed for a configured format.
FormatSpec = str | CorpusFormat | Mapping[str, Any]


def format_spec(entry: Mapping[str, Any]) -> str | dict[str, Any]:
    """The part of a corpus config entry that makes its format record: the name of a native
    format, or ``{"format": ..., "tables": ...}`` for a configured one. Plain data, so that a
    workflow job gets it as its ``fmt`` param and Snakemake reruns the job when it changes."""
    name = entry["format"]
    if name in CONFIGURED_FORMATS:
        return {"format": name, "tables": entry.get("tables")}
    return name


def corpus_format(fmt: FormatSpec, *, key: str = "corpus entry") -> CorpusFormat:
    """The record of a format: a record is returned as it is, a name of :data:`FORMATS` gives
    its record, a corpus config entry (or its :func:`format_spec`) the record of its format,
    built from the entry for a configured format (``ratings-table``; a bad entry is a
    :class:`ConfigError` naming ``<key>.tables...``). ``KeyError`` naming the known formats
    for an unknown name."""
    if isinstance(fmt, CorpusFormat):
        return fmt
    if isinstance(fmt, Mapping):
        name = fmt.get("format")
        if name == RATINGS_TABLE:
            tables = fmt.get("tables")
            if not isinstance(tables, Mapping):
                raise ConfigError(
                    f"invalid configuration:\n  {key}.tables: the {RATINGS_TABLE} format needs "
                    "its tables section (docs/corpora.md, 'Your own corpus')"
                )
            return _ratings_table_format(json.dumps(tables, sort_keys=True), key)
        fmt = name
    if fmt == RATINGS_TABLE:
        raise KeyError(
            f"the {RATINGS_TABLE} format is made from a corpus's config entry: pass the entry "
            "(or format_spec(entry)), not the format's name"
        )
    try:
        return FORMATS[fmt]
    except (KeyError, TypeError):
        raise KeyError(f"unknown corpus format {fmt!r}; known: {', '.join(FORMAT_NAMES)}") from None


def _rotation(k: int) -> SessionTable:
    """``k`` folds over the groups 1..k: fold f tests group f, develops on group f % k + 1 and
    trains on the others (the speaker folds' rotation, :mod:`serrules.labels.folds`)."""
    return tuple(
        (
            tuple(g for g in range(1, k + 1) if g not in (f, f % k + 1)),
            (f % k + 1,),
            (f,),
        )
        for f in range(1, k + 1)
    )


def _table_folds(folds: Mapping[str, Any]) -> FoldDesign:
    """The fold design of a ``tables.folds`` section: by ``split`` (one fold), by ``fold`` (the
    fold column, held as the utterances' ``session``, rotated as :func:`_rotation`) or by
    ``speaker`` (``k`` speaker-disjoint folds, speakers shuffled with ``seed``)."""
    if folds["by"] == "split":
        parts = set(folds["splits"].values())
        missing = [p for p in FOLD_PARTS if p not in parts]
        if missing:
            raise ValueError(f"folds.splits maps no split onto the part(s) {missing}")
        return FoldDesign("split", split_parts=dict(folds["splits"]))
    if folds["by"] == "fold":
        return FoldDesign("session", sessions=dict.fromkeys(FOLD_SCHEMES, _rotation(folds["k"])))
    return FoldDesign("speaker", speaker_groups=folds["k"], speaker_seed=folds["seed"])


@functools.lru_cache(maxsize=64)
def _ratings_table_format(tables_json: str, key: str) -> CorpusFormat:
    """The ``ratings-table`` record of a ``tables`` section (as JSON, so that the records of
    equal sections are built once)."""
    tables = corpus_tables(json.loads(tables_json), f"{key}.tables")
    classes = tuple(tables["classes"])
    try:
        return CorpusFormat(
            name=RATINGS_TABLE,
            classes=classes,
            vocabulary=Vocabulary(
                RATINGS_TABLE,
                {**{c: (c,) for c in classes}, **{c: tuple(w) for c, w in tables["words"].items()}},
                other_words=frozenset(tables["other_words"]),
                other_prefix=tables["other_prefix"],
                case_sensitive=tables["case_sensitive"],
                whitespace=tables["whitespace"],
            ),
            parser_ref=RATINGS_TABLE_PARSER,
            annotation_globs=(tables["ratings"], tables["utterances"]),
            audio_globs=tuple(tables["audio_globs"]),
            folds=_table_folds(tables["folds"]),
            layout=TableLayout(tables["ratings"], tables["utterances"], dict(tables["columns"])),
        )
    except ValueError as exc:
        raise ConfigError(f"invalid configuration:\n  {key}.tables: {exc}") from None


__all__ = [
    "MSP_IMPROV_AUTHORS_FILE_TO_FOLD",
    "BIIC_PODCAST",
    "CONFIGURED_FORMATS",
    "CREMA_D",
    "FOLD_PARTS",
    "FOLD_SCHEMES",
    "FORMATS",
    "FORMAT_NAMES",
    "IEMOCAP",
    "MSP_IMPROV",
    "MSP_PODCAST",
    "PARSER_MODULES",
    "RATINGS_TABLE",
    "RATINGS_TABLE_PARSER",
    "CorpusFormat",
    "FoldDesign",
    "FormatSpec",
    "SessionTable",
    "corpus_format",
    "format_spec",
]
