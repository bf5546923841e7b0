"""The protocol-dependent pieces of one training job (docs/protocols.md), built from the resolved
``training`` config section (:class:`~serrules.training.run_config.TrainConfig`): training
targets, class-balanced criterion, dev loss, optimiser and mixed precision.
:mod:`serrules.training.fold_job` calls these so that its loop stays protocol-agnostic.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import torch
from torch import Tensor

from serrules.labels.aggregation import smooth_targets
from serrules.training.loss import ClassBalancedSoftCrossEntropy, resolve_beta
from serrules.training.run_config import TrainConfig

OPTIMIZERS: tuple[str, ...] = ("adamw", "adam")
PRECISIONS: tuple[str, ...] = ("bf16", "fp16", "fp32")
DEV_LOSSES: tuple[str, ...] = ("weighted", "unweighted")


def training_targets(targets: np.ndarray, cfg: TrainConfig) -> np.ndarray:
    """Train/dev targets after ``training.target_smoothing`` (0 = unchanged)."""
    return smooth_targets(targets, float(cfg.target_smoothing))


def build_criterion(
    y_train: np.ndarray, classes: Sequence[str], cfg: TrainConfig
) -> tuple[ClassBalancedSoftCrossEntropy, float]:
    """Class-balanced criterion from the (already smoothed) training targets, and the numeric
    beta used (``training.beta``, or ``(N-1)/N`` with N = training utterances of the fold)."""
    beta = resolve_beta(cfg.beta, len(y_train))
    criterion = ClassBalancedSoftCrossEntropy.from_targets(
        y_train, classes, beta, weighting=cfg.loss_weighting
    )
    return criterion, beta


def dev_loss_function(
    criterion: ClassBalancedSoftCrossEntropy, cfg: TrainConfig
) -> Callable[[Tensor, Tensor], Tensor]:
    """Per-utterance dev loss: the weighted training loss (``weighted``) or the unweighted soft
    cross-entropy (``unweighted``)."""
    kind = cfg.dev_loss
    if kind not in DEV_LOSSES:
        raise ValueError(f"training.dev_loss must be one of {DEV_LOSSES}, got {kind!r}")
    return criterion.per_utterance if kind == "weighted" else criterion.unweighted


def make_optimizer(params: Iterable[Tensor], cfg: TrainConfig) -> torch.optim.Optimizer:
    """AdamW (decoupled weight decay) or Adam (L2 term in the gradient when weight_decay > 0;
    the authors' code uses none) with ``training.lr`` and ``training.weight_decay``."""
    name = cfg.optimizer
    if name == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if name == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    raise ValueError(f"training.optimizer must be one of {OPTIMIZERS}, got {name!r}")


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """bf16 or fp16 autocast on a GPU; nothing on the CPU or for ``fp32``."""
    if precision not in PRECISIONS:
        raise ValueError(f"training.precision must be one of {PRECISIONS}, got {precision!r}")
    if device.type != "cuda" or precision == "fp32":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type="cuda", dtype=dtype)


def grad_scaler(device: torch.device, precision: str) -> torch.amp.GradScaler:
    """A gradient scaler, enabled only for fp16 on a GPU (otherwise it passes values through)."""
    return torch.amp.GradScaler("cuda", enabled=device.type == "cuda" and precision == "fp16")


__all__ = [
    "DEV_LOSSES",
    "OPTIMIZERS",
    "PRECISIONS",
    "autocast",
    "build_criterion",
    "dev_loss_function",
    "grad_scaler",
    "make_optimizer",
    "training_targets",
]
