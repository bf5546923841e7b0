"""Models: head layout, eGeMAPS MLP, loading + pruning a (tiny) wav2vec2, pooling, param counts."""

from __future__ import annotations

import pytest
import torch
from tiny_wav2vec2 import tiny_config
from torch import nn
from transformers import Wav2Vec2Model

from serrules.training.models import EgemapsMLP, Wav2Vec2Classifier, build_model
from serrules.training.models.head import ClassificationHead, head_parameter_count
from serrules.training.models.wav2vec2 import (
    large_robust_config,
    masked_mean_pool,
    parameter_counts,
)


@pytest.fixture(scope="module")
def tiny_pretrained(tmp_path_factory):
    torch.manual_seed(0)
    model = Wav2Vec2Model(tiny_config())
    path = tmp_path_factory.mktemp("tiny_w2v")
    model.save_pretrained(path)
    return path, {k: v.clone() for k, v in model.state_dict().items()}


def cfg(pretrained, **kw):
    base = {
        "name": "wav2vec2-large-robust-12",
        "pretrained": str(pretrained),
        "keep_layers": 2,
        "head_hidden": 32,
        "dropout": 0.5,
        "freeze_feature_encoder": True,
    }
    return {**base, **kw}


def test_head_layout():
    head = ClassificationHead(88, 4, hidden=1024, dropout=0.5)
    kinds = [type(m) for m in head.layers]
    assert kinds == [nn.Dropout, nn.Linear, nn.ReLU, nn.Dropout, nn.Linear, nn.ReLU, nn.Linear]
    assert [(m.in_features, m.out_features) for m in head.layers if isinstance(m, nn.Linear)] == [
        (88, 1024),
        (1024, 1024),
        (1024, 4),
    ]
    assert head.layers[0].p == head.layers[3].p == 0.5
    assert sum(p.numel() for p in head.parameters()) == head_parameter_count(88, 4, 1024)


def test_egemaps_mlp_shapes_and_unknown_name():
    model = build_model({"name": "egemaps-mlp", "head_hidden": 64}, n_classes=6)
    assert isinstance(model, EgemapsMLP) and model.input_kind == "features"
    assert model(torch.randn(5, 88)).shape == (5, 6)
    with pytest.raises(ValueError, match="unknown model 'bert'"):
        build_model({"name": "bert"}, n_classes=4)


def test_load_prunes_and_freezes(tiny_pretrained):
    path, saved = tiny_pretrained
    model = build_model(cfg(path), n_classes=4)
    assert isinstance(model, Wav2Vec2Classifier)
    backbone = model.backbone
    assert len(backbone.encoder.layers) == 2 and backbone.config.num_hidden_layers == 2
    state = backbone.state_dict()
    assert not any(k.startswith("encoder.layers.2.") for k in state)
    for key, value in state.items():  # kept layers, conv stack, final norm = the saved weights
        torch.testing.assert_close(value, saved[key], rtol=0, atol=0)
    assert all(not p.requires_grad for p in backbone.feature_extractor.parameters())
    assert all(p.requires_grad for p in backbone.encoder.parameters())
    unfrozen = build_model(cfg(path, freeze_feature_encoder=False), n_classes=4)
    assert all(p.requires_grad for p in unfrozen.backbone.feature_extractor.parameters())
    with pytest.raises(ValueError, match="keep_layers"):
        build_model(cfg(path, keep_layers=5), n_classes=4)


def test_missing_pretrained_folder_is_named(tmp_path):
    with pytest.raises(OSError, match="model.pretrained="):
        build_model(cfg(tmp_path / "nowhere"), n_classes=4)


def test_masked_mean_pool_by_hand():
    hidden = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]]])
    mask = torch.tensor([[True, True, False]])
    torch.testing.assert_close(masked_mean_pool(hidden, mask), torch.tensor([[2.0, 3.0]]))
    torch.testing.assert_close(masked_mean_pool(hidden, None), torch.tensor([[104 / 3, 106 / 3]]))


def test_padding_does_not_change_logits(tiny_pretrained):
    """Mean pooling over valid frames only: a padded utterance scores as it does alone."""
    torch.manual_seed(1)
    model = build_model(cfg(tiny_pretrained[0]), n_classes=4).eval()
    short, long = torch.randn(1, 9000), torch.randn(1, 16000)
    batch = torch.zeros(2, 16000)
    batch[0, :9000], batch[1] = short[0], long[0]
    mask = torch.zeros(2, 16000, dtype=torch.long)
    mask[0, :9000], mask[1] = 1, 1
    with torch.no_grad():
        padded = model(batch, mask)
        alone = model(short, torch.ones(1, 9000, dtype=torch.long))
    torch.testing.assert_close(padded[0], alone[0], rtol=1e-4, atol=1e-5)
    frames = model.frame_mask(49, mask)
    # conv output length of 9000 samples: ((((((9000-10)//5+1 -3)//2+1 ...) = 27 frames
    assert frames.sum(dim=1).tolist() == [27, 49]


def test_large_robust_parameter_counts():
    counts = parameter_counts(n_classes=4, keep_layers=12, head_hidden=1024)
    # one pre-LN transformer layer (H = 1024, FFN 4096): q,k,v,o 4 * (H*H + H) + two layer norms
    # 2 * 2H + FFN (H*4096 + 4096 + 4096*H + H) = 4,198,400 + 4,096 + 8,393,728 = 12,596,224
    per_layer = 12_596_224
    assert counts["backbone_full"] == 315_438_720
    assert counts["backbone_full"] - counts["backbone_pruned"] == 12 * per_layer
    assert counts["head"] == 1025 * 1024 + 1025 * 1024 + 1025 * 4
    assert counts["full_plus_head"] == 317_542_020  # the study's "about 317M"
    assert counts["pruned_plus_head"] == 166_387_332
    cfg24 = large_robust_config()
    assert (cfg24.hidden_size, cfg24.num_hidden_layers, cfg24.num_attention_heads) == (1024, 24, 16)
