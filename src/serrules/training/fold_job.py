"""Resumable per-fold training and prediction (the study's protocol): :func:`train_fold`.

One call trains one model for one (corpus, train rule, fold):

* train part = the fold's ``train`` utterances kept by the rule (rows of ``labels_<rule>.parquet``)
  with audio ``ok`` in the audio index; dev part = the fold's ``dev`` utterances kept by the same
  rule, audio ``ok``; test part = EVERY audio-ok utterance of the fold's ``test`` part, whatever
  the rule (predictions are scored later against each test rule) (:mod:`.fold_data`);
* class-balanced soft cross-entropy (:mod:`serrules.training.loss`) with weights from the train
  part;
* ``epochs`` epochs (:mod:`.epoch_loop`); after each epoch the dev loss (eval mode) picks the best
  epoch (lowest dev loss; ties keep the earlier epoch);
* every choice where the paper's text and the authors' code differ comes from the resolved config
  (:mod:`serrules.base.protocols`, :mod:`.run_config`) and is built by
  :mod:`serrules.training.choices`; the resolved values go into the model's metadata;
* after each epoch a checkpoint is written to ``checkpoint_dir`` (:mod:`.resume`); a restarted job
  resumes from it and ends with exactly the same best model and predictions as an uninterrupted
  run;
* outputs, each at the path the caller names (:mod:`.outputs`): the best epoch's model, the
  per-epoch log, the test-part predictions and the protocol record.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from serrules.base.classes import prefixed
from serrules.base.provenance import set_device
from serrules.labels.folds import PARTS
from serrules.training import choices
from serrules.training.devices import acquire_gpu, device_report, select_device
from serrules.training.epoch_loop import (
    evaluate_loss,
    make_loader,
    peak_memory_mb,
    predict_probabilities,
    train_epoch,
)
from serrules.training.fold_data import FoldData, FoldInputs, fold_inputs, load_fold_parts
from serrules.training.fold_spec import FoldFiles, FoldKey
from serrules.training.inference import model_input_settings
from serrules.training.loss import ClassBalancedSoftCrossEntropy
from serrules.training.model_names import AUDIO_INPUT, model_spec
from serrules.training.models import build_model
from serrules.training.models.storage import save_trained_model
from serrules.training.outputs import model_metadata, write_log, write_predictions, write_protocol
from serrules.training.resume import (
    Progress,
    cpu_state,
    load_checkpoint,
    remove_checkpoint,
    save_checkpoint,
)
from serrules.training.run_config import TrainConfig, run_fingerprint, seed_everything

log = logging.getLogger(__name__)


def train_fold(
    key: FoldKey,
    files: FoldFiles,
    *,
    model_cfg: Mapping[str, Any],
    train_cfg: TrainConfig,
    protocol: Mapping[str, Any] | None = None,
    on_epoch_end: Callable[[int], None] | None = None,
) -> None:
    """Train fold ``key`` (resuming from ``files.checkpoint_dir`` if a compatible checkpoint is
    there), then write the best epoch's model (``files.model``), the per-epoch log
    (``files.train_log``) and the test-part predictions (``files.predictions``).

    ``on_epoch_end(epoch)`` is called after each epoch's checkpoint is on disk (monitoring and
    tests; an exception raised there aborts the run the way a killed job would).
    ``protocol`` (:func:`serrules.base.protocols.protocol_record`) is stored in the model's metadata
    and, with the numbers resolved from it (beta, waveform statistics), in ``files.protocol``.
    """
    spec = model_spec(model_cfg.get("name"))
    if spec.needs_features and not files.features:
        raise ValueError(f"model {spec.name} needs features_path (the eGeMAPS Parquet table)")
    data = load_fold_parts(key.fmt, key.fold, key.train_rule, files.tables)
    _log_parts(key.fold, data)
    # class weights first: a class without training utterances fails before any model is built
    y_cols = prefixed("y_", data.classes)
    y_train = choices.training_targets(data.train[y_cols].to_numpy(np.float32), train_cfg)
    y_dev = choices.training_targets(data.dev[y_cols].to_numpy(np.float32), train_cfg)
    criterion, beta = choices.build_criterion(y_train, data.classes, train_cfg)
    log.info("fold %d: beta %.6f, class weights %s", key.fold, beta, criterion.weights.tolist())

    job = _FoldJob(
        key=key,
        files=files,
        data=data,
        y_train=y_train,
        y_dev=y_dev,
        criterion=criterion,
        model_cfg=dict(model_cfg),
        cfg=train_cfg,
        on_epoch_end=on_epoch_end,
        protocol={**dict(protocol or {}), "beta_used": beta},
    )
    device = select_device(train_cfg.device)
    if device.type != "cuda":
        _run(job, device)
        return
    index, lease = acquire_gpu(train_cfg.gpu_lock_dir)
    with lease:
        device = torch.device("cuda", index)
        torch.cuda.set_device(device)
        log.info("fold %d: training on %s", key.fold, device)
        _run(job, device)


def _log_parts(fold: int, data: FoldData) -> None:
    """Log each part's size and the utterances it skipped for want of usable audio."""
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


