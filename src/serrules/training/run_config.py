"""The run configuration of one fold job: the ``training`` section resolved and checked, the
seeding of every random generator and the fingerprint that ties a resume checkpoint to its run."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from serrules.base.config import result_training_section, validate_section


def resolve_train_cfg(train_cfg: Mapping[str, Any]) -> dict[str, Any]:
    """``train_cfg`` checked against the config schema's ``training`` section (an unknown key or
    a bad value is a :class:`~serrules.base.errors.ConfigError` naming it), with the schema's
    defaults and the paper preset's protocol keys filled in where it leaves them unset."""
    return validate_section("training", dict(train_cfg))


def seed_everything(seed: int) -> None:
    """Seed python ``random``, numpy's global generator and torch (CPU and CUDA)."""
    random.seed(seed)
    # the global numpy generator is seeded on purpose: transformers' SpecAugment masks draw from it
    np.random.seed(seed % 2**32)  # noqa: NPY002
    torch.manual_seed(seed)


def run_fingerprint(
    *,
    fmt: str,
    fold: int,
    train_rule: str,
    model_cfg: Mapping[str, Any],
    train_cfg: Mapping[str, Any],
    train_ids: list[str],
    dev_ids: list[str],
    device: torch.device,
) -> str:
    """SHA-256 of everything that changes a run's numbers (the settings of
    :data:`~serrules.base.config.RESULT_NEUTRAL_TRAINING_KEYS` left out): a resume checkpoint
    with another fingerprint is ignored."""
    text = json.dumps(
        {
            "fmt": fmt,
            "fold": int(fold),
            "rule": train_rule,
            "model": dict(model_cfg),
            "train": result_training_section(train_cfg),
            "train_ids": train_ids,
            "dev_ids": dev_ids,
            "device": device.type,
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()


__all__ = ["resolve_train_cfg", "run_fingerprint", "seed_everything"]
