"""Resumable per-fold training and prediction (the study's protocol).

One call of :func:`train_fold` trains one model for one (corpus, train rule, fold):

* train part = the fold's ``train`` utterances kept by the rule (rows of ``labels_<rule>.parquet``)
  with audio ``ok`` in the audio index; dev part = the fold's ``dev`` utterances kept by the same
  rule, audio ``ok``; test part = EVERY audio-ok utterance of the fold's ``test`` part, whatever
  the rule (predictions are scored later against each test rule);
* class-balanced soft cross-entropy (:mod:`serrules.training.loss`) with weights from the train
part;
* ``epochs`` epochs; after each epoch the dev loss (eval mode) picks the best epoch (lowest dev
  loss; ties keep the earlier epoch);
* every choice where the paper's text and the authors' code differ (loss form and beta, target
  smoothing, dev loss, optimiser, precision, last partial batch, waveform normalisation, pooling,
  head) comes from the resolved config (:mod:`serrules.base.protocols`) and is built by
  :mod:`serrules.training.choices`; the resolved values go into the model's metadata;
* after each epoch a checkpoint (model, optimizer, best state, log rows and every RNG state) is
  written atomically to ``checkpoint_dir``; a restarted job resumes from it and ends with exactly
  the same best model and predictions as an uninterrupted run;
* outputs: ``best.safetensors`` (best epoch's weights + metadata), ``train_log.csv`` and
  ``predictions.parquet`` (softmax probabilities of the best epoch's model on the test part).
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import logging
import os
import random
import resource
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from serrules.base.classes import prefixed
from serrules.base.config import RESULT_NEUTRAL_TRAINING_KEYS
from serrules.base.protocols import section_defaults
from serrules.corpora.formats import corpus_format
from serrules.labels.folds import PARTS
from serrules.training import choices
from serrules.training.batching import (
    SAMPLE_RATE,
    AudioDataset,
    BatchSampler,
    FeatureDataset,
    pad_collate,
    sequential_batches,
    stack_collate,
    waveform_statistics,
)
from serrules.training.checkpoints import load_best_weights, load_resume_state
from serrules.training.devices import acquire_gpu, device_report, select_device
from serrules.training.inference import INPUT_METADATA_KEY, model_input_settings
from serrules.training.loss import ClassBalancedSoftCrossEntropy
from serrules.training.models import EGEMAPS_NAME, MODEL_NAMES, WAV2VEC2_NAME, build_model

log = logging.getLogger(__name__)

#: Defaults of the ``train`` config section; the protocol-dependent keys come from the paper's
#: preset (:mod:`serrules.base.protocols`).
TRAIN_DEFAULTS: dict[str, Any] = {
    "epochs": 50,
    "batch_size": 32,
    "lr": 1e-4,
    **section_defaults("training"),
    "max_seconds": 12.0,
    "num_workers": 4,
    "seed": 0,
    "device": "auto",
    "bucket_size": 1024,
    "keep_checkpoint": False,
    "gpu_lock_dir": None,
}
#: Keys that do not change the numbers a run produces (left out of the resume fingerprint).
_FINGERPRINT_EXEMPT = RESULT_NEUTRAL_TRAINING_KEYS
CHECKPOINT_NAME = "last.pt"
_BEST_PATTERN = "best_epoch{epoch:04d}.safetensors"
STANDARDIZER_PREFIX = "standardizer."
LOG_COLUMNS = (
    "epoch",
    "train_loss",
    "dev_loss",
    "seconds",
    "peak_memory_mb",
    "best",
    "device",  # what the epoch ran on (serrules.training.devices.device_report)
    "torch_build",
    "gpu_name",
)


# --------------------------------------------------------------------------------------------
# configuration
# --------------------------------------------------------------------------------------------
def resolve_train_cfg(train_cfg: Mapping[str, Any]) -> dict[str, Any]:
    """``train_cfg`` with defaults filled in and values checked (errors name the key)."""
    unknown = sorted(set(train_cfg) - set(TRAIN_DEFAULTS))
    if unknown:
        log.warning("train config: ignoring unknown key(s) %s", ", ".join(unknown))
    cfg = {**TRAIN_DEFAULTS, **{k: v for k, v in train_cfg.items() if k in TRAIN_DEFAULTS}}
    for key in ("epochs", "batch_size", "num_workers", "seed"):
        if not isinstance(cfg[key], (int, np.integer)) or isinstance(cfg[key], bool):
            raise ValueError(f"training.{key} must be an integer, got {cfg[key]!r}")
    if cfg["epochs"] < 1 or cfg["batch_size"] < 1 or cfg["num_workers"] < 0:
        raise ValueError("training.epochs and training.batch_size must be >= 1, num_workers >= 0")
    if not cfg["lr"] > 0:
        raise ValueError(f"training.lr must be > 0, got {cfg['lr']!r}")
    if cfg["weight_decay"] < 0:
        raise ValueError(f"training.weight_decay must be >= 0, got {cfg['weight_decay']!r}")
    if cfg["max_seconds"] is not None and not cfg["max_seconds"] > 0:
        raise ValueError(f"training.max_seconds must be > 0 or null, got {cfg['max_seconds']!r}")
    if cfg["bucket_size"] is not None and cfg["bucket_size"] < cfg["batch_size"]:
        raise ValueError(
            f"training.bucket_size ({cfg['bucket_size']}) must be null or >= training.batch_size"
        )
    return cfg


def seed_everything(seed: int) -> None:
    """Seed python ``random``, numpy's global generator and torch (CPU and CUDA)."""
    random.seed(seed)
    # the global numpy generator is seeded on purpose: transformers' SpecAugment masks draw from it
    np.random.seed(seed % 2**32)  # noqa: NPY002
    torch.manual_seed(seed)


