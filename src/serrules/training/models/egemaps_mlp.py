"""CPU-friendly baseline: the study's head on standardised eGeMAPSv02 functionals (88 values)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import Tensor, nn

from serrules.training.models.head import ClassificationHead


class EgemapsMLP(nn.Module):
    """``ClassificationHead(n_features, C)`` applied to one standardised feature vector per
    utterance. Standardisation (fitted on the training part) happens in the data pipeline."""

    input_kind = "features"

    def __init__(
        self,
        n_classes: int,
        n_features: int,
        *,
        head_hidden: int,
        dropout: float,
        head_batchnorm: bool = False,
    ):
        super().__init__()
        self.n_features = n_features
        self.head = ClassificationHead(
            n_features, n_classes, hidden=head_hidden, dropout=dropout, batchnorm=head_batchnorm
        )

    def forward(self, inputs: Tensor, attention_mask: Tensor | None = None) -> Tensor:
        """``inputs``: (batch, n_features) -> logits (batch, C). ``attention_mask`` is ignored
        (kept so that both models share one call signature)."""
        return self.head(inputs)


def build(
    model_cfg: Mapping[str, Any], n_classes: int, n_features: int | None, spec: Any = None
) -> EgemapsMLP:
    """The model of a resolved ``model`` config (registry hook, see
    :func:`serrules.training.models.build_model`; ``spec``, its registry entry, is not needed
    here); ``n_features`` defaults to the 88 eGeMAPSv02 functionals."""
    if n_features is None:
        from serrules.audio.features import N_EGEMAPS

        n_features = N_EGEMAPS
    return EgemapsMLP(
        n_classes,
        int(n_features),
        head_hidden=int(model_cfg["head_hidden"]),
        dropout=float(model_cfg["dropout"]),
        head_batchnorm=bool(model_cfg["head_batchnorm"]),
    )


def rebuild(meta: Mapping[str, str], model_cfg: Mapping[str, Any], n_classes: int) -> EgemapsMLP:
    """The untrained model of a ``best.safetensors`` (registry hook)."""
    return build(model_cfg, n_classes, int(meta["n_features"]))


def file_metadata(model: nn.Module) -> dict[str, str]:
    """Extra metadata a trained file needs to rebuild this model: none (registry hook)."""
    return {}
