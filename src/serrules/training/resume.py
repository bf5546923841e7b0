"""Resumable training: the per-epoch checkpoint of a fold job, written and read back.

After each epoch a job writes ``last.pt`` (model, optimizer, gradient scaler, best epoch, log rows
and every RNG state: :func:`save_checkpoint`) and the best epoch's weights
``best_epoch<NNNN>.safetensors`` into its checkpoint folder; a restarted job resumes from them
(:func:`load_checkpoint`) and ends with exactly the same best model and predictions as an
uninterrupted run. A checkpoint written for other data or settings (another fingerprint) is ignored.

Damaged checkpoints never block their fold.

A training job resumes from ``last.pt`` (``torch.save`` of plain tensors and Python values) and the
best epoch's ``best_epoch<NNNN>.safetensors``. A file that is empty, truncated, garbage, or lacks
the expected entries is detected by loading it (``torch.load(weights_only=True)``: the zip
container carries CRC-32 checksums of every record; safetensors checks its header against the
file size), moved aside as ``<name>.corrupt-<UTC time>`` with a warning naming it, and the job
restarts from scratch. Loading never falls back to unpickling arbitrary objects.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import random
import time
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file
from torch import Tensor, nn

from serrules.base.files import TMP_SUFFIX, atomic_path
from serrules.training.models.storage import atomic_save_file

log = logging.getLogger(__name__)

#: File name of the resume checkpoint inside a job's checkpoint folder.
CHECKPOINT_NAME = "last.pt"
_BEST_PATTERN = "best_epoch{epoch:04d}.safetensors"

#: Entries a resume checkpoint must hold.
RESUME_KEYS = frozenset(
    {
        "fingerprint",
        "epoch",
        "best_epoch",
        "best_dev_loss",
        "best_file",
        "rows",
        "model",
        "optimizer",
        "rng",
    }
)


def quarantine(path: Path, reason: str) -> Path:
    """Move a damaged checkpoint file aside (``<name>.corrupt-<UTC time>``) and warn."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    os.replace(path, target)
    log.warning(
        "resume checkpoint %s is unusable (%s); moved it to %s and restarting this fold from "
        "scratch",
        path,
        reason,
        target.name,
    )
    return target


def _why(exc: BaseException) -> str:
    """A short reason. torch's unpickling errors advise loading with ``weights_only=False``,
    which would run arbitrary code from a file that is already known to be bad: never relay it."""
    text = str(exc).strip().splitlines()
    head = text[0] if text else ""
    if "weights_only" in str(exc) or "pickle" in type(exc).__name__.lower():
        head = "its contents are not a tensor checkpoint (refused by the safe loader)"
    return f"{type(exc).__name__}: {head}"[:200]


def load_resume_state(path: Path, also: Iterable[Path] = ()) -> dict[str, Any] | None:
    """The dict saved in the resume checkpoint ``path``, or None when it cannot be used: then
    ``path`` (and every file of ``also`` that exists, e.g. the best-epoch weights it refers to)
    is moved aside with a warning."""
    reason = None
    if path.stat().st_size == 0:
        reason = "empty file"
    else:
        try:
            with warnings.catch_warnings():  # torch warns about odd pickle protocols in garbage
                warnings.simplefilter("ignore", UserWarning)
                state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - any failure to load means a damaged file
            reason = f"cannot be loaded: {_why(exc)}"
        else:
            if not isinstance(state, dict):
                reason = f"holds a {type(state).__name__}, not a checkpoint dict"
            elif not RESUME_KEYS <= set(state):
                reason = f"lacks {sorted(RESUME_KEYS - set(state))}"
    if reason is None:
        return state
    quarantine(path, reason)
    for other in also:
        if other.is_file():
            quarantine(other, f"belongs to the unusable {path.name}")
    return None


def load_best_weights(path: Path) -> dict[str, torch.Tensor] | None:
    """The tensors of a best-epoch safetensors file, or None (file moved aside, warning) when it
    is empty, truncated or garbage."""
    try:
        return load_file(str(path))
    except Exception as exc:  # noqa: BLE001 - any failure to load means a damaged file
        quarantine(path, f"cannot be loaded: {_why(exc)}")
        return None


