"""The study's three test metrics: macro-F1 on multi-hot decisions, KLD and JSD.

* **macro-F1** — a class is predicted present when its probability is strictly greater than
  ``1/C`` (:func:`serrules.base.classes.presence_threshold`); the ground truth is the test target of
  the test rule (one-hot for MR/PR, multi-hot share > 1/C for AR). Per class
  ``F1_j = 2 TP_j / (2 TP_j + FP_j + FN_j)``, 0 when the class is neither present nor predicted
  (scikit-learn's ``f1_score(average="macro", zero_division=0)`` on the multi-hot arrays); the
  macro value is the unweighted mean over the C classes.
* **KLD** — ``KL(target || prediction) = sum_j t_j log(t_j / p_j)`` (natural log), where the
  target is the utterance's vote distribution over the C classes (``votes_<class> / n_valid``,
  for every test rule) and the prediction is the softmax output.
* **JSD** — the Jensen-Shannon *divergence* ``(KL(t || m) + KL(p || m)) / 2`` with
  ``m = (t + p) / 2`` (natural log, bounded by ``log 2``); scipy's ``jensenshannon`` returns its
  square root, the distance.

Both divergences first clip each distribution to at least :data:`EPSILON` and renormalise it to
sum 1, so a zero share in the target or the prediction gives a finite value. Corpus-level
KLD/JSD = mean of the per-utterance values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from serrules.base.classes import above_presence_threshold

#: Floor applied to both distributions before KLD/JSD (then renormalised to sum 1).
EPSILON: float = 1e-8

#: Metric names, in the order every result table lists them.
METRICS: tuple[str, ...] = ("macro_f1", "kld", "jsd")


def _as_matrix(name: str, values: np.ndarray, dtype: type) -> np.ndarray:
    array = np.asarray(values, dtype=dtype)
    if array.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (utterances x classes) array, got {array.shape}")
    return array


def predicted_presence(probabilities: np.ndarray) -> np.ndarray:
    """Multi-hot decisions: ``p_j > 1/C`` (strictly), C = number of columns, compared in the
    probabilities' own float precision (:func:`serrules.base.classes.above_presence_threshold`,
    the test shared with the training class counts and the AR test targets)."""
    probs = np.asarray(probabilities)
    if not np.issubdtype(probs.dtype, np.floating):
        probs = probs.astype(np.float64)
    return above_presence_threshold(_as_matrix("probabilities", probs, probs.dtype))


def clip_renormalise(distribution: np.ndarray, epsilon: float = EPSILON) -> np.ndarray:
    """Raise every entry to at least ``epsilon``, then rescale each row to sum 1."""
    if not epsilon > 0:
        raise ValueError(f"epsilon must be positive, got {epsilon}")
    clipped = np.maximum(_as_matrix("distribution", distribution, np.float64), epsilon)
    return clipped / clipped.sum(axis=1, keepdims=True)


def kld_per_utterance(
    target: np.ndarray, prediction: np.ndarray, epsilon: float = EPSILON
) -> np.ndarray:
    """``KL(target || prediction)`` per row, natural log, after :func:`clip_renormalise`."""
    t, p = _clipped_pair(target, prediction, epsilon)
    return np.sum(t * np.log(t / p), axis=1)


def jsd_per_utterance(
    target: np.ndarray, prediction: np.ndarray, epsilon: float = EPSILON
) -> np.ndarray:
    """Jensen-Shannon divergence per row (natural log), after :func:`clip_renormalise`."""
    t, p = _clipped_pair(target, prediction, epsilon)
    m = 0.5 * (t + p)
    return 0.5 * np.sum(t * np.log(t / m), axis=1) + 0.5 * np.sum(p * np.log(p / m), axis=1)


def _clipped_pair(
    target: np.ndarray, prediction: np.ndarray, epsilon: float
) -> tuple[np.ndarray, np.ndarray]:
    """Both distributions after :func:`clip_renormalise`; their shapes must agree."""
    t = clip_renormalise(target, epsilon)
    p = clip_renormalise(prediction, epsilon)
    _check_same_shape(t, p)
    return t, p


def _check_same_shape(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape != b.shape:
        raise ValueError(f"target and prediction shapes differ: {a.shape} vs {b.shape}")


def macro_f1_from_counts(
    true_positives: np.ndarray, predicted_positives: np.ndarray, actual_positives: np.ndarray
) -> np.ndarray:
    """Macro-F1 from per-class counts (last axis = classes; leading axes e.g. resamples).

    Same arithmetic as scikit-learn: ``F1_j = 2 TP_j / (actual_j + predicted_j)``, 0 where the
    denominator is 0, then the mean over classes.
    """
    tp = np.asarray(true_positives, dtype=np.float64)
    denominator = np.asarray(actual_positives, dtype=np.float64) + np.asarray(
        predicted_positives, dtype=np.float64
    )
    empty = denominator == 0
    per_class = 2.0 * tp / np.where(empty, 1.0, denominator)
    per_class[empty] = 0.0
    return per_class.mean(axis=-1)


def macro_f1(truth: np.ndarray, predicted: np.ndarray) -> float:
    """Macro-F1 of multi-hot decisions ``predicted`` against multi-hot ``truth`` (both n x C)."""
    t = _as_matrix("truth", truth, bool)
    p = _as_matrix("predicted", predicted, bool)
    _check_same_shape(t, p)
    value = macro_f1_from_counts((t & p).sum(axis=0), p.sum(axis=0), t.sum(axis=0))
    return float(value)


@dataclass(frozen=True)
class SystemScores:
    """Per-utterance quantities one system (a train rule's pooled predictions) contributes to the
    metrics on one test set; every corpus-level metric is a function of sums of these rows."""

    predicted: np.ndarray  #: bool (n, C): p_j > 1/C
    kld: np.ndarray  #: float (n,): KL(target || prediction)
    jsd: np.ndarray  #: float (n,): Jensen-Shannon divergence

    @classmethod
    def from_probabilities(
        cls, probabilities: np.ndarray, target: np.ndarray, epsilon: float = EPSILON
    ) -> SystemScores:
        """Decisions and divergences of predicted ``probabilities`` against the vote
        distribution ``target`` (both n x C)."""
        return cls(
            predicted=predicted_presence(probabilities),
            kld=kld_per_utterance(target, probabilities, epsilon),
            jsd=jsd_per_utterance(target, probabilities, epsilon),
        )

    def point_metrics(self, truth: np.ndarray) -> dict[str, float]:
        """The three corpus-level metrics on all utterances (no resampling)."""
        return {
            "macro_f1": macro_f1(truth, self.predicted),
            "kld": float(np.mean(self.kld)),
            "jsd": float(np.mean(self.jsd)),
        }


__all__ = [
    "EPSILON",
    "METRICS",
    "SystemScores",
    "clip_renormalise",
    "jsd_per_utterance",
    "kld_per_utterance",
    "macro_f1",
    "macro_f1_from_counts",
    "predicted_presence",
]
