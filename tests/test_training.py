"""Training stage on a tiny corpus: outputs, determinism, resume, bad inputs, batching."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch
from safetensors import safe_open
from safetensors.torch import load_file
from tiny_wav2vec2 import tiny_config
from transformers import Wav2Vec2Model

from serrules.audio.features import FeatureStandardizer
from serrules.audio.loading import AudioError
from serrules.base.classes import prefixed
from serrules.base.errors import TableError
from serrules.corpora.formats import corpus_format
from serrules.training.batching import (
    AudioDataset,
    BatchSampler,
    pad_collate,
    sequential_batches,
)
from serrules.training.fold_job import train_fold
from serrules.training.fold_spec import FoldFiles, FoldKey
from serrules.training.loss import ClassBalancedSoftCrossEntropy
from serrules.training.models.storage import load_trained_model, standardizer_state_from_file
from serrules.training.outputs import LOG_COLUMNS
from serrules.training.resume import CHECKPOINT_NAME
from serrules.training.run_config import TrainConfig

FMT = "msp-improv"
CLASSES = corpus_format(FMT).classes  # 4 classes
SR = 16000
TRAIN = [f"u{i:02d}" for i in range(10)]  # u08: unreadable audio in the index
DEV = [f"u{i:02d}" for i in range(10, 14)]
TEST = [f"u{i:02d}" for i in range(14, 20)]  # u19: missing file in the index
BAD_STATUS = {"u08": "unreadable", "u19": "missing_file"}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, Path]:
    """Audio, audio index, labels (AR, MR), folds and eGeMAPS-like features of 20 utterances."""
    root = tmp_path_factory.mktemp("corpus")
    rng = np.random.default_rng(0)
    ids = TRAIN + DEV + TEST
    rows = []
    for uid in ids:
        path = root / "wav" / f"{uid}.wav"
        n = int(rng.integers(SR // 2, SR + 1))
        if uid not in BAD_STATUS:
            path.parent.mkdir(exist_ok=True)
            sf.write(path, rng.uniform(-0.5, 0.5, n).astype(np.float32), SR)
        status = BAD_STATUS.get(uid, "ok")
        rows.append((uid, str(path), SR, n, n / SR, status, "" if status == "ok" else status))
    cols = ["utterance_id", "audio_path", "sample_rate", "n_samples", "duration_s", "status"]
    pd.DataFrame(rows, columns=[*cols, "message"]).to_parquet(root / "audio_index.parquet")

    votes = rng.integers(0, 3, size=(len(ids), len(CLASSES))).astype(float)
    votes[np.arange(len(ids)), np.arange(len(ids)) % len(CLASSES)] += 2  # every class present
    ar = pd.DataFrame({"utterance_id": ids, "label": None})
    ar[prefixed("y_", CLASSES)] = (votes / votes.sum(axis=1, keepdims=True)).astype(np.float32)
    ar.to_parquet(root / "labels_AR.parquet")
    mr = ar.iloc[[i for i in range(len(ids)) if i % 5 != 4]].copy()  # the rule drops some
    winner = votes[mr.index].argmax(axis=1)
    mr[prefixed("y_", CLASSES)] = np.eye(len(CLASSES), dtype=np.float32)[winner]
    mr.to_parquet(root / "labels_MR.parquet")

    folds = pd.DataFrame(
        {
            "fold": 1,
            "utterance_id": ids,
            "part": ["train"] * len(TRAIN) + ["dev"] * len(DEV) + ["test"] * len(TEST),
        }
    )
    folds.to_parquet(root / "folds.parquet")
    feats = pd.DataFrame(
        rng.normal(5, 3, size=(len(ids), 88)), columns=[f"f{j}" for j in range(88)]
    )
    feats.insert(0, "utterance_id", ids)
    feats.drop(index=[ids.index(u) for u in BAD_STATUS]).to_parquet(root / "egemaps.parquet")

    torch.manual_seed(0)
    Wav2Vec2Model(tiny_config()).save_pretrained(root / "tiny_w2v")
    return {"root": root}


def model_cfg(corpus, name="wav2vec2-large-robust-12"):
    return {
        "name": name,
        "pretrained": str(corpus["root"] / "tiny_w2v"),
        "keep_layers": 2,
        "head_hidden": 32,
        "dropout": 0.5,
        "freeze_feature_encoder": True,
    }


TRAIN_CFG = {
    "epochs": 3,
    "batch_size": 4,
    "lr": 1e-3,
    "weight_decay": 0.01,
    "beta": 0.99,
    "max_seconds": 0.8,
    "num_workers": 2,
    "precision": "bf16",
    "seed": 0,
    "device": "cpu",
    "bucket_size": 8,
}


def run(corpus, out: Path, rule="AR", name="wav2vec2-large-robust-12", **overrides) -> dict:
    root = corpus["root"]
    callback = overrides.pop("on_epoch_end", None)
    files = fold_files(
        corpus,
        out,
        labels=overrides.pop("labels_path", root / f"labels_{rule}.parquet"),
        audio_index=overrides.pop("audio_index_path", root / "audio_index.parquet"),
    )
    train_fold(
        FoldKey(FMT, 1, rule),
        files,
        model_cfg=model_cfg(corpus, name),
        train_cfg=TrainConfig.from_mapping({**TRAIN_CFG, **overrides}),
        on_epoch_end=callback,
    )
    return {
        "out_model": files.model,
        "out_train_log": files.train_log,
        "out_predictions": files.predictions,
        "checkpoint_dir": files.checkpoint_dir,
    }


def fold_files(corpus, out: Path, **paths) -> FoldFiles:
    """The files of a fold job on the tiny corpus, outputs under ``out``; ``paths`` override."""
    root = corpus["root"]
    defaults = {
        "labels": root / "labels_AR.parquet",
        "folds": root / "folds.parquet",
        "audio_index": root / "audio_index.parquet",
        "features": root / "egemaps.parquet",
        "model": out / "best.safetensors",
        "train_log": out / "train_log.csv",
        "predictions": out / "predictions.parquet",
        "checkpoint_dir": out / "ckpt",
    }
    return FoldFiles(**{**defaults, **paths})


@pytest.fixture(scope="module")
def reference(corpus, tmp_path_factory):
    """One uninterrupted wav2vec2 run (AR rule, seed 0)."""
    return run(corpus, tmp_path_factory.mktemp("reference"))


def test_wav2vec2_outputs(corpus, reference):
    pred = pd.read_parquet(reference["out_predictions"])
    # every audio-ok test utterance, whatever the rule; u19 (missing audio) skipped
    assert pred["utterance_id"].tolist() == [u for u in TEST if u != "u19"]
    assert (pred["fold"] == 1).all()
    p_cols = prefixed("p_", CLASSES)
    assert list(pred.columns) == ["utterance_id", "fold", *p_cols]
    assert all(pred[c].dtype == np.float32 for c in p_cols)
    np.testing.assert_allclose(pred[p_cols].sum(axis=1), 1.0, atol=1e-5)

    logdf = pd.read_csv(reference["out_train_log"])
    assert tuple(logdf.columns) == LOG_COLUMNS and logdf["epoch"].tolist() == [1, 2, 3]
    best_epoch = int(logdf["epoch"][logdf["dev_loss"].idxmin()])  # first minimum
    assert logdf["best"].tolist() == [e == best_epoch for e in (1, 2, 3)]
    assert (logdf["peak_memory_mb"] > 0).all() and (logdf["seconds"] > 0).all()

    with safe_open(str(reference["out_model"]), framework="pt") as f:
        meta = f.metadata()
    assert json.loads(meta["classes"]) == list(CLASSES)
    assert (
        meta["model_name"] == "wav2vec2-large-robust-12" and int(meta["best_epoch"]) == best_epoch
    )
    assert not reference["checkpoint_dir"].exists()  # removed after a successful finish

    # the stored model reproduces the predictions and the logged dev loss of the best epoch
    model, _ = load_trained_model(reference["out_model"])
    assert len(model.backbone.encoder.layers) == 2
    index = pd.read_parquet(corpus["root"] / "audio_index.parquet").set_index("utterance_id")
    labels = pd.read_parquet(corpus["root"] / "labels_AR.parquet").set_index("utterance_id")

    def logits(uids):
        ds = AudioDataset(index.loc[uids, "audio_path"].tolist(), np.zeros((len(uids), 4)), 0.8)
        batch = pad_collate([ds[i] for i in range(len(ds))])
        with torch.no_grad():
            return model(batch["inputs"], batch["attention_mask"])

    probs = torch.softmax(logits(pred["utterance_id"].tolist()), -1).numpy()
    np.testing.assert_allclose(probs, pred[p_cols].to_numpy(), atol=1e-5)
    y_cols = prefixed("y_", CLASSES)
    train_ok = [u for u in TRAIN if u != "u08"]
    crit = ClassBalancedSoftCrossEntropy.from_targets(
        labels.loc[train_ok, y_cols].to_numpy(), CLASSES
    )
    dev_loss = crit(logits(DEV), torch.tensor(labels.loc[DEV, y_cols].to_numpy()))
    assert float(dev_loss) == pytest.approx(logdf["dev_loss"][best_epoch - 1], abs=1e-5)


def test_same_seed_same_predictions(corpus, reference, tmp_path):
    again = pd.read_parquet(run(corpus, tmp_path / "again")["out_predictions"])
    pd.testing.assert_frame_equal(again, pd.read_parquet(reference["out_predictions"]))
    other = pd.read_parquet(run(corpus, tmp_path / "seed1", seed=1)["out_predictions"])
    assert not np.allclose(other[prefixed("p_", CLASSES)], again[prefixed("p_", CLASSES)])


def test_resume_after_kill_matches_uninterrupted_run(corpus, reference, tmp_path):
    class Killed(RuntimeError):
        pass

    def kill_after_2(epoch):
        if epoch == 2:
            raise Killed

    out = tmp_path / "resumed"
    with pytest.raises(Killed):
        run(corpus, out, on_epoch_end=kill_after_2)
    assert (out / "ckpt" / CHECKPOINT_NAME).is_file()
    assert not (out / "predictions.parquet").exists()
    seen = []
    paths = run(corpus, out, on_epoch_end=seen.append)
    assert seen == [3]  # resumed: only the last epoch ran again

    pd.testing.assert_frame_equal(
        pd.read_parquet(paths["out_predictions"]), pd.read_parquet(reference["out_predictions"])
    )
    got, want = load_file(str(paths["out_model"])), load_file(str(reference["out_model"]))
    assert got.keys() == want.keys()
    for key in want:
        torch.testing.assert_close(got[key], want[key], rtol=0, atol=0)
    cols = ["epoch", "train_loss", "dev_loss", "best"]
    pd.testing.assert_frame_equal(
        pd.read_csv(paths["out_train_log"])[cols], pd.read_csv(reference["out_train_log"])[cols]
    )


def test_egemaps_fold(corpus, tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="serrules.training.fold_job"):
        paths = run(corpus, tmp_path, rule="MR", name="egemaps-mlp", epochs=2, batch_size=3)
    assert "test part: skipped 1 utterance(s) without usable audio (missing_file: 1)" in caplog.text
    assert "train part: skipped 1 utterance(s) without usable audio (unreadable: 1)" in caplog.text
    pred = pd.read_parquet(paths["out_predictions"])
    assert pred["utterance_id"].tolist() == [u for u in TEST if u != "u19"]
    # standardizer fitted on the MR-kept, audio-ok train utterances, stored with the model
    feats = pd.read_parquet(corpus["root"] / "egemaps.parquet").set_index("utterance_id")
    kept = pd.read_parquet(corpus["root"] / "labels_MR.parquet")["utterance_id"]
    train_ids = [u for u in TRAIN if u in set(kept) and u != "u08"]
    expected = FeatureStandardizer().fit(feats.loc[train_ids].reset_index()).state_dict()
    stored = standardizer_state_from_file(paths["out_model"])
    assert stored["columns"] == expected["columns"]
    np.testing.assert_allclose(stored["mean"], expected["mean"])
    np.testing.assert_allclose(stored["std"], expected["std"])
    model, meta = load_trained_model(paths["out_model"])
    assert meta["model_name"] == "egemaps-mlp" and model.n_features == 88


def test_empty_dev_part_is_named(corpus, tmp_path):
    labels = pd.read_parquet(corpus["root"] / "labels_MR.parquet")
    path = tmp_path / "labels_MR.parquet"
    labels[~labels["utterance_id"].isin(DEV)].to_parquet(path)
    with pytest.raises(
        ValueError, match=r"labels_MR\.parquet: fold 1, rule MR: the dev part is empty"
    ):
        run(corpus, tmp_path / "o", rule="MR", labels_path=path)


def test_missing_target_column_is_named(corpus, tmp_path):
    path = tmp_path / "labels_AR.parquet"
    pd.read_parquet(corpus["root"] / "labels_AR.parquet").drop(columns="y_anger").to_parquet(path)
    with pytest.raises(
        TableError, match=r"labels_AR\.parquet: labels table lacks column\(s\) y_anger"
    ):
        run(corpus, tmp_path / "o", labels_path=path)


def test_class_without_training_utterance_is_named_and_still_trained(corpus, tmp_path, caplog):
    labels = pd.read_parquet(corpus["root"] / "labels_MR.parquet")
    no_sad = labels[~(labels["y_sadness"] > 0) | ~labels["utterance_id"].isin(TRAIN)]
    path = tmp_path / "labels_MR.parquet"
    no_sad.to_parquet(path)
    with caplog.at_level("WARNING", logger="serrules.training.loss"):
        out = run(corpus, tmp_path / "o", rule="MR", labels_path=path)
    assert "class(es) sadness" in caplog.text
    predictions = pd.read_parquet(out["out_predictions"])
    assert "p_sadness" in predictions.columns


def test_unreadable_audio_marked_ok_names_the_file(corpus, tmp_path):
    index = pd.read_parquet(corpus["root"] / "audio_index.parquet")
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"not a wav file")
    index.loc[index["utterance_id"] == "u00", "audio_path"] = str(broken)
    path = tmp_path / "audio_index.parquet"
    index.to_parquet(path)
    with pytest.raises(AudioError, match="broken.wav"):
        run(corpus, tmp_path / "o", audio_index_path=path, epochs=1)


def test_batch_sampler_bucketing_and_state():
    lengths = np.random.default_rng(1).uniform(0.5, 8.0, size=50)
    gen = torch.Generator().manual_seed(3)
    sampler = BatchSampler(50, 4, gen, lengths=lengths, bucket_size=12)
    state = gen.get_state()
    epoch1 = sampler.batches()
    assert len(epoch1) == len(sampler) == 4 * 3 + 1  # 4 buckets of 12 -> 3 batches each, + 2 left
    assert sorted(i for b in epoch1 for i in b) == list(range(50))  # each item once, none dropped
    for batch in epoch1:  # a batch is a run of one sorted bucket
        assert list(lengths[batch]) == sorted(lengths[batch])
    gen.set_state(state)
    assert sampler.batches() == epoch1  # the generator state fully determines an epoch
    assert sampler.batches() != epoch1
    random_batches = BatchSampler(10, 3, torch.Generator().manual_seed(0)).batches()
    assert [len(b) for b in random_batches] == [3, 3, 3, 1]
    assert sequential_batches(5, 2, lengths=[3.0, 1.0, 2.0, 5.0, 4.0]) == [[1, 2], [0, 4], [3]]


def test_pad_collate_mask(tmp_path):
    for i, n in enumerate((800, 1600)):
        sf.write(tmp_path / f"{i}.wav", np.random.default_rng(i).uniform(-1, 1, n), SR)
    ds = AudioDataset([str(tmp_path / "0.wav"), str(tmp_path / "1.wav")], np.eye(2, 4), None)
    batch = pad_collate([ds[0], ds[1]])
    assert batch["inputs"].shape == (2, 1600)
    assert batch["attention_mask"].sum(dim=1).tolist() == [800, 1600]
    assert float(batch["inputs"][0, 800:].abs().sum()) == 0.0
    # zero mean, unit variance over the real samples
    assert float(batch["inputs"][0, :800].mean()) == pytest.approx(0.0, abs=1e-5)
    assert float(batch["inputs"][0, :800].std(unbiased=False)) == pytest.approx(1.0, abs=1e-3)


def test_checkpoint_of_other_settings_is_ignored(corpus, reference, tmp_path, caplog):
    def kill(epoch):
        raise RuntimeError("killed")

    out = tmp_path / "stale"
    with pytest.raises(RuntimeError, match="killed"):
        run(corpus, out, seed=1, on_epoch_end=kill)  # leaves a seed-1 checkpoint after epoch 1
    seen = []
    with caplog.at_level(logging.WARNING, logger="serrules.training.resume"):
        paths = run(corpus, out, on_epoch_end=seen.append)  # seed 0: must start from scratch
    assert seen == [1, 2, 3] and "training from scratch" in caplog.text
    pd.testing.assert_frame_equal(
        pd.read_parquet(paths["out_predictions"]), pd.read_parquet(reference["out_predictions"])
    )


def test_authors_protocol_wav2vec2_job(corpus, tmp_path):
    """A wav2vec2 job with every authors' choice (global waveform statistics, plain pooling,
    BatchNorm head, Adam, smoothed targets, (N-1)/N, unweighted dev loss, drop_last): the
    protocol record holds the fold's waveform mean/std, and the stored model reproduces the
    predictions with those statistics."""
    from serrules.base.protocols import preset, protocol_record
    from serrules.training.batching import waveform_statistics

    root = corpus["root"]
    authors = preset("authors")
    mcfg = {**model_cfg(corpus), **authors["model"]}
    tcfg = {**TRAIN_CFG, **authors["training"]}
    record = protocol_record({"protocol": "authors", **authors, "training": tcfg, "model": mcfg})
    out = tmp_path / "authors"
    train_fold(
        FoldKey(FMT, 1, "AR"),
        fold_files(corpus, out, features=None, protocol=out / "protocol.json"),
        model_cfg=mcfg,
        train_cfg=TrainConfig.from_mapping(tcfg),
        protocol=record,
    )
    written = json.loads((out / "protocol.json").read_text())
    assert written["protocol"] == "authors" and written["beta_used"] == pytest.approx(8 / 9)
    index = pd.read_parquet(root / "audio_index.parquet").set_index("utterance_id")
    train_ok = [u for u in TRAIN if u != "u08"]
    # the authors' statistics are over the uncropped training waveforms (utils/dataset.py:84)
    stats = waveform_statistics(index.loc[train_ok, "audio_path"].tolist(), None)
    assert written["waveform_mean_std"] == pytest.approx(list(stats))
    model, meta = load_trained_model(out / "best.safetensors")
    assert json.loads(meta["protocol"])["waveform_mean_std"] == written["waveform_mean_std"]
    assert model.pooling == "plain"
    assert any(isinstance(m, torch.nn.BatchNorm1d) for m in model.head.modules())
    pred = pd.read_parquet(out / "predictions.parquet")
    ids = pred["utterance_id"].tolist()
    ds = AudioDataset(index.loc[ids, "audio_path"].tolist(), np.zeros((len(ids), 4)), 0.8,
                      global_stats=stats)  # fmt: skip
    batches = sequential_batches(len(ids), TRAIN_CFG["batch_size"], index.loc[ids, "duration_s"])
    probs = np.zeros((len(ids), len(CLASSES)), np.float32)
    with torch.no_grad():
        for rows in batches:  # the same batches as prediction (plain pooling sees the padding)
            batch = pad_collate([ds[i] for i in rows])
            probs[rows] = torch.softmax(model(batch["inputs"], batch["attention_mask"]), -1)
    np.testing.assert_allclose(probs, pred[prefixed("p_", CLASSES)].to_numpy(), atol=1e-5)


def test_batchnorm_head_with_a_batch_of_one_is_a_clear_error(corpus, tmp_path):
    with pytest.raises(ValueError, match="head_batchnorm needs training batches of at least 2"):
        train_fold(  # 9 audio-ok training utterances, batch 4, last batch kept: a batch of 1
            FoldKey(FMT, 1, "AR"),
            fold_files(corpus, tmp_path),
            model_cfg={**model_cfg(corpus, "egemaps-mlp"), "head_batchnorm": True},
            train_cfg=TrainConfig.from_mapping({**TRAIN_CFG, "drop_last": False}),
        )


@pytest.mark.parametrize("damage", ["truncated", "best_truncated"])  # more: test_checkpoints.py
def test_damaged_checkpoint_is_moved_aside_and_the_fold_restarts(
    corpus, reference, tmp_path, caplog, damage
):
    """A damaged resume checkpoint never blocks its fold: it is named, moved aside, and the fold
    trains from scratch to the same result as an uninterrupted run."""

    def kill(epoch):
        raise RuntimeError("killed")

    out = tmp_path / damage
    with pytest.raises(RuntimeError, match="killed"):
        run(corpus, out, on_epoch_end=kill)  # leaves a checkpoint after epoch 1
    last = out / "ckpt" / CHECKPOINT_NAME
    victim = last if damage != "best_truncated" else next((out / "ckpt").glob("best_epoch*"))
    data = victim.read_bytes()
    victim.write_bytes(
        {"empty": b"", "truncated": data[: len(data) // 2], "garbage": b"\x80\x04garbage" * 99}.get(
            damage, data[: len(data) // 3]
        )
    )
    seen = []
    with caplog.at_level(logging.WARNING, logger="serrules.training.resume"):
        paths = run(corpus, out, on_epoch_end=seen.append)
    assert seen == [1, 2, 3]
    assert f"resume checkpoint {victim} is unusable" in caplog.text
    assert "weights_only" not in caplog.text
    assert list((out / "ckpt").glob(f"{victim.name}.corrupt-*"))  # kept for inspection
    pd.testing.assert_frame_equal(
        pd.read_parquet(paths["out_predictions"]), pd.read_parquet(reference["out_predictions"])
    )


def test_load_features_reads_the_table_once_for_every_part_and_names_bad_rows(tmp_path):
    from serrules.training.fold_data import load_features

    path = tmp_path / "egemaps.parquet"
    pd.DataFrame(
        {"utterance_id": ["a", "b", "c"], "f1": [1.0, 2.0, np.nan], "f2": [4.0, 5.0, 6.0]}
    ).to_parquet(path)
    (train, test), columns = load_features(path, ["b", "a"], ["a"])
    assert columns == ["f1", "f2"]
    np.testing.assert_array_equal(train, np.array([[2, 5], [1, 4]], np.float32))
    np.testing.assert_array_equal(test, np.array([[1, 4]], np.float32))
    with pytest.raises(KeyError, match=f"{path}: no features for 1 audio-ok utterance.*e.g. z"):
        load_features(path, ["a", "z"])
    with pytest.raises(ValueError, match=f"{path}: non-finite feature values for utterance c"):
        load_features(path, ["a"], ["c"])


def test_fold_files_from_a_snakemake_job(tmp_path):
    """``FoldFiles.from_job`` reads the names the ``train_fold`` rule gives its files."""
    from types import SimpleNamespace

    job = SimpleNamespace(
        input=SimpleNamespace(labels="l.parquet", folds="f.parquet", audio_index="a.parquet",
                              features=[]),
        output=SimpleNamespace(model="m/best.safetensors", train_log="m/train_log.csv",
                               predictions="m/predictions.parquet", protocol="m/protocol.json"),
        params=SimpleNamespace(checkpoint_dir=str(tmp_path / "ckpt")),
    )  # fmt: skip
    files = FoldFiles.from_job(job)
    assert files.features is None and files.protocol == Path("m/protocol.json")
    assert files.tables.labels == Path("l.parquet") and files.checkpoint_dir == tmp_path / "ckpt"
    job.input.features = "egemaps.parquet"
    assert FoldFiles.from_job(job).features == Path("egemaps.parquet")
