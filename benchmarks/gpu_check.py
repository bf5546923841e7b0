"""The study's model on an accelerator, in one prepared check (``benchmarks/gpu_check.sh``).

    python benchmarks/gpu_check.py OUTDIR [--work DIR] [--skip-e2e]

Writes ``OUTDIR/gpu_check.json`` (every figure) and ``OUTDIR/gpu_check.md`` (the same as tables).

* **GPU branch** (``torch.cuda.is_available()``), meant to end within 8 min (``--budget-s``):
  1. training throughput of the full-size wav2vec2-large-robust pruned to 12 layers (random
     weights built from the real configuration, no download; the study's head; batch 32 of
     4-12 s utterances): fp32 + random batches, bf16 + length buckets, fp16 + gradient scaler;
     utterances/s (training steps and no-grad passes) and peak GPU memory of each;
  2. the pipeline's GPU path end to end: a small demo corpus through Snakemake with
     ``model.name: wav2vec2-large-robust-12`` loading a random full-size model from ``models/``
     (laid out as ``python -m serrules.training.pretrained fetch`` does) in offline mode,
     ``--resources gpu=1``, two epochs; checks the GPU lock file and the GPU named in
     ``train_log.csv``; runs the fold again and reports the largest prediction difference
     against :data:`REPEAT_TOLERANCE`;
  3. the study's cost extrapolated from the measured throughput (:data:`STUDY_CORPORA`).
* **CPU branch** (no GPU): says so, runs one forward + backward step of the full-size model at
  batch 2 x 1 s, compares the parameter count with the one the README documents
  (:data:`DOCUMENTED_PARAMETERS`) and reports the peak RSS. Exit 0.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
#: README.md / docs/training.md: pruned 12-layer backbone + head, C = 4.
DOCUMENTED_PARAMETERS = 166_387_332
N_CLASSES = 4
SR = 16000
#: Throughput combinations (precision, batching), as in benchmarks/bench_training.py plus fp16.
COMBINATIONS: tuple[tuple[str, str], ...] = (
    ("fp32", "random"),
    ("bf16", "bucketed"),
    ("fp16", "bucketed"),
)
#: Largest difference accepted between the probabilities of two GPU runs of the same fold
#: (docs/gpu.md): CUDA kernels are not bit-exact, the seed and data order are the same.
REPEAT_TOLERANCE = 1e-3
#: The paper's four corpora: utterances in the study's sets and the train rules' runs.
#: Sources: IEMOCAP 10,039 utterances in 5 sessions (field notes: published totals); MSP-IMPROV
#: 8,385 with the study's labels, 6 sessions (field notes); MSP-PODCAST 1.11 84,030 train +
#: 19,815 dev + 30,647 test1 + 14,815 test2 and BIIC-PODCAST 1.01 48,815 / 10,845 / 10,340
#: (field notes, "sizes in the study"). Folds: the format registry (5 + 6 + 1 + 1), x 3 train
#: rules = 39 fold-runs. The rules' data loss is ignored (every rule counted with all
#: utterances: an upper bound).
STUDY_CORPORA: dict[str, dict[str, int]] = {
    "iemocap": {"utterances": 10_039, "folds": 5},
    "msp-improv": {"utterances": 8_385, "folds": 6},
    "msp-podcast": {"train": 84_030, "dev": 19_815, "test": 30_647 + 14_815, "folds": 1},
    "biic-podcast": {"train": 48_815, "dev": 10_845, "test": 10_340, "folds": 1},
}
PAPER_GPU_HOURS = "around 50 V100 GPU-hours (the paper's text)"
EPOCHS = 50


def environment() -> dict:
    """Versions and the device this check ran on."""
    import transformers

    info = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "cuda_available": torch.cuda.is_available(),
        "cpu_threads": torch.get_num_threads(),
    }
    if torch.cuda.is_available():
        info["gpu_name"] = torch.cuda.get_device_name(0)
        info["gpu_memory_gib"] = round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1)
        info["cuda"] = torch.version.cuda
    return info


def study_model(device: torch.device, seed: int = 0) -> torch.nn.Module:
    """The full-size wav2vec2-large-robust (random weights from its configuration), pruned to 12
    layers with the CNN frozen, and the study's head (the schema's model defaults)."""
    from transformers import Wav2Vec2Model

    from serrules.base.config import schema_defaults
    from serrules.training.models import Wav2Vec2Classifier
    from serrules.training.models.wav2vec2 import configure_backbone, large_robust_config

    torch.manual_seed(seed)
    head = schema_defaults("model")
    with device:  # weights created (and randomly initialised) on the device itself
        backbone = configure_backbone(Wav2Vec2Model(large_robust_config()), 12, True)
        model = Wav2Vec2Classifier(
            backbone,
            N_CLASSES,
            head_hidden=int(head["head_hidden"]),
            dropout=float(head["dropout"]),
        )
    return model


def peak_rss_mib() -> float:
    """Peak resident memory of this process (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def cpu_branch() -> dict:
    """One forward + backward step at batch 2 x 1 s, the parameter count and the peak RSS."""
    from serrules.training.loss import ClassBalancedSoftCrossEntropy

    model = study_model(torch.device("cpu")).train()
    n_params = sum(p.numel() for p in model.parameters())
    rng = np.random.default_rng(0)
    inputs = torch.from_numpy(rng.uniform(-0.5, 0.5, (2, SR)).astype(np.float32))
    targets = np.array([[0.5, 0.5, 0, 0], [0, 0, 1.0, 0]], dtype=np.float32)
    criterion = ClassBalancedSoftCrossEntropy.from_targets(targets, list("abcd"))
    start = time.perf_counter()
    loss = criterion(
        model(inputs, torch.ones_like(inputs, dtype=torch.long)), torch.tensor(targets)
    )
    loss.backward()
    seconds = time.perf_counter() - start
    # LayerDrop (0.1, on in training mode) can skip a layer: its weights then get no gradient
    trainable = [p for p in model.parameters() if p.requires_grad]
    grads = [p.grad for p in trainable if p.grad is not None]
    return {
        "branch": "cpu",
        "note": "no CUDA device: the GPU measurements were not run",
        "step": {
            "batch": "2 x 1 s",
            "seconds": round(seconds, 2),
            "loss": round(float(loss.detach()), 4),
            "trainable_tensors": len(trainable),
            "tensors_with_gradient": len(grads),
            "finite_gradients": bool(grads) and all(bool(torch.isfinite(g).all()) for g in grads),
        },
        "parameters": {
            "counted": n_params,
            "documented": DOCUMENTED_PARAMETERS,
            "equal": n_params == DOCUMENTED_PARAMETERS,
        },
        "peak_rss_mib": peak_rss_mib(),
    }


def make_batches(batching: str, batch_size: int, n_batches: int, seed: int = 0) -> list[dict]:
    """``n_batches`` padded batches of random 4-12 s waveforms with soft targets, drawn by the
    pipeline's own batch sampler (``bucketed``: length buckets; ``random``: plain shuffling)."""
    from serrules.training.batching import BatchSampler, Item, pad_collate

    rng = np.random.default_rng(seed)
    n = batch_size * n_batches
    durations = rng.uniform(4.0, 12.0, size=n)
    targets = rng.dirichlet(np.ones(N_CLASSES), size=n).astype(np.float32)
    sampler = BatchSampler(
        n,
        batch_size,
        torch.Generator().manual_seed(seed),
        lengths=durations,
        bucket_size=n if batching == "bucketed" else None,
    )
    waves = [rng.uniform(-0.5, 0.5, int(d * SR)).astype(np.float32) for d in durations]
    return [pad_collate([Item(i, waves[i], targets[i]) for i in b]) for b in sampler.batches()]


def _autocast(device: torch.device, dtype: torch.dtype | None):
    """Autocast to ``dtype`` on ``device``; no autocast (fp32) for None."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _train_steps(model, batches, precision: str, device: torch.device) -> float:
    """Seconds of one AdamW step per batch (forward, loss, backward, step), synchronised."""
    from serrules.training.loss import ClassBalancedSoftCrossEntropy

    targets = torch.cat([b["targets"] for b in batches]).numpy()
    criterion = ClassBalancedSoftCrossEntropy.from_targets(targets, list("abcd")).to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.01)
    scaler = torch.amp.GradScaler(device.type, enabled=precision == "fp16")
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    model.train()
    _sync(device)
    start = time.perf_counter()
    for batch in batches:
        inputs = batch["inputs"].to(device, non_blocking=True)
        mask = batch["attention_mask"].to(device, non_blocking=True)
        with _autocast(device, dtype):
            loss = criterion(model(inputs, mask), batch["targets"].to(device))
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
    _sync(device)
    return time.perf_counter() - start


def _eval_passes(model, batches, precision: str, device: torch.device) -> float:
    """Seconds of no-grad forward passes over ``batches`` (what dev and test passes cost)."""
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    model.eval()
    _sync(device)
    start = time.perf_counter()
    with torch.no_grad():
        for batch in batches:
            with _autocast(device, dtype):
                model(batch["inputs"].to(device), batch["attention_mask"].to(device))
    _sync(device)
    return time.perf_counter() - start


def throughput(
    device: torch.device | None = None,
    batch_size: int = 32,
    n_batches: int = 6,
    warmup: int = 2,
    build=study_model,
) -> list[dict]:
    """One row per :data:`COMBINATIONS` entry: training and no-grad utterances/s over
    ``n_batches`` timed batches after ``warmup`` untimed ones, and the peak GPU memory, of the
    model ``build(device)`` makes (default: the study's full-size model; device: GPU 0)."""
    device = device or torch.device("cuda", 0)
    cuda = device.type == "cuda"
    rows = []
    for precision, batching in COMBINATIONS:
        batches = make_batches(batching, batch_size, warmup + n_batches)
        real = sum(int(b["attention_mask"].sum()) for b in batches)
        padded = sum(b["attention_mask"].numel() for b in batches)
        if cuda:
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(device)
        model = build(device)
        _train_steps(model, batches[:warmup], precision, device)
        train_s = _train_steps(model, batches[warmup:], precision, device)
        peak = torch.cuda.max_memory_allocated(device) if cuda else float("nan")
        eval_s = _eval_passes(model, batches[warmup:], precision, device)
        timed = batch_size * n_batches
        rows.append(
            {
                "precision": precision + (" + grad scaler" if precision == "fp16" else ""),
                "batching": batching,
                "batch_size": batch_size,
                "timed_utterances": timed,
                "train_utt_per_s": round(timed / train_s, 1),
                "eval_utt_per_s": round(timed / eval_s, 1),
                "peak_gpu_mem_gib": round(peak / 2**30, 2),
                "padding_share": round(1 - real / padded, 3),
                "mean_seconds": round(real / SR / len(batches) / batch_size, 2),
            }
        )
        del model
    if cuda:
        torch.cuda.empty_cache()
    return rows


def study_cost(train_utt_per_s: float, eval_utt_per_s: float, epochs: int = EPOCHS) -> dict:
    """GPU-hours of the 39 fold-runs (:data:`STUDY_CORPORA`, 3 train rules each): ``epochs``
    training passes over each fold's train part and no-grad passes over its dev part, plus one
    test pass, at the measured rates. Cross-validated corpora: per fold, 1/k tests, 1/k of the
    rest is taken as dev, also 1/k (an approximation of the registry's fold designs)."""
    per_corpus = {}
    for name, c in STUDY_CORPORA.items():
        if "utterances" in c:
            k, n = c["folds"], c["utterances"]
            test, dev = n / k, n / k
            train = n - test - dev
        else:
            train, dev, test = c["train"], c["dev"], c["test"]
        runs = 3 * c["folds"]
        seconds = runs * (
            epochs * (train / train_utt_per_s + dev / eval_utt_per_s) + test / eval_utt_per_s
        )
        per_corpus[name] = {"fold_runs": runs, "gpu_hours": round(seconds / 3600, 1)}
    return {
        "epochs": epochs,
        "fold_runs": sum(v["fold_runs"] for v in per_corpus.values()),
        "per_corpus": per_corpus,
        "gpu_hours": round(sum(v["gpu_hours"] for v in per_corpus.values()), 1),
        "paper": PAPER_GPU_HOURS,
        "durations": "the benchmark's uniform 4-12 s utterances (mean ~8 s); the corpora's "
        "mean durations are not sourced in this repository, so the figure scales with them",
    }


def save_random_pretrained(models_dir: Path, tiny: bool = False) -> Path:
    """The random full-size wav2vec2-large-robust (``tiny``: the same conv stack, 2 narrow
    layers, for rehearsing on a CPU), saved where ``pretrained fetch`` puts
    ``facebook/wav2vec2-large-robust`` (``config.json`` + ``model.safetensors``)."""
    from transformers import Wav2Vec2Model

    from serrules.training.models.wav2vec2 import large_robust_config
    from serrules.training.pretrained import local_dir_for

    config = large_robust_config()
    if tiny:
        config.update(
            {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
             "intermediate_size": 64, "conv_dim": (16,) * 7, "num_conv_pos_embedding_groups": 2}
        )  # fmt: skip
    folder = local_dir_for("facebook/wav2vec2-large-robust", models_dir)
    torch.manual_seed(0)
    Wav2Vec2Model(config).save_pretrained(folder)
    (folder / "REVISION").write_text("random weights from large_robust_config (gpu_check)\n")
    return folder


def e2e_config(lock_dir: Path, tiny: bool = False) -> dict:
    """A one-corpus demo run of the study's model: two epochs, the fold of MSP-PODCAST
    (``tiny``: 2 layers kept, on the CPU)."""
    import yaml

    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["corpora"] = {
        "msp-podcast": {"format": "msp-podcast", "source": "demo", "demo_utterances": 160}
    }
    config["model"].update(name="wav2vec2-large-robust-12", pretrained=None)
    config["training"].update(epochs=2, num_workers=4, device="auto", gpu_lock_dir=str(lock_dir))
    config["evaluation"]["n_bootstrap"] = 50
    if tiny:
        config["model"]["keep_layers"] = 2
        config["training"].update(device="cpu", num_workers=0, batch_size=16)
        config["resources"]["train_threads"] = 1
    return config


def snakemake(work: Path, target: str, *extra: str, deadline: float = float("inf")) -> float:
    """Run the workflow in ``work`` for ``target`` on one GPU; seconds; raises with its log
    (also when it is still running at ``deadline``, a ``time.monotonic()`` value)."""
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile")]
    # the target first: --resources and --forcerun take several values
    cmd += [target, "--directory", str(work), "--cores", "8", "--resources", "gpu=1", *extra]
    env = {**os.environ, "SERRULES_MODELS_DIR": str(work / "models"), "HF_HUB_OFFLINE": "1"}
    start = time.perf_counter()
    timeout = max(10.0, min(400.0, deadline - time.monotonic()))
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(
            f"snakemake {target} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
        )
    return round(time.perf_counter() - start, 1)


def _column_values(frame, column: str) -> list[str]:
    """The distinct non-empty values of ``column`` (a missing column or empty cells: none)."""
    if column not in frame:
        return []
    return sorted({str(v) for v in frame[column].dropna() if str(v)})


def e2e(work: Path, tiny: bool = False, deadline: float = float("inf")) -> dict:
    """The pipeline's GPU path twice on the same fold; what each run shows (``tiny``: the same
    path with a tiny model on the CPU, to rehearse the workflow part without a GPU)."""
    import pandas as pd
    import yaml

    shutil.rmtree(work, ignore_errors=True)
    lock_dir = work / "locks"
    lock_dir.mkdir(parents=True)
    start = time.perf_counter()
    save_random_pretrained(work / "models", tiny)
    saved_s = round(time.perf_counter() - start, 1)
    (work / "config.yaml").write_text(yaml.safe_dump(e2e_config(lock_dir, tiny)))
    fold = work / "results" / "msp-podcast" / "models" / "AR" / "fold1"
    target = str(fold.relative_to(work) / "predictions.parquet")
    first_s = snakemake(work, target, deadline=deadline)
    first = pd.read_parquet(fold / "predictions.parquet")
    log = pd.read_csv(fold / "train_log.csv")
    again_s = snakemake(work, target, "--forcerun", "train_fold", deadline=deadline)
    again = pd.read_parquet(fold / "predictions.parquet")
    p_cols = [c for c in first.columns if c.startswith("p_")]
    same_ids = first["utterance_id"].tolist() == again["utterance_id"].tolist()
    diff = float(np.abs(first[p_cols].to_numpy() - again[p_cols].to_numpy()).max())
    return {
        "save_random_model_s": saved_s,
        "first_run_s": first_s,
        "second_run_s": again_s,
        "epochs_logged": log["epoch"].tolist(),
        "train_log_gpu_names": _column_values(log, "gpu_name"),
        "train_log_devices": _column_values(log, "device"),
        "lock_files": sorted(p.name for p in lock_dir.glob("serrules-gpu*.lock")),
        "test_predictions": len(first),
        "same_utterances": same_ids,
        "max_prediction_difference": diff,
        "tolerance": REPEAT_TOLERANCE,
        "within_tolerance": same_ids and diff <= REPEAT_TOLERANCE,
    }


def gpu_branch(work: Path, skip_e2e: bool, deadline: float) -> dict:
    """Throughput, the end-to-end run (unless skipped; cut at ``deadline``) and the cost
    extrapolation."""
    out: dict = {"branch": "gpu", "throughput": throughput()}
    best = max(out["throughput"], key=lambda r: r["train_utt_per_s"])
    out["study_cost"] = study_cost(best["train_utt_per_s"], best["eval_utt_per_s"])
    out["study_cost"]["rate_from"] = f"{best['precision']}, {best['batching']}"
    if not skip_e2e:
        try:
            out["e2e"] = e2e(work, deadline=deadline)
        except Exception as err:  # keep the throughput figures when the workflow part fails
            out["e2e"] = {"error": f"{type(err).__name__}: {err}"}
    return out


def markdown(result: dict) -> str:
    """The figures of ``result`` as Markdown."""
    lines = ["# GPU check", "", "| environment | value |", "| --- | --- |"]
    lines += [f"| {k} | {v} |" for k, v in result["environment"].items()]
    lines += ["", f"Branch: **{result['branch']}**; wall time {result['wall_s']} s.", ""]
    if result["branch"] == "cpu":
        lines += [result["note"] + ".", "", "| figure | value |", "| --- | --- |"]
        step, params = result["step"], result["parameters"]
        lines += [f"| forward + backward, {step['batch']} (s) | {step['seconds']} |"]
        lines += [f"| finite gradients | {step['finite_gradients']} |"]
        lines += [
            f"| tensors with a gradient / trainable | {step['tensors_with_gradient']} / "
            f"{step['trainable_tensors']} |"
        ]
        counts = f"{params['counted']:,} / {params['documented']:,}"
        lines += [f"| parameters counted / documented | {counts} |"]
        lines += [f"| peak RSS (MiB) | {result['peak_rss_mib']} |"]
        if "e2e_rehearsal_tiny_cpu" in result:
            rehearsal = json.dumps(result["e2e_rehearsal_tiny_cpu"], indent=1)
            lines += ["", "Workflow rehearsal (tiny model, CPU):", "```json", rehearsal, "```"]
        return "\n".join(lines) + "\n"
    rows = result["throughput"]
    lines += ["| " + " | ".join(rows[0]) + " |", "|" + " --- |" * len(rows[0])]
    lines += ["| " + " | ".join(str(v) for v in r.values()) + " |" for r in rows]
    cost = result["study_cost"]
    lines += ["", f"Study cost ({cost['fold_runs']} fold-runs, {cost['epochs']} epochs, rate of "
              f"{cost['rate_from']}): **{cost['gpu_hours']} GPU-hours** on this GPU; paper: "
              f"{cost['paper']}. Durations: {cost['durations']}."]  # fmt: skip
    lines += ["", "```json", json.dumps(result.get("e2e", {}), indent=1), "```"]
    return "\n".join(lines) + "\n"


def row(result: dict) -> tuple[str, str]:
    """What the check measured and its result, for the benchmarks page."""
    if result["branch"] == "cpu":
        step, params = result["step"], result["parameters"]
        return (
            "GPU check, CPU branch: one training step of the full-size pruned model",
            f"forward + backward of {step['batch']}: {step['seconds']} s; parameters "
            f"{params['counted']:,} (documented {params['documented']:,}); peak RSS "
            f"{result['peak_rss_mib']:.0f} MiB; wall time {result['wall_s']} s",
        )
    rates = "; ".join(
        f"{r['precision']} {r['batching']}: {r['train_utt_per_s']} utterances/s"
        for r in result["throughput"]
    )
    cost = result["study_cost"]
    return (
        "GPU check: training throughput of the full-size pruned model, study cost",
        f"{rates}; the study's {cost['fold_runs']} fold-runs: {cost['gpu_hours']} GPU-hours",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", type=Path, help="folder for gpu_check.json and gpu_check.md")
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (default: temp)")
    parser.add_argument("--skip-e2e", action="store_true", help="GPU: skip the Snakemake run")
    parser.add_argument(
        "--budget-s", type=float, default=450.0, help="the Snakemake runs stop by this time"
    )
    parser.add_argument(
        "--rehearse-e2e",
        action="store_true",
        help="CPU: also run the Snakemake part with a tiny model (rehearses the workflow path)",
    )
    args = parser.parse_args(argv)
    args.outdir.mkdir(parents=True, exist_ok=True)
    work = args.work or Path(os.environ.get("TMPDIR", "/tmp")) / "serrules-gpu-check"
    start = time.perf_counter()
    result = {"environment": environment()}
    if torch.cuda.is_available():
        deadline = time.monotonic() + args.budget_s
        result.update(gpu_branch(work, args.skip_e2e, deadline))
    else:
        print("gpu_check: no CUDA device; running the CPU branch", flush=True)
        result.update(cpu_branch())
        if args.rehearse_e2e:
            result["e2e_rehearsal_tiny_cpu"] = e2e(work, tiny=True)
    result["wall_s"] = round(time.perf_counter() - start, 1)
    (args.outdir / "gpu_check.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.outdir / "gpu_check.md").write_text(markdown(result))
    print(markdown(result))
    from benchmark_row import print_row  # beside this script; tests load the module without it

    print_row(*row(result), typed=shlex.join(["bash", "benchmarks/gpu_check.sh", str(args.outdir)]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
