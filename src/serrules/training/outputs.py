"""The outputs of a fold job, each written to the path its rule names: the per-epoch log
(``train_log.csv``), the test-part predictions (``predictions.parquet``), the best epoch's model
(``best.safetensors``, :mod:`serrules.training.models.storage`) and the protocol record
(``protocol.json``)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from serrules.base.classes import prefixed
from serrules.base.files import atomic_path
from serrules.base.provenance import PROVENANCE_KEY, provenance_json
from serrules.base.tables import contract, write_parquet
from serrules.corpora.formats import corpus_format
from serrules.training.fold_spec import FoldKey
from serrules.training.resume import Progress

#: Columns of ``train_log.csv``, from its table contract (``device``, ``torch_build``,
#: ``gpu_name``: what the epoch ran on, :func:`serrules.training.devices.device_report`).
LOG_COLUMNS: tuple[str, ...] = tuple(contract("train_log").column_names())


def write_log(rows: list[dict[str, Any]], best_epoch: int, path: Path) -> None:
    """The per-epoch log (columns :data:`LOG_COLUMNS`; ``best`` marks ``best_epoch``), written
    atomically (it is rewritten after every epoch)."""
    df = pd.DataFrame(rows, columns=list(LOG_COLUMNS))
    df["best"] = df["epoch"] == best_epoch
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)


def write_predictions(
    path: Path, utterance_ids: np.ndarray, fold: int, classes: Sequence[str], probs: np.ndarray
) -> pd.DataFrame:
    """``utterance_id``, ``fold`` and ``p_<class>`` (float32) of the test part."""
    predictions = pd.DataFrame({"utterance_id": utterance_ids})
    predictions["fold"] = np.int64(fold)
    for j, col in enumerate(prefixed("p_", tuple(classes))):
        predictions[col] = probs[:, j]
    path.parent.mkdir(parents=True, exist_ok=True)
    write_parquet(predictions, path)
    return predictions


def write_protocol(path: Path, protocol: Mapping[str, Any]) -> None:
    """The protocol record with the numbers resolved from it (beta, waveform statistics)."""
    path.write_text(json.dumps(protocol, indent=2, default=str) + "\n")


def model_metadata(
    key: FoldKey,
    *,
    classes: Sequence[str],
    model_cfg: Mapping[str, Any],
    progress: Progress,
    n_features: int | None,
    protocol: Mapping[str, Any],
    input_settings: Mapping[str, Any],
) -> dict[str, str]:
    """String metadata of ``best.safetensors`` (what :func:`load_trained_model` and
    ``serrules predict`` read back): the fold ``key``, the best epoch of ``progress``, the
    settings the model was trained and is fed with, and its provenance
    (:mod:`serrules.base.provenance`)."""
    from serrules.training.inference import INPUT_METADATA_KEY

    return {
        "classes": json.dumps(list(classes)),
        "model_name": str(model_cfg["name"]),
        "best_epoch": str(progress.best_epoch),
        "best_dev_loss": repr(progress.best_dev_loss),
        "format": corpus_format(key.fmt).name,
        "fold": str(key.fold),
        "train_rule": key.train_rule,
        "model_cfg": json.dumps(dict(model_cfg), default=str),
        "n_features": "" if n_features is None else str(n_features),
        "protocol": json.dumps(dict(protocol), default=str),
        INPUT_METADATA_KEY: json.dumps(dict(input_settings)),
        PROVENANCE_KEY: provenance_json(),
    }


__all__ = ["LOG_COLUMNS", "model_metadata", "write_log", "write_predictions", "write_protocol"]
