"""Audio loading (mono, resampling, crop, failures) and the per-corpus audio index."""

from __future__ import annotations

import logging

import librosa
import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from serrules.audio.loading import (
    AUDIO_INDEX_COLUMNS,
    AudioError,
    load_audio,
    resampled_length,
    write_audio_index,
)


def sine(freq: float, rate: int, seconds: float, amp: float = 0.5) -> np.ndarray:
    t = np.arange(round(rate * seconds)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def peak_hz(x: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / rate)[np.argmax(spectrum)])


def test_mono_16k_roundtrip(tmp_path):
    x = sine(440, 16000, 0.5)
    sf.write(tmp_path / "a.wav", x, 16000, subtype="FLOAT")
    y = load_audio(tmp_path / "a.wav")
    assert y.dtype == np.float32 and y.ndim == 1
    np.testing.assert_array_equal(y, x)


def test_stereo_is_channel_mean(tmp_path):
    left, right = sine(440, 16000, 0.25, 0.6), sine(1000, 16000, 0.25, 0.2)
    sf.write(tmp_path / "s.wav", np.stack([left, right], axis=1), 16000, subtype="FLOAT")
    y = load_audio(tmp_path / "s.wav")
    np.testing.assert_allclose(y, (left + right) / 2, atol=1e-7)


@pytest.mark.parametrize("rate", [8000, 44100])
def test_resample_length_and_frequency(tmp_path, rate):
    x = sine(1000, rate, 1.3)
    sf.write(tmp_path / "r.wav", x, rate, subtype="PCM_16")
    y = load_audio(tmp_path / "r.wav", sample_rate=16000)
    assert len(y) == int(np.ceil(len(x) * 16000 / rate)) == resampled_length(len(x), rate, 16000)
    assert len(y) == 20800
    assert abs(peak_hz(y, 16000) - 1000.0) <= 16000 / len(y)
    assert np.abs(y).max() <= 1.0
    # what the study authors' loader returns: librosa.load(path, sr=16000)
    np.testing.assert_allclose(y, librosa.load(tmp_path / "r.wav", sr=16000)[0], atol=1e-6)


@pytest.mark.parametrize("rate", [16000, 44100])
def test_crop_is_exact_and_matches_head_of_full_signal(tmp_path, rate):
    x = sine(300, rate, 2.0)
    sf.write(tmp_path / "c.wav", x, rate, subtype="FLOAT")
    full = load_audio(tmp_path / "c.wav")
    cropped = load_audio(tmp_path / "c.wav", max_seconds=0.75)
    assert len(cropped) == 12000
    np.testing.assert_allclose(cropped, full[:12000], atol=1e-6)
    # longer than the file: the whole file
    assert len(load_audio(tmp_path / "c.wav", max_seconds=5.0)) == len(full) == 32000


def test_missing_file(tmp_path):
    path = tmp_path / "nope.wav"
    with pytest.raises(AudioError, match="nope.wav") as info:
        load_audio(path)
    assert info.value.reason == "missing_file" and info.value.path == str(path)


def test_corrupt_file(tmp_path):
    path = tmp_path / "garbage.wav"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(AudioError, match="garbage.wav") as info:
        load_audio(path)
    assert info.value.reason == "unreadable"


def test_empty_file(tmp_path):
    path = tmp_path / "empty.wav"
    sf.write(path, np.zeros(0, dtype=np.float32), 16000)
    with pytest.raises(AudioError, match="empty.wav") as info:
        load_audio(path)
    assert info.value.reason == "empty"


def test_non_finite_file(tmp_path):
    path = tmp_path / "nan.wav"
    x = sine(440, 16000, 0.1)
    x[100] = np.nan
    sf.write(path, x, 16000, subtype="FLOAT")
    with pytest.raises(AudioError, match="nan.wav") as info:
        load_audio(path)
    assert info.value.reason == "non_finite"


def test_bad_arguments(tmp_path):
    sf.write(tmp_path / "a.wav", sine(440, 16000, 0.1), 16000)
    with pytest.raises(ValueError, match="max_seconds"):
        load_audio(tmp_path / "a.wav", max_seconds=0)
    with pytest.raises(ValueError, match="sample_rate"):
        load_audio(tmp_path / "a.wav", sample_rate=0)


@pytest.fixture
def corpus(tmp_path):
    """utterances.parquet with two good files (8 kHz stereo, 16 kHz) and four bad ones."""
    root = tmp_path / "corpus"
    root.mkdir()
    sf.write(root / "good1.wav", np.stack([sine(200, 8000, 1.0)] * 2, axis=1), 8000)
    sf.write(root / "good2.wav", sine(200, 16000, 0.5), 16000)
    (root / "corrupt.wav").write_bytes(b"RIFF\x00\x00" + bytes(range(200)))
    sf.write(root / "empty.wav", np.zeros(0, dtype=np.float32), 16000)
    nan = sine(200, 16000, 0.5)
    nan[-3] = np.inf  # in the tail block the index decodes
    sf.write(root / "nan.wav", nan, 16000, subtype="FLOAT")
    names = ["good1", "missing", "good2", "corrupt", "empty", "nan"]
    utterances = pd.DataFrame(
        {
            "utterance_id": [f"u_{n}" for n in names],
            "speaker": "s1",
            "audio_path": [str(root / f"{n}.wav") for n in names],
        }
    )
    path = tmp_path / "utterances.parquet"
    utterances.to_parquet(path, index=False)
    return path, root


