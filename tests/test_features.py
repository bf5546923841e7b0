"""eGeMAPS extraction, the per-corpus feature cache and the feature standardiser."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from sklearn.preprocessing import StandardScaler

import serrules.audio.features as features_mod
from serrules.audio.features import (
    FeatureStandardizer,
    compute_egemaps,
    egemaps_extractor,
    gather_egemaps,
    standard_scaling,
    write_egemaps,
    write_egemaps_shard,
)
from serrules.audio.loading import load_audio, write_audio_index
from serrules.audio.sharding import egemaps_shard_count, shard_bounds


def voiced(rate: int, seconds: float, f0: float, seed: int) -> np.ndarray:
    """Harmonic tone with a gliding pitch, syllable-like envelope and a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(rate * seconds)) / rate
    pitch = f0 * (1 + 0.1 * np.sin(2 * np.pi * 1.5 * t))
    phase = 2 * np.pi * np.cumsum(pitch) / rate
    tone = sum(np.sin(k * phase) / k for k in range(1, 6))
    envelope = 0.5 * (1 + np.sin(2 * np.pi * 4 * t))
    return (0.2 * envelope * tone + 0.005 * rng.standard_normal(len(t))).astype(np.float32)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Audio index with three 1 s ok utterances (one at 44.1 kHz) and one missing file."""
    root = tmp_path_factory.mktemp("egemaps")
    specs = [("u1", 16000, 120.0), ("u2", 44100, 180.0), ("u3", 16000, 240.0)]
    paths = []
    for i, (uid, rate, f0) in enumerate(specs):
        sf.write(root / f"{uid}.wav", voiced(rate, 1.0, f0, i), rate)
        paths.append(str(root / f"{uid}.wav"))
    utterances = pd.DataFrame(
        {
            "utterance_id": ["u1", "gone", "u2", "u3"],
            "audio_path": [paths[0], str(root / "gone.wav"), *paths[1:]],
        }
    )
    utterances.to_parquet(root / "utterances.parquet", index=False)
    write_audio_index(root / "utterances.parquet", root / "audio_index.parquet", on_error="exclude")
    return root


@pytest.fixture
def counting(monkeypatch):
    """Count the signals passed to openSMILE."""
    calls: list[int] = []
    real = egemaps_extractor

    def extractor():
        smile = real()
        process = smile.process_signal

        def counted(signal, sampling_rate):
            calls.append(len(signal))
            return process(signal, sampling_rate)

        smile.process_signal = counted
        return smile

    monkeypatch.setattr(features_mod, "egemaps_extractor", extractor)
    return calls


def test_compute_egemaps_rows_columns_values(corpus, counting):
    index = pd.read_parquet(corpus / "audio_index.parquet")
    feats = compute_egemaps(index, max_seconds=0.8)
    names = list(egemaps_extractor().feature_names)
    assert list(feats.columns) == ["utterance_id", *names] and len(names) == 88
    assert feats["utterance_id"].tolist() == ["u1", "u2", "u3"]
    values = feats[names].to_numpy()
    assert values.dtype == np.float32 and np.isfinite(values).all()
    assert counting == [12800, 12800, 12800]  # cropped to 0.8 s at 16 kHz, via load_audio
    # same numbers as openSMILE on load_audio's signal directly
    direct = egemaps_extractor().process_signal(
        load_audio(corpus / "u2.wav", max_seconds=0.8), 16000
    )
    np.testing.assert_allclose(values[1], direct.to_numpy().ravel(), rtol=1e-6)
    # the pitch order of the three voices shows up in the mean F0 (semitones)
    f0 = feats["F0semitoneFrom27.5Hz_sma3nz_amean"].to_numpy()
    assert f0[0] < f0[1] < f0[2]


def test_write_egemaps_reuses_cache(corpus, tmp_path, counting):
    out = tmp_path / "features" / "egemaps.parquet"
    first = write_egemaps(corpus / "audio_index.parquet", out)
    assert len(counting) == 3 and first["utterance_id"].tolist() == ["u1", "u2", "u3"]
    pd.testing.assert_frame_equal(pd.read_parquet(out), first)

    again = write_egemaps(corpus / "audio_index.parquet", out)  # everything cached
    assert len(counting) == 3
    pd.testing.assert_frame_equal(again, first)

    # u3's audio changes (new length) and u4 is new: only those two are computed
    index = pd.read_parquet(corpus / "audio_index.parquet")
    sf.write(tmp_path / "u3b.wav", voiced(16000, 0.9, 240.0, 7), 16000)
    sf.write(tmp_path / "u4.wav", voiced(16000, 1.0, 150.0, 8), 16000)
    index.loc[index["utterance_id"] == "u3", ["audio_path", "n_samples"]] = [
        str(tmp_path / "u3b.wav"),
        14400,
    ]
    new_row = index.iloc[[0]].assign(utterance_id="u4", audio_path=str(tmp_path / "u4.wav"))
    index = pd.concat([new_row, index], ignore_index=True)
    index.to_parquet(tmp_path / "audio_index2.parquet", index=False)
    updated = write_egemaps(tmp_path / "audio_index2.parquet", out)
    assert counting[3:] == [16000, 14400]
    assert updated["utterance_id"].tolist() == ["u4", "u1", "u2", "u3"]
    pd.testing.assert_frame_equal(
        updated.iloc[1:3].reset_index(drop=True), first.iloc[0:2].reset_index(drop=True)
    )
    assert not np.allclose(updated.iloc[3, 1:].to_numpy(float), first.iloc[2, 1:].to_numpy(float))

    # another crop length invalidates the cache entirely; an explicit cache_path is read
    write_egemaps(
        corpus / "audio_index.parquet", tmp_path / "other.parquet", cache_path=out, max_seconds=0.5
    )
    assert len(counting) == 8


@pytest.mark.parametrize("order", ["C", "F"])
def test_standard_scaling_is_sklearns_standard_scaler(order):
    """Mean and scale as scikit-learn's StandardScaler computes them, also for a constant and a
    near-constant column (scale 1) and a column of large offset; rtol 1e-12 because it is
    another code path (the same numpy reductions, here written out)."""
    rng = np.random.default_rng(7)
    values = rng.normal(3.0, 2.0, size=(257, 6))
    values[:, 1] = 7.3  # constant
    values[:, 2] = 1e6 + rng.normal(0.0, 1e-12, size=257)  # constant up to rounding
    values[:, 3] = 1e8 + rng.normal(0.0, 1.0, size=257)
    values = np.asarray(values, order=order)
    mean, scale = standard_scaling(values.copy(order=order))
    expected = StandardScaler().fit(values)
    np.testing.assert_allclose(mean, expected.mean_, rtol=1e-12, atol=0)
    np.testing.assert_allclose(scale, expected.scale_, rtol=1e-12, atol=0)
    assert ((scale == 1.0) == (expected.scale_ == 1.0)).all() and scale[1] == scale[2] == 1.0


def test_standardizer_matches_sklearn_and_round_trips():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(3.0, 2.0, size=(50, 4)), columns=list("abcd"))
    frame["c"] = 7.3  # constant column -> std 1 -> zeros
    frame.insert(0, "utterance_id", [f"u{i}" for i in range(50)])
    std = FeatureStandardizer().fit(frame.iloc[:40])
    out = std.transform(frame.iloc[40:])
    expected = StandardScaler().fit(frame.iloc[:40, 1:]).transform(frame.iloc[40:, 1:])
    # float32 output of float64 z-scores
    np.testing.assert_allclose(out[list("abcd")].to_numpy(), expected, rtol=1e-6, atol=1e-7)
    assert (out["c"] == 0).all() and out["utterance_id"].tolist() == frame["utterance_id"][
        40:
    ].tolist()
    assert std.state_dict()["std"][2] == 1.0

    restored = FeatureStandardizer().load_state_dict(std.state_dict())
    shuffled = frame.iloc[40:][["utterance_id", "d", "c", "b", "a"]]  # column order does not matter
    pd.testing.assert_frame_equal(restored.transform(shuffled), out)


def test_standardizer_names_bad_utterances_and_columns():
    frame = pd.DataFrame(
        {"utterance_id": ["a", "b", "c"], "x": [1.0, np.nan, 2.0], "y": [1.0, 2.0, np.inf]}
    )
    with pytest.raises(ValueError, match=r"2 utterance\(s\).*: b, c"):
        FeatureStandardizer().fit(frame)
    std = FeatureStandardizer().fit(frame.iloc[[0]])
    with pytest.raises(ValueError, match="b, c"):
        std.transform(frame)
    with pytest.raises(ValueError, match="missing 1 fitted column"):
        std.transform(frame.drop(columns="y"))
    with pytest.raises(RuntimeError, match="fit"):
        FeatureStandardizer().transform(frame)
    with pytest.raises(ValueError, match="std > 0"):
        FeatureStandardizer().load_state_dict({"columns": ["x"], "mean": [0.0], "std": [0.0]})


def test_extraction_in_worker_processes_gives_the_same_table(corpus, monkeypatch):
    """workers = the job's cores: same rows, order and values as one process."""
    monkeypatch.setattr(features_mod, "_CHUNK", 1)  # three chunks for two workers
    index = pd.read_parquet(corpus / "audio_index.parquet")
    one = compute_egemaps(index, max_seconds=0.8)
    two = compute_egemaps(index, max_seconds=0.8, workers=2)
    pd.testing.assert_frame_equal(one, two)


