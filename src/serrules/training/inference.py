"""Class distributions for new recordings from a trained fold model (``best.safetensors``).

A model folder written by :func:`serrules.training.fold_job.train_fold` holds everything
needed: the weights, the class list, the model configuration (and, for wav2vec2, the backbone
configuration, so no pretrained download is needed), the eGeMAPS standardisation statistics of
the fold's training part, and the *input settings* (metadata key :data:`INPUT_METADATA_KEY`):
how a recording becomes the model's input. The same functions as training are used at every
step: :func:`serrules.audio.loading.load_audio` (16 kHz mono, same resampling and crop),
:func:`serrules.audio.features.compute_egemaps` and the stored
:class:`~serrules.audio.features.FeatureStandardizer` for the eGeMAPS model,
:class:`~serrules.training.batching.AudioDataset` (waveform normalisation) for wav2vec2, and
:func:`serrules.training.epoch_loop.predict_probabilities` (eval mode, softmax).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from serrules.base.classes import prefixed, presence_threshold
from serrules.base.errors import ModelInputError

#: Metadata key (in ``best.safetensors``) of the input settings.
INPUT_METADATA_KEY = "input"
#: File name of the trained model inside a fold's model folder.
MODEL_FILE = "best.safetensors"


def model_input_settings(
    model_name: str,
    max_seconds: float | None,
    features_path: str | os.PathLike[str] | None = None,
    waveform_mean_std: Sequence[float] | None = None,
) -> dict[str, Any]:
    """Input settings stored with a trained model.

    wav2vec2: ``{"kind": "audio", "sample_rate", "max_seconds", "waveform_mean_std"}`` (the
    training crop; the fold's global waveform mean and std when the model was trained with
    ``training.waveform_normalisation: global``, the authors' code, else null = each recording
    normalised on its own).
    eGeMAPS: ``{"kind": "egemaps", "sample_rate", "max_seconds", "feature_set", "opensmile"}``
    as recorded in the feature cache the model was trained on; ``sample_rate`` and
    ``max_seconds`` are null when that file carries no description (then prediction refuses to
    guess them).
    """
    from serrules.audio.loading import SAMPLE_RATE
    from serrules.training.model_names import AUDIO_INPUT, model_spec

    if model_spec(model_name).input_kind == AUDIO_INPUT:
        return {
            "kind": "audio",
            "sample_rate": SAMPLE_RATE,
            "max_seconds": None if max_seconds is None else float(max_seconds),
            "waveform_mean_std": None
            if waveform_mean_std is None
            else [float(v) for v in waveform_mean_std],
        }
    import pyarrow.parquet as pq

    from serrules.audio.features import CACHE_METADATA_KEY

    description: dict[str, Any] = {}
    if features_path is not None:
        raw = (pq.read_schema(features_path).metadata or {}).get(CACHE_METADATA_KEY)
        if raw:
            description = json.loads(raw)
    return {
        "kind": "egemaps",
        "sample_rate": description.get("sample_rate"),
        "max_seconds": description.get("max_seconds"),
        "feature_set": description.get("feature_set"),
        "opensmile": description.get("opensmile"),
    }


def model_file(model: str | os.PathLike[str]) -> Path:
    """``best.safetensors`` of a model folder (or the file itself); a clear error if absent."""
    path = Path(model)
    if path.is_dir():
        path = path / MODEL_FILE
    if not path.is_file():
        raise ModelInputError(
            f"{path}: no trained model (expected a fold folder with {MODEL_FILE})"
        )
    return path


def read_input_settings(meta: Mapping[str, str], path: Path) -> dict[str, Any]:
    """The input settings of a model's metadata, checked."""
    raw = meta.get(INPUT_METADATA_KEY)
    if not raw:
        raise ModelInputError(
            f"{path}: the model does not record its input settings (metadata key "
            f"{INPUT_METADATA_KEY!r}); retrain it with this version of serrules"
        )
    settings = json.loads(raw)
    if settings.get("sample_rate") is None:
        raise ModelInputError(
            f"{path}: the model was trained on eGeMAPS features whose file carries no extraction "
            "settings (sample rate, crop), so new recordings cannot be processed the same way"
        )
    return settings


