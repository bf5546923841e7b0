"""Audio input: one loader used by every stage (16 kHz mono float32, resampled and cropped the same
way for features and training) and the per-corpus audio index (``audio_index.parquet``).

Failure reasons (``AudioError.reason`` and the index's ``status`` column):

* ``missing_file`` - no file at the path (or no path at all);
* ``unreadable``   - libsndfile cannot open or decode the file (corrupt, truncated, not audio);
* ``empty``        - the file holds zero samples;
* ``non_finite``   - NaN or infinite samples (only possible in floating-point files);
* ``too_short``    - fewer samples (at the pipeline rate) than the feature extractor and the model
  need (:data:`MIN_SECONDS`).

The audio index (:func:`write_audio_index`) runs every check once, so that with
``on_error: exclude`` no later stage meets a file it would trip on.
"""

from __future__ import annotations

import logging
import math
import os
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from serrules.base.errors import AudioError
from serrules.base.files import atomic_path
from serrules.base.tables import contract, read_table, write_parquet

log = logging.getLogger(__name__)

#: The pipeline's sample rate (Hz): every stage reads audio at this rate (``audio.sample_rate``
#: in the config schema accepts only this value).
SAMPLE_RATE = 16000

#: Status of an audio file that passed every check.
OK = "ok"
MISSING_FILE = "missing_file"
UNREADABLE = "unreadable"
EMPTY = "empty"
NON_FINITE = "non_finite"
TOO_SHORT = "too_short"
#: Every failure reason, in the order the checks run.
FAILURE_REASONS: tuple[str, ...] = (MISSING_FILE, UNREADABLE, EMPTY, TOO_SHORT, NON_FINITE)

#: Shortest usable signal. openSMILE's eGeMAPSv02 needs one 60 ms analysis frame (measured: 920
#: samples at 16 kHz give 88 NaN functionals, 960 give finite ones); wav2vec2's convolutional
#: front-end needs its 25 ms receptive field (400 samples) for a single frame.
MIN_SECONDS = 0.06

#: Columns of ``audio_index.parquet``, from its table contract.
AUDIO_INDEX_COLUMNS: tuple[str, ...] = tuple(contract("audio_index").column_names())
#: ``on_error`` values accepted by :func:`write_audio_index`.
ON_ERROR_MODES: tuple[str, ...] = ("error", "exclude")

#: Frames decoded at the start and at the end of each PCM file by the index's cheap check.
PROBE_FRAMES = 4096
#: Frames per block when a whole file is decoded by the index (floating-point or compressed
#: files, where NaN/inf or a decoding error can sit anywhere).
SCAN_BLOCK_FRAMES = 1 << 16
#: How many bad file names an error message lists before summarising the rest as a count.
_MAX_NAMED = 5


def _check_rates(sample_rate: int, max_seconds: float | None) -> None:
    if not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0:
        raise ValueError(f"sample_rate must be a positive integer, got {sample_rate!r}")
    if max_seconds is not None and not (max_seconds > 0 and math.isfinite(max_seconds)):
        raise ValueError(f"max_seconds must be a positive number or None, got {max_seconds!r}")


def _resample_factors(rate_in: int, rate_out: int) -> tuple[int, int]:
    """Exact rational ratio ``up/down = rate_out/rate_in`` in lowest terms."""
    g = math.gcd(int(rate_in), int(rate_out))
    return int(rate_out) // g, int(rate_in) // g


