"""The loops of a fold job: one training epoch, the dev loss and the test-part probabilities.
Every protocol choice they make (mixed precision, ...) comes from :mod:`serrules.training.choices`.
"""

from __future__ import annotations

import resource
import sys
from collections.abc import Callable, Iterable, Mapping

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from serrules.training import choices


def forward_batch(model: nn.Module, batch: Mapping[str, Tensor], device: torch.device) -> Tensor:
    inputs = batch["inputs"].to(device, non_blocking=True)
    mask = batch.get("attention_mask")
    return model(inputs, None if mask is None else mask.to(device, non_blocking=True))


def make_loader(
    dataset: Dataset, batch_sampler: Iterable[list[int]], collate, workers: int, device
) -> DataLoader:
    return DataLoader(
        dataset,
        batch_sampler=batch_sampler,
        collate_fn=collate,
        num_workers=workers,
        pin_memory=device.type == "cuda",
    )


@torch.no_grad()
def evaluate_loss(
    model: nn.Module,
    loader: Iterable[Mapping[str, Tensor]],
    loss_fn: Callable[[Tensor, Tensor], Tensor],
    device: torch.device,
    precision: str,
) -> float:
    """Mean per-utterance ``loss_fn`` over every utterance the loader yields (eval mode)."""
    model.eval()
    total, count = 0.0, 0
    for batch in loader:
        with choices.autocast(device, precision):
            logits = forward_batch(model, batch, device)
        losses = loss_fn(logits, batch["targets"].to(device))
        total += float(losses.double().sum())
        count += len(losses)
    return total / count


@torch.no_grad()
def predict_probabilities(
    model: nn.Module,
    loader: Iterable[Mapping[str, Tensor]],
    n: int,
    n_classes: int,
    device: torch.device,
    precision: str,
) -> np.ndarray:
    """Softmax probabilities (n x C, float32) in dataset order (eval mode)."""
    model.eval()
    probs = np.full((n, n_classes), np.nan, dtype=np.float32)
    for batch in loader:
        with choices.autocast(device, precision):
            logits = forward_batch(model, batch, device)
        probs[batch["index"].numpy()] = torch.softmax(logits.float(), dim=-1).cpu().numpy()
    if np.isnan(probs).any():
        raise RuntimeError("prediction loader did not cover every utterance")
    return probs


def peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 1024


def train_epoch(
    model: nn.Module,
    loader: Iterable[Mapping[str, Tensor]],
    criterion: Callable[[Tensor, Tensor], Tensor],
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    device: torch.device,
    precision: str,
    desc: str,
) -> float:
    """One pass over the training batches (train mode); returns the mean per-utterance loss."""
    model.train()
    total, count = 0.0, 0
    bar = tqdm(loader, desc=desc, leave=False)
    for batch in bar:
        with choices.autocast(device, precision):
            logits = forward_batch(model, batch, device)
        loss = criterion(logits, batch["targets"].to(device, non_blocking=True))
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        n = len(batch["targets"])
        total += float(loss.detach()) * n
        count += n
        bar.set_postfix(loss=f"{total / count:.4f}")
    bar.close()
    return total / count


__all__ = [
    "evaluate_loss",
    "forward_batch",
    "make_loader",
    "peak_memory_mb",
    "predict_probabilities",
    "train_epoch",
]
