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
from serrules.training.batching import BatchSampler, cut_batches, sequential_batches
from serrules.training.loss import ClassBalancedSoftCrossEntropy, resolve_beta
from serrules.training.run_config import TrainConfig

OPTIMIZERS: tuple[str, ...] = ("adamw", "adam")
PRECISIONS: tuple[str, ...] = ("bf16", "fp16", "fp32")
DEV_LOSSES: tuple[str, ...] = ("weighted", "unweighted")
BATCHINGS: tuple[str, ...] = ("bucketed", "shuffled")
EVAL_ORDERS: tuple[str, ...] = ("length", "name")
EVAL_PRECISIONS: tuple[str, ...] = ("autocast", "fp32")


def _check(cfg: TrainConfig, key: str, allowed: tuple[str, ...]) -> str:
    value = getattr(cfg, key)
    if value not in allowed:
        raise ValueError(f"training.{key} must be one of {allowed}, got {value!r}")
    return value


def train_batch_sampler(
    n: int,
    lengths: Sequence[float] | np.ndarray | None,
    generator: torch.Generator,
    cfg: TrainConfig,
) -> BatchSampler:
    """The training batches of one fold: length-bucketed when ``training.batching`` is
    ``bucketed`` and ``training.bucket_size`` is set (``lengths`` given), or a fresh random
    permutation cut into batches each epoch (``shuffled``: the authors' ``DataLoader(...,
    shuffle=True, drop_last=True)``, train.py:136); ``training.drop_last`` either way."""
    bucketed = _check(cfg, "batching", BATCHINGS) == "bucketed"
    return BatchSampler(
        n,
        cfg.batch_size,
        generator,
        lengths if bucketed else None,
        cfg.bucket_size if bucketed else None,
        drop_last=cfg.drop_last,
    )


def eval_batches(
    lengths: Sequence[float] | np.ndarray | None,
    names: Sequence[str],
    cfg: TrainConfig,
    drop_last: bool = False,
) -> list[list[int]]:
    """Deterministic dev/test batches covering the part once: sorted by length (``length``,
    small padding) or by utterance name (``name``: the authors sort the utterance list,
    utils/data_manager.py:62, and load it with ``shuffle=False``, test.py:128). ``drop_last``
    (dev only) drops the last partial batch of that order: in name order whichever utterances
    sort last, in length order the longest."""
    n = len(names)
    if _check(cfg, "eval_order", EVAL_ORDERS) == "length":
        return sequential_batches(n, cfg.batch_size, lengths, drop_last)
    order = np.argsort(np.asarray([str(x) for x in names], dtype=object), kind="stable")
    return cut_batches(order, cfg.batch_size, drop_last)


def eval_precision(cfg: TrainConfig) -> str:
    """Precision of the dev and test passes: ``training.precision`` (``autocast``) or ``fp32``
    (the authors autocast only the training step: train.py:173 vs :227, test.py:153)."""
    if _check(cfg, "eval_precision", EVAL_PRECISIONS) == "fp32":
        return "fp32"
    return cfg.precision


def improves(dev_loss: float, best: float, cfg: TrainConfig) -> bool:
    """Whether an epoch's dev loss beats the best so far (strictly: ties keep the earlier
    epoch). With ``training.dev_loss_decimals`` = k both are compared rounded to k decimals,
    as numpy rounds them (the authors' ``np.round(mean, 4)``, utils/loss_manager.py:33, and
    ``float(dev_loss) < float(temp_dev)``, train.py:266)."""
    decimals = cfg.dev_loss_decimals
    if decimals is None:
        return dev_loss < best
    if not np.isfinite(best):
        return bool(np.isfinite(dev_loss)) or dev_loss < best
    return float(np.round(dev_loss, decimals)) < float(np.round(best, decimals))


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
    "BATCHINGS",
    "DEV_LOSSES",
    "EVAL_ORDERS",
    "EVAL_PRECISIONS",
    "OPTIMIZERS",
    "PRECISIONS",
    "autocast",
    "build_criterion",
    "dev_loss_function",
    "eval_batches",
    "eval_precision",
    "grad_scaler",
    "improves",
    "make_optimizer",
    "train_batch_sampler",
    "training_targets",
]
