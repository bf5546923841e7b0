"""The data of one fold: its train, dev and test parts joined from the fold table, the rule's
labels and the audio index (:func:`load_fold_parts`), and the datasets a model of each input kind
trains on (:func:`fold_inputs`: decoded waveforms, or standardised eGeMAPS features)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from torch.utils.data import Dataset

from serrules.audio.loading import SAMPLE_RATE
from serrules.base.classes import ROW_SUM_TOLERANCE, prefixed
from serrules.base.tables import read_table
from serrules.corpora.formats import FormatSpec, corpus_format
from serrules.labels.folds import PARTS
from serrules.training.batching import (
    AudioDataset,
    FeatureDataset,
    pad_collate,
    stack_collate,
    statistics_crop,
    waveform_statistics,
)
from serrules.training.model_names import AUDIO_INPUT

if TYPE_CHECKING:
    from serrules.training.run_config import TrainConfig

log = logging.getLogger(__name__)

#: Audio-index columns a fold job reads.
AUDIO_COLUMNS = ("audio_path", "duration_s", "status")


@dataclass
class FoldData:
    """The three parts of one fold. ``train``/``dev`` hold ``y_<class>`` targets; every part
    holds ``utterance_id``, ``audio_path`` and ``duration_s``."""

    classes: tuple[str, ...]
    train: pd.DataFrame
    dev: pd.DataFrame
    test: pd.DataFrame
    skipped: dict[str, dict[str, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class FoldTables:
    """The tables a fold job joins, at the paths its rule names."""

    labels: str | os.PathLike[str]  #: ``labels_<rule>.parquet`` of the train rule
    folds: str | os.PathLike[str]  #: the fold table
    audio_index: str | os.PathLike[str]  #: ``audio_index.parquet``


def load_fold_parts(fmt: FormatSpec, fold: int, train_rule: str, tables: FoldTables) -> FoldData:
    """Join folds, the rule's labels and the audio index into the train, dev and test parts.

    Utterances whose audio status is not ``ok`` (or that are absent from the index) are skipped
    and counted per part and reason in :attr:`FoldData.skipped`. Empty parts raise ``ValueError``
    naming the labels file, the fold and the rule.
    """
    labels_path, folds_path, audio_index_path = tables.labels, tables.folds, tables.audio_index
    classes = corpus_format(fmt).classes
    y_cols = prefixed("y_", classes)
    # missing columns, null or repeated keys: the table contracts (serrules.base.tables)
    labels = read_table(labels_path, "labels", columns=y_cols)
    folds = read_table(folds_path, "folds", columns=["part"])
    index = read_table(audio_index_path, "audio_index", columns=AUDIO_COLUMNS)
    targets = labels[y_cols].to_numpy(dtype=np.float64)
    bad = ~np.isfinite(targets).all(axis=1) | (
        np.abs(targets.sum(axis=1) - 1.0) > ROW_SUM_TOLERANCE
    )
    if bad.any():
        first = labels["utterance_id"].iloc[int(np.flatnonzero(bad)[0])]
        raise ValueError(
            f"{labels_path}: {int(bad.sum())} row(s) with y_ targets that are not finite shares "
            f"summing to 1 (first: utterance {first})"
        )

    in_fold = folds[folds["fold"] == fold]
    if in_fold.empty:
        known = sorted(folds["fold"].unique().tolist())
        raise ValueError(f"{folds_path}: no rows for fold {fold} (folds present: {known})")
    status = index.set_index("utterance_id")
    parts: dict[str, pd.DataFrame] = {}
    skipped: dict[str, dict[str, int]] = {}
    for part in PARTS:
        ids = in_fold.loc[in_fold["part"] == part, ["utterance_id"]]
        if part != "test":  # the rule decides which utterances train and select the model
            n_fold = len(ids)
            ids = ids.merge(labels[["utterance_id", *y_cols]], on="utterance_id", how="inner")
            n_rule = len(ids)
        else:
            n_fold = n_rule = len(ids)
        joined = ids.join(status[["audio_path", "duration_s", "status"]], on="utterance_id")
        reason = joined["status"].fillna("not_in_audio_index")
        ok = reason == "ok"
        skipped[part] = {str(k): int(v) for k, v in reason[~ok].value_counts().items()}
        parts[part] = joined.loc[ok].drop(columns="status").reset_index(drop=True)
        if parts[part].empty:
            raise ValueError(
                f"{labels_path}: fold {fold}, rule {train_rule}: the {part} part is empty "
                f"({n_fold} utterance(s) in the fold's {part} part of {folds_path}, {n_rule} kept "
                f"by the rule, 0 with audio ok in {audio_index_path})"
            )
    return FoldData(classes, parts["train"], parts["dev"], parts["test"], skipped)


def load_features(
    features_path: str | os.PathLike[str], *utterance_ids: Iterable[str]
) -> tuple[list[np.ndarray], list[str]]:
    """One feature matrix per list of ``utterance_ids`` (rows in its order), read from one pass
    over the table, and the feature column names; a missing utterance raises ``KeyError`` and a
    non-finite value ``ValueError``, each naming the file."""
    table = read_table(features_path, "egemaps")
    columns = [c for c in table.columns if c != "utterance_id"]
    table = table.set_index("utterance_id")
    matrices = []
    for part_ids in utterance_ids:
        ids = list(part_ids)
        missing = pd.Index(ids).difference(table.index)
        if len(missing):
            raise KeyError(
                f"{features_path}: no features for {len(missing)} audio-ok utterance(s), e.g. "
                f"{', '.join(map(str, missing[:5]))}"
            )
        matrix = table.loc[ids, columns].to_numpy(dtype=np.float32)
        if not np.isfinite(matrix).all():
            row = int(np.flatnonzero(~np.isfinite(matrix).all(axis=1))[0])
            raise ValueError(f"{features_path}: non-finite feature values for utterance {ids[row]}")
        matrices.append(matrix)
    return matrices, columns


@dataclass
class FoldInputs:
    """The datasets of one fold for one model's input kind, and how to batch them."""

    train: Dataset
    dev: Dataset
    test: Dataset
    collate: Any
    #: lengths (seconds, after the crop) for length-bucketed batches; None = no bucketing
    train_lengths: np.ndarray | None
    dev_lengths: np.ndarray | None
    test_lengths: np.ndarray | None
    #: input width of a feature model (None for waveforms)
    n_features: int | None = None
    #: fitted eGeMAPS standardiser (saved with the model), None for waveforms
    standardizer_state: dict[str, Any] | None = None
    #: the fold's global waveform mean and std (``training.waveform_normalisation: global``)
    waveform_mean_std: tuple[float, float] | None = None


