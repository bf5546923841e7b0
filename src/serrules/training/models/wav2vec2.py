"""The study's model: wav2vec2-large-robust pruned to its first 12 transformer layers, mean-pooled
over valid frames, with the shared classification head on top; the same classifier (head, pooling,
layer pruning, frozen feature encoder) over the other self-supervised backbones of the registry
(WavLM, HuBERT, data2vec-audio, wav2vec2-base; :data:`BACKBONES`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn
from transformers import (
    Data2VecAudioConfig,
    Data2VecAudioModel,
    HubertConfig,
    HubertModel,
    PretrainedConfig,
    PreTrainedModel,
    Wav2Vec2Config,
    Wav2Vec2Model,
    WavLMConfig,
    WavLMModel,
)

from serrules.training.models.head import ClassificationHead, head_parameter_count


def large_robust_config(num_hidden_layers: int = 24) -> Wav2Vec2Config:
    """Architecture of ``facebook/wav2vec2-large-robust`` built in code (no download).

    Values as in the published ``config.json`` of the large-robust checkpoints: hidden size
    1024, 24 layers, 16 heads, feed-forward 4096, pre-LN transformer (``do_stable_layer_norm``),
    layer-normalised conv feature encoder with biases, the standard 7-layer conv stack
    (512 channels, kernels 10,3,3,3,3,2,2, strides 5,2,2,2,2,2,2), a 128-tap positional
    convolution in 16 groups, layerdrop 0.1 and SpecAugment time masking p=0.05.
    """
    return Wav2Vec2Config(
        hidden_size=1024,
        num_hidden_layers=num_hidden_layers,
        num_attention_heads=16,
        intermediate_size=4096,
        hidden_act="gelu",
        do_stable_layer_norm=True,
        feat_extract_norm="layer",
        feat_extract_activation="gelu",
        conv_bias=True,
        conv_dim=(512, 512, 512, 512, 512, 512, 512),
        conv_kernel=(10, 3, 3, 3, 3, 2, 2),
        conv_stride=(5, 2, 2, 2, 2, 2, 2),
        num_conv_pos_embeddings=128,
        num_conv_pos_embedding_groups=16,
        layerdrop=0.1,
        mask_time_prob=0.05,
        mask_time_length=10,
        mask_feature_prob=0.0,
    )


#: Backbone families by the ``model_type`` of their configuration (``ModelSpec.backbone``): the
#: configuration and model classes of transformers. Each has ``encoder.layers``,
#: ``feature_extractor``, ``freeze_feature_encoder`` and the frame-mask helper used below.
BACKBONES: dict[str, tuple[type[PretrainedConfig], type[PreTrainedModel]]] = {
    "wav2vec2": (Wav2Vec2Config, Wav2Vec2Model),
    "wavlm": (WavLMConfig, WavLMModel),
    "hubert": (HubertConfig, HubertModel),
    "data2vec-audio": (Data2VecAudioConfig, Data2VecAudioModel),
}


def backbone_classes(model_type: str) -> tuple[type[PretrainedConfig], type[PreTrainedModel]]:
    """The (config, model) classes of a backbone family; ``ValueError`` naming the known ones."""
    try:
        return BACKBONES[model_type]
    except KeyError:
        raise ValueError(
            f"unknown backbone model_type {model_type!r}; known: {', '.join(BACKBONES)}"
        ) from None


def folder_model_type(folder: str) -> str | None:
    """The ``model_type`` declared by ``<folder>/config.json`` (None when unreadable)."""
    try:
        with open(f"{folder}/config.json", encoding="utf-8") as f:
            return json.load(f).get("model_type")
    except (OSError, ValueError):
        return None


def prune_encoder_layers(backbone: PreTrainedModel, keep_layers: int) -> PreTrainedModel:
    """Keep the first ``keep_layers`` transformer layers (in place) and update the config.

    The encoder's final layer norm (pre-LN models) stays and is applied after the last kept layer.
    """
    n_layers = len(backbone.encoder.layers)
    if not 1 <= keep_layers <= n_layers:
        raise ValueError(
            f"model.keep_layers must be between 1 and the backbone's {n_layers} layers, "
            f"got {keep_layers}"
        )
    backbone.encoder.layers = nn.ModuleList(list(backbone.encoder.layers)[:keep_layers])
    backbone.config.num_hidden_layers = keep_layers
    return backbone


def load_pretrained_backbone(
    pretrained: str,
    keep_layers: int,
    freeze_feature_encoder: bool,
    model_type: str = "wav2vec2",
) -> PreTrainedModel:
    """``<Family>Model.from_pretrained(pretrained)`` (a local folder or a hub id) of the backbone
    family ``model_type``, pruned to the first ``keep_layers`` layers, with the CNN feature
    encoder frozen if asked. A folder whose ``config.json`` declares another family is an error
    (its weights would not load into this architecture)."""
    model_class = backbone_classes(model_type)[1]
    declared = folder_model_type(pretrained)
    if declared is not None and declared != model_type:
        raise OSError(
            f"model.pretrained={pretrained!r} holds a {declared!r} model, but the model.name "
            f"chosen needs a {model_type!r} backbone; point model.pretrained at a matching "
            "folder, or leave it null to use the model's own fetched weights"
        )
    try:
        backbone = model_class.from_pretrained(pretrained, dtype=torch.float32)
    except (OSError, ValueError) as err:
        raise OSError(
            f"cannot load {model_type} weights from model.pretrained={pretrained!r}: {err}. "
            "Point model.pretrained at a local folder holding config.json + model weights "
            "(e.g. a saved copy of facebook/wav2vec2-large-robust) when the hub is unreachable."
        ) from err
    return configure_backbone(backbone, keep_layers, freeze_feature_encoder)


def configure_backbone(
    backbone: PreTrainedModel, keep_layers: int, freeze_feature_encoder: bool
) -> PreTrainedModel:
    """Prune to ``keep_layers`` and optionally freeze the conv feature encoder."""
    prune_encoder_layers(backbone, keep_layers)
    if freeze_feature_encoder:
        # the conv encoder's own switch (every family has it; HuBERT lacks the model method)
        backbone.feature_extractor._freeze_parameters()
    return backbone


#: ``model.pooling`` values: mean over valid frames (paper text) or over all frames (authors' code).
POOLINGS: tuple[str, ...] = ("masked", "plain")


def plain_mean_pool(hidden: Tensor) -> Tensor:
    """Mean over every frame of the padded batch, padding frames included (float32)."""
    return hidden.float().mean(dim=1)


def masked_mean_pool(hidden: Tensor, frame_mask: Tensor | None) -> Tensor:
    """Mean over time of ``hidden`` (batch, frames, H), counting only frames where ``frame_mask``
    (batch, frames) is true. Computed in float32."""
    hidden = hidden.float()
    if frame_mask is None:
        return hidden.mean(dim=1)
    mask = frame_mask.to(hidden.dtype).unsqueeze(-1)
    counts = mask.sum(dim=1).clamp(min=1.0)
    return (hidden * mask).sum(dim=1) / counts


class Wav2Vec2Classifier(nn.Module):
    """Pruned self-supervised backbone (wav2vec2 or another family of :data:`BACKBONES`) -> mean
    pooling (over valid frames, or ``pooling="plain"``: over
    all frames of the padded batch) -> classification head."""

    input_kind = "audio"

    def __init__(
        self,
        backbone: PreTrainedModel,
        n_classes: int,
        *,
        head_hidden: int,
        dropout: float,
        pooling: str = "masked",
        head_batchnorm: bool = False,
    ):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"model.pooling must be one of {POOLINGS}, got {pooling!r}")
        self.backbone = backbone
        self.pooling = pooling
        self.head = ClassificationHead(
            backbone.config.hidden_size,
            n_classes,
            hidden=head_hidden,
            dropout=dropout,
            batchnorm=head_batchnorm,
        )

    def frame_mask(self, n_frames: int, attention_mask: Tensor | None) -> Tensor | None:
        """Sample-level attention mask (batch, samples) -> frame-level mask (batch, frames)."""
        if attention_mask is None:
            return None
        return self.backbone._get_feature_vector_attention_mask(n_frames, attention_mask)

    def forward(self, inputs: Tensor, attention_mask: Tensor | None = None) -> Tensor:
        """``inputs``: (batch, samples) waveforms, zero-padded; ``attention_mask``: 1 on real
        samples. Returns logits (batch, C) in float32."""
        hidden = self.backbone(inputs, attention_mask=attention_mask).last_hidden_state
        if self.pooling == "plain":
            pooled = plain_mean_pool(hidden)
        else:
            pooled = masked_mean_pool(hidden, self.frame_mask(hidden.shape[1], attention_mask))
        return self.head(pooled).float()


def parameter_counts(
    n_classes: int,
    keep_layers: int | None = None,
    head_hidden: int | None = None,
    config: Wav2Vec2Config | None = None,
) -> dict[str, int]:
    """Parameter counts of the full and the pruned backbone (+ head), built on the meta device
    from ``config`` (default: :func:`large_robust_config`), so no weights are allocated.
    ``keep_layers`` and ``head_hidden`` default to the config schema's ``model.keep_layers`` (12,
    the study's "wav2vec2-large-robust-12") and ``model.head_hidden``."""
    from serrules.base.config import schema_defaults

    defaults = schema_defaults("model")
    keep_layers = int(defaults["keep_layers"] if keep_layers is None else keep_layers)
    head_hidden = int(defaults["head_hidden"] if head_hidden is None else head_hidden)
    config = config or large_robust_config()
    with torch.device("meta"):
        backbone = Wav2Vec2Model(config)
    full = sum(p.numel() for p in backbone.parameters())
    prune_encoder_layers(backbone, keep_layers)
    pruned = sum(p.numel() for p in backbone.parameters())
    frozen = sum(p.numel() for p in backbone.feature_extractor.parameters())
    head = head_parameter_count(config.hidden_size, n_classes, head_hidden)
    return {
        "backbone_full": full,
        "backbone_pruned": pruned,
        "feature_encoder_frozen": frozen,
        "head": head,
        "full_plus_head": full + head,
        "pruned_plus_head": pruned + head,
        "pruned_trainable": pruned - frozen + head,
    }


