"""Benchmark the label stage on an MSP-PODCAST-sized native corpus.

    python benchmarks/bench_labels.py [--utterances 150000] [--lines 1000000] [--seed 0]
                                      [--root DIR] [--keep] [--no-write]

Writes ``Labels/labels_consensus.csv`` and ``Labels/labels_detailed.csv`` (``--utterances``
clips, ``--lines`` worker lines) into a temporary folder (or reads an existing corpus with
``--root``), then - in a fresh Python process, so the peak memory counts only the measured work -
times ``parse_corpus("msp-podcast", root)``, ``build_label_tables(...)`` and writing the eight
Parquet tables, and reports their wall times and the process's peak resident memory (``VmHWM``
on Linux, else ``ru_maxrss``; the figure right after the imports is given separately).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from benchmark_row import print_row

PRIMARY = ("Angry", "Sad", "Happy", "Surprise", "Fear", "Disgust", "Contempt", "Neutral")
PRIOR = np.array([0.08, 0.09, 0.20, 0.05, 0.02, 0.03, 0.04, 0.49])
SECONDARY = ("Frustrated", "Annoyed", "Amused", "Concerned", "Confused", "Excited", "Depressed")
OTHERS = ("Other-bored", "Other-Tired", "Other-sarcastic", "Other-curious", "Other")
#: Study sizes of MSP-PODCAST 1.11: Train, Development, Test1, Test2.
SPLIT_SIZES = {"Train": 84_030, "Development": 19_815, "Test1": 30_647, "Test2": 14_815}


def generate(root: Path, n_utt: int, n_lines: int, seed: int) -> None:
    """Write a synthetic MSP-PODCAST ``Labels/`` folder: every clip gets at least one worker
    line; votes follow a per-clip preferred emotion (55 %) or the class prior; ~4 % "Other-..."
    primaries; repeated workers per clip occur as in the release."""
    if n_lines < n_utt:
        raise SystemExit(f"--lines ({n_lines}) must be >= --utterances ({n_utt})")
    rng = np.random.default_rng(seed)
    names = np.array([f"MSP-PODCAST_{i // 40 + 1:04d}_{i % 40 + 1:04d}.wav" for i in range(n_utt)])
    speakers = rng.integers(1, 3000, size=n_utt)
    spk = np.where(rng.random(n_utt) < 0.1, "Unknown", speakers.astype(str))
    gender = np.where(spk == "Unknown", "Unknown", np.where(speakers % 2 == 0, "Female", "Male"))
    sizes = np.array(list(SPLIT_SIZES.values()), dtype=float)
    split = rng.choice(list(SPLIT_SIZES), size=n_utt, p=sizes / sizes.sum())
    preferred = rng.choice(len(PRIMARY), size=n_utt, p=PRIOR)
    labels_dir = root / "Labels"
    labels_dir.mkdir(parents=True, exist_ok=True)
    consensus = ["FileName,EmoClass,EmoAct,EmoVal,EmoDom,SpkrID,Gender,Split_Set"]
    codes = np.array(list("ASHUFDCN"))[preferred]
    consensus += [
        f"{n},{c},4.0,4.0,4.0,{s},{g},{p}"
        for n, c, s, g, p in zip(names, codes, spk, gender, split, strict=True)
    ]
    (labels_dir / "labels_consensus.csv").write_text("\n".join(consensus) + "\n")

    clip = np.sort(np.concatenate([np.arange(n_utt), rng.integers(0, n_utt, n_lines - n_utt)]))
    worker = rng.integers(0, 12_000, size=n_lines)
    label = np.where(
        rng.random(n_lines) < 0.55,
        preferred[clip],
        rng.choice(len(PRIMARY), size=n_lines, p=PRIOR),
    )
    primary = np.array(PRIMARY, dtype=object)[label]
    other = rng.random(n_lines) < 0.04
    primary[other] = np.array(OTHERS, dtype=object)[rng.integers(0, len(OTHERS), other.sum())]
    n_sec = rng.integers(0, 3, size=n_lines)
    sec_a = np.array(SECONDARY, dtype=object)[rng.integers(0, len(SECONDARY), n_lines)]
    sec_b = np.array(SECONDARY, dtype=object)[rng.integers(0, len(SECONDARY), n_lines)]
    act, val, dom = (rng.integers(1, 8, size=n_lines) for _ in range(3))
    lines = ["FileName,EmoDetail"]
    for i in range(n_lines):
        sec = "" if n_sec[i] == 0 else sec_a[i] if n_sec[i] == 1 else f"{sec_a[i]},{sec_b[i]}"
        lines.append(
            f'{names[clip[i]]},"WORKER{worker[i]:05d}; {primary[i]}; {sec}; '
            f'A:{act[i]}.0; V:{val[i]}.0; D:{dom[i]}.0;"'
        )
    (labels_dir / "labels_detailed.csv").write_text("\n".join(lines) + "\n")


def _maxrss_mb() -> float:
    """Peak resident memory of this process in MB: ``VmHWM`` of /proc/self/status on Linux (the
    high-water mark of this program's own memory map; ``ru_maxrss`` would also carry the RSS of
    the parent at fork/exec), else ``ru_maxrss``."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0  # kB
    scale = 1024.0 if sys.platform != "darwin" else 1024.0 * 1024.0  # kB (Linux) or bytes
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale


