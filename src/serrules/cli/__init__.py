"""The ``serrules`` command line: the label stage, table inspection, scoring of any system on
the MR/PR/AR test sets and prediction with a trained model, without Snakemake.

Each sub-command lives in its own module (``labels``, ``show``, ``score``, ``predict``) with an
``add_parser`` and a ``run`` function that calls the package; this module dispatches, records the
command as the origin of what it writes (:func:`command_origin`) and turns the package's errors
into a one-line reason and a non-zero exit status.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from serrules.base.code_digest import module_digest
from serrules.base.provenance import digest_of, origin_of
from serrules.cli import labels, predict, score, show

#: Exit status of a run stopped by bad input (argparse uses 2 for a bad command line).
EXIT_BAD_INPUT = 1


def input_errors() -> tuple[type[BaseException], ...]:
    """The package's error types for bad input, reported as one line (``--traceback`` shows
    more). ``ValueError``, ``KeyError`` and ``OSError`` are what the package raises for bad
    tables, unknown names and missing files (each message names the file or key). Imported
    here, not at module level, so that ``--help`` does not load torch or scipy."""
    from serrules.audio.loading import AudioError
    from serrules.base.config import ConfigError
    from serrules.base.errors import AnnotationError, CliError
    from serrules.evaluation.pooling import PredictionError
    from serrules.training.inference import ModelInputError

    return (
        CliError,
        AnnotationError,
        PredictionError,
        ModelInputError,
        AudioError,
        ConfigError,
        ValueError,
        KeyError,
        OSError,
    )


COMMANDS = (labels, show, score, predict)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="serrules",
        description=(
            "Multi-label speech emotion recognition under the MR, PR and AR label rules: build "
            "label sets from native annotations, inspect tables, score any system on the "
            "MR/PR/AR test sets, predict class distributions for new recordings."
        ),
    )
    parser.add_argument(
        "--traceback", action="store_true", help="on an error, show the full traceback"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        module.add_parser(sub)
    return parser


#: Arguments that are not settings of a command (paths are not either: they say which data).
NOT_SETTINGS = ("run", "command", "traceback")


def command_origin(args: argparse.Namespace) -> dict[str, str]:
    """The origin of what the command writes (:mod:`serrules.base.provenance`): ``serrules
    <command>`` as its rule, the digest of the command's module and of the serrules code it
    imports, and the digest of its settings (its arguments other than paths)."""
    module = next(m for m in COMMANDS if m.__name__.rpartition(".")[2] == args.command)

    def is_path(value: object) -> bool:
        values = value if isinstance(value, list | tuple) else [value]
        return bool(values) and all(isinstance(v, Path) for v in values)

    settings = {k: v for k, v in vars(args).items() if k not in NOT_SETTINGS and not is_path(v)}
    return {
        "rule": f"serrules {args.command}",
        "code": module_digest(module.__name__),
        "settings": digest_of(settings),
    }


def _reason(exc: BaseException) -> str:
    text = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
    return " ".join(str(text).split()) or type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with origin_of(**command_origin(args)):
            return int(args.run(args) or 0)
    except BrokenPipeError:  # e.g. `serrules show TABLE | head`: the reader left
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BAD_INPUT
    except input_errors() as exc:
        if args.traceback:
            raise
        print(f"serrules {args.command}: error: {_reason(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"serrules {args.command}: interrupted", file=sys.stderr)
        return 130


__all__ = [
    "COMMANDS",
    "EXIT_BAD_INPUT",
    "NOT_SETTINGS",
    "build_parser",
    "command_origin",
    "input_errors",
    "main",
]

if __name__ == "__main__":  # python -m serrules.cli
    sys.exit(main())
