"""Native per-rater annotation parsers, one module per corpus format, and the format registry.

``parse_corpus(fmt, root, ...)`` reads a licensed release (or a demo corpus written in the same
layout) and returns a :class:`~serrules.corpora.records.ParsedCorpus`: one ratings row per
(utterance, rater, chosen emotion), utterance metadata and parse-time exclusions. What is known
about each format (classes, vocabulary, parser, file patterns, folds) is its
:class:`~serrules.corpora.formats.CorpusFormat` record.

Importing this package (or its format records) loads no pandas: Snakemake's planning reads the
records; the parsers, and pandas with them, are imported when a corpus is parsed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from serrules.base.errors import AnnotationError
from serrules.corpora.formats import FORMATS, CorpusFormat, FormatSpec, corpus_format

if TYPE_CHECKING:
    from serrules.corpora.records import ParsedCorpus


def parse_corpus(
    fmt: FormatSpec,
    root: str | Path,
    *,
    include_self_evaluations: bool = False,
    unknown_labels: str = "error",
    **options: Any,
) -> ParsedCorpus:
    """Parse the native annotations of a ``fmt`` corpus (a record, a name of
    :data:`~serrules.corpora.formats.FORMATS`, or for a ``ratings-table`` corpus its config
    entry; :func:`~serrules.corpora.formats.corpus_format`) rooted at ``root``.

    ``include_self_evaluations``: count IEMOCAP actors' self-evaluations (``C-F1``/``C-M1``) as
    valid votes (default False: status ``self_evaluation``). ``unknown_labels``: ``"error"``
    raises :class:`AnnotationError` at the file and line of an emotion word the corpus vocabulary
    does not know; ``"exclude"`` keeps the row with status ``unknown_label``. Format options
    (``CorpusFormat.options``): ``max_response_ms`` (crema-d). The result is validated before it
    is returned.
    """
    from serrules.corpora.parsing import check_mode  # pandas, needed from here on

    record = corpus_format(fmt)
    record.check_options(options)
    check_mode(unknown_labels)
    root = Path(root).absolute()
    if not root.is_dir():
        raise FileNotFoundError(f"{record.name} corpus root {root} is not a folder")
    parsed = record.parser(
        root,
        fmt=record,
        include_self_evaluations=include_self_evaluations,
        unknown_labels=unknown_labels,
        **options,
    )
    return parsed.validate(record.classes)


__all__ = [
    "FORMATS",
    "AnnotationError",
    "CorpusFormat",
    "FormatSpec",
    "corpus_format",
    "parse_corpus",
]
