"""The study's classification head, shared by the wav2vec2 and the eGeMAPS models."""

from __future__ import annotations

from torch import Tensor, nn


class ClassificationHead(nn.Module):
    """Dropout -> Linear(in, hidden) -> ReLU -> Dropout -> Linear(hidden, hidden) -> ReLU ->
    Linear(hidden, C).

    Returns logits; probabilities are ``softmax(logits)`` and training uses ``log_softmax``.
    """

    def __init__(self, in_features: int, n_classes: int, hidden: int = 1024, dropout: float = 0.5):
        super().__init__()
        if n_classes < 2:
            raise ValueError(f"a classification head needs at least 2 classes, got {n_classes}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.layers = nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(in_features, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, n_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)


def head_parameter_count(in_features: int, n_classes: int, hidden: int = 1024) -> int:
    """Number of parameters of :class:`ClassificationHead` (weights + biases), in closed form."""
    return (in_features + 1) * hidden + (hidden + 1) * hidden + (hidden + 1) * n_classes
