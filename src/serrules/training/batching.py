"""Datasets, batch samplers and collation for training and prediction.

* :class:`AudioDataset` loads one utterance at a time (16 kHz mono, cropped to ``max_seconds``)
  and normalises it: to zero mean and unit variance per utterance, as the wav2vec2 feature
  extractor does (the paper's reading), or with one global mean/std computed by
  :func:`waveform_statistics` over every training sample of the fold (the authors' code;
  ``training.waveform_normalisation``).
* :class:`FeatureDataset` serves rows of a standardised feature matrix.
* :class:`BatchSampler` draws one epoch of batches from its own seeded ``torch.Generator``:
  random batches, or length-bucketed batches (shuffle, cut into buckets, sort each bucket by
  duration, cut into batches, shuffle the batches) that keep padding small; ``drop_last`` (the
  authors' code) drops each partial batch.
* :func:`pad_collate` zero-pads waveforms to the longest one and returns the attention mask.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset, Sampler

from serrules.audio.loading import SAMPLE_RATE, load_audio


def normalise_waveform(wave: np.ndarray, eps: float = 1e-7) -> np.ndarray:
    """Zero mean, unit variance (the ``do_normalize`` step of the wav2vec2 feature extractor)."""
    wave = wave.astype(np.float32, copy=False)
    return ((wave - wave.mean()) / np.sqrt(wave.var() + eps)).astype(np.float32)


#: ``training.waveform_normalisation`` values.
WAVEFORM_NORMALISATIONS: tuple[str, ...] = ("utterance", "global")


#: ``training.waveform_statistics`` values.
WAVEFORM_STATISTICS: tuple[str, ...] = ("cropped", "uncropped")


def statistics_crop(max_seconds: float | None, mode: str) -> float | None:
    """The crop :func:`waveform_statistics` applies: ``max_seconds`` (``cropped``, as the
    model sees the audio) or none (``uncropped``: the authors compute the mean/std over the
    whole training waveforms, utils/dataset.py:84, and crop only when serving an item, :94)."""
    if mode not in WAVEFORM_STATISTICS:
        raise ValueError(
            f"training.waveform_statistics must be one of {WAVEFORM_STATISTICS}, got {mode!r}"
        )
    return max_seconds if mode == "cropped" else None


def waveform_statistics(
    paths: Sequence[str], max_seconds: float | None = 12.0, sample_rate: int = SAMPLE_RATE
) -> tuple[float, float]:
    """Mean and standard deviation of every sample of every waveform in ``paths`` (loaded and
    cropped to ``max_seconds``, None = whole waveforms; :func:`statistics_crop`), accumulated in
    float64: the authors' global normalisation statistics, computed on a fold's training part."""
    total = total_sq = 0.0
    count = 0
    for path in paths:
        wave = load_audio(path, sample_rate=sample_rate, max_seconds=max_seconds).astype(np.float64)
        total += float(wave.sum())
        total_sq += float(np.square(wave).sum())
        count += wave.size
    if count == 0:
        raise ValueError("waveform_statistics: no audio samples in the training part")
    mean = total / count
    var = max(total_sq / count - mean * mean, 0.0)
    return mean, float(np.sqrt(var))


def normalise_global(wave: np.ndarray, mean: float, std: float, eps: float = 1e-7) -> np.ndarray:
    """``(wave - mean) / sqrt(std**2 + eps)`` with the fold's global training statistics."""
    wave = wave.astype(np.float64, copy=False)
    return ((wave - mean) / np.sqrt(std * std + eps)).astype(np.float32)


@dataclass(frozen=True)
class Item:
    """One utterance: its position in the dataset, model input and target (C,) row."""

    index: int
    inputs: np.ndarray
    target: np.ndarray


class AudioDataset(Dataset):
    """Waveforms of ``paths`` with their ``targets`` (utterances x C; zeros for prediction)."""

    def __init__(
        self,
        paths: Sequence[str],
        targets: np.ndarray,
        max_seconds: float | None = 12.0,
        sample_rate: int = SAMPLE_RATE,
        global_stats: tuple[float, float] | None = None,
    ):
        if len(paths) != len(targets):
            raise ValueError(f"{len(paths)} audio paths but {len(targets)} target rows")
        self.paths = list(paths)
        self.targets = np.asarray(targets, dtype=np.float32)
        self.max_seconds = max_seconds
        self.sample_rate = sample_rate
        self.global_stats = global_stats  # None: per-utterance normalisation

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> Item:
        wave = load_audio(
            self.paths[index], sample_rate=self.sample_rate, max_seconds=self.max_seconds
        )
        if self.global_stats is None:
            return Item(index, normalise_waveform(wave), self.targets[index])
        return Item(index, normalise_global(wave, *self.global_stats), self.targets[index])


class FeatureDataset(Dataset):
    """Rows of a (utterances x features) matrix with their ``targets``."""

    def __init__(self, features: np.ndarray, targets: np.ndarray):
        if len(features) != len(targets):
            raise ValueError(f"{len(features)} feature rows but {len(targets)} target rows")
        self.features = np.ascontiguousarray(features, dtype=np.float32)
        self.targets = np.asarray(targets, dtype=np.float32)

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, index: int) -> Item:
        return Item(index, self.features[index], self.targets[index])