@pytest.mark.parametrize("per_shard", [1, 2, 3, 4, 10])
def test_sharded_extraction_equals_the_unsharded_table(corpus, tmp_path, per_shard):
    """Shards of 1..all rows (one holds only the missing file at 2 per shard) gathered give the
    table and metadata of one unsharded extraction."""
    import pyarrow.parquet as pq

    index_path = corpus / "audio_index.parquet"
    whole = tmp_path / "whole.parquet"
    write_egemaps(index_path, whole, max_seconds=0.8)
    n = egemaps_shard_count(4, per_shard)
    shards = [tmp_path / f"shard{k}.parquet" for k in range(n)]
    for k, path in enumerate(shards):
        write_egemaps_shard(index_path, path, shard=k, per_shard=per_shard, max_seconds=0.8)
    gathered = tmp_path / "gathered.parquet"
    gather_egemaps(index_path, shards, gathered, max_seconds=0.8)
    pd.testing.assert_frame_equal(pd.read_parquet(gathered), pd.read_parquet(whole))
    key = features_mod.CACHE_METADATA_KEY
    assert pq.read_schema(gathered).metadata[key] == pq.read_schema(whole).metadata[key]
    # the gathered table is a valid cache for the unsharded writer
    assert len(write_egemaps(index_path, gathered, max_seconds=0.8)) == 3


