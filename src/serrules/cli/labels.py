"""``serrules labels``: the label stage without Snakemake (the Parquet tables of the
``label_tables`` rule, byte for byte, from :func:`serrules.labels.label_tables.run_label_stage`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from serrules.base.classes import RULES
from serrules.base.config import load_corpus_entry
from serrules.base.protocols import DEFAULT_PROTOCOL, PROTOCOLS, preset
from serrules.base.tables import read_table
from serrules.corpora.formats import FORMATS, corpus_format
from serrules.corpora.parsing import UNKNOWN_LABEL_MODES


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "labels",
        help="parse native annotations and write the MR/PR/AR label tables",
        description=(
            "Parse a corpus's native per-rater annotation files and write the label-stage "
            "tables (ratings, utterances, labels_MR/PR/AR, folds, exclusions, label_loss "
            ".parquet) into OUT, exactly as the workflow's label_tables rule does; then print a "
            "summary (utterances, ratings, kept per rule, exclusions by reason)."
        ),
    )
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--format", choices=tuple(FORMATS), dest="fmt", help="native corpus format")
    source.add_argument(
        "--config",
        type=Path,
        help="a YAML file with a corpora section (e.g. the workflow's config.yaml): the corpus's "
        "entry there gives its format, and for a ratings-table corpus its tables, classes, words "
        "and folds (docs/corpora.md, 'Your own corpus')",
    )
    p.add_argument("root", type=Path, help="the corpus folder (release layout or the two tables)")
    p.add_argument("out", type=Path, help="output folder, e.g. results/iemocap/")
    p.add_argument(
        "--corpus",
        help="corpus name written in label_loss.parquet, and the entry --config reads "
        "(default: the name of OUT)",
    )
    p.add_argument(
        "--include-self-evaluations",
        action="store_true",
        help="count IEMOCAP actors' self-evaluations as votes (default: excluded, counted)",
    )
    p.add_argument(
        "--unknown-labels",
        choices=UNKNOWN_LABEL_MODES,
        default="error",
        help="an emotion word the corpus does not know: stop with an error naming the file and "
        "line (default), or exclude and count it",
    )
    p.add_argument(
        "--protocol",
        choices=PROTOCOLS,
        default=DEFAULT_PROTOCOL,
        help="reading of the study whose label rule to apply: paper (MR on the raw vote share, "
        "default) or authors (MR on the share smoothed with epsilon 0.05, as in their released "
        "label files); docs/protocols.md",
    )
    p.set_defaults(run=run)


def summary(out: Path) -> str:
    """Readable summary of a written label stage."""
    utterances = read_table(out / "utterances.parquet", "utterances", columns=["n_valid"])
    ratings = read_table(out / "ratings.parquet", "ratings", columns=["status"])
    exclusions = read_table(out / "exclusions.parquet", "exclusions", columns=["level", "reason"])
    loss = read_table(out / "label_loss.parquet", "label_loss").set_index("rule")
    status = ratings["status"].value_counts()
    lines = [
        f"utterances: {len(utterances):,} parsed, {int((utterances['n_valid'] > 0).sum()):,} "
        "with at least one valid vote",
        f"ratings: {len(ratings):,} rows ({int(status.get('valid', 0)):,} valid, "
        f"{int(status.get('other', 0)):,} other, "
        f"{len(ratings) - int(status.get('valid', 0)) - int(status.get('other', 0)):,} excluded)",
        "kept per rule:",
    ]
    for rule in RULES:
        row = loss.loc[rule]
        lines.append(
            f"  {rule}: {int(row['n_kept']):,} utterances (data loss "
            f"{100 * row['data_loss']:.2f}%, rating loss {100 * row['rating_loss']:.2f}%)"
        )
    if exclusions.empty:
        lines.append("exclusions: none")
    else:
        lines.append("exclusions:")
        counts = exclusions.value_counts(["level", "reason"]).sort_index()
        for (level, reason), n in counts.items():
            lines.append(f"  {level:<9} {reason}: {int(n):,}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from serrules.labels.label_tables import label_table_paths, run_label_stage

    corpus = args.corpus or args.out.resolve().name
    self_evaluations = args.include_self_evaluations
    if args.config is None:
        fmt = corpus_format(args.fmt)
    else:
        entry = load_corpus_entry(args.config, corpus)
        fmt = corpus_format(entry, key=f"corpora.{corpus}")
        self_evaluations = self_evaluations or entry["include_self_evaluations"]
    values = preset(args.protocol)
    run_label_stage(
        corpus=corpus,
        fmt=fmt,
        root=args.root,
        outputs=label_table_paths(args.out),
        include_self_evaluations=self_evaluations,
        unknown_labels=args.unknown_labels,
        mr_share=values["labels"]["mr_share"],
        epsilon=float(values["training"]["target_smoothing"]),
    )
    print(
        f"{corpus} ({fmt.name}) -> {args.out} (protocol {args.protocol}: MR on the "
        f"{values['labels']['mr_share']} share)"
    )
    print(summary(args.out))
    return 0


__all__ = ["add_parser", "run", "summary"]
