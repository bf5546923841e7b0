"""Audio index and eGeMAPS extraction speed on synthetic 3 s utterances.

Usage: ``python benchmarks/bench_egemaps.py --n 300 --one-core`` (one core);
``python benchmarks/bench_egemaps.py --n 300 --workers 1 2`` (speed-up per core: one extraction
process per core, as the ``egemaps_features`` job runs with its threads).
Prints files/s of the audio index, utterances/s of eGeMAPS extraction (reading and resampling
included) per worker count and the time of a cached rerun.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf
from benchmark_row import pin_to_one_core, print_row

from serrules.audio.features import write_egemaps
from serrules.audio.loading import write_audio_index


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=300, help="utterances")
    parser.add_argument("--rate", type=int, default=16000, help="sample rate of the files")
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each utterance")
    parser.add_argument("--workers", type=int, nargs="+", default=[1], help="process counts")
    parser.add_argument("--one-core", action="store_true", help="run on the first CPU only")
    args = parser.parse_args()
    if args.one_core:
        pin_to_one_core()
    results = []

    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        rng = np.random.default_rng(0)
        t = np.arange(int(args.seconds * args.rate)) / args.rate
        for i in range(args.n):
            f0 = 100 + 150 * rng.random()
            x = 0.2 * (1 + np.sin(2 * np.pi * 4 * t)) * np.sin(2 * np.pi * f0 * t)
            x += 0.01 * rng.standard_normal(len(t))
            sf.write(d / f"u{i}.wav", x.astype(np.float32), args.rate)
        pd.DataFrame(
            {
                "utterance_id": [f"u{i}" for i in range(args.n)],
                "audio_path": [str(d / f"u{i}.wav") for i in range(args.n)],
            }
        ).to_parquet(d / "utt.parquet")
        t0 = time.perf_counter()
        write_audio_index(d / "utt.parquet", d / "idx.parquet")
        t1 = time.perf_counter()
        print(
            f"{args.n} utterances of {args.seconds:g} s at {args.rate} Hz: "
            f"audio index {args.n / (t1 - t0):.0f} files/s"
        )
        results.append(f"audio index {args.n / (t1 - t0):,.0f} files/s")
        base = None
        for workers in args.workers:
            out = d / f"eg{workers}.parquet"
            t2 = time.perf_counter()
            write_egemaps(d / "idx.parquet", out, workers=workers)
            t3 = time.perf_counter()
            write_egemaps(d / "idx.parquet", out, workers=workers)
            t4 = time.perf_counter()
            rate = args.n / (t3 - t2)
            base = base or rate
            print(
                f"eGeMAPS, {workers} worker(s): {rate:.1f} utt/s "
                f"(x{rate / base:.2f} of {args.workers[0]} worker(s)), cached rerun {t4 - t3:.2f} s"
            )
            processes = "1 process" if workers == 1 else f"{workers} processes"
            results.append(f"eGeMAPS with {processes} {rate:.1f} utterances/s")
    cores = "one core" if args.one_core else f"{len(os.sched_getaffinity(0))} cores"
    print_row(
        f"audio index and eGeMAPS extraction, {args.n} utterances of {args.seconds:g} s, {cores}",
        "; ".join(results),
    )


if __name__ == "__main__":
    main()
