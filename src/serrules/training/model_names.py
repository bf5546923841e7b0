"""Names accepted in ``model.name`` (kept apart from :mod:`serrules.training.models` so that the
workflow
can read them without importing torch)."""

from __future__ import annotations

WAV2VEC2_NAME = "wav2vec2-large-robust-12"
EGEMAPS_NAME = "egemaps-mlp"
MODEL_NAMES: tuple[str, ...] = (WAV2VEC2_NAME, EGEMAPS_NAME)
