"""Write simulated votes in each corpus's native layout: one module per format, as the parsers of
:mod:`serrules.corpora` (``iemocap``, ``msp_improv``, ``podcast`` for MSP-PODCAST and
BIIC-PODCAST, ``crema_d``, ``ratings_table`` for the two plain tables of a configured corpus),
over the shared steps of :mod:`~serrules.demo.writers.common`.

Each writer lays out utterance names, speakers, sessions or splits, writes the annotation files
exactly where the parsers look for them (``docs/demo.md``) and returns the audio to render plus
counts of the native quirks it wrote (duplicate rater lines, non-voice responses, ...). Native
words and codes come from the format's vocabulary
(:class:`serrules.corpora.formats.CorpusFormat`), the very table the parser reads them with.

:data:`WRITERS` registers each format's :class:`~serrules.demo.writers.common.DemoWriter` under
its format name; :func:`demo_writer` looks one up. The format registry knows nothing of the demo:
:mod:`serrules.corpora` never imports :mod:`serrules.demo`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from serrules.corpora.formats import FORMAT_NAMES, FormatSpec, corpus_format
from serrules.demo.writers.common import DemoWriter
from serrules.demo.writers.crema_d import CREMA_D
from serrules.demo.writers.iemocap import IEMOCAP
from serrules.demo.writers.msp_improv import MSP_IMPROV
from serrules.demo.writers.podcast import BIIC_PODCAST, MSP_PODCAST
from serrules.demo.writers.ratings_table import RATINGS_TABLE


def _register(*writers: DemoWriter) -> Mapping[str, DemoWriter]:
    """Format name -> writer; a name that is not a format, or one registered twice, fails on
    import."""
    registry: dict[str, DemoWriter] = {}
    for writer in writers:
        name = writer.fmt
        if name not in FORMAT_NAMES:
            raise KeyError(f"unknown corpus format {name!r}; known: {', '.join(FORMAT_NAMES)}")
        if name in registry:
            raise ValueError(f"two demo writers registered for format {name!r}")
        registry[name] = writer
    return MappingProxyType(registry)


#: The demo writer of each format, by format name.
WRITERS: Mapping[str, DemoWriter] = _register(
    IEMOCAP, MSP_IMPROV, MSP_PODCAST, BIIC_PODCAST, CREMA_D, RATINGS_TABLE
)


def demo_writer(fmt: FormatSpec) -> DemoWriter:
    """The demo writer of a format (a record or its name); ``KeyError`` naming the formats that
    have one."""
    name = corpus_format(fmt).name
    try:
        return WRITERS[name]
    except KeyError:
        raise KeyError(
            f"format {name!r} has no demo writer; formats with one: {', '.join(WRITERS)}"
        ) from None


__all__ = ["WRITERS", "DemoWriter", "demo_writer"]