def test_audio_index_exclude(corpus, tmp_path, caplog):
    utterances_path, root = corpus
    out = tmp_path / "out" / "audio_index.parquet"
    with caplog.at_level(logging.WARNING, logger="serrules.audio.loading"):
        index = write_audio_index(utterances_path, out, on_error="exclude")
    assert list(index.columns) == list(AUDIO_INDEX_COLUMNS)
    stored = pd.read_parquet(out)
    pd.testing.assert_frame_equal(stored, index)
    status = dict(zip(index["utterance_id"], index["status"], strict=True))
    assert status == {
        "u_good1": "ok",
        "u_missing": "missing_file",
        "u_good2": "ok",
        "u_corrupt": "unreadable",
        "u_empty": "empty",
        "u_nan": "non_finite",
    }
    good1 = index.set_index("utterance_id").loc["u_good1"]
    assert (good1["sample_rate"], good1["n_samples"], good1["duration_s"]) == (8000, 8000, 1.0)
    good2 = index.set_index("utterance_id").loc["u_good2"]
    assert (good2["sample_rate"], good2["n_samples"], good2["duration_s"]) == (16000, 8000, 0.5)
    assert (index.loc[index["status"] != "ok", "message"].str.len() > 0).all()
    assert "excluding 4 of 6" in caplog.text and "1 missing_file" in caplog.text


def test_audio_index_error_names_first_bad_file(corpus, tmp_path):
    utterances_path, root = corpus
    out = tmp_path / "audio_index.parquet"
    with pytest.raises(AudioError, match="missing.wav") as info:
        write_audio_index(utterances_path, out)
    assert info.value.reason == "missing_file"
    assert "4 of 6" in str(info.value) and "corrupt.wav" in str(info.value)
    assert not out.exists()


def test_audio_index_all_good_and_bad_mode(corpus, tmp_path):
    utterances_path, _ = corpus
    good = pd.read_parquet(utterances_path).iloc[[0, 2]]
    good.to_parquet(tmp_path / "good.parquet", index=False)
    index = write_audio_index(tmp_path / "good.parquet", tmp_path / "idx.parquet")
    assert (index["status"] == "ok").all() and (index["message"] == "").all()
    with pytest.raises(ValueError, match="on_error.*'skip'"):
        write_audio_index(utterances_path, tmp_path / "x.parquet", on_error="skip")


def test_audio_index_rejects_duplicate_ids(corpus, tmp_path):
    utterances_path, _ = corpus
    dup = pd.read_parquet(utterances_path)
    dup.loc[1, "utterance_id"] = "u_good1"
    dup.to_parquet(tmp_path / "dup.parquet", index=False)
    with pytest.raises(ValueError, match="u_good1"):
        write_audio_index(tmp_path / "dup.parquet", tmp_path / "idx.parquet")


def test_index_probe_catches_truncated_flac(tmp_path):
    from serrules.audio.loading import probe_audio

    sf.write(tmp_path / "full.flac", sine(200, 16000, 3.0) + 0.01, 16000)
    data = (tmp_path / "full.flac").read_bytes()
    (tmp_path / "cut.flac").write_bytes(data[: len(data) // 2])
    assert probe_audio(tmp_path / "full.flac")["status"] == "ok"
    cut = probe_audio(tmp_path / "cut.flac")
    assert cut["status"] == "unreadable" and cut["n_samples"] == 48000


def test_index_covers_every_file_later_stages_trip_on(tmp_path):
    """NaN/inf anywhere in a float file (not only near its ends), files too short for eGeMAPS
    or wav2vec2 (counted at the pipeline rate), and garbled compressed streams are found once,
    in the index; under on_error: exclude they are counted exclusions."""
    from serrules.audio.features import compute_egemaps
    from serrules.audio.loading import MIN_SECONDS, probe_audio

    root = tmp_path
    middle = sine(200, 16000, 3.0)
    middle[len(middle) // 2] = np.nan  # far from the first/last 4096 frames
    sf.write(root / "nan_middle.wav", middle, 16000, subtype="FLOAT")
    sf.write(root / "short.wav", sine(200, 16000, MIN_SECONDS * 0.9), 16000)
    sf.write(root / "short_8k.wav", sine(200, 8000, MIN_SECONDS * 0.9), 8000)  # 0.054 s
    sf.write(root / "just_long_enough.wav", sine(200, 16000, MIN_SECONDS), 16000)
    sf.write(root / "long_pcm.wav", sine(200, 16000, 3.0), 16000, subtype="PCM_16")
    assert probe_audio(root / "nan_middle.wav")["status"] == "non_finite"
    assert "frame 24000" in probe_audio(root / "nan_middle.wav")["message"]
    for name in ("short.wav", "short_8k.wav"):
        row = probe_audio(root / name)
        assert row["status"] == "too_short", row
        assert "need at least 960" in row["message"]
    assert probe_audio(root / "just_long_enough.wav")["status"] == "ok"
    assert probe_audio(root / "long_pcm.wav")["status"] == "ok"

    names = ["nan_middle", "short", "short_8k", "just_long_enough", "long_pcm"]
    pd.DataFrame(
        {"utterance_id": names, "audio_path": [str(root / f"{n}.wav") for n in names]}
    ).to_parquet(root / "utterances.parquet", index=False)
    index = write_audio_index(root / "utterances.parquet", root / "idx.parquet", on_error="exclude")
    assert index["status"].tolist() == ["non_finite", "too_short", "too_short", "ok", "ok"]
    # the stage after the index meets only files it can use: finite eGeMAPS for every ok row
    feats = compute_egemaps(index)
    assert feats["utterance_id"].tolist() == ["just_long_enough", "long_pcm"]
    assert np.isfinite(feats.drop(columns="utterance_id").to_numpy()).all()
