"""Decoding + resampling speed of three loaders, each returning 16 kHz mono float32:

* ``load_audio``: :func:`serrules.audio.loading.load_audio` (libsndfile decode +
``librosa.resample``);
* ``librosa.load``: the study authors' loader (its own decode path + the same soxr_hq resampler);
* ``sf+resample_poly``: libsndfile decode + scipy's polyphase ``resample_poly`` (the pipeline's
  earlier resampler).

Usage: ``python benchmarks/bench_audio_decode.py --n 200 --one-core``. Synthetic
6 s files at 16 kHz (IEMOCAP, MSP-PODCAST, CREMA-D: no resampling) and 44.1 kHz (MSP-IMPROV's
rate), cropped to 12 s (i.e. whole) as in training. Also prints the largest sample difference
between load_audio and librosa.load.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf
from benchmark_row import pin_to_one_core, print_row
from scipy.signal import resample_poly

from serrules.audio.loading import load_audio


def _time(fn, paths) -> tuple[float, list[np.ndarray]]:
    fn(paths[0])  # warm-up (librosa's first call compiles and loads its resampler)
    start = time.perf_counter()
    out = [fn(p) for p in paths]
    return len(paths) / (time.perf_counter() - start), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=200, help="files per rate")
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--max-seconds", type=float, default=12.0)
    parser.add_argument("--one-core", action="store_true", help="run on the first CPU only")
    args = parser.parse_args()
    if args.one_core:
        pin_to_one_core()
    results = []
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        for rate in (16000, 44100):
            paths = []
            for i in range(args.n):
                x = 0.1 * rng.standard_normal(int(args.seconds * rate)).astype(np.float32)
                path = Path(tmp) / f"r{rate}_{i}.wav"
                sf.write(path, x, rate, subtype="PCM_16")
                paths.append(path)
            ours, a = _time(lambda p: load_audio(p, 16000, args.max_seconds), paths)
            theirs, b = _time(
                lambda p: librosa.load(p, sr=16000, mono=True, duration=args.max_seconds)[0],
                paths,
            )
            poly, _ = _time(lambda p, r=rate: _sf_resample_poly(p, r), paths)
            diff = max(float(np.max(np.abs(x - y))) for x, y in zip(a, b, strict=True))
            print(
                f"{rate} Hz -> 16 kHz, {args.seconds:g} s files: load_audio {ours:.0f} files/s, "
                f"librosa.load {theirs:.0f} files/s, sf+resample_poly {poly:.0f} files/s; "
                f"max |load_audio - librosa.load| {diff:.1e} (librosa {librosa.__version__})"
            )
            results.append(
                f"{rate / 1000:g} kHz: `load_audio` {ours:.0f} files/s, `librosa.load` "
                f"{theirs:.0f}, scipy `resample_poly` {poly:.0f}; largest sample difference "
                f"`load_audio` vs `librosa.load` {diff:.1e}"
            )
    print_row(
        f"decode + resample to 16 kHz, {args.seconds:g} s files, "
        + ("one core" if args.one_core else f"{len(os.sched_getaffinity(0))} cores"),
        "; ".join(results),
    )


def _sf_resample_poly(path: Path, rate: int) -> np.ndarray:
    x = sf.read(path, dtype="float32")[0]
    if rate == 16000:
        return x
    g = np.gcd(16000, rate)
    return resample_poly(x, 16000 // g, rate // g).astype(np.float32)


if __name__ == "__main__":
    main()