# --------------------------------------------------------------------------------------------
# data of one fold
# --------------------------------------------------------------------------------------------
@dataclass
class FoldData:
    """The three parts of one fold. ``train``/``dev`` hold ``y_<class>`` targets; every part
    holds ``utterance_id``, ``audio_path`` and ``duration_s``."""

    classes: tuple[str, ...]
    train: pd.DataFrame
    dev: pd.DataFrame
    test: pd.DataFrame
    skipped: dict[str, dict[str, int]] = field(default_factory=dict)


def _read_table(path: str | os.PathLike[str], required: Iterable[str], what: str) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: {what} not found")
    df = pd.read_parquet(path)
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise KeyError(f"{path}: {what} lacks column(s) {', '.join(missing)}")
    return df


def _check_unique(df: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    dup = df["utterance_id"].duplicated()
    if dup.any():
        raise ValueError(
            f"{path}: {int(dup.sum())} duplicate utterance_id row(s), "
            f"first {df.loc[dup, 'utterance_id'].iloc[0]}"
        )


def load_fold_parts(
    fmt: str,
    fold: int,
    train_rule: str,
    labels_path: str | os.PathLike[str],
    folds_path: str | os.PathLike[str],
    audio_index_path: str | os.PathLike[str],
) -> FoldData:
    """Join folds, the rule's labels and the audio index into the train, dev and test parts.

    Utterances whose audio status is not ``ok`` (or that are absent from the index) are skipped
    and counted per part and reason in :attr:`FoldData.skipped`. Empty parts raise ``ValueError``
    naming the labels file, the fold and the rule.
    """
    classes = corpus_format(fmt).classes
    y_cols = prefixed("y_", classes)
    labels = _read_table(labels_path, ["utterance_id", *y_cols], f"labels of rule {train_rule}")
    folds = _read_table(folds_path, ["fold", "utterance_id", "part"], "fold table")
    index = _read_table(
        audio_index_path, ["utterance_id", "audio_path", "duration_s", "status"], "audio index"
    )
    targets = labels[y_cols].to_numpy(dtype=np.float64)
    bad = ~np.isfinite(targets).all(axis=1) | (np.abs(targets.sum(axis=1) - 1.0) > 1e-4)
    if bad.any():
        first = labels["utterance_id"].iloc[int(np.flatnonzero(bad)[0])]
        raise ValueError(
            f"{labels_path}: {int(bad.sum())} row(s) with y_ targets that are not finite shares "
            f"summing to 1 (first: utterance {first})"
        )
    _check_unique(labels, labels_path)

    in_fold = folds[folds["fold"] == fold]
    if in_fold.empty:
        known = sorted(folds["fold"].unique().tolist())
        raise ValueError(f"{folds_path}: no rows for fold {fold} (folds present: {known})")
    _check_unique(index, audio_index_path)
    status = index.set_index("utterance_id")
    parts: dict[str, pd.DataFrame] = {}
    skipped: dict[str, dict[str, int]] = {}
    for part in PARTS:
        ids = in_fold.loc[in_fold["part"] == part, ["utterance_id"]]
        if part != "test":  # the rule decides which utterances train and select the model
            n_fold = len(ids)
            ids = ids.merge(labels[["utterance_id", *y_cols]], on="utterance_id", how="inner")
            n_rule = len(ids)
        else:
            n_fold = n_rule = len(ids)
        joined = ids.join(status[["audio_path", "duration_s", "status"]], on="utterance_id")
        reason = joined["status"].fillna("not_in_audio_index")
        ok = reason == "ok"
        skipped[part] = {str(k): int(v) for k, v in reason[~ok].value_counts().items()}
        parts[part] = joined.loc[ok].drop(columns="status").reset_index(drop=True)
        if parts[part].empty:
            raise ValueError(
                f"{labels_path}: fold {fold}, rule {train_rule}: the {part} part is empty "
                f"({n_fold} utterance(s) in the fold's {part} part of {folds_path}, {n_rule} kept "
                f"by the rule, 0 with audio ok in {audio_index_path})"
            )
    return FoldData(classes, parts["train"], parts["dev"], parts["test"], skipped)


def load_features(
    features_path: str | os.PathLike[str], utterance_ids: Iterable[str]
) -> tuple[np.ndarray, list[str]]:
    """Feature matrix (rows in the order of ``utterance_ids``) and its column names; a missing
    utterance raises ``KeyError`` naming the file."""
    table = _read_table(features_path, ["utterance_id"], "feature table")
    columns = [c for c in table.columns if c != "utterance_id"]
    _check_unique(table, features_path)
    table = table.set_index("utterance_id")
    ids = list(utterance_ids)
    missing = pd.Index(ids).difference(table.index)
    if len(missing):
        raise KeyError(
            f"{features_path}: no features for {len(missing)} audio-ok utterance(s), e.g. "
            f"{', '.join(map(str, missing[:5]))}"
        )
    matrix = table.loc[ids, columns].to_numpy(dtype=np.float32)
    if not np.isfinite(matrix).all():
        row = int(np.flatnonzero(~np.isfinite(matrix).all(axis=1))[0])
        raise ValueError(f"{features_path}: non-finite feature values for utterance {ids[row]}")
    return matrix, columns


# --------------------------------------------------------------------------------------------
# standardizer <-> tensors
# --------------------------------------------------------------------------------------------
def _standardizer_tensors(state: Mapping[str, Any]) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """Split a standardizer state into numeric tensors and JSON-able extras."""
    tensors: dict[str, Tensor] = {}
    extras: dict[str, Any] = {}
    for key, value in state.items():
        arr = np.asarray(value) if not isinstance(value, str) else None
        if arr is not None and arr.dtype.kind in "fiub":
            tensors[STANDARDIZER_PREFIX + key] = torch.from_numpy(np.ascontiguousarray(arr))
        else:
            extras[key] = value.tolist() if isinstance(value, np.ndarray) else value
    return tensors, extras


def standardizer_state_from_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The standardizer state stored in a ``best.safetensors`` (for ``load_state_dict``)."""
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata() or {}
        state: dict[str, Any] = json.loads(meta.get("standardizer_extras", "{}"))
        for key in f.keys():
            if key.startswith(STANDARDIZER_PREFIX):
                state[key[len(STANDARDIZER_PREFIX) :]] = f.get_tensor(key).numpy()
    return state


# --------------------------------------------------------------------------------------------
# loops
# --------------------------------------------------------------------------------------------
def _forward(model: nn.Module, batch: Mapping[str, Tensor], device: torch.device) -> Tensor:
    inputs = batch["inputs"].to(device, non_blocking=True)
    mask = batch.get("attention_mask")
    return model(inputs, None if mask is None else mask.to(device, non_blocking=True))


def _loader(
    dataset: Dataset, batch_sampler: Iterable[list[int]], collate, workers: int, device
) -> DataLoader:
    return DataLoader(
        dataset,
        batch_sampler=batch_sampler,
        collate_fn=collate,
        num_workers=workers,
        pin_memory=device.type == "cuda",
    )


@torch.no_grad()
def evaluate_loss(
    model: nn.Module,
    loader: Iterable[Mapping[str, Tensor]],
    loss_fn: Callable[[Tensor, Tensor], Tensor],
    device: torch.device,
    precision: str,
) -> float:
    """Mean per-utterance ``loss_fn`` over every utterance the loader yields (eval mode)."""
    model.eval()
    total, count = 0.0, 0
    for batch in loader:
        with choices.autocast(device, precision):
            logits = _forward(model, batch, device)
        losses = loss_fn(logits, batch["targets"].to(device))
        total += float(losses.double().sum())
        count += len(losses)
    return total / count


@torch.no_grad()
def predict_probabilities(
    model: nn.Module,
    loader: Iterable[Mapping[str, Tensor]],
    n: int,
    n_classes: int,
    device: torch.device,
    precision: str,
) -> np.ndarray:
    """Softmax probabilities (n x C, float32) in dataset order (eval mode)."""
    model.eval()
    probs = np.full((n, n_classes), np.nan, dtype=np.float32)
    for batch in loader:
        with choices.autocast(device, precision):
            logits = _forward(model, batch, device)
        probs[batch["index"].numpy()] = torch.softmax(logits.float(), dim=-1).cpu().numpy()
    if np.isnan(probs).any():
        raise RuntimeError("prediction loader did not cover every utterance")
    return probs


def _peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 1024


# --------------------------------------------------------------------------------------------
# checkpoints
# --------------------------------------------------------------------------------------------
def _cpu_state(model: nn.Module) -> dict[str, Tensor]:
    return {k: v.detach().to("cpu", copy=True).contiguous() for k, v in model.state_dict().items()}


def _rng_state(generator: torch.Generator) -> dict[str, Any]:
    name, keys, pos, has_gauss, cached = np.random.get_state()  # noqa: NPY002
    return {
        "python": random.getstate(),
        "numpy": (name, torch.from_numpy(keys.copy()), int(pos), int(has_gauss), float(cached)),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "sampler": generator.get_state(),
    }


def _set_rng_state(state: Mapping[str, Any], generator: torch.Generator) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))  # noqa: NPY002
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    generator.set_state(state["sampler"])


def _atomic_torch_save(obj: Any, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _atomic_save_file(tensors: dict[str, Tensor], path: Path, metadata: dict[str, str]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp), metadata=metadata)
    os.replace(tmp, path)


def _checkpoint_files(checkpoint_dir: Path) -> list[Path]:
    names = [CHECKPOINT_NAME, "best_epoch*.safetensors", "*.tmp"]
    return [Path(p) for n in names for p in glob.glob(str(checkpoint_dir / n))]


def _remove_checkpoint(checkpoint_dir: Path) -> None:
    for path in _checkpoint_files(checkpoint_dir):
        path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        checkpoint_dir.rmdir()


@dataclass
class _Progress:
    """What survives between epochs (and across a restart)."""

    epoch: int = 0
    best_epoch: int = 0
    best_dev_loss: float = float("inf")
    best_state: dict[str, Tensor] | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)


def _save_checkpoint(
    checkpoint_dir: Path,
    progress: _Progress,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    generator: torch.Generator,
    fingerprint: str,
    best_changed: bool,
) -> None:
    best_file = checkpoint_dir / _BEST_PATTERN.format(epoch=progress.best_epoch)
    if best_changed:
        _atomic_save_file(progress.best_state, best_file, {"epoch": str(progress.best_epoch)})
    _atomic_torch_save(
        {
            "fingerprint": fingerprint,
            "epoch": progress.epoch,
            "best_epoch": progress.best_epoch,
            "best_dev_loss": progress.best_dev_loss,
            "best_file": best_file.name,
            "rows": progress.rows,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            # fp16 loss scale and growth tracker ({} when the scaler is disabled)
            "scaler": scaler.state_dict(),
            "rng": _rng_state(generator),
        },
        checkpoint_dir / CHECKPOINT_NAME,
    )
    for stale in glob.glob(str(checkpoint_dir / "best_epoch*.safetensors")):
        if Path(stale).name != best_file.name:
            Path(stale).unlink(missing_ok=True)


def _load_checkpoint(
    checkpoint_dir: Path,
    fingerprint: str,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    generator: torch.Generator,
) -> _Progress | None:
    """Restore the last checkpoint into model/optimizer/gradient scaler/RNGs; None when there is
    none usable."""
    path = checkpoint_dir / CHECKPOINT_NAME
    if not path.is_file():
        return None
    ckpt = load_resume_state(path)  # a damaged file is moved aside (warning), fold restarts
    if ckpt is None:
        return None
    if ckpt.get("fingerprint") != fingerprint:
        log.warning(
            "%s was written for other data or settings; ignoring it and training from scratch",
            path,
        )
        return None
    best_file = checkpoint_dir / ckpt["best_file"]
    if not best_file.is_file():
        log.warning("%s is missing; ignoring %s and training from scratch", best_file, path)
        return None
    best_state = load_best_weights(best_file)
    if best_state is None:
        return None

    model.load_state_dict(ckpt["model"])
    optimizer.load_state_dict(ckpt["optimizer"])
    if ckpt.get("scaler"):
        scaler.load_state_dict(ckpt["scaler"])
    _set_rng_state(ckpt["rng"], generator)
    log.info("resuming from %s after epoch %d", path, ckpt["epoch"])
    return _Progress(
        epoch=int(ckpt["epoch"]),
        best_epoch=int(ckpt["best_epoch"]),
        best_dev_loss=float(ckpt["best_dev_loss"]),
        best_state=best_state,
        rows=list(ckpt["rows"]),
    )


def _write_log(rows: list[dict[str, Any]], best_epoch: int, path: Path) -> None:
    df = pd.DataFrame(rows, columns=list(LOG_COLUMNS))
    df["best"] = df["epoch"] == best_epoch
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    df.to_csv(tmp, index=False)
    os.replace(tmp, path)


# --------------------------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------------------------
def train_fold(
    *,
    fmt: str,
    fold: int,
    train_rule: str,
    labels_path: str | os.PathLike[str],
    folds_path: str | os.PathLike[str],
    audio_index_path: str | os.PathLike[str],
    features_path: str | os.PathLike[str] | None,
    model_cfg: Mapping[str, Any],
    train_cfg: Mapping[str, Any],
    out_model: str | os.PathLike[str],
    out_log: str | os.PathLike[str],
    out_predictions: str | os.PathLike[str],
    checkpoint_dir: str | os.PathLike[str],
    on_epoch_end: Callable[[int], None] | None = None,
    protocol: Mapping[str, Any] | None = None,
    out_protocol: str | os.PathLike[str] | None = None,
) -> None:
    """Train one fold (resuming from ``checkpoint_dir`` if a compatible checkpoint is there),
    then write the best epoch's model, the per-epoch log and the test-part predictions.

    ``on_epoch_end(epoch)`` is called after each epoch's checkpoint is on disk (monitoring and
    tests; an exception raised there aborts the run the way a killed job would).
    ``protocol`` (:func:`serrules.base.protocols.protocol_record`) is stored in the model's metadata
    and, with the numbers resolved from it (beta, waveform statistics), in ``out_protocol``.
    """
    cfg = resolve_train_cfg(train_cfg)
    name = model_cfg.get("name")
    if name not in MODEL_NAMES:
        raise ValueError(f"model.name: unknown model {name!r}; known: {', '.join(MODEL_NAMES)}")
    if name == EGEMAPS_NAME and not features_path:
        raise ValueError("model egemaps-mlp needs features_path (the eGeMAPS Parquet table)")

    data = load_fold_parts(fmt, fold, train_rule, labels_path, folds_path, audio_index_path)
    for part in PARTS:
        skipped = data.skipped[part]
        if skipped:
            log.warning(
                "fold %d %s part: skipped %d utterance(s) without usable audio (%s)",
                fold,
                part,
                sum(skipped.values()),
                ", ".join(f"{k}: {v}" for k, v in sorted(skipped.items())),
            )
        log.info("fold %d %s part: %d utterance(s)", fold, part, len(getattr(data, part)))
    # class weights first: a class without training utterances fails before any model is built
    y_train = choices.training_targets(
        data.train[prefixed("y_", data.classes)].to_numpy(np.float32), cfg
    )
    criterion, beta = choices.build_criterion(y_train, data.classes, cfg)
    log.info("fold %d: beta %.6f, class weights %s", fold, beta, criterion.weights.tolist())

    job = _FoldJob(
        fmt=fmt,
        fold=int(fold),
        train_rule=train_rule,
        data=data,
        criterion=criterion,
        features_path=features_path,
        model_cfg=dict(model_cfg),
        cfg=cfg,
        out_model=Path(out_model),
        out_log=Path(out_log),
        out_predictions=Path(out_predictions),
        checkpoint_dir=Path(checkpoint_dir),
        on_epoch_end=on_epoch_end,
        protocol={**dict(protocol or {}), "beta_used": beta},
        out_protocol=None if out_protocol is None else Path(out_protocol),
    )
    device = select_device(cfg["device"])
    if device.type != "cuda":
        _run(job, device)
        return
    index, lease = acquire_gpu(cfg["gpu_lock_dir"])
    with lease:
        device = torch.device("cuda", index)
        torch.cuda.set_device(device)
        log.info("fold %d: training on %s", fold, device)
        _run(job, device)


@dataclass
class _FoldJob:
    """Everything :func:`train_fold` resolved before the device is chosen."""

    fmt: str
    fold: int
    train_rule: str
    data: FoldData
    criterion: ClassBalancedSoftCrossEntropy
    features_path: str | os.PathLike[str] | None
    model_cfg: dict[str, Any]
    cfg: dict[str, Any]
    out_model: Path
    out_log: Path
    out_predictions: Path
    checkpoint_dir: Path
    on_epoch_end: Callable[[int], None] | None
    protocol: dict[str, Any] = field(default_factory=dict)
    out_protocol: Path | None = None


def _run(job: _FoldJob, device: torch.device) -> None:
    """Train, select the best epoch, predict and write the outputs of one fold job."""
    cfg, data, fold = job.cfg, job.data, job.fold
    fmt, train_rule, model_cfg, features_path = (
        job.fmt,
        job.train_rule,
        job.model_cfg,
        job.features_path,
    )
    name = model_cfg["name"]
    classes = data.classes
    y_cols = prefixed("y_", classes)
    y_train = choices.training_targets(data.train[y_cols].to_numpy(np.float32), cfg)
    y_dev = choices.training_targets(data.dev[y_cols].to_numpy(np.float32), cfg)
    criterion = job.criterion
    on_gpu = device.type == "cuda"
    precision = cfg["precision"]
    seed_everything(cfg["seed"])

    standardizer_tensors: dict[str, Tensor] = {}
    standardizer_extras: dict[str, Any] = {}
    if name == WAV2VEC2_NAME:
        max_s = cfg["max_seconds"]
        stats = None
        if cfg["waveform_normalisation"] == "global":
            stats = waveform_statistics(data.train["audio_path"].tolist(), max_s, SAMPLE_RATE)
            job.protocol["waveform_mean_std"] = list(stats)
            log.info("fold %d: global waveform mean %.6g, std %.6g", fold, *stats)

        def dataset(frame: pd.DataFrame, targets: np.ndarray) -> AudioDataset:
            paths = frame["audio_path"].tolist()
            return AudioDataset(paths, targets, max_s, SAMPLE_RATE, global_stats=stats)

        def lengths(frame: pd.DataFrame) -> np.ndarray:
            dur = frame["duration_s"].to_numpy(np.float64)
            return dur if max_s is None else np.minimum(dur, max_s)

        train_ds, dev_ds = dataset(data.train, y_train), dataset(data.dev, y_dev)
        test_ds = dataset(data.test, np.zeros((len(data.test), len(classes)), np.float32))
        collate, workers, n_features = pad_collate, (cfg["num_workers"] if on_gpu else 0), None
        train_lengths = lengths(data.train) if cfg["bucket_size"] else None
        dev_lengths, test_lengths = lengths(data.dev), lengths(data.test)
    else:
        from serrules.audio.features import FeatureStandardizer

        x_train, columns = load_features(features_path, data.train["utterance_id"])
        x_dev, _ = load_features(features_path, data.dev["utterance_id"])
        x_test, _ = load_features(features_path, data.test["utterance_id"])
        standardizer = FeatureStandardizer()
        standardizer.fit(pd.DataFrame(x_train, columns=columns))

        def scaled(x: np.ndarray) -> np.ndarray:
            return np.asarray(standardizer.transform(pd.DataFrame(x, columns=columns)), np.float32)

        train_ds = FeatureDataset(scaled(x_train), y_train)
        dev_ds = FeatureDataset(scaled(x_dev), y_dev)
        test_ds = FeatureDataset(scaled(x_test), np.zeros((len(x_test), len(classes)), np.float32))
        standardizer_tensors, standardizer_extras = _standardizer_tensors(standardizer.state_dict())
        collate, workers, n_features = stack_collate, 0, len(columns)
        train_lengths = dev_lengths = test_lengths = None

    model = build_model(model_cfg, len(classes), n_features=n_features).to(device)
    criterion = criterion.to(device)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = choices.make_optimizer(trainable, cfg)
    scaler = choices.grad_scaler(device, precision)
    dev_loss_fn = choices.dev_loss_function(criterion, cfg)
    generator = torch.Generator().manual_seed(cfg["seed"])
    sampler = BatchSampler(
        len(train_ds),
        cfg["batch_size"],
        generator,
        train_lengths,
        cfg["bucket_size"],
        drop_last=cfg["drop_last"],
    )
    if model_cfg.get("head_batchnorm") and sampler.smallest_batch() < 2:
        raise ValueError(
            f"fold {fold}, rule {train_rule}: model.head_batchnorm needs training batches of at "
            f"least 2 utterances, but {len(train_ds)} training utterances with batch_size "
            f"{cfg['batch_size']} (bucket_size {cfg['bucket_size']}, drop_last "
            f"{cfg['drop_last']}) leave a batch of 1; set training.drop_last: true or change "
            "training.batch_size"
        )
    train_loader = _loader(train_ds, sampler, collate, workers, device)
    dev_loader = _loader(
        dev_ds,
        sequential_batches(len(dev_ds), cfg["batch_size"], dev_lengths, cfg["drop_last"]),
        collate,
        workers,
        device,
    )

    fingerprint_json = json.dumps(
        {
            "fmt": fmt,
            "fold": int(fold),
            "rule": train_rule,
            "model": dict(model_cfg),
            "train": {k: v for k, v in cfg.items() if k not in _FINGERPRINT_EXEMPT},
            "train_ids": data.train["utterance_id"].tolist(),
            "dev_ids": data.dev["utterance_id"].tolist(),
            "device": device.type,
        },
        sort_keys=True,
        default=str,
    )
    fingerprint = hashlib.sha256(fingerprint_json.encode()).hexdigest()
    ckpt_dir = job.checkpoint_dir
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    progress = _load_checkpoint(ckpt_dir, fingerprint, model, optimizer, scaler, generator)
    progress = progress or _Progress()
    out_log = job.out_log
    on_device = device_report(device)
    log.info("fold %d: training on %s", fold, ", ".join(f"{k} {v}" for k, v in on_device.items()))

    for epoch in range(progress.epoch + 1, cfg["epochs"] + 1):
        start = time.perf_counter()
        if on_gpu:
            torch.cuda.reset_peak_memory_stats(device)
        model.train()
        total, count = 0.0, 0
        bar = tqdm(train_loader, desc=f"fold {fold} epoch {epoch}/{cfg['epochs']}", leave=False)
        for batch in bar:
            with choices.autocast(device, precision):
                logits = _forward(model, batch, device)
            loss = criterion(logits, batch["targets"].to(device, non_blocking=True))
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            n = len(batch["targets"])
            total += float(loss.detach()) * n
            count += n
            bar.set_postfix(loss=f"{total / count:.4f}")
        bar.close()
        dev_loss = evaluate_loss(model, dev_loader, dev_loss_fn, device, precision)
        improved = dev_loss < progress.best_dev_loss  # strict: ties keep the earlier epoch
        if improved:
            progress.best_epoch, progress.best_dev_loss = epoch, dev_loss
            progress.best_state = _cpu_state(model)
        progress.epoch = epoch
        progress.rows.append(
            {
                "epoch": epoch,
                "train_loss": total / count,
                "dev_loss": dev_loss,
                "seconds": time.perf_counter() - start,
                "peak_memory_mb": _peak_memory_mb(device),
                "best": improved,
                **{k: on_device[k] for k in ("device", "torch_build", "gpu_name")},
            }
        )
        log.info(
            "fold %d epoch %d: train %.4f dev %.4f%s",
            fold,
            epoch,
            total / count,
            dev_loss,
            " (best)" if improved else "",
        )
        _save_checkpoint(
            ckpt_dir, progress, model, optimizer, scaler, generator, fingerprint, improved
        )
        _write_log(progress.rows, progress.best_epoch, out_log)
        if job.on_epoch_end is not None:
            job.on_epoch_end(epoch)

    # ---- outputs: best model, log, predictions --------------------------------------------
    model.load_state_dict(progress.best_state)
    test_loader = _loader(
        test_ds,
        sequential_batches(len(test_ds), cfg["batch_size"], test_lengths),
        collate,
        workers,
        device,
    )
    probs = predict_probabilities(model, test_loader, len(test_ds), len(classes), device, precision)
    predictions = pd.DataFrame({"utterance_id": data.test["utterance_id"].to_numpy()})
    predictions["fold"] = np.int64(fold)
    for j, col in enumerate(prefixed("p_", classes)):
        predictions[col] = probs[:, j]
    job.out_predictions.parent.mkdir(parents=True, exist_ok=True)
    predictions.to_parquet(job.out_predictions, index=False)

    metadata = {
        "classes": json.dumps(list(classes)),
        "model_name": str(name),
        "best_epoch": str(progress.best_epoch),
        "best_dev_loss": repr(progress.best_dev_loss),
        "format": fmt,
        "fold": str(fold),
        "train_rule": train_rule,
        "model_cfg": json.dumps(dict(model_cfg), default=str),
        "n_features": "" if n_features is None else str(n_features),
        "standardizer_extras": json.dumps(standardizer_extras, default=str),
        "protocol": json.dumps(job.protocol, default=str),
        INPUT_METADATA_KEY: json.dumps(
            model_input_settings(
                name, cfg["max_seconds"], features_path, job.protocol.get("waveform_mean_std")
            )
        ),
    }
    if name == WAV2VEC2_NAME:
        metadata["backbone_config"] = model.backbone.config.to_json_string()
    job.out_model.parent.mkdir(parents=True, exist_ok=True)
    _atomic_save_file({**progress.best_state, **standardizer_tensors}, job.out_model, metadata)
    _write_log(progress.rows, progress.best_epoch, out_log)
    if job.out_protocol is not None:
        job.out_protocol.write_text(json.dumps(job.protocol, indent=2, default=str) + "\n")
    if not cfg["keep_checkpoint"]:
        _remove_checkpoint(ckpt_dir)
    log.info(
        "fold %d rule %s: best epoch %d (dev loss %.4f); %d test predictions written",
        fold,
        train_rule,
        progress.best_epoch,
        progress.best_dev_loss,
        len(predictions),
    )


def load_trained_model(path: str | os.PathLike[str]) -> tuple[nn.Module, dict[str, str]]:
    """Rebuild the model stored in a ``best.safetensors`` (no pretrained download needed) and
    return it in eval mode with the file's metadata."""
    from safetensors.torch import load_file

    from serrules.training.models import EgemapsMLP, Wav2Vec2Classifier

    with safe_open(str(path), framework="pt") as f:
        meta = dict(f.metadata() or {})
    classes = json.loads(meta["classes"])
    model_cfg = json.loads(meta["model_cfg"])
    head_hidden = int(model_cfg.get("head_hidden", 1024))
    dropout = float(model_cfg.get("dropout", 0.5))
    model_cfg = {**section_defaults("model"), **model_cfg}  # older files: the paper preset
    head_batchnorm = bool(model_cfg["head_batchnorm"])
    if meta["model_name"] == WAV2VEC2_NAME:
        from transformers import Wav2Vec2Config, Wav2Vec2Model

        config = Wav2Vec2Config.from_dict(json.loads(meta["backbone_config"]))
        model: nn.Module = Wav2Vec2Classifier(
            Wav2Vec2Model(config),
            len(classes),
            head_hidden=head_hidden,
            dropout=dropout,
            pooling=str(model_cfg["pooling"]),
            head_batchnorm=head_batchnorm,
        )
    else:
        model = EgemapsMLP(
            len(classes),
            n_features=int(meta["n_features"]),
            head_hidden=head_hidden,
            dropout=dropout,
            head_batchnorm=head_batchnorm,
        )
    state = {k: v for k, v in load_file(str(path)).items() if not k.startswith(STANDARDIZER_PREFIX)}
    model.load_state_dict(state)
    return model.eval(), meta