def test_gather_names_a_missing_or_foreign_shard(corpus, tmp_path):
    index_path = corpus / "audio_index.parquet"
    shards = [tmp_path / f"shard{k}.parquet" for k in range(2)]
    for k, path in enumerate(shards):
        write_egemaps_shard(index_path, path, shard=k, per_shard=2, max_seconds=0.8)
    with pytest.raises(ValueError, match="shards cover rows 0-1 of"):
        gather_egemaps(index_path, shards[:1], tmp_path / "out.parquet", max_seconds=0.8)
    with pytest.raises(ValueError, match=f"{shards[1]}: covers rows 2-3"):
        gather_egemaps(index_path, shards[::-1], tmp_path / "out.parquet", max_seconds=0.8)
    with pytest.raises(ValueError, match=f"{shards[0]}: computed with"):
        gather_egemaps(index_path, shards, tmp_path / "out.parquet", max_seconds=0.5)
    with pytest.raises(ValueError, match="shard 2 out of range"):
        write_egemaps_shard(index_path, tmp_path / "x.parquet", shard=2, per_shard=2)


def test_shard_bounds_cover_the_index_once():
    assert egemaps_shard_count(0, 5) == 1 and shard_bounds(0, 5, 0) == (0, 0)
    assert egemaps_shard_count(150_000, 5000) == 30
    bounds = [shard_bounds(11, 4, k) for k in range(egemaps_shard_count(11, 4))]
    assert bounds == [(0, 4), (4, 8), (8, 11)]
    with pytest.raises(ValueError, match="per_shard >= 1"):
        egemaps_shard_count(3, 0)