def resampled_length(n_samples: int, rate_in: int, rate_out: int) -> int:
    """Number of samples :func:`load_audio` returns for ``n_samples`` at ``rate_in`` (no crop)."""
    up, down = _resample_factors(rate_in, rate_out)
    return -(-int(n_samples) * up // down)


#: Resampler: librosa's default (soxr, high quality), as ``librosa.load(path, sr=16000)`` in the
#: study authors' code; the samples equal librosa.load's exactly. Decoding calls libsndfile
#: directly (librosa.load does too, but falls back to audioread for files libsndfile rejects,
#: which would hide corrupt files, and cannot decode past a crop for the resampler's reach).
#: As fast as librosa.load, faster than scipy's resample_poly (docs/benchmarks.md).
RESAMPLE_TYPE = "soxr_hq"


def _resample_margin(rate_in: int) -> int:
    """Input frames decoded beyond a crop so that the resampler's filter sees the same samples
    as for the whole file (soxr_hq reaches far less than 50 ms)."""
    return rate_in // 20 + 2


def load_audio(
    path: str | os.PathLike[str], sample_rate: int = SAMPLE_RATE, max_seconds: float | None = None
) -> np.ndarray:
    """Read an audio file as float32 mono samples in [-1, 1] at ``sample_rate``.

    Decoded with libsndfile (``soundfile``); channels are averaged; a file at another rate is
    resampled with ``librosa.resample`` (:data:`RESAMPLE_TYPE`; output length
    ``ceil(n * rate_out / rate_in)``), which is what ``librosa.load(path, sr=sample_rate)``
    returns. With ``max_seconds`` only the first ``round(max_seconds * sample_rate)`` output
    samples are kept (files that are shorter are returned whole). Cropping decodes only the needed
    head of the file plus the resampling filter's reach, so the cropped signal equals the head of
    the full resampled signal. Values are clipped to [-1, 1] (resampling ringing can overshoot
    full scale by a little).

    Raises :class:`AudioError` with reason ``missing_file``, ``unreadable``, ``empty`` or
    ``non_finite``; the message names the file.
    """
    _check_rates(sample_rate, max_seconds)
    path = Path(path)
    if not path.is_file():
        raise AudioError(path, MISSING_FILE, "no such file")
    try:
        with sf.SoundFile(path) as f:
            rate_in = int(f.samplerate)
            up, down = _resample_factors(rate_in, sample_rate)
            n_read = -1  # everything
            if max_seconds is not None:
                n_out = round(max_seconds * sample_rate)
                margin = 0 if rate_in == sample_rate else _resample_margin(rate_in)
                n_read = min(f.frames, -(-n_out * down // up) + margin) if f.frames > 0 else -1
            data = f.read(frames=n_read, dtype="float32", always_2d=True)
    except (sf.SoundFileError, RuntimeError, ValueError, OSError) as exc:
        raise AudioError(path, UNREADABLE, str(exc).strip() or type(exc).__name__) from exc
    if data.shape[0] == 0:
        raise AudioError(path, EMPTY, "zero samples")
    signal = data.mean(axis=1, dtype=np.float32) if data.shape[1] > 1 else data[:, 0]
    if not np.isfinite(signal).all():
        n_bad = int((~np.isfinite(signal)).sum())
        raise AudioError(path, NON_FINITE, f"{n_bad} NaN/infinite samples")
    if rate_in != sample_rate:
        import librosa  # imported here: numba start-up is only paid when resampling

        signal = librosa.resample(
            signal, orig_sr=rate_in, target_sr=sample_rate, res_type=RESAMPLE_TYPE
        )
    if max_seconds is not None:
        signal = signal[: round(max_seconds * sample_rate)]
    signal = np.ascontiguousarray(signal, dtype=np.float32)
    np.clip(signal, -1.0, 1.0, out=signal)
    return signal


def _full_scan(f: sf.SoundFile) -> bool:
    """Whether the index must decode the whole file: float samples can be NaN/inf anywhere, and a
    compressed stream can fail to decode anywhere; integer PCM can do neither."""
    return not str(f.subtype).startswith("PCM_") and f.subtype not in ("ULAW", "ALAW")


class _Failed(Exception):
    """A check of :func:`probe_audio` failed: the file's ``status`` and ``message``."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def probe_audio(
    path: str | os.PathLike[str] | None, sample_rate: int = SAMPLE_RATE
) -> dict[str, object]:
    """Check one file for the audio index, once, for everything a later stage would trip on.

    Checks, in order: the path names an existing file (``missing_file``); libsndfile parses the
    header and reports a positive sample rate (``unreadable``); the header reports at least one
    frame (``empty``); resampled to ``sample_rate`` it holds at least :data:`MIN_SECONDS`
    (``too_short``); the samples decode in full (``unreadable``: truncated or garbled data, wrong
    headers) and are finite (``non_finite``). Floating-point and compressed files are decoded
    whole, in blocks of :data:`SCAN_BLOCK_FRAMES`; integer PCM (which cannot hold NaN and has no
    stream to garble) only its first and last :data:`PROBE_FRAMES` frames.

    Returns ``sample_rate``, ``n_samples`` (native rate), ``duration_s``, ``status`` and
    ``message``.
    """
    row: dict[str, object] = {
        "sample_rate": pd.NA,
        "n_samples": pd.NA,
        "duration_s": np.nan,
        "status": OK,
        "message": "",
    }
    try:
        p = _existing_file(path)
        try:
            with sf.SoundFile(p) as f:
                rate, frames = int(f.samplerate), int(f.frames)
                row.update(
                    sample_rate=rate,
                    n_samples=frames,
                    duration_s=frames / rate if rate > 0 else np.nan,
                )
                _check_header(rate, frames, sample_rate)
                ends = _decode_whole(f, frames) if _full_scan(f) else _read_ends(f, frames)
        except (sf.SoundFileError, RuntimeError, ValueError, OSError) as exc:
            raise _Failed(UNREADABLE, str(exc).strip() or type(exc).__name__) from None
        _check_ends(ends, frames)
    except _Failed as failed:
        row.update(status=failed.status, message=failed.message)
    return row


def _existing_file(path: str | os.PathLike[str] | None) -> Path:
    """``path`` as a Path; ``missing_file`` without a path or without a file there."""
    if path is None or pd.isna(path) or str(path) == "":
        raise _Failed(MISSING_FILE, "no audio path")
    p = Path(path)
    if not p.is_file():
        raise _Failed(MISSING_FILE, f"no such file: {p}")
    return p


def _check_header(rate: int, frames: int, sample_rate: int) -> None:
    """The header's rate is positive (``unreadable``), it reports frames (``empty``) and enough
    of them at ``sample_rate`` (``too_short``)."""
    if rate <= 0:
        raise _Failed(UNREADABLE, f"sample rate {rate} in header")
    if frames <= 0:
        raise _Failed(EMPTY, "zero samples in header")
    need = math.ceil(MIN_SECONDS * sample_rate)
    have = resampled_length(frames, rate, sample_rate)
    if have < need:
        raise _Failed(
            TOO_SHORT,
            f"{have} samples at {sample_rate} Hz ({frames / rate:.4f} s); "
            f"eGeMAPS and wav2vec2 need at least {need} ({MIN_SECONDS} s)",
        )


def _decode_whole(f: sf.SoundFile, frames: int) -> list[tuple[int, int, np.ndarray]]:
    """Decode every frame, in blocks: the first non-finite sample is ``non_finite``, fewer
    frames than the header says ``unreadable``. Nothing is left to check (no ends)."""
    done = 0
    for block in f.blocks(blocksize=SCAN_BLOCK_FRAMES, dtype="float32", always_2d=True):
        if not np.isfinite(block).all():
            at = done + int(np.flatnonzero(~np.isfinite(block).all(axis=1))[0])
            raise _Failed(NON_FINITE, f"NaN/infinite sample at frame {at}")
        done += block.shape[0]
    if done != frames:
        raise _Failed(
            UNREADABLE, f"decoded {done} of {frames} frames (header): truncated or corrupt"
        )
    return []


def _read_ends(f: sf.SoundFile, frames: int) -> list[tuple[int, int, np.ndarray]]:
    """``(first frame, frames expected, samples)`` of the first and (where the file can seek)
    the last :data:`PROBE_FRAMES` frames."""
    n_head = min(frames, PROBE_FRAMES)
    ends = [(0, n_head, f.read(frames=n_head, dtype="float32", always_2d=True))]
    if frames > n_head and f.seekable():
        start = frames - min(frames - n_head, PROBE_FRAMES)
        f.seek(start)
        tail = f.read(frames=frames - start, dtype="float32", always_2d=True)
        ends.append((start, frames - start, tail))
    return ends


def _check_ends(ends: list[tuple[int, int, np.ndarray]], frames: int) -> None:
    """Each end read holds the frames expected (``unreadable``), all finite (``non_finite``)."""
    for start, expected, block in ends:
        if block.shape[0] != expected:
            raise _Failed(
                UNREADABLE,
                f"decoded {block.shape[0]} of {expected} frames from frame {start} "
                f"(header says {frames}): truncated or corrupt",
            )
        if not np.isfinite(block).all():
            raise _Failed(NON_FINITE, f"NaN/infinite samples near frame {start}")


def _read_utterances(utterances_path: str | os.PathLike[str]) -> pd.DataFrame:
    """The utterance table; missing columns, null or repeated ids are named by its contract."""
    return read_table(utterances_path, "utterances", columns=["audio_path"])


def build_audio_index(utterances: pd.DataFrame, sample_rate: int = SAMPLE_RATE) -> pd.DataFrame:
    """Probe every utterance's ``audio_path`` (see :func:`probe_audio`); one row per utterance."""
    probes = [probe_audio(p, sample_rate) for p in utterances["audio_path"].tolist()]
    index = pd.DataFrame(probes, columns=list(AUDIO_INDEX_COLUMNS[2:]))
    index.insert(0, "utterance_id", utterances["utterance_id"].astype(str).to_numpy())
    index.insert(1, "audio_path", utterances["audio_path"].astype("string").to_numpy())
    return index.astype(
        {
            "utterance_id": "string",
            "audio_path": "string",
            "sample_rate": "Int64",
            "n_samples": "Int64",
            "duration_s": "float64",
            "status": "string",
            "message": "string",
        }
    )


def write_audio_index(
    utterances_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    *,
    on_error: str = "error",
    sample_rate: int = SAMPLE_RATE,
) -> pd.DataFrame:
    """Check every utterance's audio file and write ``audio_index.parquet``.

    ``sample_rate``/``n_samples``/``duration_s`` describe the file as stored (native rate);
    ``sample_rate`` (the argument) is the rate the pipeline resamples to, used for the summary.
    ``on_error="error"``: after scanning all files, raise :class:`AudioError` for the first bad
    one, with the number of bad files and the first few names (nothing is written).
    ``on_error="exclude"``: keep the bad rows with ``status`` = the reason (downstream stages use
    only ``status == "ok"``), write the index and log a per-reason count.
    """
    if on_error not in ON_ERROR_MODES:
        raise ValueError(f"on_error: unknown value {on_error!r}; expected one of {ON_ERROR_MODES}")
    _check_rates(sample_rate, None)
    utterances = _read_utterances(utterances_path)
    index = build_audio_index(utterances, sample_rate)

    bad = index[index["status"] != OK]
    if len(bad):
        counts = Counter(bad["status"].tolist())
        summary = ", ".join(f"{n} {reason}" for reason, n in sorted(counts.items()))
        named = "; ".join(
            f"{u} -> {p} ({s}: {m})"
            for u, p, s, m in bad[["utterance_id", "audio_path", "status", "message"]]
            .head(_MAX_NAMED)
            .itertuples(index=False)
        )
        if on_error == "error":
            first = bad.iloc[0]
            first_path = first["audio_path"]
            raise AudioError(
                f"<no audio path for {first['utterance_id']}>"
                if pd.isna(first_path)
                else first_path,
                str(first["status"]),
                f"{first['message']}; {len(bad)} of {len(index)} audio files of "
                f"{utterances_path} failed the check ({summary}); first: {named}. "
                "Fix the files and rerun (the audio_index rule takes a digest of the release's "
                "audio listing, so Snakemake redoes it and the stages that read the audio; "
                "`snakemake --forcerun audio_index` forces it), or set audio.on_error: exclude",
            )
        log.warning(
            "%s: excluding %d of %d utterances with unusable audio (%s); first: %s",
            utterances_path,
            len(bad),
            len(index),
            summary,
            named,
        )
    ok = index[index["status"] == OK]
    resampled = int((ok["sample_rate"] != sample_rate).sum())
    log.info(
        "%s: %d usable audio files, %.1f h; %d will be resampled to %d Hz (%d upsampled)",
        utterances_path,
        len(ok),
        float(ok["duration_s"].sum()) / 3600.0,
        resampled,
        sample_rate,
        int((ok["sample_rate"] < sample_rate).sum()),
    )
    with atomic_path(out_path) as tmp:
        write_parquet(index, tmp)
    return index
