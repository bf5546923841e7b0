"""Models of the study: the pruned wav2vec2-large-robust classifier and the eGeMAPS MLP.

Both share one call signature, ``model(inputs, attention_mask=None) -> logits (batch, C)``, and
expose ``input_kind`` (``"audio"`` or ``"features"``) so that the training code picks the data
pipeline.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

from serrules.base.protocols import section_defaults
from serrules.training.model_names import EGEMAPS_NAME, MODEL_NAMES, WAV2VEC2_NAME
from serrules.training.models.egemaps_mlp import N_EGEMAPS_FEATURES, EgemapsMLP
from serrules.training.models.head import ClassificationHead
from serrules.training.models.wav2vec2 import (
    DEFAULT_KEEP_LAYERS,
    LARGE_ROBUST_ID,
    Wav2Vec2Classifier,
    load_pretrained_backbone,
)

__all__ = [
    "EGEMAPS_NAME",
    "MODEL_NAMES",
    "WAV2VEC2_NAME",
    "ClassificationHead",
    "EgemapsMLP",
    "Wav2Vec2Classifier",
    "build_model",
]


def build_model(
    model_cfg: Mapping[str, Any], n_classes: int, n_features: int | None = None
) -> nn.Module:
    """Build the model named by ``model_cfg["name"]``.

    ``model_cfg`` keys: ``name`` (``"wav2vec2-large-robust-12"`` | ``"egemaps-mlp"``),
    ``pretrained`` (folder, or hub id fetched once with
    ``python -m serrules.training.pretrained fetch``;
    default ``facebook/wav2vec2-large-robust``),
    ``keep_layers`` (12), ``head_hidden`` (1024), ``dropout`` (0.5),
    ``freeze_feature_encoder`` (true), and the protocol keys ``pooling`` (``masked``) and
    ``head_batchnorm`` (false) (docs/protocols.md). ``n_features`` is the eGeMAPS input width
    (default 88).
    The wav2vec2 weights are loaded from ``pretrained``; the head is randomly initialised from the
    current torch seed.
    """
    name = model_cfg.get("name")
    head_hidden = int(model_cfg.get("head_hidden", 1024))
    dropout = float(model_cfg.get("dropout", 0.5))
    model_cfg = {**section_defaults("model"), **model_cfg}  # protocol keys: paper preset
    head_batchnorm = bool(model_cfg["head_batchnorm"])
    if name == WAV2VEC2_NAME:
        from serrules.training.pretrained import resolve_pretrained

        backbone = load_pretrained_backbone(
            str(resolve_pretrained(str(model_cfg.get("pretrained") or LARGE_ROBUST_ID))),
            keep_layers=int(model_cfg.get("keep_layers", DEFAULT_KEEP_LAYERS)),
            freeze_feature_encoder=bool(model_cfg.get("freeze_feature_encoder", True)),
        )
        return Wav2Vec2Classifier(
            backbone,
            n_classes,
            head_hidden=head_hidden,
            dropout=dropout,
            pooling=str(model_cfg["pooling"]),
            head_batchnorm=head_batchnorm,
        )
    if name == EGEMAPS_NAME:
        return EgemapsMLP(
            n_classes,
            n_features=N_EGEMAPS_FEATURES if n_features is None else int(n_features),
            head_hidden=head_hidden,
            dropout=dropout,
            head_batchnorm=head_batchnorm,
        )
    raise ValueError(f"model.name: unknown model {name!r}; known: {', '.join(MODEL_NAMES)}")
