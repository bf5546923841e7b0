"""``serrules show``: a readable summary of any Parquet table the pipeline writes, with its
provenance; of a model (``best.safetensors``), a Markdown or LaTeX table or a PNG figure, the
provenance alone."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from serrules.base.errors import CliError, ProvenanceError
from serrules.base.provenance import PROVENANCE_KEY, read_provenance
from serrules.base.provenance import describe as describe_provenance

#: What each table of the pipeline holds (file name pattern -> contract, one line; the full
#: contracts are in docs/architecture.md and docs/evaluation.md).
TABLE_CONTRACTS: tuple[tuple[str, str], ...] = (
    (r"ratings", "one row per (utterance, rater, chosen emotion) with its status and source line"),
    (r"utterances", "one row per parsed utterance: metadata + valid votes per class (votes_)"),
    (
        r"labels_(MR|PR)",
        "utterances the rule keeps: winning class (label), one-hot train target (y_) and "
        "one-hot test target (t_)",
    ),
    (
        r"labels_AR",
        "utterances with at least one valid vote: vote distribution (y_) and multi-hot test "
        "target, share > 1/C (t_)",
    ),
    (r"folds", "one row per (fold, utterance): part train | dev | test"),
    (r"exclusions", "every dropped rating or utterance with its reason and source"),
    (r"label_loss", "data and rating loss of each rule (Table 3)"),
    (r"audio_index", "each utterance's audio file: rate, length and status (ok or the reason)"),
    (r"egemaps", "88 eGeMAPSv02 functionals per audio-ok utterance"),
    (r"predictions", "softmax probabilities (p_) of one fold model on its fold's test part"),
    (
        r"metrics",
        "macro-F1 / KLD / JSD per train rule x test rule with bootstrap CIs and paired "
        "p-values vs AR_train",
    ),
    (r"per_class", "precision, recall and F1 per class, train rule and test rule"),
    (r"confusion_AR", "co-occurrence of true and predicted classes on AR_test per train rule"),
    (r"calibration", "expected calibration error per train rule and test rule"),
    (r"reliability", "reliability-diagram bins per train rule (AR_test)"),
)

PREFIXES = ("votes_", "y_", "t_", "p_")
#: Files whose provenance alone is shown (no table to summarise).
PROVENANCE_ONLY = (".safetensors", ".md", ".tex", ".png")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "show",
        help="summarise a Parquet table of the pipeline, with its provenance",
        description=(
            "Print what a pipeline table holds: its contract, columns and types, row count, "
            "the first rows, per-class counts, the settings stored in its metadata and its "
            "provenance (package version, git commit, rule, code and settings digests, library "
            "versions, device). For a model (best.safetensors), a Markdown or LaTeX table or a "
            "PNG figure: its provenance."
        ),
    )
    p.add_argument(
        "table",
        type=Path,
        help="a .parquet table, e.g. results/iemocap/labels_AR.parquet, or a best.safetensors, "
        ".md, .tex or .png the pipeline wrote",
    )
    p.add_argument("--rows", type=int, default=5, help="how many rows to print (default 5)")
    p.set_defaults(run=run)


def contract_of(path: Path) -> str:
    name = path.stem
    for pattern, text in TABLE_CONTRACTS:
        if re.fullmatch(pattern, name):
            return text
    return "not a table the pipeline writes under this name"


def _class_columns(frame: pd.DataFrame, prefix: str) -> list[str]:
    return [c for c in frame.columns if str(c).startswith(prefix)]


def class_counts(frame: pd.DataFrame) -> pd.DataFrame | None:
    """Per-class view of the per-class matrices (``votes_``, ``y_``, ``t_``, ``p_``)."""
    columns: dict[str, pd.Series] = {}
    for prefix in PREFIXES:
        cols = _class_columns(frame, prefix)
        if not cols:
            continue
        values = frame[cols].to_numpy(np.float64)
        classes = [c[len(prefix) :] for c in cols]
        if prefix == "votes_":
            columns["votes"] = pd.Series(values.sum(axis=0), classes)
            columns["utterances with a vote"] = pd.Series((values > 0).sum(axis=0), classes)
        elif prefix == "y_":
            columns["train target mass (sum y_)"] = pd.Series(values.sum(axis=0), classes)
        elif prefix == "t_":
            columns["test positives (t_ = 1)"] = pd.Series((values > 0).sum(axis=0), classes)
        else:
            columns["mean p_"] = pd.Series(values.mean(axis=0), classes)
            columns["top class"] = pd.Series(
                np.bincount(values.argmax(axis=1), minlength=len(cols)), classes
            )
            columns["p_ > 1/C"] = pd.Series((values > 1.0 / len(cols)).sum(axis=0), classes)
    if not columns:
        return None
    out = pd.DataFrame(columns)
    out.index.name = "class"
    return out


def _value_counts(frame: pd.DataFrame, columns: list[str]) -> pd.Series | None:
    if not all(c in frame.columns for c in columns):
        return None
    return frame.value_counts(columns, dropna=False).sort_index()


def describe(path: Path, rows: int = 5) -> str:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not path.is_file():
        raise CliError(f"{path}: no such file")
    try:
        schema = pq.read_schema(path)
        frame = pd.read_parquet(path)
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise CliError(f"{path}: not a readable Parquet table ({exc})") from exc
    out = [f"{path}", f"contract: {contract_of(path)}", f"rows: {len(frame):,}", "columns:"]
    width = max((len(str(c)) for c in frame.columns), default=0)
    out += [f"  {str(c):<{width}}  {frame[c].dtype}" for c in frame.columns]
    for key, value in (schema.metadata or {}).items():
        if key.startswith(b"serrules") and key != PROVENANCE_KEY.encode():
            text = value.decode(errors="replace")
            try:
                text = json.dumps(json.loads(text), sort_keys=True)
            except json.JSONDecodeError:
                pass
            if len(text) > 300:
                text = text[:300] + " ..."
            out.append(f"metadata {key.decode()}: {text}")
    out += provenance_lines(path)
    with pd.option_context("display.width", 160, "display.max_columns", 12):
        out += ["", f"first {min(rows, len(frame))} rows:", frame.head(rows).to_string()]
        counts = class_counts(frame)
        if counts is not None:
            out += ["", "per class:", counts.to_string(float_format=lambda v: f"{v:,.3f}")]
        for columns in (
            ["label"],
            ["status"],
            ["level", "reason"],
            ["fold", "part"],
            ["emotion"],
        ):
            if (
                columns == ["label"]
                and frame.get("label") is not None
                and frame["label"].isna().all()
            ):
                continue
            counts_ = _value_counts(frame, columns)
            if counts_ is not None and 0 < len(counts_) <= 60:
                out += ["", f"rows by {', '.join(columns)}:", counts_.to_string()]
    return "\n".join(out)


def provenance_lines(path: Path) -> list[str]:
    """The provenance record of ``path`` as lines (:func:`serrules.base.provenance.describe`)."""
    try:
        return describe_provenance(read_provenance(path))
    except ProvenanceError as exc:
        raise CliError(str(exc)) from exc


def run(args: argparse.Namespace) -> int:
    if args.rows < 0:
        raise CliError(f"--rows must be >= 0, got {args.rows}")
    if args.table.suffix in PROVENANCE_ONLY:
        if not args.table.is_file():
            raise CliError(f"{args.table}: no such file")
        print("\n".join([str(args.table), *provenance_lines(args.table)]))
        return 0
    print(describe(args.table, args.rows))
    return 0


__all__ = [
    "PREFIXES",
    "PROVENANCE_ONLY",
    "TABLE_CONTRACTS",
    "add_parser",
    "class_counts",
    "contract_of",
    "describe",
    "provenance_lines",
    "run",
]
