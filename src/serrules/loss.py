"""Class-balanced soft cross-entropy (Cui et al. 2019, "effective number of samples").

Per-class weight ``w_j = (1 - beta) / (1 - beta**n_j)``, normalised so that ``sum_j w_j = C``,
where ``n_j`` is the number of training utterances whose target share of class ``j`` is strictly
greater than ``1/C`` (:func:`serrules.classes.presence_threshold`; for one-hot targets this is the
class count). Loss of one utterance: ``-sum_j w_j * y_j * log p_j``; a batch loss is the mean over
its utterances.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from serrules.classes import presence_threshold

#: Default ``beta`` of the effective-number weighting.
log = logging.getLogger(__name__)
DEFAULT_BETA = 0.99


def presence_counts(targets: np.ndarray) -> np.ndarray:
    """``n_j``: per class, the number of rows of ``targets`` (utterances x C shares) whose share is
    strictly greater than ``1/C``."""
    targets = np.asarray(targets, dtype=np.float64)
    if targets.ndim != 2:
        raise ValueError(
            f"targets must be a 2-D (utterances x classes) matrix, got {targets.shape}"
        )
    return (targets > presence_threshold(targets.shape[1])).sum(axis=0).astype(np.int64)


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


def soft_cross_entropy(logits: Tensor, targets: Tensor, weights: Tensor | None = None) -> Tensor:
    """Per-utterance loss ``-sum_j w_j y_j log softmax(logits)_j`` (shape: batch), in float32."""
    log_p = F.log_softmax(logits.float(), dim=-1)
    weighted = targets.float() * log_p
    if weights is not None:
        weighted = weighted * weights.to(weighted.device, torch.float32)
    return -weighted.sum(dim=-1)


class ClassBalancedSoftCrossEntropy(nn.Module):
    """``loss(logits, targets)`` = batch mean of :func:`soft_cross_entropy` with fixed weights."""

    def __init__(self, weights: np.ndarray | Tensor):
        super().__init__()
        self.register_buffer("weights", torch.as_tensor(np.asarray(weights), dtype=torch.float32))

    @classmethod
    def from_targets(
        cls, targets: np.ndarray, classes: Sequence[str], beta: float = DEFAULT_BETA
    ) -> ClassBalancedSoftCrossEntropy:
        return cls(class_balanced_weights(targets, classes, beta))

    def per_utterance(self, logits: Tensor, targets: Tensor) -> Tensor:
        return soft_cross_entropy(logits, targets, self.weights)

    def forward(self, logits: Tensor, targets: Tensor) -> Tensor:
        return self.per_utterance(logits, targets).mean()
