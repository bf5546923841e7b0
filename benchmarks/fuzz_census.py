"""Count what the native parsers do with randomly damaged fixtures, without stopping at the first
failure (the test suite stops there): per target file, how many damaged inputs parsed, raised the
package's AnnotationError as required, or broke the contract (another exception, wrong file or
line, memory), grouped by exception type and message head.

    python benchmarks/fuzz_census.py [--examples 300] [--random]

Same damage strategies and contract as ``tests/test_corpora_fuzz.py`` (``tests/fuzz_damage.py``);
each input is parsed with ``unknown_labels`` error and exclude.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, given, settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from fuzz_damage import FIXTURES, TARGETS, check_parse, damage  # noqa: E402


def census(examples: int, derandomize: bool) -> int:
    failures_total = 0
    tried_total = 0
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        for folder in {t[1] for t in TARGETS}:
            shutil.copytree(FIXTURES / folder, base / folder)
        for fmt, folder, rel in TARGETS:
            original = (FIXTURES / folder / rel).read_bytes()
            root = base / folder
            target = (root / rel).absolute()
            outcomes, failures = _run_target(fmt, root, target, original, examples, derandomize)
            tried = sum(outcomes.values())
            tried_total += tried
            failures_total += outcomes["failure"]
            print(f"{folder}/{rel}: {tried} damaged inputs, {dict(outcomes)}")
            for what, n in failures.most_common():
                print(f"    {n:4d} x {what}")
    print(f"total: {tried_total} damaged inputs, {failures_total} broke the parser contract")
    return failures_total


def _run_target(fmt, root, target, original, examples, derandomize):
    """Outcome counts per damaged input (parsed / annotation_error under both label modes, or
    failure) and failure counts by exception type and message head."""
    outcomes: Counter[str] = Counter()
    failures: Counter[str] = Counter()

    @settings(
        max_examples=examples,
        derandomize=derandomize,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=damage(original))
    def run(data):
        try:
            seen = {check_parse(fmt, root, target, data[0], mode) for mode in ("error", "exclude")}
            outcomes["+".join(sorted(seen))] += 1
        except Exception as exc:  # noqa: BLE001 - counting every contract break
            outcomes["failure"] += 1
            head = str(exc).split("\n")[0].replace(str(target), "<file>")[:90]
            failures[f"{type(exc).__name__}: {head}"] += 1
        finally:
            target.write_bytes(original)

    run()
    return outcomes, failures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--examples", type=int, default=300, help="damaged inputs per target file")
    ap.add_argument("--random", action="store_true", help="not derandomised (new inputs each run)")
    args = ap.parse_args()
    sys.exit(1 if census(args.examples, not args.random) else 0)


if __name__ == "__main__":
    main()
