"""The registry of models: every value accepted in ``model.name``, with what the workflow and the
training code need to know about it (kept apart from :mod:`serrules.training.models` so that the
workflow can read it without importing torch).

Each :class:`ModelSpec` names the module that builds the model (``build`` from a config,
``rebuild`` from a trained file's metadata; see :func:`serrules.training.models.build_model`), the
kind of input it reads and the scheduler request of one training job. Code that differs per model
asks this registry (:func:`model_spec`) instead of comparing names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from serrules.base.errors import ConfigError

#: ``ModelSpec.input_kind`` of a model that reads waveforms (decoded per batch).
AUDIO_INPUT = "audio"
#: ``ModelSpec.input_kind`` of a model that reads the corpus's eGeMAPS feature table.
FEATURE_INPUT = "features"


@dataclass(frozen=True)
class TrainNeeds:
    """Scheduler request of one training job (one corpus x train rule x fold)."""

    gpus: int
    threads: int
    mem_mb: int
    runtime_min: int


@dataclass(frozen=True)
class ModelSpec:
    """One model of the registry."""

    name: str
    #: :data:`AUDIO_INPUT` or :data:`FEATURE_INPUT` (which data pipeline trains and predicts).
    input_kind: str
    #: Module defining ``build(model_cfg, n_classes, n_features, spec)``,
    #: ``rebuild(meta, model_cfg, n_classes)`` and ``file_metadata(model)``.
    module: str
    #: What one training job asks a scheduler for (serrules.training.job_resources).
    needs: TrainNeeds
    #: Self-supervised backbones: the ``model_type`` of the transformers configuration the
    #: backbone's ``config.json`` must declare (``wav2vec2``, ``wavlm``, ``hubert``,
    #: ``data2vec-audio``); None for models without a pretrained backbone.
    backbone: str | None = None
    #: The hub id fetched once with ``python -m serrules.training.pretrained fetch`` (the value
    #: ``model.pretrained: null`` stands for) and the license its model card states.
    hub_id: str | None = None
    license: str | None = None

    def pretrained_source(self, model_cfg: Mapping[str, Any]) -> str:
        """``model.pretrained``, or, when it is null, this backbone's hub id."""
        source = model_cfg.get("pretrained") or self.hub_id
        if not source:
            raise ConfigError(f"model.pretrained: {self.name} has no pretrained backbone")
        return str(source)

    @property
    def needs_gpu(self) -> bool:
        return self.needs.gpus > 0

    @property
    def needs_features(self) -> bool:
        return self.input_kind == FEATURE_INPUT


WAV2VEC2_NAME = "wav2vec2-large-robust-12"
EGEMAPS_NAME = "egemaps-mlp"
#: Module of every self-supervised backbone (one classifier, one head, one pooling, one pruning).
SSL_MODULE = "serrules.training.models.wav2vec2"
#: One large backbone's job: one GPU, 8 CPUs for the audio-decoding DataLoader workers, 16 GB
#: host memory, 12 h (see MODELS).
LARGE_NEEDS = TrainNeeds(gpus=1, threads=8, mem_mb=16000, runtime_min=720)
#: A base-size backbone (95M parameters, 12 layers of width 768): same request, less memory.
BASE_NEEDS = TrainNeeds(gpus=1, threads=8, mem_mb=8000, runtime_min=720)

#: Every model, by ``model.name``. wav2vec2-large-robust-12: one GPU, 8 CPUs for the
#: audio-decoding DataLoader workers, 16 GB host memory (the 166M-parameter model, its AdamW state
#: and the best-epoch copy are ~3 GB in float32; 8 workers with batches of 32 x 12 s audio a few GB
#: more), 12 h (a longer job is retried and resumes from its last epoch checkpoint). egemaps-mlp:
#: an 88-input MLP trains thousands of utterances per second on one core (docs/benchmarks.md), so
#: one thread (which also keeps its results independent of the thread count), no GPU.
MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            WAV2VEC2_NAME,
            AUDIO_INPUT,
            SSL_MODULE,
            LARGE_NEEDS,
            "wav2vec2",
            "facebook/wav2vec2-large-robust",
            "apache-2.0",
        ),
        ModelSpec(
            "wavlm-large-12",
            AUDIO_INPUT,
            SSL_MODULE,
            LARGE_NEEDS,
            "wavlm",
            "microsoft/wavlm-large",
            "MIT (the model card points to the microsoft/unilm license)",
        ),
        ModelSpec(
            "hubert-large-12",
            AUDIO_INPUT,
            SSL_MODULE,
            LARGE_NEEDS,
            "hubert",
            "facebook/hubert-large-ll60k",
            "apache-2.0",
        ),
        ModelSpec(
            "data2vec-audio-large-12",
            AUDIO_INPUT,
            SSL_MODULE,
            LARGE_NEEDS,
            "data2vec-audio",
            "facebook/data2vec-audio-large",
            "apache-2.0",
        ),
        ModelSpec(
            "wav2vec2-base-12",
            AUDIO_INPUT,
            SSL_MODULE,
            BASE_NEEDS,
            "wav2vec2",
            "facebook/wav2vec2-base",
            "apache-2.0",
        ),
        ModelSpec(
            EGEMAPS_NAME,
            FEATURE_INPUT,
            "serrules.training.models.egemaps_mlp",
            TrainNeeds(gpus=0, threads=1, mem_mb=4000, runtime_min=60),
        ),
    )
}
MODEL_NAMES: tuple[str, ...] = tuple(MODELS)
#: The models with a pretrained self-supervised backbone (what ``backbone_comparison`` compares).
BACKBONE_NAMES: tuple[str, ...] = tuple(n for n, s in MODELS.items() if s.backbone)


def pretrained_source(model_cfg: dict) -> str:
    """``model.pretrained``, or, when it is null, the hub id of ``model.name``'s backbone."""
    return model_spec(model_cfg.get("name")).pretrained_source(model_cfg)


def model_spec(name: object) -> ModelSpec:
    """The registry entry of ``model.name``; :class:`ConfigError` naming the known ones."""
    try:
        return MODELS[name]  # type: ignore[index]
    except (KeyError, TypeError):
        raise ConfigError(
            f"model.name: unknown model {name!r}; known: {', '.join(MODEL_NAMES)}"
        ) from None


__all__ = [
    "AUDIO_INPUT",
    "BACKBONE_NAMES",
    "BASE_NEEDS",
    "LARGE_NEEDS",
    "SSL_MODULE",
    "EGEMAPS_NAME",
    "FEATURE_INPUT",
    "MODELS",
    "MODEL_NAMES",
    "WAV2VEC2_NAME",
    "ModelSpec",
    "TrainNeeds",
    "model_spec",
    "pretrained_source",
]
