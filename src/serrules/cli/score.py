"""``serrules score``: score any system's predictions on a corpus's MR/PR/AR test sets."""

from __future__ import annotations

import argparse
from pathlib import Path

from tqdm.auto import tqdm

from serrules.evaluation.bootstrap import UNITS


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "score",
        help="score a system's predictions on MR_test, PR_test and AR_test",
        description=(
            "Score an outside system on a corpus's test sets with the pipeline's own "
            "evaluation: macro-F1, KLD and JSD on MR_test, PR_test and AR_test with bootstrap "
            "confidence intervals (the cells of Tables 4-6), optionally with a paired bootstrap "
            "p-value against a second system. PREDICTIONS: CSV or Parquet files with "
            "utterance_id and one probability column per class (<class> or p_<class>), one row "
            "per test utterance of the corpus (several files are concatenated, e.g. per-fold "
            "files). Prints Markdown; --out also writes STEM.md and STEM.csv."
        ),
    )
    p.add_argument(
        "--labels",
        required=True,
        type=Path,
        help="the corpus folder of the pipeline's label stage, e.g. results/iemocap/",
    )
    p.add_argument("predictions", nargs="+", type=Path, help="the system's prediction file(s)")
    p.add_argument(
        "--against",
        nargs="+",
        type=Path,
        metavar="PREDICTIONS",
        help="a second system's prediction file(s): adds its scores and a paired p-value",
    )
    p.add_argument("--name", default=None, help="name of the system (default: first file's stem)")
    p.add_argument(
        "--against-name", default=None, help="name of the second system (default: its file stem)"
    )
    p.add_argument("--out", type=Path, metavar="STEM", help="also write STEM.md and STEM.csv")
    settings = p.add_argument_group(
        "evaluation settings (default: those stored in the corpus's metrics.parquet)"
    )
    settings.add_argument("--n-bootstrap", type=int, help="bootstrap resamples")
    settings.add_argument("--alpha", type=float, help="interval level: 5 gives 95%% intervals")
    settings.add_argument("--unit", choices=UNITS, help="resample utterances or speakers")
    settings.add_argument("--epsilon", type=float, help="floor of both distributions in KLD/JSD")
    p.set_defaults(run=run)


def _default_name(paths: list[Path]) -> str:
    first = paths[0]
    if first.stem == "predictions" and first.parent.name.startswith("fold"):
        return first.parent.parent.name  # results/<corpus>/models/<rule>/fold<k>/...
    return first.stem


def run(args: argparse.Namespace) -> int:
    from serrules.base.errors import CliError, ConfigError
    from serrules.evaluation.bootstrap import BootstrapSettings
    from serrules.evaluation.system_scoring import load_corpus_labels, score_system
    from serrules.reporting.system_scores import score_markdown, write_scores

    labels = load_corpus_labels(args.labels)
    overrides = {k: getattr(args, k) for k in ("n_bootstrap", "alpha", "unit", "epsilon")}
    try:  # the settings are checked where they are built; name the option that set a bad one
        bootstrap = BootstrapSettings.from_mapping(labels.settings, **overrides)
    except ConfigError as exc:
        key = str(exc).split(":")[0].removeprefix("evaluation.")
        flag = f"--{key.replace('_', '-')}" if overrides.get(key) is not None else None
        raise CliError(f"{flag}: {exc}" if flag else str(exc)) from exc
    name = args.name or _default_name(args.predictions)
    against_name = None
    if args.against:
        against_name = args.against_name or _default_name(args.against)
        if against_name == name:
            against_name = f"{against_name} (against)"
    result = score_system(
        labels,
        args.predictions,
        name=name,
        against=args.against,
        against_name=against_name or "reference",
        bootstrap=bootstrap,
        progress=lambda rules: tqdm(
            rules, desc="bootstrap", unit="test set", leave=False, disable=None
        ),
    )
    print(score_markdown(result))
    if args.out:  # --out STEM: the command's interface names STEM.md and STEM.csv
        md, csv = (args.out.with_name(f"{args.out.name}.{ext}") for ext in ("md", "csv"))
        write_scores(result, md=md, csv=csv)
        for path in (md, csv):
            print(f"wrote {path}")
    return 0


__all__ = ["add_parser", "run"]
