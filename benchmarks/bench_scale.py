"""Scale benchmark: the workflow on a native-layout MSP-PODCAST release of N clips.

    nice -n 10 python benchmarks/bench_scale.py --clips 10000 [--root /tmp/scale] [--keep]
        [--reuse] [--egemaps-shards 2] [--shard-utterances 1000] [--train] [--planning-only]
        [--repeat 5]

Writes a release in the native MSP-PODCAST layout under ``--root`` (default: a new folder in
/tmp): ``Labels/labels_consensus.csv`` and ``Labels/labels_detailed.csv`` from
``bench_labels.generate`` (about 6.5 rater lines per clip as in release 1.11, ~4 % "Other-..."
votes, repeated workers, the 1.11 split shares) and one 0.3-1.0 s 16 kHz PCM_16 WAV per clip in
``Audios/`` (noise under a syllable-rate envelope). Then, in a work folder beside it, with one
``source: release`` corpus and the eGeMAPS model, it runs and times, each as its own Snakemake
call:

* planning ``snakemake -n all`` before anything is built and once the audio index exists;
* the label stage (``label_tables``, then ``majority_labels``) and the audio check
  (``audio_index``): wall time of the Snakemake call, and the job's own seconds and peak RSS from
  its ``benchmark:`` file;
* once the audio index exists, ``--repeat`` times in turn (default 5; the median is printed with
  the range): planning, the no-op rerun (``snakemake --cores 2`` of the audio index: "Nothing to
  be done"), the planning of the demo (the shipped config, in its own folder) and ``snakemake
  --version`` (Snakemake's own start-up); later a no-op rerun of the eGeMAPS table;
* ``serrules score`` of a random system against a second one on the test part (paired p-value,
  1000 resamples);
* ``--egemaps-shards K`` eGeMAPS shards (``egemaps_shard`` jobs): seconds and peak RSS per shard,
  the per-core rate and the full extraction extrapolated from it (labelled as such);
* the gather step (``egemaps_features``) at full size, over synthetic shard tables (random
  functionals, the real shard layout) written for the shards not computed;
* with ``--train``: one eGeMAPS training fold (AR, fold 1) on that table.

Peak memory of a Snakemake call itself (planning, no-op) and of ``serrules score`` is the
children's ``ru_maxrss``; of a job, its ``benchmark:`` file's ``max_rss``. Every figure depends
on the machine's load: the ``uptime`` load averages are printed with them.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
from bench_labels import generate as generate_labels  # noqa: E402
from benchmark_row import print_row  # noqa: E402

CORPUS = "podcast"
RATER_LINES_PER_CLIP = 974_918 / 150_000  # MSP-PODCAST 1.11-sized release
RATE = 16_000
# runs a command and prints its children's peak RSS (kB) as the last stderr line
_MEASURE = (
    "import resource, subprocess, sys\n"
    "rc = subprocess.run(sys.argv[1:]).returncode\n"
    "print('MAXRSS_KB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(rc)\n"
)


def clip_names(n: int) -> list[str]:
    """The clip names bench_labels.generate writes, in its order."""
    return [f"MSP-PODCAST_{i // 40 + 1:04d}_{i % 40 + 1:04d}.wav" for i in range(n)]


def write_audio(root: Path, n: int, seed: int, pool: int = 512) -> None:
    """One 0.3-1.0 s 16 kHz PCM_16 WAV per clip in ``Audios/``: ``pool`` distinct signals
    (lengths uniform in 0.3-1.0 s, noise under a 3-6 Hz syllable envelope) encoded once, each
    clip's file written from one of them (writing 150,000 files is then bound by the file
    system, not by encoding)."""
    import io

    import soundfile as sf

    rng = np.random.default_rng(seed + 1)
    blobs = []
    for _ in range(pool):
        length = int(rng.integers(int(0.3 * RATE), int(1.0 * RATE) + 1))
        t = np.arange(length) / RATE
        envelope = 0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(3, 6) * t)
        buffer = io.BytesIO()
        sf.write(buffer, 0.2 * envelope * rng.standard_normal(length), RATE, "PCM_16", format="WAV")
        blobs.append(buffer.getvalue())
    audio = root / "Audios"
    audio.mkdir(parents=True, exist_ok=True)
    for name, k in zip(clip_names(n), rng.integers(0, pool, size=n), strict=True):
        (audio / name).write_bytes(blobs[k])


def write_release(root: Path, n: int, seed: int) -> float:
    t0 = time.perf_counter()
    generate_labels(root, n, max(n, round(n * RATER_LINES_PER_CLIP)), seed)
    write_audio(root, n, seed)
    return time.perf_counter() - t0


def write_workdir(workdir: Path, root: Path, per_shard: int | None) -> None:
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["corpora"] = {CORPUS: {"format": "msp-podcast", "source": "release", "root": str(root)}}
    config["model"]["name"] = "egemaps-mlp"
    config["training"].update(num_workers=0)
    if per_shard is not None:
        config["audio"]["egemaps_shard_utterances"] = per_shard
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def measured(cmd: list[str], cwd: Path | None = None) -> dict:
    """Wall seconds, peak RSS (MB, children) and output of one command."""
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", _MEASURE, *cmd], cwd=cwd, capture_output=True, text=True
    )
    wall = time.perf_counter() - t0
    lines = proc.stderr.rstrip().splitlines()
    rss = int(lines[-1].split()[1]) / 1024 if lines and lines[-1].startswith("MAXRSS_KB") else None
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return {"wall_s": wall, "peak_mb": rss, "out": proc.stdout + proc.stderr}


def snakemake(workdir: Path, *args: str) -> dict:
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile")]
    return measured([*cmd, "--directory", str(workdir), *args])


def job_benchmark(workdir: Path, rel: str) -> dict:
    """Seconds and peak RSS (MB) of a job from its ``benchmark:`` file."""
    row = pd.read_csv(workdir / "results/benchmarks" / rel, sep="\t").iloc[-1]
    return {"job_s": float(row["s"]), "job_peak_mb": float(row["max_rss"])}


def load() -> str:
    """The 1, 5 and 15 minute load averages, as ``1.60 2.20 1.79``."""
    path = Path("/proc/loadavg")
    return " ".join(path.read_text().split()[:3]) if path.exists() else "n/a"


def score_system(workdir: Path) -> dict:
    """`serrules score` of a random system against another on the test part (paired p)."""
    res = workdir / "results" / CORPUS
    folds = pd.read_parquet(res / "folds.parquet")
    index = pd.read_parquet(res / "audio_index.parquet")
    ok = set(index.loc[index["status"] == "ok", "utterance_id"].astype(str))
    ids = sorted(set(folds.loc[folds["part"] == "test", "utterance_id"].astype(str)) & ok)
    classes = [
        c[len("votes_") :]
        for c in pd.read_parquet(res / "utterances.parquet").columns
        if c.startswith("votes_")
    ]
    rng = np.random.default_rng(0)
    files = []
    for name in ("system_a", "system_b"):
        p = rng.dirichlet(np.ones(len(classes)), size=len(ids)).astype(np.float32)
        frame = pd.DataFrame(p, columns=[f"p_{c}" for c in classes])
        frame.insert(0, "utterance_id", ids)
        files.append(workdir / f"{name}.parquet")
        frame.to_parquet(files[-1], index=False)
    cmd = [sys.executable, "-m", "serrules.cli", "score", "--labels", str(res), str(files[0])]
    fig = measured([*cmd, "--against", str(files[1]), "--n-bootstrap", "1000"])
    fig["n_test"] = len(ids)
    return fig


def planning(workdir: Path) -> dict:
    return snakemake(workdir, "-n", "all", "--quiet")


def repeated_calls(workdir: Path, demo: Path, repeat: int) -> dict[str, dict]:
    """Planning, the no-op rerun, the demo's planning and ``snakemake --version``, each run
    ``repeat`` times in turn (so that all see the same load): the median call of each, with its
    range over the runs (``walls``)."""
    target = f"results/{CORPUS}/audio_index.parquet"
    calls = {
        "plan_built": lambda: planning(workdir),
        "noop": lambda: snakemake(workdir, "--cores", "2", target),
        "plan_demo": lambda: planning(demo),
        "version": lambda: measured([sys.executable, "-m", "snakemake", "--version"]),
    }
    runs: dict[str, list[dict]] = {name: [] for name in calls}
    for _ in range(repeat):
        for name, call in calls.items():
            runs[name].append(call())
    for fig in runs["noop"]:
        if "Nothing to be done" not in fig["out"]:
            raise SystemExit("the no-op rerun did something:\n" + fig["out"][-3000:])
    figures = {}
    for name, figs in runs.items():
        walls = sorted(f["wall_s"] for f in figs)
        figures[name] = {**sorted(figs, key=lambda f: f["wall_s"])[len(figs) // 2], "walls": walls}
    return figures


def label_and_audio(workdir: Path, figures: dict) -> None:
    res = f"results/{CORPUS}"
    figures["label_tables"] = snakemake(workdir, "--cores", "2", f"{res}/labels_AR.parquet")
    figures["label_tables"].update(job_benchmark(workdir, f"label_tables/{CORPUS}.tsv"))
    figures["majority_labels"] = snakemake(workdir, "--cores", "2", f"{res}/labels_MR.parquet")
    figures["audio_index"] = snakemake(workdir, "--cores", "2", f"{res}/audio_index.parquet")
    figures["audio_index"].update(job_benchmark(workdir, f"audio_index/{CORPUS}.tsv"))


def row(name: str, fig: dict | None, note: str = "") -> str:
    if fig is None:
        return f"| {name} | - | - | - | {note} |"
    job = f"{fig['job_s']:.1f} s, {fig['job_peak_mb']:.0f} MB" if "job_s" in fig else "-"
    peak = f"{fig['peak_mb']:.0f} MB" if fig.get("peak_mb") is not None else "-"
    wall = f"{fig['wall_s']:.1f} s"
    if len(fig.get("walls", ())) > 1:
        wall += f" (median of {len(fig['walls'])}: {fig['walls'][0]:.1f}-{fig['walls'][-1]:.1f} s)"
    return f"| {name} | {wall} | {peak} | {job} | {note} |"


def synthetic_shards(workdir: Path, first: int, per_shard: int) -> int:
    """Shard tables from ``first`` on, written by the real shard writer with random functionals
    instead of openSMILE (for timing the gather at full size); returns the shard count."""
    import serrules.audio.features as features
    from serrules.audio.sharding import egemaps_shard_count

    res = workdir / "results" / CORPUS
    index = pd.read_parquet(res / "audio_index.parquet")
    rng = np.random.default_rng(0)
    names = list(features.egemaps_extractor().feature_names)

    def fake(ok: pd.DataFrame, **_: object) -> pd.DataFrame:
        frame = pd.DataFrame(
            rng.standard_normal((len(ok), len(names))).astype(np.float32), columns=names
        )
        frame.insert(0, "utterance_id", pd.array(ok["utterance_id"].astype(str), dtype="string"))
        return frame

    real, features.compute_egemaps = features.compute_egemaps, fake
    try:
        n = egemaps_shard_count(len(index), per_shard)
        for k in range(first, n):
            features.write_egemaps_shard(
                res / "audio_index.parquet",
                res / f"features/egemaps_shards/{k}.parquet",
                shard=k,
                per_shard=per_shard,
                max_seconds=12.0,
            )
    finally:
        features.compute_egemaps = real
    return n


def egemaps_stages(args: argparse.Namespace, workdir: Path, figures: dict) -> None:
    res = f"results/{CORPUS}"
    config = yaml.safe_load((workdir / "config.yaml").read_text())
    per_shard = config["audio"].get("egemaps_shard_utterances", 5000)
    shards = [f"{res}/features/egemaps_shards/{k}.parquet" for k in range(args.egemaps_shards)]
    figures["egemaps_shards"] = snakemake(workdir, "--cores", "2", *shards)
    index = pd.read_parquet(workdir / res / "audio_index.parquet")
    per = []
    for k in range(args.egemaps_shards):
        bench = job_benchmark(workdir, f"egemaps_shard/{CORPUS}/{k}.tsv")
        part = index.iloc[k * per_shard : (k + 1) * per_shard]
        per.append({**bench, "n_ok": int((part["status"] == "ok").sum())})
    figures["egemaps_per_shard"] = per
    figures["n_ok"] = int((index["status"] == "ok").sum())
    figures["n_shards"] = synthetic_shards(workdir, args.egemaps_shards, per_shard)
    figures["egemaps_gather"] = snakemake(
        workdir, "--cores", "2", f"{res}/features/egemaps.parquet"
    )
    figures["egemaps_gather"].update(job_benchmark(workdir, f"egemaps_features/{CORPUS}.tsv"))
    figures["noop_egemaps"] = snakemake(workdir, "--cores", "2", f"{res}/features/egemaps.parquet")
    if args.train:
        target = f"{res}/models/AR/fold1/predictions.parquet"
        figures["train_fold"] = snakemake(workdir, "--cores", "2", target)
        figures["train_fold"].update(job_benchmark(workdir, f"train_fold/{CORPUS}/AR_fold1.tsv"))


def run_stages(args: argparse.Namespace, workdir: Path, figures: dict) -> None:
    figures["plan_fresh"] = planning(workdir)
    label_and_audio(workdir, figures)
    demo = workdir.parent / "demo-work"  # the shipped config (4 demo corpora), nothing built
    demo.mkdir(exist_ok=True)
    shutil.copy(REPO / "config.yaml", demo / "config.yaml")
    figures.update(repeated_calls(workdir, demo, args.repeat))
    if args.planning_only:
        return
    figures["score"] = score_system(workdir)
    if args.egemaps_shards > 0:
        egemaps_stages(args, workdir, figures)
        figures["plan_all_built"] = planning(workdir)


def print_table(f: dict) -> None:
    print(
        f"\n{f['clips']:,} clips; load averages (1, 5, 15 min) at start {f['load_start']}, "
        f"at end {f['load_end']}\n"
    )
    print("| step | wall (Snakemake call) | peak RSS (call) | job (benchmark: file) | note |")
    print("| --- | --- | --- | --- | --- |")
    print(row("`snakemake -n all`, nothing built", f["plan_fresh"]))
    print(row("label stage (`label_tables`)", f["label_tables"]))
    print(row("MR labels and label loss (`majority_labels`)", f["majority_labels"]))
    print(row("`audio_index`", f["audio_index"]))
    ratio = f["plan_built"]["wall_s"] / f["plan_demo"]["wall_s"]
    print(row("`snakemake -n all`, audio index built", f["plan_built"], f"{ratio:.2f}x the demo's"))
    print(row("no-op rerun (audio index target)", f["noop"]))
    print(row("`snakemake -n all`, demo (shipped config), nothing built", f["plan_demo"]))
    print(row("`snakemake --version` (Snakemake's start-up)", f["version"]))
    if "score" in f:
        print(
            row(
                "`serrules score`, 2 systems, 1000 resamples",
                f["score"],
                f"{f['score']['n_test']:,} test utterances",
            )
        )
    for k, shard in enumerate(f.get("egemaps_per_shard", [])):
        rate = shard["n_ok"] / shard["job_s"]
        print(
            f"| eGeMAPS shard {k} ({shard['n_ok']:,} utt., 1 core) | - | - | "
            f"{shard['job_s']:.1f} s, {shard['job_peak_mb']:.0f} MB | {rate:.1f} utt/s |"
        )
    if "egemaps_per_shard" in f:
        per = f["egemaps_per_shard"]
        rate = sum(s["n_ok"] for s in per) / sum(s["job_s"] for s in per)
        total = f["n_ok"] / rate
        print(
            f"| eGeMAPS, all {f['n_shards']} shards (extrapolated) | - | - | "
            f"{total / 60:.0f} core-min; {total / 120:.0f} min on 2 cores | "
            f"extrapolated from {rate:.1f} utt/s per core |"
        )
        print(
            row(
                "eGeMAPS gather (`egemaps_features`), full size",
                f["egemaps_gather"],
                "synthetic shard contents",
            )
        )
        print(row("no-op rerun (eGeMAPS table target)", f["noop_egemaps"]))
    if "train_fold" in f:
        print(
            row("one eGeMAPS training fold (AR, fold 1)", f["train_fold"], "synthetic functionals")
        )
    if "plan_all_built" in f:
        print(row("`snakemake -n all`, eGeMAPS built", f["plan_all_built"]))


def summary(f: dict) -> str:
    """The row's result: the medians of planning, no-op and start-up, and the stages run."""
    parts = [
        f"`snakemake -n all` {f['plan_built']['wall_s']:.1f} s once the audio index is built "
        f"(the demo {f['plan_demo']['wall_s']:.1f} s, `snakemake --version` "
        f"{f['version']['wall_s']:.1f} s), no-op rerun {f['noop']['wall_s']:.1f} s, medians of "
        f"{len(f['version']['walls'])}"
    ]
    for key, name in (("label_tables", "label stage"), ("audio_index", "audio check")):
        if key in f and "job_s" in f[key]:
            parts.append(f"{name} {f[key]['job_s']:.1f} s, {f[key]['job_peak_mb']:,.0f} MB")
    if "score" in f:
        parts.append(f"`serrules score` {f['score']['wall_s']:.1f} s")
    return "; ".join(parts) + " (per stage: docs/scale.md)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clips", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--root", type=Path, help="folder of the release and the work folder")
    ap.add_argument("--keep", action="store_true", help="keep the generated files")
    ap.add_argument("--reuse", action="store_true", help="reuse a release already at --root")
    ap.add_argument("--planning-only", action="store_true", help="only planning and no-op times")
    ap.add_argument("--egemaps-shards", type=int, default=2, help="eGeMAPS shards to compute")
    ap.add_argument("--shard-utterances", type=int, help="audio.egemaps_shard_utterances")
    ap.add_argument("--train", action="store_true", help="also train one eGeMAPS fold")
    ap.add_argument("--repeat", type=int, default=5, help="runs of each planning/no-op call")
    args = ap.parse_args()
    top = args.root or Path(tempfile.mkdtemp(prefix=f"serrules_scale_{args.clips}_"))
    release, workdir = top / "MSP-PODCAST", top / "work"
    figures: dict = {"clips": args.clips, "load_start": load()}
    try:
        if not args.reuse:
            figures["generate_s"] = write_release(release, args.clips, args.seed)
            print(f"wrote {args.clips:,} clips to {release} in {figures['generate_s']:.0f} s")
        shutil.rmtree(workdir, ignore_errors=True)
        write_workdir(workdir, release, args.shard_utterances)
        run_stages(args, workdir, figures)
        figures["load_end"] = load()
        print_table(figures)
        print_row(
            f"a {args.clips:,}-clip MSP-PODCAST-layout release: "
            + ("planning" if args.planning_only else "planning, label stage, audio check, ...")
            + f" (load averages {figures['load_start']} at start)",
            summary(figures),
        )
    finally:
        if args.root is None and not args.keep:
            shutil.rmtree(top, ignore_errors=True)


if __name__ == "__main__":
    main()