def fold_inputs(
    input_kind: str,
    data: FoldData,
    y_train: np.ndarray,
    y_dev: np.ndarray,
    cfg: TrainConfig,
    features_path: str | os.PathLike[str] | None,
) -> FoldInputs:
    """Datasets of the three parts for a model reading ``input_kind`` (registry of models):
    waveforms cropped to ``training.max_seconds`` (normalised per utterance or with the train
    part's global statistics), or eGeMAPS features standardised with statistics of the train
    part."""
    zeros = np.zeros((len(data.test), len(data.classes)), np.float32)
    if input_kind == AUDIO_INPUT:
        max_s = cfg.max_seconds
        stats = None
        if cfg.waveform_normalisation == "global":
            crop = statistics_crop(max_s, cfg.waveform_statistics)
            stats = waveform_statistics(data.train["audio_path"].tolist(), crop, SAMPLE_RATE)

        def dataset(frame: pd.DataFrame, targets: np.ndarray) -> AudioDataset:
            paths = frame["audio_path"].tolist()
            return AudioDataset(paths, targets, max_s, SAMPLE_RATE, global_stats=stats)

        def lengths(frame: pd.DataFrame) -> np.ndarray:
            dur = frame["duration_s"].to_numpy(np.float64)
            return dur if max_s is None else np.minimum(dur, max_s)

        return FoldInputs(
            dataset(data.train, y_train),
            dataset(data.dev, y_dev),
            dataset(data.test, zeros),
            pad_collate,
            lengths(data.train) if cfg.bucket_size else None,
            lengths(data.dev),
            lengths(data.test),
            waveform_mean_std=stats,
        )
    from serrules.audio.features import FeatureStandardizer

    if not features_path:
        raise ValueError("a feature model needs features_path (the eGeMAPS Parquet table)")
    (x_train, x_dev, x_test), columns = load_features(
        features_path, *(part["utterance_id"] for part in (data.train, data.dev, data.test))
    )
    standardizer = FeatureStandardizer()
    standardizer.fit(pd.DataFrame(x_train, columns=columns))

    def scaled(x: np.ndarray) -> np.ndarray:
        return np.asarray(standardizer.transform(pd.DataFrame(x, columns=columns)), np.float32)

    return FoldInputs(
        FeatureDataset(scaled(x_train), y_train),
        FeatureDataset(scaled(x_dev), y_dev),
        FeatureDataset(scaled(x_test), zeros),
        stack_collate,
        None,
        None,
        None,
        n_features=len(columns),
        standardizer_state=standardizer.state_dict(),
    )


__all__ = [
    "FoldData",
    "FoldInputs",
    "FoldTables",
    "fold_inputs",
    "load_features",
    "load_fold_parts",
]