def measure(root: Path, write: bool) -> dict:
    """Time parse / build / write in this process; returns the figures."""
    from serrules.corpora import parse_corpus
    from serrules.labels.label_tables import (
        build_label_tables,
        label_table_paths,
        write_label_tables,
    )

    baseline = _maxrss_mb()
    t0 = time.perf_counter()
    parsed = parse_corpus("msp-podcast", root)
    t1 = time.perf_counter()
    tables = build_label_tables(parsed, "msp-podcast")
    t2 = time.perf_counter()
    t3 = t2
    if write:
        with tempfile.TemporaryDirectory(prefix="bench_labels_out_") as out:
            write_label_tables(tables, label_table_paths(out), "msp-podcast", "msp-podcast")
            t3 = time.perf_counter()
    return {
        "ratings_rows": len(parsed.ratings),
        "utterances": len(parsed.utterances),
        "kept": {rule: len(df) for rule, df in tables.labels.items()},
        "exclusions": tables.exclusions["reason"].value_counts().to_dict(),
        "parse_s": t1 - t0,
        "build_s": t2 - t1,
        "write_s": t3 - t2 if write else None,
        "total_s": t3 - t0,
        "baseline_rss_mb": baseline,
        "peak_rss_mb": _maxrss_mb(),
    }


def report(fig: dict) -> None:
    print(f"ratings rows                  {fig['ratings_rows']:>12,}")
    print(f"utterances                    {fig['utterances']:>12,}")
    print("kept (MR / PR / AR)           " + " / ".join(f"{v:,}" for v in fig["kept"].values()))
    print(f"exclusions                    {fig['exclusions']}")
    print(f"parse_corpus                  {fig['parse_s']:>9.2f} s")
    print(f"build_label_tables            {fig['build_s']:>9.2f} s")
    if fig["write_s"] is not None:
        print(f"write 8 Parquet tables        {fig['write_s']:>9.2f} s")
    print(f"total                         {fig['total_s']:>9.2f} s")
    print(
        f"peak RSS                      {fig['peak_rss_mb']:>9.0f} MB "
        f"(after imports: {fig['baseline_rss_mb']:.0f} MB)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--utterances", type=int, default=150_000)
    ap.add_argument("--lines", type=int, default=1_000_000, help="worker lines in labels_detailed")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--root", type=Path, help="use this corpus root instead of generating one")
    ap.add_argument("--keep", action="store_true", help="keep the generated corpus (path printed)")
    ap.add_argument("--no-write", action="store_true", help="do not time the Parquet writing")
    ap.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # child processes
    ap.add_argument("--generate", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.generate is not None:
        generate(args.generate, args.utterances, args.lines, args.seed)
        return
    if args.measure is not None:
        print(json.dumps(measure(args.measure, not args.no_write)))
        return

    tmp = None
    root = args.root
    if root is None:
        tmp = tempfile.mkdtemp(prefix="bench_labels_")
        root = Path(tmp)
        t = time.perf_counter()
        subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--generate", str(root)]
            + ["--utterances", str(args.utterances), "--lines", str(args.lines)]
            + ["--seed", str(args.seed)],
            check=True,
        )
        print(
            f"generated {args.utterances:,} clips / {args.lines:,} worker lines in "
            f"{time.perf_counter() - t:.1f} s ({root})"
        )
    try:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--measure", str(root)]
        if args.no_write:
            cmd.append("--no-write")
        out = subprocess.run(cmd, check=True, capture_output=True, text=True)
        figures = json.loads(out.stdout.strip().splitlines()[-1])
        report(figures)
        print_row(
            f"parse + aggregate an MSP-PODCAST-layout release ({args.utterances:,} clips, "
            f"{args.lines:,} rater lines)",
            f"{figures['total_s']:.1f} s (parse {figures['parse_s']:.1f} s, label tables "
            f"{figures['build_s']:.1f} s"
            + (f", write {figures['write_s']:.1f} s" if figures["write_s"] is not None else "")
            + f"), peak RSS {figures['peak_rss_mb']:,.0f} MB",
        )
    finally:
        if tmp is not None and not args.keep:
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
