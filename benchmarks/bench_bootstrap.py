"""Benchmark the vectorised bootstrap against a scikit-learn loop and the confidence-intervals
toolkit, on random but realistic data (default: 45,000 utterances x 8 classes, 1000 resamples).

    python benchmarks/bench_bootstrap.py [--n 45000] [--resamples 1000] [--classes 8]
                                         [--unit utterance|speaker] [--seed 0]

Asserts that all three implementations give the same intervals (macro-F1 bit-exact, KLD/JSD to
1e-12: the means are summed in a different order) and prints times and speed ratios.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from benchmark_row import print_row
from confidence_intervals import evaluate_with_conf_int, get_bootstrap_indices
from sklearn.metrics import f1_score

from serrules.evaluation.bootstrap import bootstrap_metrics, percentile_interval
from serrules.evaluation.metrics import METRICS, SystemScores
from serrules.labels.aggregation import vote_distribution


def make_data(n: int, n_classes: int, seed: int) -> tuple[np.ndarray, SystemScores, np.ndarray]:
    """Votes of 3-10 raters drawn from per-utterance class preferences (skewed class prior),
    softmax predictions correlated with the vote shares, ~30 utterances per speaker."""
    rng = np.random.default_rng(seed)
    prior = rng.dirichlet(np.full(n_classes, 2.0))
    preference = rng.dirichlet(prior * 3.0, size=n)
    raters = rng.integers(3, 11, size=n)
    votes = np.array([rng.multinomial(k, p) for k, p in zip(raters, preference, strict=True)])
    target = vote_distribution(votes)
    logits = 3.0 * target + rng.normal(scale=1.0, size=target.shape)
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    truth = target > 1 / n_classes
    speakers = rng.integers(0, max(1, n // 30), size=n)
    return truth, SystemScores.from_probabilities(probs, target), speakers


def _timed(label: str, func):
    start = time.perf_counter()
    result = func()
    seconds = time.perf_counter() - start
    print(f"{label:<58s} {seconds:9.2f} s")
    return result, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=45_000, help="utterances")
    parser.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples")
    parser.add_argument("--classes", type=int, default=8, help="emotion classes")
    parser.add_argument("--unit", choices=("utterance", "speaker"), default="utterance")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    truth, scores, speakers = make_data(args.n, args.classes, args.seed)
    conditions = speakers if args.unit == "speaker" else None
    n_b = args.resamples
    print(
        f"n={args.n} utterances, C={args.classes} classes, B={n_b} resamples, unit={args.unit}"
        + (f" ({np.unique(speakers).size} speakers)" if conditions is not None else "")
    )

    def vectorised() -> dict[str, tuple[float, float]]:
        values = bootstrap_metrics(truth, {"s": scores}, n_bootstrap=n_b, conditions=conditions)
        return {m: percentile_interval(values["s"][m]) for m in METRICS}

    ours, t_ours = _timed("vectorised (macro-F1 + KLD + JSD)", vectorised)

    truth_int, pred_int = truth.astype(int), scores.predicted.astype(int)

    def loop_f1() -> tuple[float, float]:
        vals = [
            f1_score(truth_int[idx], pred_int[idx], average="macro", zero_division=0)
            for idx in (get_bootstrap_indices(args.n, conditions, b) for b in range(n_b))
        ]
        return percentile_interval(np.array(vals))

    def loop_divergences() -> dict[str, tuple[float, float]]:
        vals = {"kld": [], "jsd": []}
        for b in range(n_b):
            idx = get_bootstrap_indices(args.n, conditions, b)
            vals["kld"].append(np.mean(scores.kld[idx]))
            vals["jsd"].append(np.mean(scores.jsd[idx]))
        return {m: percentile_interval(np.array(v)) for m, v in vals.items()}

    loop_f1_ci, t_loop_f1 = _timed("(a) Python loop, sklearn f1_score (macro-F1 only)", loop_f1)
    loop_div_ci, t_loop_div = _timed("(a) Python loop, numpy means (KLD + JSD)", loop_divergences)

    def toolkit() -> dict[str, tuple[float, float]]:
        out = {
            "macro_f1": evaluate_with_conf_int(
                pred_int,
                lambda y, p: f1_score(y, p, average="macro", zero_division=0),
                truth_int,
                conditions=conditions,
                num_bootstraps=n_b,
            )[1]
        }
        for metric in ("kld", "jsd"):
            out[metric] = evaluate_with_conf_int(
                getattr(scores, metric), np.mean, conditions=conditions, num_bootstraps=n_b
            )[1]
        return out

    kit, t_kit = _timed("(b) confidence-intervals toolkit (all three metrics)", toolkit)

    assert tuple(ours["macro_f1"]) == tuple(loop_f1_ci) == tuple(kit["macro_f1"]), (
        ours["macro_f1"],
        loop_f1_ci,
        kit["macro_f1"],
    )
    for metric in ("kld", "jsd"):
        np.testing.assert_allclose(ours[metric], kit[metric], rtol=0, atol=1e-12)
        np.testing.assert_allclose(ours[metric], loop_div_ci[metric], rtol=0, atol=1e-12)
    print("intervals identical (macro-F1 bit-exact, KLD/JSD within 1e-12):")
    for metric in METRICS:
        print(f"  {metric:<8s} ({ours[metric][0]:.6f}, {ours[metric][1]:.6f})")
    print(f"speed-up vs (a) macro-F1 loop alone:        {t_loop_f1 / t_ours:8.1f}x")
    print(f"speed-up vs (a) loops for all three metrics: {(t_loop_f1 + t_loop_div) / t_ours:8.1f}x")
    print(f"speed-up vs (b) toolkit, all three metrics:  {t_kit / t_ours:8.1f}x")
    print_row(
        f"bootstrap CIs, {args.n:,} utterances x {args.classes} classes, {n_b} resamples over "
        f"{args.unit}s, 3 metrics",
        f"{t_ours:.2f} s vectorised vs {t_loop_f1 + t_loop_div:.1f} s Python loop "
        f"({(t_loop_f1 + t_loop_div) / t_ours:.0f}x) and {t_kit:.1f} s `confidence-intervals` "
        f"({t_kit / t_ours:.0f}x); identical intervals",
    )


if __name__ == "__main__":
    main()
