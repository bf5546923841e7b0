"""The two protocols (paper text vs authors' code): preset resolution, and for every row of the
table in docs/protocols.md the `paper` and the `authors` formula transcribed independently (plain
loops, plain torch ops) on a small fixed batch and checked against the implementation."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch
import yaml

from serrules.base.config import SCHEMA_PATH, ConfigError, validate_config
from serrules.base.protocols import (
    CHOICES,
    PROTOCOL_KEYS,
    PROTOCOLS,
    ProtocolError,
    describe,
    explicit_keys,
    preset,
    protocol_record,
    resolve_protocol,
)
from serrules.evaluation.pooling import TestSet as EvalSet
from serrules.evaluation.pooling import with_divergence_target
from serrules.labels.folds import assign_folds
from serrules.training.batching import (
    AudioDataset,
    BatchSampler,
    sequential_batches,
    waveform_statistics,
)
from serrules.training.choices import (
    autocast,
    build_criterion,
    dev_loss_function,
    grad_scaler,
    make_optimizer,
    training_targets,
)
from serrules.training.models.head import ClassificationHead, head_parameter_count
from serrules.training.models.wav2vec2 import masked_mean_pool, plain_mean_pool
from serrules.training.run_config import TrainConfig

REPO = Path(__file__).resolve().parents[1]
C = 4
CLASSES = ("anger", "happiness", "sadness", "neutral")
# a small fixed batch: 3 one-hot rows, 2 soft (AR) rows
Y = np.array(
    [
        [1, 0, 0, 0],
        [0, 1, 0, 0],
        [1, 0, 0, 0],
        [0.5, 0.25, 0.25, 0.0],
        [0.2, 0.2, 0.3, 0.3],
    ],
    dtype=np.float32,
)
LOGITS = torch.tensor(
    [
        [2.0, 0.1, -1.0, 0.3],
        [0.0, 1.5, 0.2, -0.5],
        [-0.3, 0.2, 0.9, 0.1],
        [1.1, 0.4, 0.0, -2.0],
        [0.2, 0.2, 0.5, 0.7],
    ]
)


def cfg(protocol: str, **overrides) -> TrainConfig:
    return TrainConfig.from_mapping({**preset(protocol)["training"], **overrides})


# ------------------------------------------------------------------ direct transcriptions
def direct_smooth(y, eps):
    out = []
    for row in y:
        out.append([(1 - eps) * v + eps * (1 - v) / (len(row) - 1) for v in row])
    return np.array(out)


def direct_weights(y, beta):
    n = []
    for j in range(len(y[0])):
        count = sum(1 for row in y if row[j] > 1 / len(row))
        n.append(count if count > 0 else 1)
    raw = [(1 - beta) / (1 - beta**nj) for nj in n]
    return np.array([w / sum(raw) * len(raw) for w in raw])


def direct_log_softmax(logits):
    out = []
    for row in logits.tolist():
        m = max(row)
        lse = m + math.log(sum(math.exp(v - m) for v in row))
        out.append([v - lse for v in row])
    return out


def direct_loss(logits, y, w, form):
    logp = direct_log_softmax(logits)
    losses = []
    for i, row in enumerate(y):
        if form == "per_class":
            losses.append(-sum(w[j] * row[j] * logp[i][j] for j in range(len(row))))
        elif form == "per_utterance":
            scale = sum(w[j] * row[j] for j in range(len(row)))
            losses.append(scale * -sum(row[j] * logp[i][j] for j in range(len(row))))
        else:  # unweighted
            losses.append(-sum(row[j] * logp[i][j] for j in range(len(row))))
    return losses


# ------------------------------------------------------------------ presets and resolution
def test_every_choice_has_a_schema_key_without_default():
    schema = yaml.safe_load(SCHEMA_PATH.read_text())
    for choice in CHOICES:
        prop = schema["properties"][choice.section]["properties"][choice.key]
        assert "default" not in prop, choice.path  # the preset, not the schema, fills it


def test_shipped_config_leaves_every_protocol_key_to_the_preset():
    raw = yaml.safe_load((REPO / "config.yaml").read_text())
    assert explicit_keys(raw) == []
    assert raw["protocol"] == "paper"


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_protocol_resolves_every_key(protocol):
    raw = yaml.safe_load((REPO / "config.yaml").read_text())
    raw["protocol"] = protocol
    config = validate_config(raw)
    for choice in CHOICES:
        assert config[choice.section][choice.key] == getattr(choice, protocol), choice.path
    record = protocol_record(config, explicit_keys(raw))
    assert record["protocol"] == protocol and record["overrides"] == []
    assert set(record["settings"]) == set(PROTOCOL_KEYS)


def test_authors_preset_values():
    t = preset("authors")["training"]
    assert t["beta"] == "(N-1)/N" and t["loss_weighting"] == "per_utterance"
    assert t["target_smoothing"] == 0.05 and t["dev_loss"] == "unweighted"
    assert t["optimizer"] == "adam" and t["weight_decay"] == 0.0
    assert t["precision"] == "fp16" and t["drop_last"] is True
    assert t["iemocap_folds"] == "authors" and t["waveform_normalisation"] == "global"
    assert preset("authors")["model"] == {"pooling": "plain", "head_batchnorm": True}
    assert preset("authors")["evaluation"] == {"divergence_target": "smoothed_label"}


def test_explicit_key_beats_the_preset():
    raw = yaml.safe_load((REPO / "config.yaml").read_text())
    raw["protocol"] = "authors"
    raw["training"]["optimizer"] = "adamw"
    raw["model"]["head_batchnorm"] = False
    config = validate_config(raw)
    assert config["training"]["optimizer"] == "adamw"
    assert config["model"]["head_batchnorm"] is False
    assert config["training"]["loss_weighting"] == "per_utterance"  # the rest from the preset
    record = protocol_record(config, explicit_keys(raw))
    assert record["overrides"] == ["model.head_batchnorm", "training.optimizer"] or set(
        record["overrides"]
    ) == {"model.head_batchnorm", "training.optimizer"}
    assert describe(record).startswith("protocol authors with ")
    # the same explicit keys win over the other preset too (protocol_comparison resolves both)
    paper = resolve_protocol(validate_config(raw, resolve=False), "paper")
    assert paper["training"]["optimizer"] == "adamw" and paper["training"]["beta"] == 0.99


def test_unknown_protocol_fails_at_validation():
    raw = yaml.safe_load((REPO / "config.yaml").read_text())
    raw["protocol"] = "appendix"
    with pytest.raises(ConfigError, match="protocol"):
        validate_config(raw)
    with pytest.raises(ProtocolError, match="unknown protocol 'appendix'"):
        resolve_protocol({}, "appendix")


def test_bad_protocol_key_value_fails_at_validation():
    raw = yaml.safe_load((REPO / "config.yaml").read_text())
    raw["training"]["loss_weighting"] = "per_batch"
    with pytest.raises(ConfigError, match="training.loss_weighting"):
        validate_config(raw)


def test_validation_does_not_alter_the_callers_config():
    raw = yaml.safe_load((REPO / "config.yaml").read_text())
    before = copy.deepcopy(raw)
    validate_config(raw)
    assert raw == before


# ------------------------------------------------------------------ rows of the table
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_row_target_smoothing(protocol):
    eps = preset(protocol)["training"]["target_smoothing"]
    got = training_targets(Y, cfg(protocol))
    np.testing.assert_allclose(got, direct_smooth(Y.tolist(), eps), atol=1e-7)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-6)
    if protocol == "paper":
        np.testing.assert_array_equal(got, Y)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_row_beta_and_class_counts(protocol):
    c = cfg(protocol)
    y = training_targets(Y, c)
    criterion, beta = build_criterion(y, CLASSES, c)
    expected_beta = 0.99 if protocol == "paper" else (len(Y) - 1) / len(Y)
    assert beta == pytest.approx(expected_beta, abs=1e-15)
    # n_j on the (smoothed) training targets; class neutral has no share > 1/C -> n_j = 1
    y_direct = direct_smooth(Y.tolist(), c.target_smoothing).tolist()
    np.testing.assert_allclose(
        criterion.weights.numpy(), direct_weights(y_direct, expected_beta), rtol=1e-6
    )
    assert float(criterion.weights.sum()) == pytest.approx(C, abs=1e-5)


def test_beta_fold_size_changes_the_weights():
    paper, _ = build_criterion(Y, CLASSES, cfg("paper"))
    fold, _ = build_criterion(Y, CLASSES, cfg("paper", beta="(N-1)/N"))
    assert not torch.allclose(paper.weights, fold.weights)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_row_weighting_form(protocol):
    c = cfg(protocol)
    y = training_targets(Y, c)
    criterion, beta = build_criterion(y, CLASSES, c)
    w = criterion.weights.tolist()
    expected = direct_loss(LOGITS, y.tolist(), w, c.loss_weighting)
    got = criterion.per_utterance(LOGITS, torch.from_numpy(y))
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5)
    batch = criterion(LOGITS, torch.from_numpy(y))
    assert float(batch) == pytest.approx(sum(expected) / len(expected), rel=1e-5)


def test_weighting_forms_differ_on_soft_targets_and_agree_on_one_hot():
    criterion, _ = build_criterion(Y, CLASSES, cfg("paper"))
    per_utt, _ = build_criterion(Y, CLASSES, cfg("paper", loss_weighting="per_utterance"))
    a = criterion.per_utterance(LOGITS, torch.from_numpy(Y))
    b = per_utt.per_utterance(LOGITS, torch.from_numpy(Y))
    torch.testing.assert_close(a[:3], b[:3])  # one-hot rows: same value
    assert not torch.allclose(a[3:], b[3:])  # soft rows: different


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_row_dev_loss(protocol):
    c = cfg(protocol)
    y = training_targets(Y, c)
    criterion, _ = build_criterion(y, CLASSES, c)
    got = dev_loss_function(criterion, c)(LOGITS, torch.from_numpy(y))
    if protocol == "paper":  # the weighted training loss
        expected = direct_loss(LOGITS, y.tolist(), criterion.weights.tolist(), "per_class")
    else:  # unweighted soft cross-entropy
        expected = direct_loss(LOGITS, y.tolist(), None, "unweighted")
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5)


@pytest.fixture()
def waves(tmp_path):
    rng = np.random.default_rng(3)
    paths, data = [], []
    for i, n in enumerate((1600, 2400, 800)):  # well inside [-1, 1]: load_audio clips
        wave = np.clip(rng.normal(0.02 * i, 0.05 + 0.02 * i, n), -0.9, 0.9).astype(np.float32)
        path = tmp_path / f"w{i}.wav"
        sf.write(path, wave, 16000, subtype="FLOAT")
        paths.append(str(path))
        data.append(wave.astype(np.float64).tolist())
    return paths, data


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_row_waveform_normalisation(protocol, waves):
    paths, data = waves
    eps = 1e-7
    if protocol == "paper":
        stats = None
    else:
        stats = waveform_statistics(paths, None, 16000)
        every = [v for wave in data for v in wave]
        mean = sum(every) / len(every)
        std = math.sqrt(sum((v - mean) ** 2 for v in every) / len(every))
        assert stats == pytest.approx((mean, std), rel=1e-9)
    ds = AudioDataset(paths, np.zeros((3, C)), None, 16000, global_stats=stats)
    for i, wave in enumerate(data):
        if stats is None:
            m = sum(wave) / len(wave)
            s = math.sqrt(sum((v - m) ** 2 for v in wave) / len(wave) + eps)
        else:
            m, s = stats[0], math.sqrt(stats[1] ** 2 + eps)
        expected = [(v - m) / s for v in wave]
        np.testing.assert_allclose(ds[i].inputs, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_row_pooling(protocol):
    torch.manual_seed(0)
    hidden = torch.randn(2, 5, 3)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=torch.bool)
    got = plain_mean_pool(hidden) if protocol == "authors" else masked_mean_pool(hidden, mask)
    expected = torch.zeros(2, 3)
    for b in range(2):
        frames = [t for t in range(5) if protocol == "authors" or mask[b, t]]
        for t in frames:
            expected[b] += hidden[b, t]
        expected[b] /= len(frames)
    torch.testing.assert_close(got, expected)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_row_head(protocol):
    batchnorm = preset(protocol)["model"]["head_batchnorm"]
    torch.manual_seed(0)
    head = ClassificationHead(6, C, hidden=5, dropout=0.5, batchnorm=batchnorm)
    kinds = [type(m).__name__ for m in head.layers]
    if batchnorm:
        assert kinds == ["Dropout", "Linear", "BatchNorm1d", "ReLU"] * 2 + ["Linear"]
    else:
        assert kinds == ["Dropout", "Linear", "ReLU"] * 2 + ["Linear"]
    assert sum(p.numel() for p in head.parameters()) == head_parameter_count(6, C, 5, batchnorm)
    # give the BatchNorm layers non-trivial running statistics, then compare in eval mode
    head.train()
    head(torch.randn(16, 6))
    head.eval()
    x = torch.randn(3, 6)
    linears = [m for m in head.layers if isinstance(m, torch.nn.Linear)]
    norms = [m for m in head.layers if isinstance(m, torch.nn.BatchNorm1d)]
    h = x
    for k in range(2):
        h = h @ linears[k].weight.T + linears[k].bias
        if batchnorm:
            bn = norms[k]
            h = (h - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps) * bn.weight + bn.bias
        h = torch.clamp(h, min=0)
    expected = h @ linears[2].weight.T + linears[2].bias
    torch.testing.assert_close(head(x), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_row_optimiser(protocol):
    c = cfg(protocol, lr=0.1)
    p = torch.nn.Parameter(torch.tensor([1.0, -2.0, 0.5]))
    g = torch.tensor([0.3, -0.1, 2.0])
    opt = make_optimizer([p], c)
    assert type(opt).__name__ == ("AdamW" if protocol == "paper" else "Adam")
    p.grad = g.clone()
    opt.step()
    # first step of Adam: m_hat = g, v_hat = g^2
    start = torch.tensor([1.0, -2.0, 0.5])
    if protocol == "paper":  # decoupled decay, then the Adam step
        start = start * (1 - 0.1 * c.weight_decay)
    expected = start - 0.1 * g / (g.abs() + 1e-8)
    torch.testing.assert_close(p.detach(), expected)


@pytest.mark.filterwarnings("ignore:CUDA is not available")
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_row_mixed_precision(protocol):
    precision = preset(protocol)["training"]["precision"]
    cpu = torch.device("cpu")
    with autocast(cpu, precision):  # CPU jobs are always fp32
        assert not torch.is_autocast_enabled("cpu")
        assert (LOGITS @ LOGITS.T).dtype == torch.float32
    assert not grad_scaler(cpu, precision).is_enabled()
    ctx = autocast(torch.device("cuda"), precision)
    assert isinstance(ctx, torch.autocast)
    assert ctx.fast_dtype == (torch.bfloat16 if protocol == "paper" else torch.float16)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_row_drop_last(protocol):
    drop = preset(protocol)["training"]["drop_last"]
    gen = torch.Generator().manual_seed(0)
    sampler = BatchSampler(10, 4, gen, drop_last=drop)
    batches = sampler.batches()
    sizes = [len(b) for b in batches]
    assert sizes == ([4, 4] if drop else [4, 4, 2]) and len(sampler) == len(batches)
    seen = [i for b in batches for i in b]
    assert len(set(seen)) == len(seen) == (8 if drop else 10)
    dev = sequential_batches(10, 4, None, drop)
    assert dev == ([[0, 1, 2, 3], [4, 5, 6, 7]] if drop else [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]])


def test_drop_last_never_empties_a_part():
    gen = torch.Generator().manual_seed(0)
    assert [len(b) for b in BatchSampler(3, 4, gen, drop_last=True).batches()] == [3]
    assert sequential_batches(3, 4, None, True) == [[0, 1, 2]]


def test_drop_last_bucketed_drops_each_partial_batch():
    gen = torch.Generator().manual_seed(0)
    sampler = BatchSampler(10, 2, gen, lengths=np.arange(10.0), bucket_size=5, drop_last=True)
    batches = sampler.batches()
    assert [len(b) for b in batches] == [2, 2, 2, 2] and len(sampler) == 4


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_row_iemocap_folds(protocol):
    table = {  # (train, dev, test) sessions, transcribed from docs/protocols.md
        "paper": [
            ((1, 2, 3), 4, 5),
            ((2, 3, 4), 5, 1),
            ((3, 4, 5), 1, 2),
            ((1, 4, 5), 2, 3),
            ((1, 2, 5), 3, 4),
        ],
        "authors": [
            ((1, 2, 3), 5, 4),
            ((1, 2, 5), 4, 3),
            ((1, 4, 5), 3, 2),
            ((3, 4, 5), 2, 1),
            ((2, 3, 4), 1, 5),
        ],
    }[protocol]
    utterances = pd.DataFrame(
        {"utterance_id": [f"s{s}_{i}" for s in range(1, 6) for i in range(2)]}
    )
    utterances["session"] = [s for s in range(1, 6) for _ in range(2)]
    folds = assign_folds(utterances, "iemocap", preset(protocol)["training"]["iemocap_folds"])
    for k, (train, dev, test) in enumerate(table, start=1):
        part = folds[folds["fold"] == k].set_index("utterance_id")["part"]
        for uid, session in zip(utterances["utterance_id"], utterances["session"], strict=True):
            expected = {**dict.fromkeys(train, "train"), dev: "dev", test: "test"}[session]
            assert part[uid] == expected, (protocol, k, uid)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_row_divergence_target(protocol):
    votes = np.array([[3.0, 1.0, 0.0, 0.0], [0.0, 2.0, 1.0, 1.0]])
    truth = np.array([[1, 0, 0, 0], [0, 1, 0, 0]], dtype=bool)
    distribution = votes / votes.sum(axis=1, keepdims=True)
    sets = {
        rule: EvalSet(
            rule,
            np.array(["a", "b"]),
            np.arange(2),
            truth,
            distribution,
            np.array(["s1", "s2"], dtype=object),
        )
        for rule in ("MR", "AR")
    }
    eps = preset(protocol)["training"]["target_smoothing"]
    got = with_divergence_target(sets, preset(protocol)["evaluation"]["divergence_target"], eps)
    if protocol == "paper":
        np.testing.assert_array_equal(got["MR"].target, distribution)
        np.testing.assert_array_equal(got["AR"].target, distribution)
    else:
        np.testing.assert_allclose(
            got["MR"].target, direct_smooth(truth.astype(float).tolist(), 0.05), atol=1e-7
        )
        # AR_test: the smoothed vote distribution, as in the authors' released _D label files
        # (test.py reads them as y); it kept the raw votes before (a defect: issue 18)
        np.testing.assert_allclose(
            got["AR"].target, direct_smooth(distribution.tolist(), 0.05), atol=1e-7
        )
        assert not np.allclose(got["AR"].target, distribution)


def test_bucketed_drop_last_keeps_a_part_that_has_fewer_items_than_a_batch():
    gen = torch.Generator().manual_seed(0)
    sampler = BatchSampler(9, 4, gen, lengths=np.arange(9.0), bucket_size=8, drop_last=True)
    assert sorted(len(b) for b in sampler.batches()) == [4, 4]  # the 1-item bucket is dropped
    assert sampler.smallest_batch() == 4 and len(sampler) == 2
    tiny = BatchSampler(3, 4, gen, lengths=np.arange(3.0), bucket_size=8, drop_last=True)
    assert [len(b) for b in tiny.batches()] == [3]
    assert BatchSampler(9, 4, gen).smallest_batch() == 1  # kept partial batch of 1