@dataclass
class _FoldJob:
    """Everything :func:`train_fold` resolved before the device is chosen."""

    key: FoldKey
    files: FoldFiles
    data: FoldData
    #: training targets of the train and dev parts (choices.training_targets)
    y_train: np.ndarray
    y_dev: np.ndarray
    criterion: ClassBalancedSoftCrossEntropy
    model_cfg: dict[str, Any]
    cfg: TrainConfig
    on_epoch_end: Callable[[int], None] | None
    protocol: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Session:
    """What :func:`_set_up` builds on the device: the model and its training machinery, the
    loaders and the progress so far (restored from a resume checkpoint, or fresh)."""

    inputs: FoldInputs
    model: nn.Module
    criterion: ClassBalancedSoftCrossEntropy
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    dev_loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    generator: torch.Generator
    train_loader: DataLoader
    dev_loader: DataLoader
    workers: int
    fingerprint: str
    progress: Progress
    on_device: dict[str, Any]


def _run(job: _FoldJob, device: torch.device) -> None:
    """Train, select the best epoch, predict and write the outputs of one fold job."""
    session = _set_up(job, device)
    _fit(job, session, device)
    _write(job, session, device)


def _set_up(job: _FoldJob, device: torch.device) -> _Session:
    """Seed, build the inputs, the model, the optimiser and the loaders, and resume from a
    checkpoint of the same run if there is one (the order of the random draws is fixed)."""
    cfg, data, fold = job.cfg, job.data, job.key.fold
    spec = model_spec(job.model_cfg["name"])
    workers = cfg.num_workers if device.type == "cuda" and spec.input_kind == AUDIO_INPUT else 0
    seed_everything(cfg.seed)

    inputs = fold_inputs(spec.input_kind, data, job.y_train, job.y_dev, cfg, job.files.features)
    if inputs.waveform_mean_std is not None:
        job.protocol["waveform_mean_std"] = list(inputs.waveform_mean_std)
        log.info("fold %d: global waveform mean %.6g, std %.6g", fold, *inputs.waveform_mean_std)
    model = build_model(job.model_cfg, len(data.classes), n_features=inputs.n_features).to(device)
    criterion = job.criterion.to(device)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = choices.make_optimizer(trainable, cfg)
    scaler = choices.grad_scaler(device, cfg.precision)
    generator = torch.Generator().manual_seed(cfg.seed)
    train_loader, dev_loader = _loaders(job, inputs, generator, workers, device)

    fingerprint = run_fingerprint(
        job.key,
        model_cfg=job.model_cfg,
        train_cfg=cfg,
        train_ids=data.train["utterance_id"].tolist(),
        dev_ids=data.dev["utterance_id"].tolist(),
        device=device,
    )
    ckpt_dir = job.files.checkpoint_dir
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    progress = load_checkpoint(ckpt_dir, fingerprint, model, optimizer, scaler, generator)
    on_device = device_report(device)
    gpu = f" ({on_device['gpu_name']})" if on_device["gpu_name"] else ""
    set_device(on_device["device"] + gpu)  # recorded with the model and its predictions
    log.info("fold %d: training on %s", fold, ", ".join(f"{k} {v}" for k, v in on_device.items()))
    return _Session(
        inputs=inputs,
        model=model,
        criterion=criterion,
        optimizer=optimizer,
        scaler=scaler,
        dev_loss_fn=choices.dev_loss_function(criterion, cfg),
        generator=generator,
        train_loader=train_loader,
        dev_loader=dev_loader,
        workers=workers,
        fingerprint=fingerprint,
        progress=progress or Progress(),
        on_device=on_device,
    )