def pad_collate(items: Sequence[Item]) -> dict[str, Tensor]:
    """Batch of waveforms: right-pad with zeros to the longest one; ``attention_mask`` is 1 on
    real samples, 0 on padding. Returns ``index``, ``inputs``, ``attention_mask``, ``targets``."""
    lengths = [len(it.inputs) for it in items]
    inputs = torch.zeros(len(items), max(lengths), dtype=torch.float32)
    mask = torch.zeros(len(items), max(lengths), dtype=torch.long)
    for row, (it, n) in enumerate(zip(items, lengths, strict=True)):
        inputs[row, :n] = torch.from_numpy(it.inputs)
        mask[row, :n] = 1
    return {
        "index": torch.tensor([it.index for it in items], dtype=torch.long),
        "inputs": inputs,
        "attention_mask": mask,
        "targets": torch.from_numpy(np.stack([it.target for it in items])),
    }


def stack_collate(items: Sequence[Item]) -> dict[str, Tensor]:
    """Batch of fixed-width feature vectors: ``index``, ``inputs``, ``targets``."""
    return {
        "index": torch.tensor([it.index for it in items], dtype=torch.long),
        "inputs": torch.from_numpy(np.stack([it.inputs for it in items])),
        "targets": torch.from_numpy(np.stack([it.target for it in items])),
    }


class BatchSampler(Sampler[list[int]]):
    """Seeded batches over ``n`` items, drawn anew at each ``iter()`` (one epoch).

    ``lengths=None`` or ``bucket_size=None``: random batches (a permutation cut into batches).
    Otherwise length-bucketed: permute, cut into buckets of ``bucket_size`` items, sort each bucket
    by length (stable), cut each bucket into batches, then shuffle all batches. Only the last
    batch of a bucket can be smaller; ``drop_last`` drops it (random batches: the one partial
    batch of the epoch), unless it is the only batch (fewer items than ``batch_size``). All
    randomness comes from ``generator``, whose state is saved with training checkpoints.
    """

    def __init__(
        self,
        n: int,
        batch_size: int,
        generator: torch.Generator,
        lengths: Sequence[float] | np.ndarray | None = None,
        bucket_size: int | None = None,
        drop_last: bool = False,
    ):
        if n < 1:
            raise ValueError("BatchSampler needs at least one item")

        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if lengths is not None and len(lengths) != n:
            raise ValueError(f"{len(lengths)} lengths for {n} items")
        if bucket_size is not None and bucket_size < batch_size:
            raise ValueError(f"bucket_size ({bucket_size}) must be >= batch_size ({batch_size})")
        self.n = n
        self.batch_size = batch_size
        self.generator = generator
        self.lengths = None if lengths is None else np.asarray(lengths, dtype=np.float64)
        self.bucket_size = bucket_size
        self.drop_last = drop_last

    @property
    def bucketed(self) -> bool:
        return self.lengths is not None and self.bucket_size is not None

    def batches(self) -> list[list[int]]:
        """Draw one epoch of batches (advances the generator)."""
        order = torch.randperm(self.n, generator=self.generator).numpy()
        if not self.bucketed:
            return self._cut(order)
        out: list[list[int]] = []
        for start in range(0, self.n, self.bucket_size):
            bucket = order[start : start + self.bucket_size]
            bucket = bucket[np.argsort(self.lengths[bucket], kind="stable")]
            out.extend(self._cut(bucket))
        perm = torch.randperm(len(out), generator=self.generator).tolist()
        return [out[i] for i in perm]

    def _cut(self, order: np.ndarray) -> list[list[int]]:
        # bucketed + drop_last: drop each bucket's partial batch unless that leaves no batch
        drop = self.drop_last and (not self.bucketed or self.n >= self.batch_size)
        return cut_batches(order, self.batch_size, drop, keep_single=not self.bucketed)

    def _sizes(self) -> list[int]:
        """Batch sizes of one epoch (the same every epoch; only the order is random)."""
        parts = [self.n]
        if self.bucketed:
            full, rest = divmod(self.n, self.bucket_size)
            parts = [self.bucket_size] * full + ([rest] if rest else [])
        idx = [np.arange(n) for n in parts]
        return [len(b) for order in idx for b in self._cut(order)]

    def smallest_batch(self) -> int:
        """Size of the smallest batch an epoch can hold (a BatchNorm head needs more than 1)."""
        return min(self._sizes())

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self.batches())

    def __len__(self) -> int:
        return len(self._sizes())


def cut_batches(
    order: np.ndarray, batch_size: int, drop_last: bool, keep_single: bool = True
) -> list[list[int]]:
    """Consecutive batches of ``order``; ``drop_last`` drops a trailing partial batch, except
    (``keep_single``) when it is the only batch (fewer items than ``batch_size``: a part is
    never emptied)."""
    drop = drop_last and (len(order) >= batch_size or not keep_single)
    stop = len(order) - len(order) % batch_size if drop else len(order)
    return [order[i : i + batch_size].tolist() for i in range(0, stop, batch_size)]


def sequential_batches(
    n: int,
    batch_size: int,
    lengths: Sequence[float] | np.ndarray | None = None,
    drop_last: bool = False,
) -> list[list[int]]:
    """Deterministic batches covering all ``n`` items once (evaluation and prediction); sorted
    by length when ``lengths`` are given, so that padding stays small. ``drop_last`` (the
    authors' dev loader) drops the last partial batch; it is never used for predictions."""
    order = np.arange(n) if lengths is None else np.argsort(np.asarray(lengths), kind="stable")
    return cut_batches(order, batch_size, drop_last)
