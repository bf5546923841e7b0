"""Training throughput (utterances/s) of the two models on synthetic data.

* ``egemaps-mlp``: random 88-dimensional feature vectors.
* ``wav2vec2``: the real wav2vec2-large-robust architecture built from its config (random
  weights, no download), pruned to 12 layers, CNN frozen, on random 4-8 s waveforms.

Every combination of ``--precision`` (fp32, bf16 autocast) and ``--batching`` (random,
length-bucketed) runs the same utterances and the same number of optimizer steps, so on a GPU
``bf16 + bucketed`` can be compared with ``fp32 + random`` directly. Timed steps follow
``--warmup`` untimed ones; a step = forward + class-balanced loss + backward + AdamW step.

Example (CPU, small):
    python benchmarks/bench_training.py --models egemaps-mlp wav2vec2 --device cpu \\
        --w2v-batches 2 --w2v-batch-size 4
"""

from __future__ import annotations

import argparse
import contextlib
import time

import numpy as np
import torch
from benchmark_row import print_row
from transformers import Wav2Vec2Model

from serrules.base.config import schema_defaults
from serrules.training.batching import (
    BatchSampler,
    FeatureDataset,
    Item,
    pad_collate,
    stack_collate,
)
from serrules.training.loss import ClassBalancedSoftCrossEntropy
from serrules.training.models import EgemapsMLP, Wav2Vec2Classifier
from serrules.training.models.wav2vec2 import configure_backbone, large_robust_config

N_CLASSES = 4
#: The head of the study (the config schema's defaults of model.head_hidden and model.dropout).
HEAD = {k: schema_defaults("model")[k] for k in ("head_hidden", "dropout")}
SR = 16000