def _loaders(
    job: _FoldJob,
    inputs: FoldInputs,
    generator: torch.Generator,
    workers: int,
    device: torch.device,
) -> tuple[DataLoader, DataLoader]:
    """The train loader (shuffled by ``generator``, length-bucketed when ``bucket_size`` is set)
    and the dev loader (in order); a batch of one utterance is refused when the head has
    BatchNorm."""
    cfg = job.cfg
    n_train = len(inputs.train)
    sampler = choices.train_batch_sampler(n_train, inputs.train_lengths, generator, cfg)
    if job.model_cfg.get("head_batchnorm") and sampler.smallest_batch() < 2:
        raise ValueError(
            f"fold {job.key.fold}, rule {job.key.train_rule}: model.head_batchnorm needs "
            f"training batches of at least 2 utterances, but {n_train} training utterances with "
            f"batch_size {cfg.batch_size} (bucket_size {cfg.bucket_size}, drop_last "
            f"{cfg.drop_last}) leave a batch of 1; set training.drop_last: true or change "
            "training.batch_size"
        )
    train_loader = make_loader(inputs.train, sampler, inputs.collate, workers, device)
    dev_batches = choices.eval_batches(
        inputs.dev_lengths, job.data.dev["utterance_id"].tolist(), cfg, cfg.drop_last
    )
    dev_loader = make_loader(inputs.dev, dev_batches, inputs.collate, workers, device)
    return train_loader, dev_loader


def _fit(job: _FoldJob, session: _Session, device: torch.device) -> None:
    """The remaining epochs: train, dev loss, best epoch (strictly lower dev loss), checkpoint
    and log after each."""
    cfg, fold, s = job.cfg, job.key.fold, session
    progress = s.progress
    for epoch in range(progress.epoch + 1, cfg.epochs + 1):
        start = time.perf_counter()
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        desc = f"fold {fold} epoch {epoch}/{cfg.epochs}"
        train_loss = train_epoch(
            s.model, s.train_loader, s.criterion, s.optimizer, s.scaler, device, cfg.precision, desc
        )
        dev_loss = evaluate_loss(
            s.model, s.dev_loader, s.dev_loss_fn, device, choices.eval_precision(cfg)
        )
        improved = choices.improves(dev_loss, progress.best_dev_loss, cfg)
        if improved:
            progress.best_epoch, progress.best_dev_loss = epoch, dev_loss
            progress.best_state = cpu_state(s.model)
        progress.epoch = epoch
        progress.rows.append(
            {
                "epoch": epoch,
                "train_loss": train_loss,
                "dev_loss": dev_loss,
                "seconds": time.perf_counter() - start,
                "peak_memory_mb": peak_memory_mb(device),
                "best": improved,
                **{k: s.on_device[k] for k in ("device", "torch_build", "gpu_name")},
            }
        )
        log.info(
            "fold %d epoch %d: train %.4f dev %.4f%s",
            fold,
            epoch,
            train_loss,
            dev_loss,
            " (best)" if improved else "",
        )
        save_checkpoint(
            job.files.checkpoint_dir,
            progress,
            s.model,
            s.optimizer,
            s.scaler,
            s.generator,
            s.fingerprint,
            improved,
        )
        write_log(progress.rows, progress.best_epoch, job.files.train_log)
        if job.on_epoch_end is not None:
            job.on_epoch_end(epoch)


def _write(job: _FoldJob, session: _Session, device: torch.device) -> None:
    """The best epoch's test predictions, model, log and protocol record; the checkpoint is
    removed unless ``keep_checkpoint``."""
    cfg, files, key, progress = job.cfg, job.files, job.key, session.progress
    inputs, model, classes = session.inputs, session.model, job.data.classes
    model.load_state_dict(progress.best_state)
    ids = job.data.test["utterance_id"].to_numpy()
    test_batches = choices.eval_batches(inputs.test_lengths, ids, cfg)
    test_loader = make_loader(inputs.test, test_batches, inputs.collate, session.workers, device)
    probs = predict_probabilities(
        model, test_loader, len(inputs.test), len(classes), device, choices.eval_precision(cfg)
    )
    predictions = write_predictions(files.predictions, ids, key.fold, classes, probs)
    settings = model_input_settings(
        model_spec(job.model_cfg["name"]).name,
        cfg.max_seconds,
        files.features,
        job.protocol.get("waveform_mean_std"),
    )
    metadata = model_metadata(
        key,
        classes=classes,
        model_cfg=job.model_cfg,
        progress=progress,
        n_features=inputs.n_features,
        protocol=job.protocol,
        input_settings=settings,
    )
    save_trained_model(files.model, progress.best_state, model, metadata, inputs.standardizer_state)
    write_log(progress.rows, progress.best_epoch, files.train_log)
    if files.protocol is not None:
        write_protocol(files.protocol, job.protocol)
    if not cfg.keep_checkpoint:
        remove_checkpoint(files.checkpoint_dir)
    log.info(
        "fold %d rule %s: best epoch %d (dev loss %.4f); %d test predictions written",
        key.fold,
        key.train_rule,
        progress.best_epoch,
        progress.best_dev_loss,
        len(predictions),
    )


__all__ = ["train_fold"]
