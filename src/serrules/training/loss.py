"""Class-balanced soft cross-entropy (Cui et al. 2019, "effective number of samples").

Per-class weight ``w_j = (1 - beta) / (1 - beta**n_j)``, normalised so that ``sum_j w_j = C``,
where ``n_j`` is the number of training utterances whose target share of class ``j`` is strictly
greater than ``1/C`` (:func:`serrules.base.classes.presence_threshold`; for one-hot targets this is
the
class count). Loss of one utterance, in one of two forms (``training.loss_weighting``,
docs/protocols.md):

* ``per_class`` (the paper's text): ``-sum_j w_j * y_j * log p_j``;
* ``per_utterance`` (the authors' code): ``(sum_j w_j * y_j) * (-sum_j y_j * log p_j)``.

A batch loss is the mean over its utterances. ``beta`` is a number, or ``"(N-1)/N"`` (the
authors' code: N = training utterances of the fold; :func:`resolve_beta`). Training targets may
be label-smoothed first (:func:`serrules.labels.aggregation.smooth_targets`; the authors' code uses
epsilon = 0.05).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from serrules.base.classes import above_presence_threshold
from serrules.base.protocols import BETA_FROM_FOLD_SIZE

#: Default ``beta`` of the effective-number weighting.
log = logging.getLogger(__name__)
DEFAULT_BETA = 0.99
#: Loss forms of ``training.loss_weighting``.
WEIGHTINGS: tuple[str, ...] = ("per_class", "per_utterance")


def resolve_beta(beta: float | str, n_train: int) -> float:
    """The numeric beta: ``beta`` itself, or ``(N - 1) / N`` with ``N = n_train`` when ``beta`` is
    ``"(N-1)/N"`` (the authors' code)."""
    if beta == BETA_FROM_FOLD_SIZE:
        if n_train < 1:
            raise ValueError("training.beta = (N-1)/N needs at least one training utterance")
        return (n_train - 1) / n_train
    if isinstance(beta, str):
        raise ValueError(f"training.beta must be a number or {BETA_FROM_FOLD_SIZE!r}, got {beta!r}")
    return float(beta)


def presence_counts(targets: np.ndarray) -> np.ndarray:
    """``n_j``: per class, the number of rows of ``targets`` (utterances x C shares) whose share is
    strictly greater than ``1/C``, compared in the targets' own float precision
    (:func:`serrules.base.classes.above_presence_threshold`: a float32 share of exactly 1/9 is
    not present)."""
    targets = np.asarray(targets)
    if targets.ndim != 2:
        raise ValueError(
            f"targets must be a 2-D (utterances x classes) matrix, got {targets.shape}"
        )
    if not np.issubdtype(targets.dtype, np.floating):
        targets = targets.astype(np.float64)
    return above_presence_threshold(targets).sum(axis=0).astype(np.int64)


def class_balanced_weights(
    targets: np.ndarray, classes: Sequence[str], beta: float = DEFAULT_BETA
) -> np.ndarray:
    """Effective-number class weights from the training targets, normalised to sum to C.

    A class with no training utterance above the 1/C share (``n_j = 0``; e.g. IEMOCAP's disgust
    in some MR folds) would get an infinite weight ``(1-beta)/(1-beta^0)``. It is counted as
    ``n_j = 1`` instead (the largest finite weight) and a warning names it: one-hot MR/PR targets
    never ask for it, and AR's soft targets give it only shares <= 1/C.
    """
    if not 0.0 <= beta < 1.0:
        raise ValueError(f"training.beta must be in [0, 1), got {beta}")
    counts = presence_counts(targets)
    if len(counts) != len(classes):
        raise ValueError(f"targets have {len(counts)} columns but {len(classes)} classes given")
    empty = [c for c, n in zip(classes, counts, strict=True) if n == 0]
    if empty:
        log.warning(
            "class-balanced loss: no training utterance has a target share > 1/C for class(es) "
            "%s; weighting them as if n_j = 1",
            ", ".join(empty),
        )
        counts = np.maximum(counts, 1)
    raw = (1.0 - beta) / (1.0 - np.power(beta, counts.astype(np.float64)))
    return raw / raw.sum() * len(counts)


def soft_cross_entropy(
    logits: Tensor,
    targets: Tensor,
    weights: Tensor | None = None,
    weighting: str = "per_class",
) -> Tensor:
    """Per-utterance loss (shape: batch), in float32: ``-sum_j w_j y_j log softmax(logits)_j``
    (``per_class``) or ``(sum_j w_j y_j) * (-sum_j y_j log softmax(logits)_j)``
    (``per_utterance``); without weights both are the plain soft cross-entropy."""
    if weighting not in WEIGHTINGS:
        raise ValueError(f"training.loss_weighting must be one of {WEIGHTINGS}, got {weighting!r}")
    log_p = F.log_softmax(logits.float(), dim=-1)
    y = targets.float()
    if weights is None:
        return -(y * log_p).sum(dim=-1)
    w = weights.to(log_p.device, torch.float32)
    if weighting == "per_class":
        return -(w * y * log_p).sum(dim=-1)
    return (w * y).sum(dim=-1) * -(y * log_p).sum(dim=-1)


class ClassBalancedSoftCrossEntropy(nn.Module):
    """``loss(logits, targets)`` = batch mean of :func:`soft_cross_entropy` with fixed weights."""

    def __init__(self, weights: np.ndarray | Tensor, weighting: str = "per_class"):
        super().__init__()
        if weighting not in WEIGHTINGS:
            raise ValueError(
                f"training.loss_weighting must be one of {WEIGHTINGS}, got {weighting!r}"
            )
        self.weighting = weighting
        self.register_buffer("weights", torch.as_tensor(np.asarray(weights), dtype=torch.float32))

    @classmethod
    def from_targets(
        cls,
        targets: np.ndarray,
        classes: Sequence[str],
        beta: float = DEFAULT_BETA,
        weighting: str = "per_class",
    ) -> ClassBalancedSoftCrossEntropy:
        return cls(class_balanced_weights(targets, classes, beta), weighting)

    def per_utterance(self, logits: Tensor, targets: Tensor) -> Tensor:
        return soft_cross_entropy(logits, targets, self.weights, self.weighting)

    def unweighted(self, logits: Tensor, targets: Tensor) -> Tensor:
        """Per-utterance plain soft cross-entropy ``-sum_j y_j log p_j`` (the authors' dev loss)."""
        return soft_cross_entropy(logits, targets)

    def forward(self, logits: Tensor, targets: Tensor) -> Tensor:
        return self.per_utterance(logits, targets).mean()
