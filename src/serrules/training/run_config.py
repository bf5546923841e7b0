"""The run configuration of one fold job: the ``training`` section as one typed, checked object
(:class:`TrainConfig`), the seeding of every random generator and the fingerprint that ties a
resume checkpoint to its run."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from serrules.base.config import result_training_section, validate_section
from serrules.training.fold_spec import FoldKey


@dataclass(frozen=True)
class TrainConfig:
    """The ``training`` config section of one fold job, checked once where it is built
    (:meth:`from_mapping`) and handed around whole. One field per key of the schema's
    ``training`` section (src/serrules/base/config.schema.yaml documents each); the schema holds
    the defaults and the protocol presets the protocol-dependent keys
    (:mod:`serrules.base.protocols`), so the fields have no defaults of their own."""

    epochs: int
    batch_size: int
    lr: float
    weight_decay: float
    beta: float | str
    loss_weighting: str
    target_smoothing: float
    dev_loss: str
    waveform_normalisation: str
    optimizer: str
    precision: str
    batching: str
    eval_order: str
    eval_precision: str
    waveform_statistics: str
    dev_loss_decimals: int | None
    drop_last: bool
    iemocap_folds: str
    max_seconds: float | None
    num_workers: int
    seed: int
    device: str
    bucket_size: int | None
    keep_checkpoint: bool
    gpu_lock_dir: str | None

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> TrainConfig:
        """``values`` (a ``training`` section) checked against the config schema (an unknown key
        or a bad value is a :class:`~serrules.base.errors.ConfigError` naming it), with the
        schema's defaults and the paper preset's protocol keys filled in where it leaves them
        unset. Values keep the types the config gives them (the fingerprint hashes them)."""
        return cls(**validate_section("training", dict(values)))

    def as_dict(self) -> dict[str, Any]:
        """The section as a plain mapping (``key: value``, schema order)."""
        return dataclasses.asdict(self)


def seed_everything(seed: int) -> None:
    """Seed python ``random``, numpy's global generator and torch (CPU and CUDA)."""
    random.seed(seed)
    # the global numpy generator is seeded on purpose: transformers' SpecAugment masks draw from it
    np.random.seed(seed % 2**32)  # noqa: NPY002
    torch.manual_seed(seed)


def run_fingerprint(
    key: FoldKey,
    *,
    model_cfg: Mapping[str, Any],
    train_cfg: TrainConfig,
    train_ids: list[str],
    dev_ids: list[str],
    device: torch.device,
) -> str:
    """SHA-256 of everything that changes a run's numbers (the settings of
    :data:`~serrules.base.config.RESULT_NEUTRAL_TRAINING_KEYS` left out): a resume checkpoint
    with another fingerprint is ignored."""
    text = json.dumps(
        {
            "fmt": key.fmt,
            "fold": int(key.fold),
            "rule": key.train_rule,
            "model": dict(model_cfg),
            "train": result_training_section(train_cfg.as_dict()),
            "train_ids": train_ids,
            "dev_ids": dev_ids,
            "device": device.type,
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()


__all__ = ["TrainConfig", "run_fingerprint", "seed_everything"]