def cpu_state(model: nn.Module) -> dict[str, Tensor]:
    return {k: v.detach().to("cpu", copy=True).contiguous() for k, v in model.state_dict().items()}


def _rng_state(generator: torch.Generator) -> dict[str, Any]:
    name, keys, pos, has_gauss, cached = np.random.get_state()  # noqa: NPY002
    return {
        "python": random.getstate(),
        "numpy": (name, torch.from_numpy(keys.copy()), int(pos), int(has_gauss), float(cached)),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "sampler": generator.get_state(),
    }


def _set_rng_state(state: Mapping[str, Any], generator: torch.Generator) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))  # noqa: NPY002
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    generator.set_state(state["sampler"])


def _atomic_torch_save(obj: Any, path: Path) -> None:
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def _checkpoint_files(checkpoint_dir: Path) -> list[Path]:
    names = [CHECKPOINT_NAME, "best_epoch*.safetensors", f"*{TMP_SUFFIX}"]
    return [Path(p) for n in names for p in glob.glob(str(checkpoint_dir / n))]


def remove_checkpoint(checkpoint_dir: Path) -> None:
    for path in _checkpoint_files(checkpoint_dir):
        path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        checkpoint_dir.rmdir()


@dataclass
class Progress:
    """What survives between epochs (and across a restart)."""

    epoch: int = 0
    best_epoch: int = 0
    best_dev_loss: float = float("inf")
    best_state: dict[str, Tensor] | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)


def save_checkpoint(
    checkpoint_dir: Path,
    progress: Progress,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    generator: torch.Generator,
    fingerprint: str,
    best_changed: bool,
) -> None:
    best_file = checkpoint_dir / _BEST_PATTERN.format(epoch=progress.best_epoch)
    if best_changed:
        atomic_save_file(progress.best_state, best_file, {"epoch": str(progress.best_epoch)})
    _atomic_torch_save(
        {
            "fingerprint": fingerprint,
            "epoch": progress.epoch,
            "best_epoch": progress.best_epoch,
            "best_dev_loss": progress.best_dev_loss,
            "best_file": best_file.name,
            "rows": progress.rows,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            # fp16 loss scale and growth tracker ({} when the scaler is disabled)
            "scaler": scaler.state_dict(),
            "rng": _rng_state(generator),
        },
        checkpoint_dir / CHECKPOINT_NAME,
    )
    for stale in glob.glob(str(checkpoint_dir / "best_epoch*.safetensors")):
        if Path(stale).name != best_file.name:
            Path(stale).unlink(missing_ok=True)


def load_checkpoint(
    checkpoint_dir: Path,
    fingerprint: str,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    generator: torch.Generator,
) -> Progress | None:
    """Restore the last checkpoint into model/optimizer/gradient scaler/RNGs; None when there is
    none usable."""
    path = checkpoint_dir / CHECKPOINT_NAME
    if not path.is_file():
        return None
    ckpt = load_resume_state(path)  # a damaged file is moved aside (warning), fold restarts
    if ckpt is None:
        return None
    if ckpt.get("fingerprint") != fingerprint:
        log.warning(
            "%s was written for other data or settings; ignoring it and training from scratch",
            path,
        )
        return None
    best_file = checkpoint_dir / ckpt["best_file"]
    if not best_file.is_file():
        log.warning("%s is missing; ignoring %s and training from scratch", best_file, path)
        return None
    best_state = load_best_weights(best_file)
    if best_state is None:
        return None

    model.load_state_dict(ckpt["model"])
    optimizer.load_state_dict(ckpt["optimizer"])
    if ckpt.get("scaler"):
        scaler.load_state_dict(ckpt["scaler"])
    _set_rng_state(ckpt["rng"], generator)
    log.info("resuming from %s after epoch %d", path, ckpt["epoch"])
    return Progress(
        epoch=int(ckpt["epoch"]),
        best_epoch=int(ckpt["best_epoch"]),
        best_dev_loss=float(ckpt["best_dev_loss"]),
        best_state=best_state,
        rows=list(ckpt["rows"]),
    )


__all__ = [
    "CHECKPOINT_NAME",
    "RESUME_KEYS",
    "Progress",
    "cpu_state",
    "load_best_weights",
    "load_checkpoint",
    "load_resume_state",
    "quarantine",
    "remove_checkpoint",
    "save_checkpoint",
]