def _classifier(backbone: PreTrainedModel, model_cfg: Mapping[str, Any], n_classes: int):
    return Wav2Vec2Classifier(
        backbone,
        n_classes,
        head_hidden=int(model_cfg["head_hidden"]),
        dropout=float(model_cfg["dropout"]),
        pooling=str(model_cfg["pooling"]),
        head_batchnorm=bool(model_cfg["head_batchnorm"]),
    )


def build(
    model_cfg: Mapping[str, Any], n_classes: int, n_features: int | None, spec: Any
) -> Wav2Vec2Classifier:
    """The model of a resolved ``model`` config (registry hook, see
    :func:`serrules.training.models.build_model`; ``spec``: the model's
    :class:`~serrules.training.model_names.ModelSpec`, which names the backbone type and its hub
    id): the weights of ``model.pretrained`` (a folder, or a hub id fetched once with
    ``python -m serrules.training.pretrained fetch``), pruned to ``model.keep_layers``; the head
    randomly initialised from the current torch seed."""
    from serrules.training.pretrained import resolve_pretrained

    backbone = load_pretrained_backbone(
        str(resolve_pretrained(spec.pretrained_source(model_cfg))),
        keep_layers=int(model_cfg["keep_layers"]),
        freeze_feature_encoder=bool(model_cfg["freeze_feature_encoder"]),
        model_type=str(spec.backbone),
    )
    return _classifier(backbone, model_cfg, n_classes)


def rebuild(
    meta: Mapping[str, str], model_cfg: Mapping[str, Any], n_classes: int
) -> Wav2Vec2Classifier:
    """The untrained model of a ``best.safetensors``, from the backbone configuration stored in
    it (no pretrained download; registry hook)."""
    stored = json.loads(meta["backbone_config"])
    config_class, model_class = backbone_classes(stored.get("model_type", "wav2vec2"))
    return _classifier(model_class(config_class.from_dict(stored)), model_cfg, n_classes)


def file_metadata(model: nn.Module) -> dict[str, str]:
    """Metadata a trained file needs to rebuild the model: the backbone configuration."""
    return {"backbone_config": model.backbone.config.to_json_string()}