def _autocast(device: torch.device, precision: str):
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _time_steps(model, batches, criterion, device, precision, warmup) -> tuple[float, int]:
    """Seconds and utterances of the timed steps (all batches after ``warmup``)."""
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.01)
    model.train()
    seconds, count = 0.0, 0
    for step, batch in enumerate(batches):
        _sync(device)
        start = time.perf_counter()
        inputs = batch["inputs"].to(device)
        mask = batch.get("attention_mask")
        with _autocast(device, precision):
            logits = model(inputs, None if mask is None else mask.to(device))
        loss = criterion(logits, batch["targets"].to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        _sync(device)
        if step >= warmup:
            seconds += time.perf_counter() - start
            count += len(batch["targets"])
    return seconds, count


def _targets(n: int, rng: np.random.Generator) -> np.ndarray:
    return np.eye(N_CLASSES, dtype=np.float32)[np.arange(n) % N_CLASSES][rng.permutation(n)]


def bench_egemaps(device, precisions, batch_size, n_batches, warmup, seed) -> list[dict]:
    rng = np.random.default_rng(seed)
    n = batch_size * (n_batches + warmup)
    ds = FeatureDataset(rng.normal(size=(n, 88)).astype(np.float32), _targets(n, rng))
    criterion = ClassBalancedSoftCrossEntropy.from_targets(ds.targets, list("abcd")).to(device)
    rows = []
    for precision in precisions:
        torch.manual_seed(seed)
        model = EgemapsMLP(N_CLASSES, 88, **HEAD).to(device)
        sampler = BatchSampler(n, batch_size, torch.Generator().manual_seed(seed))
        batches = [stack_collate([ds[i] for i in b]) for b in sampler.batches()]
        sec, count = _time_steps(model, batches, criterion, device, precision, warmup)
        rows.append(_row("egemaps-mlp", device, precision, "random", batch_size, count, sec, 0.0))
    return rows


def bench_wav2vec2(
    device, precisions, batchings, batch_size, n_batches, warmup, seed, min_s, max_s
) -> list[dict]:
    rng = np.random.default_rng(seed)
    n = batch_size * (n_batches + warmup)
    durations = rng.uniform(min_s, max_s, size=n)
    waves = [rng.uniform(-0.5, 0.5, int(d * SR)).astype(np.float32) for d in durations]
    targets = _targets(n, rng)
    criterion = ClassBalancedSoftCrossEntropy.from_targets(targets, list("abcd")).to(device)
    rows = []
    for batching in batchings:
        bucket = n if batching == "bucketed" else None
        sampler = BatchSampler(
            n,
            batch_size,
            torch.Generator().manual_seed(seed),
            lengths=durations,
            bucket_size=bucket,
        )
        batches = [
            pad_collate([Item(i, waves[i], targets[i]) for i in b]) for b in sampler.batches()
        ]
        padded = sum(b["attention_mask"].numel() for b in batches)
        pad_share = 1.0 - sum(len(w) for w in waves) / padded
        for precision in precisions:
            torch.manual_seed(seed)
            backbone = configure_backbone(Wav2Vec2Model(large_robust_config()), 12, True)
            model = Wav2Vec2Classifier(backbone, N_CLASSES, **HEAD).to(device)
            sec, count = _time_steps(model, batches, criterion, device, precision, warmup)
            rows.append(
                _row(
                    "wav2vec2-large-robust-12",
                    device,
                    precision,
                    batching,
                    batch_size,
                    count,
                    sec,
                    pad_share,
                )
            )
            del model, backbone
            if device.type == "cuda":
                torch.cuda.empty_cache()
    return rows


def _row(model, device, precision, batching, batch_size, count, seconds, pad_share) -> dict:
    return {
        "model": model,
        "device": str(device),
        "precision": precision,
        "batching": batching,
        "batch_size": batch_size,
        "timed_utterances": count,
        "seconds": round(seconds, 3),
        "utterances_per_s": round(count / seconds, 2) if seconds > 0 else float("nan"),
        "padding_share": round(pad_share, 3),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--models",
        nargs="+",
        default=["egemaps-mlp", "wav2vec2"],
        choices=["egemaps-mlp", "wav2vec2"],
    )
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--precision", nargs="+", default=["fp32"], choices=["fp32", "bf16"])
    parser.add_argument(
        "--batching", nargs="+", default=["random", "bucketed"], choices=["random", "bucketed"]
    )
    parser.add_argument("--mlp-batch-size", type=int, default=32)
    parser.add_argument("--mlp-batches", type=int, default=200)
    parser.add_argument("--w2v-batch-size", type=int, default=4)
    parser.add_argument("--w2v-batches", type=int, default=2, help="timed batches")
    parser.add_argument("--warmup", type=int, default=1, help="untimed batches first")
    parser.add_argument("--min-seconds", type=float, default=4.0)
    parser.add_argument("--max-seconds", type=float, default=8.0)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="also write the table as CSV here")
    args = parser.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device == "auto":
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        device = torch.device(args.device)
    rows: list[dict] = []
    if "egemaps-mlp" in args.models:
        rows += bench_egemaps(
            device, args.precision, args.mlp_batch_size, args.mlp_batches, args.warmup, args.seed
        )
    if "wav2vec2" in args.models:
        rows += bench_wav2vec2(
            device,
            args.precision,
            args.batching,
            args.w2v_batch_size,
            args.w2v_batches,
            args.warmup,
            args.seed,
            args.min_seconds,
            args.max_seconds,
        )
    import pandas as pd

    table = pd.DataFrame(rows)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"device: {name}, torch {torch.__version__}, threads {torch.get_num_threads()}")
    print(table.to_markdown(index=False))
    if args.out:
        table.to_csv(args.out, index=False)
    print_row(
        f"training throughput on {name} ({torch.get_num_threads()} threads): "
        + ", ".join(dict.fromkeys(table["model"])),
        "; ".join(
            f"{r.model} {r.precision} {r.batching} batch {r.batch_size}: "
            f"{r.utterances_per_s:,.{0 if r.utterances_per_s >= 100 else 2}f} utterances/s"
            + (f", padding {r.padding_share:.1%}" if r.padding_share else "")
            for r in table.itertuples()
        ),
    )


if __name__ == "__main__":
    main()
