"""What one fold job is: which model it trains (:class:`FoldKey`: format, fold, train rule) and
the files it reads and writes (:class:`FoldFiles`, built from a Snakemake job by
:meth:`FoldFiles.from_job` as :class:`~serrules.evaluation.pooled_corpus.CorpusFiles` is for an
evaluation job)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from serrules.corpora.formats import FormatSpec
from serrules.training.fold_data import FoldTables


@dataclass(frozen=True)
class FoldKey:
    """One (corpus format, fold, train rule) of a fold job; ``fmt`` is a format name or, for
    a configured format, its spec (:func:`serrules.corpora.formats.format_spec`)."""

    fmt: FormatSpec
    fold: int
    train_rule: str


@dataclass(frozen=True)
class FoldFiles:
    """The paths of one fold job: the tables it joins (``labels`` of the train rule, the fold
    table, the audio index, the eGeMAPS table a feature model needs), its outputs (``model``,
    ``train_log``, ``predictions`` and the optional ``protocol`` record) and the folder of its
    resume checkpoint."""

    labels: Path
    folds: Path
    audio_index: Path
    features: Path | None
    model: Path
    train_log: Path
    predictions: Path
    checkpoint_dir: Path
    protocol: Path | None = None

    def __post_init__(self) -> None:
        for name in ("labels", "folds", "audio_index", "model", "train_log", "predictions"):
            object.__setattr__(self, name, Path(getattr(self, name)))
        object.__setattr__(self, "checkpoint_dir", Path(self.checkpoint_dir))
        for name in ("features", "protocol"):
            value = getattr(self, name)
            object.__setattr__(self, name, Path(value) if value else None)

    @classmethod
    def from_job(cls, job) -> FoldFiles:
        """From the ``snakemake`` object of the ``train_fold`` rule's script: the inputs
        ``labels``, ``folds``, ``audio_index`` and ``features`` (empty for a waveform model), the
        outputs ``model``, ``train_log``, ``predictions`` and ``protocol``, and
        ``params.checkpoint_dir`` (workflow/rules/training.smk)."""
        return cls(
            labels=job.input.labels,
            folds=job.input.folds,
            audio_index=job.input.audio_index,
            features=job.input.features or None,
            model=job.output.model,
            train_log=job.output.train_log,
            predictions=job.output.predictions,
            checkpoint_dir=job.params.checkpoint_dir,
            protocol=job.output.protocol,
        )

    @property
    def tables(self) -> FoldTables:
        """The three tables :func:`~serrules.training.fold_data.load_fold_parts` joins."""
        return FoldTables(self.labels, self.folds, self.audio_index)


__all__ = ["FoldFiles", "FoldKey"]
