"""``serrules predict``: class distributions for new recordings from a trained fold model."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "predict",
        help="class distributions for new recordings from a trained model",
        description=(
            "Predict the class distribution of each recording with a model trained by the "
            "pipeline (either model type): the recording is read, resampled, cropped and turned "
            "into the model's input exactly as in training. Writes CSV (utterance_id = file "
            "name without extension, path, p_<class>, present = classes with p > 1/C)."
        ),
    )
    p.add_argument(
        "--model",
        required=True,
        type=Path,
        help="a fold's model folder, e.g. results/iemocap/models/AR/fold1/",
    )
    p.add_argument("wavs", nargs="+", type=Path, metavar="WAV", help="audio file(s)")
    p.add_argument("--out", type=Path, help="CSV file to write (default: standard output)")
    p.add_argument("--batch-size", type=int, default=8, help="recordings per batch (default 8)")
    p.add_argument(
        "--device",
        default="cpu",
        help="device to run on, as the training.device setting (default cpu)",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from serrules.base.errors import CliError
    from serrules.training.devices import select_device
    from serrules.training.inference import predict_files

    if args.batch_size < 1:
        raise CliError(f"--batch-size must be >= 1, got {args.batch_size}")
    try:
        device = select_device(args.device)
    except RuntimeError as exc:  # 'cuda' asked for but not available
        raise CliError(str(exc)) from exc
    table = predict_files(
        args.model,
        args.wavs,
        batch_size=args.batch_size,
        device=str(device),
        progress=True,
    )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.out, index=False)
        print(f"wrote {len(table)} predictions to {args.out}", file=sys.stderr)
    else:
        table.to_csv(sys.stdout, index=False)
    return 0


__all__ = ["add_parser", "run"]
