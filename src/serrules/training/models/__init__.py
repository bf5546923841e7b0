"""Models of the study: the pruned wav2vec2-large-robust classifier and the eGeMAPS MLP.

Both share one call signature, ``model(inputs, attention_mask=None) -> logits (batch, C)``, and
expose ``input_kind`` (``"audio"`` or ``"features"``). Which module builds each model is said by the
registry of models (:data:`serrules.training.model_names.MODELS`); every model module defines
``build``, ``rebuild`` and ``file_metadata``. Saving and loading a trained model lives in
:mod:`serrules.training.models.storage`.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import ModuleType
from typing import Any

from torch import nn

from serrules.base.config import validate_section
from serrules.training.model_names import EGEMAPS_NAME, MODEL_NAMES, WAV2VEC2_NAME, model_spec

#: The model classes, imported on first use (PEP 562): the wav2vec2 module imports transformers,
#: most of a training job's import time (``python -X importtime``), which a job that trains the
#: eGeMAPS MLP never needs.
_LAZY = {
    "ClassificationHead": "serrules.training.models.head",
    "EgemapsMLP": "serrules.training.models.egemaps_mlp",
    "Wav2Vec2Classifier": "serrules.training.models.wav2vec2",
}

__all__ = [
    "EGEMAPS_NAME",
    "MODEL_NAMES",
    "WAV2VEC2_NAME",
    "ClassificationHead",
    "EgemapsMLP",
    "Wav2Vec2Classifier",
    "build_model",
    "model_module",
    "resolve_model_cfg",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def resolve_model_cfg(model_cfg: Mapping[str, Any]) -> dict[str, Any]:
    """``model_cfg`` checked against the config schema (unknown keys are errors), with the
    schema's defaults (the head's ``head_hidden`` 1024, ``dropout`` 0.5, ...) and the paper
    preset's protocol keys (``pooling``, ``head_batchnorm``) filled in where it leaves them
    unset."""
    return validate_section("model", dict(model_cfg))


def model_module(name: object) -> ModuleType:
    """The module that builds the model ``name`` (from the registry of models)."""
    return importlib.import_module(model_spec(name).module)


def build_model(
    model_cfg: Mapping[str, Any], n_classes: int, n_features: int | None = None
) -> nn.Module:
    """Build the model named by ``model_cfg["name"]`` (keys: serrules/base/config.schema.yaml,
    ``model`` section; docs/training.md). ``n_features`` is the eGeMAPS input width (default 88).
    The wav2vec2 weights are loaded from ``model.pretrained``; the head is randomly initialised
    from the current torch seed."""
    spec = model_spec(model_cfg.get("name"))
    module = model_module(spec.name)
    return module.build(resolve_model_cfg(model_cfg), n_classes, n_features, spec)
