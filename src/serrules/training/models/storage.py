"""Saving and loading a trained model: ``best.safetensors`` holds the best epoch's weights, the
eGeMAPS standardiser's statistics (tensors ``standardizer.<key>``) and string metadata (class
list, model configuration, the model module's :func:`file_metadata`, the input settings, ...), so
that :func:`load_trained_model` rebuilds the model with no pretrained download."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from serrules.base.files import atomic_path
from serrules.training.models import model_module, resolve_model_cfg

#: Name prefix of the standardiser tensors inside ``best.safetensors``.
STANDARDIZER_PREFIX = "standardizer."


def atomic_save_file(tensors: Mapping[str, Tensor], path: Path, metadata: dict[str, str]) -> None:
    """``safetensors`` file written to ``<path>.tmp`` and renamed over ``path``."""
    with atomic_path(path) as tmp:
        save_file(dict(tensors), str(tmp), metadata=metadata)


def standardizer_tensors(state: Mapping[str, Any]) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """Split a standardizer state into numeric tensors (``standardizer.<key>``) and JSON-able
    extras (stored in the metadata key ``standardizer_extras``)."""
    tensors: dict[str, Tensor] = {}
    extras: dict[str, Any] = {}
    for key, value in state.items():
        arr = np.asarray(value) if not isinstance(value, str) else None
        if arr is not None and arr.dtype.kind in "fiub":
            tensors[STANDARDIZER_PREFIX + key] = torch.from_numpy(np.ascontiguousarray(arr))
        else:
            extras[key] = value.tolist() if isinstance(value, np.ndarray) else value
    return tensors, extras


def standardizer_state_from_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The standardizer state stored in a ``best.safetensors`` (for ``load_state_dict``)."""
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata() or {}
        state: dict[str, Any] = json.loads(meta.get("standardizer_extras", "{}"))
        for key in f.keys():
            if key.startswith(STANDARDIZER_PREFIX):
                state[key[len(STANDARDIZER_PREFIX) :]] = f.get_tensor(key).numpy()
    return state


def save_trained_model(
    path: Path,
    weights: Mapping[str, Tensor],
    model: nn.Module,
    metadata: Mapping[str, str],
    standardizer_state: Mapping[str, Any] | None = None,
) -> None:
    """Write ``best.safetensors``: ``weights`` (the best epoch's state of ``model``), the
    standardiser's tensors and ``metadata`` plus what the model's module needs to rebuild it."""
    tensors, extras = standardizer_tensors(standardizer_state or {})
    meta = {**metadata, "standardizer_extras": json.dumps(extras, default=str)}
    meta.update(model_module(meta["model_name"]).file_metadata(model))
    atomic_save_file({**weights, **tensors}, path, meta)


def load_trained_model(path: str | os.PathLike[str]) -> tuple[nn.Module, dict[str, str]]:
    """Rebuild the model stored in a ``best.safetensors`` (no pretrained download needed) and
    return it in eval mode with the file's metadata. Keys an older file's ``model_cfg`` lacks take
    the schema's defaults and the paper preset."""
    with safe_open(str(path), framework="pt") as f:
        meta = dict(f.metadata() or {})
    classes = json.loads(meta["classes"])
    model_cfg = resolve_model_cfg(json.loads(meta["model_cfg"]))
    model = model_module(meta["model_name"]).rebuild(meta, model_cfg, len(classes))
    state = {k: v for k, v in load_file(str(path)).items() if not k.startswith(STANDARDIZER_PREFIX)}
    model.load_state_dict(state)
    return model.eval(), meta


__all__ = [
    "STANDARDIZER_PREFIX",
    "atomic_save_file",
    "load_trained_model",
    "save_trained_model",
    "standardizer_state_from_file",
    "standardizer_tensors",
]
