"""Class-balanced soft cross-entropy: weights and loss against hand computations and torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from serrules.training.loss import (
    ClassBalancedSoftCrossEntropy,
    class_balanced_weights,
    presence_counts,
    soft_cross_entropy,
)

CLASSES = ("a", "b", "c")
# one-hot targets: class a 3 times, b once, c twice
ONE_HOT = np.array(
    [[1, 0, 0], [1, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 1]], dtype=np.float32
)


def test_weights_by_hand():
    # beta = 0.9, n = (3, 1, 2):
    #   raw_a = 0.1 / (1 - 0.9^3) = 0.1 / 0.271 = 0.3690037
    #   raw_b = 0.1 / (1 - 0.9^1) = 0.1 / 0.1   = 1.0
    #   raw_c = 0.1 / (1 - 0.9^2) = 0.1 / 0.19  = 0.5263158
    #   sum = 1.8953195 -> w = 3 * raw / sum = (0.5840762, 1.5828466, 0.8330772)
    np.testing.assert_array_equal(presence_counts(ONE_HOT), [3, 1, 2])
    w = class_balanced_weights(ONE_HOT, CLASSES, beta=0.9)
    np.testing.assert_allclose(w, [0.5840762, 1.5828466, 0.8330772], atol=1e-6)
    assert w.sum() == pytest.approx(3.0)


def test_soft_targets_count_shares_strictly_above_one_over_c():
    # C = 3, threshold 1/3: a share of exactly 1/3 is not a presence
    soft = np.array([[1 / 3, 1 / 3, 1 / 3], [0.5, 0.5, 0.0], [0.2, 0.4, 0.4], [0.0, 0.0, 1.0]])
    np.testing.assert_array_equal(presence_counts(soft), [1, 2, 2])


def test_beta_zero_gives_equal_weights():
    np.testing.assert_allclose(class_balanced_weights(ONE_HOT, CLASSES, beta=0.0), [1, 1, 1])


def test_class_without_training_utterance_is_named_and_weighted_as_one(caplog):
    # n = (2, 0, 1) -> counted as (2, 1, 1): raw = (0.1/0.19, 1, 1); w = 3 * raw / sum(raw)
    targets = np.array([[1, 0, 0], [0.5, 0, 0.5]], dtype=np.float32)
    with caplog.at_level("WARNING", logger="serrules.training.loss"):
        w = class_balanced_weights(targets, CLASSES, beta=0.9)
    raw = np.array([0.1 / 0.19, 1.0, 1.0])
    np.testing.assert_allclose(w, 3 * raw / raw.sum(), rtol=1e-6)
    assert "class(es) b" in caplog.text


@pytest.mark.parametrize("beta", [-0.1, 1.0])
def test_beta_out_of_range(beta):
    with pytest.raises(ValueError, match="beta"):
        class_balanced_weights(ONE_HOT, CLASSES, beta=beta)


def test_loss_by_hand():
    # log_softmax([2, 0, -1])  = (-0.1698460, -2.1698460, -3.1698460)
    # log_softmax([.5, .5, 0]) = (-0.9580201, -0.9580201, -1.4580201)
    # utterance 1, y = (1, 0, 0):     0.5840762 * 0.1698460                       = 0.0992030
    # utterance 2, y = (0, .6, .4):   1.5828466 * .6 * 0.9580201 + 0.8330772 * .4 * 1.4580201
    #                               = 0.9098452 + 0.4858514                       = 1.3956966
    # batch loss = mean = 0.7474498
    criterion = ClassBalancedSoftCrossEntropy.from_targets(ONE_HOT, CLASSES, beta=0.9)
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 0.0]])
    y = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.6, 0.4]])
    np.testing.assert_allclose(
        criterion.per_utterance(logits, y).numpy(), [0.0992030, 1.3956966], atol=1e-6
    )
    assert float(criterion(logits, y)) == pytest.approx(0.7474498, abs=1e-6)


def test_matches_torch_cross_entropy():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(7, 4, generator=gen)
    soft = torch.softmax(torch.randn(7, 4, generator=gen), dim=-1)
    # unweighted soft targets == torch's probability-target cross-entropy
    torch.testing.assert_close(
        soft_cross_entropy(logits, soft).mean(), F.cross_entropy(logits, soft)
    )
    # weighted one-hot targets == torch's class-weighted cross-entropy, per utterance
    labels = torch.tensor([0, 1, 2, 3, 0, 1, 2])
    w = torch.tensor([0.5, 1.5, 1.0, 1.0])
    torch.testing.assert_close(
        soft_cross_entropy(logits, F.one_hot(labels, 4).float(), w),
        F.cross_entropy(logits, labels, weight=w, reduction="none"),
    )
