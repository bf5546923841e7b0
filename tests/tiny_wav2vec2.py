"""A tiny wav2vec2 built from a config in code (real conv strides/kernels, tiny widths), shared by
the model and training tests: no hub download, the real loading/pruning code runs on it."""

from __future__ import annotations

from transformers import Wav2Vec2Config


def tiny_config() -> Wav2Vec2Config:
    """Real conv strides/kernels, tiny widths, 4 pre-LN transformer layers."""
    return Wav2Vec2Config(
        hidden_size=16,
        num_hidden_layers=4,
        num_attention_heads=2,
        intermediate_size=32,
        conv_dim=(8,) * 7,
        conv_stride=(5, 2, 2, 2, 2, 2, 2),
        conv_kernel=(10, 3, 3, 3, 3, 2, 2),
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
        do_stable_layer_norm=True,
        feat_extract_norm="layer",
        conv_bias=True,
    )


def tiny_backbone(model_type: str):
    """A tiny randomly initialised backbone of the family ``model_type`` (``wav2vec2``,
    ``wavlm``, ``hubert``, ``data2vec-audio``): the same real conv stack and tiny widths as
    :func:`tiny_config`, 4 transformer layers, built with the model's own transformers classes."""
    from serrules.training.models.wav2vec2 import backbone_classes

    config_class, model_class = backbone_classes(model_type)
    common = {
        "hidden_size": 16,
        "num_hidden_layers": 4,
        "num_attention_heads": 2,
        "intermediate_size": 32,
        "conv_dim": (8,) * 7,
        "conv_stride": (5, 2, 2, 2, 2, 2, 2),
        "conv_kernel": (10, 3, 3, 3, 3, 2, 2),
        "num_conv_pos_embedding_groups": 2,
        "feat_extract_norm": "layer",
        "conv_bias": True,
    }
    if model_type == "data2vec-audio":
        common.update(num_conv_pos_embeddings=5, conv_pos_kernel_size=3)
    else:
        common.update(num_conv_pos_embeddings=16, do_stable_layer_norm=True)
    if model_type == "wavlm":
        common.update(num_buckets=8, max_bucket_distance=16)
    return model_class(config_class(**common))
