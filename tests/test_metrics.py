"""Metric definitions against scikit-learn and scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import entropy
from sklearn.metrics import f1_score

from serrules.evaluation.metrics import (
    EPSILON,
    SystemScores,
    clip_renormalise,
    jsd_per_utterance,
    kld_per_utterance,
    macro_f1,
    macro_f1_from_counts,
    predicted_presence,
)


def _random_distributions(rng: np.random.Generator, n: int, c: int, zeros: bool) -> np.ndarray:
    d = rng.dirichlet(np.full(c, 0.7), size=n)
    if zeros:
        d[rng.random((n, c)) < 0.3] = 0.0
        d[d.sum(axis=1) == 0, 0] = 1.0
        d /= d.sum(axis=1, keepdims=True)
    return d


@pytest.mark.parametrize("seed", range(6))
def test_macro_f1_equals_sklearn_including_empty_classes(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, c = int(rng.integers(5, 80)), int(rng.integers(2, 10))
    truth = rng.random((n, c)) < 0.3
    predicted = rng.random((n, c)) < 0.35
    truth[:, 0] = False  # a class never present
    predicted[:, 0] = False  # ... and never predicted: F1 = 0 (zero_division=0)
    if c > 2:
        truth[:, 1] = False  # present nowhere but predicted
    expected = f1_score(truth.astype(int), predicted.astype(int), average="macro", zero_division=0)
    assert macro_f1(truth, predicted) == expected


def test_macro_f1_from_counts_batches_resamples() -> None:
    rng = np.random.default_rng(3)
    truth = rng.random((50, 5)) < 0.3
    predicted = rng.random((50, 5)) < 0.3
    counts = rng.integers(0, 3, size=(4, 50)).astype(float)
    values = macro_f1_from_counts(counts @ (truth & predicted), counts @ predicted, counts @ truth)
    for row, weights in enumerate(counts.astype(int)):
        idx = np.repeat(np.arange(50), weights)
        assert values[row] == f1_score(
            truth[idx].astype(int), predicted[idx].astype(int), average="macro", zero_division=0
        )


def test_hand_computed_macro_f1() -> None:
    truth = np.array([[1, 0, 0], [0, 1, 0], [0, 1, 0], [1, 1, 0]], dtype=bool)
    predicted = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 0], [1, 0, 0]], dtype=bool)
    # class 0: TP 2, FP 1, FN 0 -> 4/5; class 1: TP 1, FP 0, FN 2 -> 2/4; class 2: 0
    assert macro_f1(truth, predicted) == pytest.approx((0.8 + 0.5 + 0.0) / 3, abs=1e-15)


def test_presence_is_strictly_above_one_over_c() -> None:
    probs = np.array([[0.25, 0.25, 0.25, 0.25], [0.5, 0.2500001, 0.2499999, 0.0]])
    assert predicted_presence(probs).tolist() == [
        [False, False, False, False],
        [True, True, False, False],
    ]


@pytest.mark.parametrize("zeros", [False, True])
def test_kld_equals_scipy_entropy(zeros: bool) -> None:
    rng = np.random.default_rng(11)
    target = _random_distributions(rng, 40, 6, zeros)
    prediction = _random_distributions(rng, 40, 6, zeros)
    ours = kld_per_utterance(target, prediction)
    t, p = clip_renormalise(target, EPSILON), clip_renormalise(prediction, EPSILON)
    expected = np.array([entropy(t[i], p[i]) for i in range(40)])
    np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-14)
    assert np.isfinite(ours).all()
    if not zeros:  # clipping at 1e-8 hardly moves strictly positive inputs
        raw = np.array([entropy(target[i], prediction[i]) for i in range(40)])
        np.testing.assert_allclose(ours, raw, rtol=1e-6)


@pytest.mark.parametrize("zeros", [False, True])
def test_jsd_equals_squared_scipy_jensenshannon(zeros: bool) -> None:
    rng = np.random.default_rng(12)
    target = _random_distributions(rng, 40, 8, zeros)
    prediction = _random_distributions(rng, 40, 8, zeros)
    ours = jsd_per_utterance(target, prediction)
    t, p = clip_renormalise(target, EPSILON), clip_renormalise(prediction, EPSILON)
    expected = np.array([jensenshannon(t[i], p[i]) ** 2 for i in range(40)])
    np.testing.assert_allclose(ours, expected, rtol=1e-10, atol=1e-14)
    assert (ours <= np.log(2) + 1e-12).all()


def test_divergences_of_one_hot_target_use_epsilon() -> None:
    target = np.array([[1.0, 0.0]])
    prediction = np.array([[0.0, 1.0]])
    # clipped: t = (1, e)/(1+e), p = (e, 1)/(1+e); KL = (1-e)/(1+e) * log(1/e)
    e = EPSILON
    assert kld_per_utterance(target, prediction)[0] == pytest.approx(
        (1 - e) / (1 + e) * np.log(1 / e), rel=1e-12
    )
    assert kld_per_utterance(target, target)[0] == 0.0
    assert jsd_per_utterance(target, prediction)[0] == pytest.approx(np.log(2), rel=1e-6)


def test_clip_renormalise_needs_a_positive_epsilon() -> None:
    with pytest.raises(ValueError, match="positive"):
        clip_renormalise(np.ones((1, 2)) / 2, epsilon=0.0)


def test_system_scores_point_metrics() -> None:
    target = np.array([[0.5, 0.5, 0.0], [0.0, 1.0, 0.0]])
    probs = np.array([[0.6, 0.3, 0.1], [0.2, 0.7, 0.1]])
    truth = target > 1 / 3
    scores = SystemScores.from_probabilities(probs, target)
    point = scores.point_metrics(truth)
    assert scores.predicted.tolist() == [[True, False, False], [False, True, False]]
    assert point["macro_f1"] == f1_score(
        truth.astype(int), scores.predicted.astype(int), average="macro", zero_division=0
    )
    assert point["kld"] == pytest.approx(np.mean(kld_per_utterance(target, probs)))
    assert point["jsd"] == pytest.approx(np.mean(jsd_per_utterance(target, probs)))
