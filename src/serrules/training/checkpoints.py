"""Reading resume checkpoints defensively: a damaged checkpoint never blocks its fold.

A training job resumes from ``last.pt`` (``torch.save`` of plain tensors and Python values) and the
best epoch's ``best_epoch<NNNN>.safetensors``. A file that is empty, truncated, garbage, or lacks
the expected entries is detected by loading it (``torch.load(weights_only=True)``: the zip
container carries CRC-32 checksums of every record; safetensors checks its header against the
file size), moved aside as ``<name>.corrupt-<UTC time>`` with a warning naming it, and the job
restarts from scratch. Loading never falls back to unpickling arbitrary objects.
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file

log = logging.getLogger(__name__)

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