def predict_files(
    model: str | os.PathLike[str],
    wavs: Sequence[str | os.PathLike[str]],
    *,
    batch_size: int = 8,
    device: str = "cpu",
    progress: bool = False,
) -> pd.DataFrame:
    """Class distributions of ``wavs`` from the model folder ``model``.

    Returns one row per file, in the given order: ``utterance_id`` (file name without
    extension), ``path``, ``p_<class>`` (softmax probabilities, float32) and ``present`` (the
    classes with ``p > 1/C``, joined by ``+``: the decision the metrics use). A file that cannot
    be read raises :class:`serrules.audio.loading.AudioError` naming it. ``progress`` shows a
    progress bar over the batches.
    """
    import torch
    from tqdm.auto import tqdm

    from serrules.training.batching import sequential_batches
    from serrules.training.epoch_loop import predict_probabilities
    from serrules.training.models.storage import load_trained_model

    path = model_file(model)
    net, meta = load_trained_model(path)
    classes = tuple(json.loads(meta["classes"]))
    settings = read_input_settings(meta, path)
    wavs = [Path(w) for w in wavs]
    if not wavs:
        raise ModelInputError("no audio files given")
    dataset, collate = _model_inputs(path, settings, wavs, len(classes))
    loader = torch.utils.data.DataLoader(
        dataset, batch_sampler=sequential_batches(len(dataset), batch_size), collate_fn=collate
    )
    batches = tqdm(
        loader, desc="predict", unit="batch", disable=None if progress else True, leave=False
    )
    device_ = torch.device(device)
    probs = predict_probabilities(
        net.to(device_), batches, len(dataset), len(classes), device_, precision="fp32"
    )
    return _prediction_frame(wavs, classes, probs)


def _model_inputs(
    path: Path, settings: Mapping[str, Any], wavs: list[Path], n_classes: int
) -> tuple[Any, Any]:
    """The dataset and collate function that turn ``wavs`` into the input of the model at
    ``path`` as its input ``settings`` say: cropped waveforms, or eGeMAPS features standardised
    with the fold's stored statistics."""
    from serrules.audio.loading import OK
    from serrules.training.batching import AudioDataset, FeatureDataset, pad_collate, stack_collate
    from serrules.training.models.storage import standardizer_state_from_file

    dummy = np.zeros((len(wavs), n_classes), np.float32)
    if settings["kind"] == "audio":
        stats = settings.get("waveform_mean_std")
        dataset = AudioDataset(
            [str(w) for w in wavs],
            dummy,
            settings["max_seconds"],
            int(settings["sample_rate"]),
            global_stats=None if stats is None else (float(stats[0]), float(stats[1])),
        )
        return dataset, pad_collate
    from serrules.audio.features import FeatureStandardizer, compute_egemaps

    index = pd.DataFrame(
        {"utterance_id": [str(i) for i in range(len(wavs))], "audio_path": wavs, "status": OK}
    )
    features = compute_egemaps(
        index, sample_rate=int(settings["sample_rate"]), max_seconds=settings["max_seconds"]
    )
    standardizer = FeatureStandardizer().load_state_dict(standardizer_state_from_file(path))
    scaled = standardizer.transform(features.drop(columns="utterance_id"))
    return FeatureDataset(scaled.to_numpy(np.float32), dummy), stack_collate


def _prediction_frame(
    wavs: list[Path], classes: tuple[str, ...], probs: np.ndarray
) -> pd.DataFrame:
    """``utterance_id``, ``path``, ``p_<class>`` and ``present`` (classes above 1/C)."""
    out = pd.DataFrame({"utterance_id": [w.stem for w in wavs], "path": [str(w) for w in wavs]})
    for j, col in enumerate(prefixed("p_", classes)):
        out[col] = probs[:, j]
    present = probs > presence_threshold(len(classes))
    out["present"] = [
        "+".join(c for c, on in zip(classes, row, strict=True) if on) for row in present
    ]
    return out


__all__ = [
    "INPUT_METADATA_KEY",
    "MODEL_FILE",
    "ModelInputError",
    "model_file",
    "model_input_settings",
    "predict_files",
    "read_input_settings",
]
