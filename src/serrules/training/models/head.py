"""The study's classification head, shared by the wav2vec2 and the eGeMAPS models."""

from __future__ import annotations

from torch import Tensor, nn


class ClassificationHead(nn.Module):
    """Dropout -> Linear(in, hidden) -> ReLU -> Dropout -> Linear(hidden, hidden) -> ReLU ->
    Linear(hidden, C); with ``batchnorm`` (the authors' code, ``model.head_batchnorm``) a
    BatchNorm1d(hidden) follows each hidden Linear, before its ReLU.

    Returns logits; probabilities are ``softmax(logits)`` and training uses ``log_softmax``.
    ``hidden`` and ``dropout`` have no default here: the config schema is their one home
    (``model.head_hidden``, ``model.dropout``), filled in by
    :func:`serrules.base.config.validate_section`.
    """

    def __init__(
        self,
        in_features: int,
        n_classes: int,
        *,
        hidden: int,
        dropout: float,
        batchnorm: bool = False,
    ):
        super().__init__()
        if n_classes < 2:
            raise ValueError(f"a classification head needs at least 2 classes, got {n_classes}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        layers: list[nn.Module] = []
        for width in (in_features, hidden):
            layers += [nn.Dropout(dropout), nn.Linear(width, hidden)]
            if batchnorm:
                layers.append(nn.BatchNorm1d(hidden))
            layers.append(nn.ReLU())
        self.layers = nn.Sequential(*layers, nn.Linear(hidden, n_classes))

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)


def head_parameter_count(
    in_features: int, n_classes: int, hidden: int, batchnorm: bool = False
) -> int:
    """Number of parameters of :class:`ClassificationHead` (weights + biases, BatchNorm scale and
    shift), in closed form."""
    linear = (in_features + 1) * hidden + (hidden + 1) * hidden + (hidden + 1) * n_classes
    return linear + (4 * hidden if batchnorm else 0)
