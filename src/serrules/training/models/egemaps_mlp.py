"""CPU-friendly baseline: the study's head on standardised eGeMAPSv02 functionals (88 values)."""

from __future__ import annotations

from torch import Tensor, nn

from serrules.training.models.head import ClassificationHead

#: Number of eGeMAPSv02 functionals per utterance.
N_EGEMAPS_FEATURES = 88


class EgemapsMLP(nn.Module):
    """``ClassificationHead(n_features, C)`` applied to one standardised feature vector per
    utterance. Standardisation (fitted on the training part) happens in the data pipeline."""

    input_kind = "features"

    def __init__(
        self,
        n_classes: int,
        n_features: int = N_EGEMAPS_FEATURES,
        head_hidden: int = 1024,
        dropout: float = 0.5,
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
