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
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from serrules.base.classes import prefixed
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
from serrules.training.fold_data import FoldData, FoldTables, fold_inputs, load_fold_parts
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
from serrules.training.run_config import resolve_train_cfg, run_fingerprint, seed_everything

log = logging.getLogger(__name__)


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
    out_train_log: str | os.PathLike[str],
    out_predictions: str | os.PathLike[str],
    checkpoint_dir: str | os.PathLike[str],
    on_epoch_end: Callable[[int], None] | None = None,
    protocol: Mapping[str, Any] | None = None,
    out_protocol: str | os.PathLike[str] | None = None,
) -> None:
    """Train one fold (resuming from ``checkpoint_dir`` if a compatible checkpoint is there),
    then write the best epoch's model (``out_model``), the per-epoch log (``out_train_log``) and
    the test-part predictions (``out_predictions``).

    ``on_epoch_end(epoch)`` is called after each epoch's checkpoint is on disk (monitoring and
    tests; an exception raised there aborts the run the way a killed job would).
    ``protocol`` (:func:`serrules.base.protocols.protocol_record`) is stored in the model's metadata
    and, with the numbers resolved from it (beta, waveform statistics), in ``out_protocol``.
    """
    cfg = resolve_train_cfg(train_cfg)
    spec = model_spec(model_cfg.get("name"))
    if spec.needs_features and not features_path:
        raise ValueError(f"model {spec.name} needs features_path (the eGeMAPS Parquet table)")

    tables = FoldTables(labels_path, folds_path, audio_index_path)
    data = load_fold_parts(fmt, fold, train_rule, tables)
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
    y_cols = prefixed("y_", data.classes)
    y_train = choices.training_targets(data.train[y_cols].to_numpy(np.float32), cfg)
    y_dev = choices.training_targets(data.dev[y_cols].to_numpy(np.float32), cfg)
    criterion, beta = choices.build_criterion(y_train, data.classes, cfg)
    log.info("fold %d: beta %.6f, class weights %s", fold, beta, criterion.weights.tolist())

    job = _FoldJob(
        fmt=fmt,
        fold=int(fold),
        train_rule=train_rule,
        data=data,
        y_train=y_train,
        y_dev=y_dev,
        criterion=criterion,
        features_path=features_path,
        model_cfg=dict(model_cfg),
        cfg=cfg,
        out_model=Path(out_model),
        out_train_log=Path(out_train_log),
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
    #: training targets of the train and dev parts (choices.training_targets)
    y_train: np.ndarray
    y_dev: np.ndarray
    criterion: ClassBalancedSoftCrossEntropy
    features_path: str | os.PathLike[str] | None
    model_cfg: dict[str, Any]
    cfg: dict[str, Any]
    out_model: Path
    out_train_log: Path
    out_predictions: Path
    checkpoint_dir: Path
    on_epoch_end: Callable[[int], None] | None
    protocol: dict[str, Any] = field(default_factory=dict)
    out_protocol: Path | None = None


def _run(job: _FoldJob, device: torch.device) -> None:
    """Train, select the best epoch, predict and write the outputs of one fold job."""
    cfg, data, fold, train_rule = job.cfg, job.data, job.fold, job.train_rule
    spec = model_spec(job.model_cfg["name"])
    classes = data.classes
    workers = cfg["num_workers"] if device.type == "cuda" and spec.input_kind == AUDIO_INPUT else 0
    precision, eval_precision = cfg["precision"], choices.eval_precision(cfg)
    seed_everything(cfg["seed"])

    inputs = fold_inputs(spec.input_kind, data, job.y_train, job.y_dev, cfg, job.features_path)
    if inputs.waveform_mean_std is not None:
        job.protocol["waveform_mean_std"] = list(inputs.waveform_mean_std)
        log.info("fold %d: global waveform mean %.6g, std %.6g", fold, *inputs.waveform_mean_std)
    model = build_model(job.model_cfg, len(classes), n_features=inputs.n_features).to(device)
    criterion = job.criterion.to(device)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = choices.make_optimizer(trainable, cfg)
    scaler = choices.grad_scaler(device, precision)
    dev_loss_fn = choices.dev_loss_function(criterion, cfg)
    generator = torch.Generator().manual_seed(cfg["seed"])
    n_train = len(inputs.train)
    sampler = choices.train_batch_sampler(n_train, inputs.train_lengths, generator, cfg)
    if job.model_cfg.get("head_batchnorm") and sampler.smallest_batch() < 2:
        raise ValueError(
            f"fold {fold}, rule {train_rule}: model.head_batchnorm needs training batches of at "
            f"least 2 utterances, but {n_train} training utterances with batch_size "
            f"{cfg['batch_size']} (bucket_size {cfg['bucket_size']}, drop_last "
            f"{cfg['drop_last']}) leave a batch of 1; set training.drop_last: true or change "
            "training.batch_size"
        )
    train_loader = make_loader(inputs.train, sampler, inputs.collate, workers, device)
    dev_batches = choices.eval_batches(
        inputs.dev_lengths, data.dev["utterance_id"].tolist(), cfg, cfg["drop_last"]
    )
    dev_loader = make_loader(inputs.dev, dev_batches, inputs.collate, workers, device)

    fingerprint = run_fingerprint(
        fmt=job.fmt,
        fold=fold,
        train_rule=train_rule,
        model_cfg=job.model_cfg,
        train_cfg=cfg,
        train_ids=data.train["utterance_id"].tolist(),
        dev_ids=data.dev["utterance_id"].tolist(),
        device=device,
    )
    ckpt_dir = job.checkpoint_dir
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    progress = load_checkpoint(ckpt_dir, fingerprint, model, optimizer, scaler, generator)
    progress = progress or Progress()
    on_device = device_report(device)
    log.info("fold %d: training on %s", fold, ", ".join(f"{k} {v}" for k, v in on_device.items()))

    for epoch in range(progress.epoch + 1, cfg["epochs"] + 1):
        start = time.perf_counter()
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        desc = f"fold {fold} epoch {epoch}/{cfg['epochs']}"
        train_loss = train_epoch(
            model, train_loader, criterion, optimizer, scaler, device, precision, desc
        )
        dev_loss = evaluate_loss(model, dev_loader, dev_loss_fn, device, eval_precision)
        improved = choices.improves(dev_loss, progress.best_dev_loss, cfg)
        if improved:
            progress.best_epoch, progress.best_dev_loss = epoch, dev_loss
            progress.best_state = cpu_state(model)
        progress.epoch = epoch
        progress.rows.append(
            {
                "epoch": epoch,
                "train_loss": train_loss,
                "dev_loss": dev_loss,
                "seconds": time.perf_counter() - start,
                "peak_memory_mb": peak_memory_mb(device),
                "best": improved,
                **{k: on_device[k] for k in ("device", "torch_build", "gpu_name")},
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
            ckpt_dir, progress, model, optimizer, scaler, generator, fingerprint, improved
        )
        write_log(progress.rows, progress.best_epoch, job.out_train_log)
        if job.on_epoch_end is not None:
            job.on_epoch_end(epoch)

    # ---- outputs: best model, log, predictions --------------------------------------------
    model.load_state_dict(progress.best_state)
    ids = data.test["utterance_id"].to_numpy()
    test_batches = choices.eval_batches(inputs.test_lengths, ids, cfg)
    test_loader = make_loader(inputs.test, test_batches, inputs.collate, workers, device)
    probs = predict_probabilities(
        model, test_loader, len(inputs.test), len(classes), device, eval_precision
    )
    predictions = write_predictions(job.out_predictions, ids, fold, classes, probs)
    settings = model_input_settings(
        spec.name, cfg["max_seconds"], job.features_path, job.protocol.get("waveform_mean_std")
    )
    metadata = model_metadata(
        classes=classes,
        model_cfg=job.model_cfg,
        best_epoch=progress.best_epoch,
        best_dev_loss=progress.best_dev_loss,
        fmt=job.fmt,
        fold=fold,
        train_rule=train_rule,
        n_features=inputs.n_features,
        protocol=job.protocol,
        input_settings=settings,
    )
    save_trained_model(
        job.out_model, progress.best_state, model, metadata, inputs.standardizer_state
    )
    write_log(progress.rows, progress.best_epoch, job.out_train_log)
    if job.out_protocol is not None:
        write_protocol(job.out_protocol, job.protocol)
    if not cfg["keep_checkpoint"]:
        remove_checkpoint(ckpt_dir)
    log.info(
        "fold %d rule %s: best epoch %d (dev loss %.4f); %d test predictions written",
        fold,
        train_rule,
        progress.best_epoch,
        progress.best_dev_loss,
        len(predictions),
    )


__all__ = ["train_fold"]
