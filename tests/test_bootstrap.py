"""The vectorised bootstrap reproduces the confidence-intervals toolkit (the same resamples; the
values to a stated tolerance, the toolkit sums in another order)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from confidence_intervals import evaluate_with_conf_int, get_bootstrap_indices
from sklearn.metrics import f1_score

from serrules.evaluation.bootstrap import (
    TIE_RTOL,
    bootstrap_metrics,
    paired_p_value,
    percentile_interval,
    resample_counts,
)
from serrules.evaluation.metrics import SystemScores
from serrules.labels.aggregation import vote_distribution

# 200 resamples: each toolkit comparison runs scikit-learn once per resample (slow)
N_BOOTSTRAP = 200


def _sklearn_macro_f1(labels: np.ndarray, samples: np.ndarray) -> float:
    return f1_score(labels, samples, average="macro", zero_division=0)


def _mean(samples: np.ndarray) -> float:
    return float(np.mean(samples))


@pytest.fixture(scope="module")
def data() -> dict:
    rng = np.random.default_rng(2024)
    n, c = 300, 5
    votes = rng.poisson(0.7, size=(n, c))
    votes[votes.sum(axis=1) == 0, 2] = 1
    target = vote_distribution(votes)
    truth = target > 1 / c
    systems = {}
    for name, strength in (("AR", 2.5), ("MR", 1.0)):
        logits = rng.normal(size=(n, c)) + strength * target
        probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        systems[name] = SystemScores.from_probabilities(probs, target)
    # 13 speakers of uneven size, several of equal size (they share the toolkit's draws)
    speakers = rng.choice(13, size=n, p=np.r_[np.full(6, 0.04), np.full(7, 0.76 / 7)])
    return {"truth": truth, "systems": systems, "speakers": speakers}


@pytest.mark.parametrize("unit", ["utterance", "speaker"])
def test_intervals_equal_the_toolkit(data: dict, unit: str) -> None:
    conditions = data["speakers"] if unit == "speaker" else None
    values = bootstrap_metrics(
        data["truth"], data["systems"], n_bootstrap=N_BOOTSTRAP, conditions=conditions
    )
    for name, scores in data["systems"].items():
        _, expected = evaluate_with_conf_int(
            scores.predicted.astype(int),
            _sklearn_macro_f1,
            data["truth"].astype(int),
            conditions=conditions,
            num_bootstraps=N_BOOTSTRAP,
            alpha=5,
        )
        # different code (scikit-learn's f1_score per resample): same fractions, a tolerance
        # for the order of the mean over classes
        np.testing.assert_allclose(
            percentile_interval(values[name]["macro_f1"], 5.0), expected, rtol=1e-12, atol=0
        )
        for metric in ("kld", "jsd"):
            _, expected = evaluate_with_conf_int(
                getattr(scores, metric), _mean, conditions=conditions, num_bootstraps=N_BOOTSTRAP
            )
            np.testing.assert_allclose(
                percentile_interval(values[name][metric], 5.0), expected, rtol=0, atol=1e-12
            )


@pytest.mark.parametrize("with_conditions", [False, True])
def test_count_vectors_equal_toolkit_indices(data: dict, with_conditions: bool) -> None:
    n = data["truth"].shape[0]
    conditions = data["speakers"] if with_conditions else None
    counts = resample_counts(n, range(40), conditions)
    for seed in range(40):
        indices = get_bootstrap_indices(n, conditions, random_state=seed)
        np.testing.assert_array_equal(counts[seed], np.bincount(indices, minlength=n))


def test_string_conditions_are_ordered_like_their_sorted_codes(data: dict) -> None:
    codes = data["speakers"]
    names = np.array([f"spk{c:02d}" for c in codes])
    n = codes.size
    np.testing.assert_array_equal(
        resample_counts(n, range(10), names), resample_counts(n, range(10), codes)
    )


def test_chunking_does_not_change_values(data: dict) -> None:
    kwargs = {"n_bootstrap": 57, "conditions": data["speakers"]}
    whole = bootstrap_metrics(data["truth"], data["systems"], **kwargs)
    chunked = bootstrap_metrics(data["truth"], data["systems"], chunk_bytes=1, **kwargs)
    for name in whole:  # same code on the same rows: each resample's sums take one order
        for metric in ("macro_f1", "kld", "jsd"):
            np.testing.assert_array_equal(whole[name][metric], chunked[name][metric])


def test_paired_p_value_hand_cases() -> None:
    reference = np.zeros(10)
    assert paired_p_value(np.arange(1, 11), reference) == 0.0  # every d > 0
    d = np.array([-1, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    assert paired_p_value(d, reference) == pytest.approx(0.2)  # 2 * 1/10
    d = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])  # a tie counts on both sides
    assert paired_p_value(d, reference) == pytest.approx(0.2)
    assert paired_p_value(np.array([-1, 1, -1, 1]), np.zeros(4)) == 1.0
    with pytest.raises(ValueError):
        paired_p_value(np.array([]), np.array([]))


def test_paired_p_value_counts_last_bit_differences_as_ties() -> None:
    """A tie computed in another order differs by an ulp or so: such resamples count on both
    sides, as exact ties do, so the p-value does not depend on the summation order; a difference
    above the tolerance is not a tie."""
    rng = np.random.default_rng(7)
    reference = rng.uniform(0.2, 0.9, size=1000)
    values = reference + rng.normal(0.02, 0.01, size=1000)
    tied = rng.random(1000) < 0.2
    values[tied] = reference[tied]
    exact = paired_p_value(values, reference)
    for ulps in (1, -1, 4, -4):
        noisy = values.copy()
        noisy[tied] = reference[tied] + ulps * np.spacing(reference[tied])
        assert paired_p_value(noisy, reference) == exact
    assert exact == pytest.approx(2 * np.mean(values - reference <= 0))  # the ties count
    above = values.copy()
    above[tied] = reference[tied] * (1 + 100 * TIE_RTOL)
    assert paired_p_value(above, reference) != exact


#: Scores a seeded test set and prints its paired p-values (JSON): run under each thread count.
_P_VALUE_SCRIPT = """
import json, numpy as np
from serrules.evaluation.bootstrap import bootstrap_metrics, paired_p_value
from serrules.evaluation.metrics import SystemScores
from serrules.labels.aggregation import vote_distribution
rng = np.random.default_rng(11)
n, c = 400, 6
votes = rng.poisson(0.8, size=(n, c)) + np.eye(c, dtype=int)[rng.integers(0, c, n)]
target = vote_distribution(votes)
truth = target > 1 / c
systems = {}
for name, strength in (("AR", 2.0), ("MR", 1.5), ("PR", 1.4)):
    logits = rng.normal(size=(n, c)) + strength * target
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    systems[name] = SystemScores.from_probabilities(probs, target)
values = bootstrap_metrics(truth, systems, n_bootstrap=300)
print(json.dumps({f"{s} {m}": paired_p_value(values[s][m], values["AR"][m])
                  for s in ("MR", "PR") for m in values[s]}))
"""


def test_paired_p_values_equal_under_one_and_two_blas_threads() -> None:
    """The same scores give the same paired p-values whatever the BLAS/OpenMP thread count (the
    counts are summed as exact integers, the divergences in numpy's fixed order, last-bit ties
    absorbed by the tie tolerance); .ci/float-matrix runs this under each of its settings too."""
    runs = []
    for threads in ("1", "2"):
        env = {**os.environ}
        env.update(
            dict.fromkeys(("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"), threads)
        )
        out = subprocess.run(
            [sys.executable, "-c", _P_VALUE_SCRIPT],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        runs.append(json.loads(out.stdout))
    assert runs[0] == runs[1]
    assert any(0 < p < 1 for p in runs[0].values())  # not all trivially 0 or 1


def test_paired_p_value_detects_a_real_difference(data: dict) -> None:
    values = bootstrap_metrics(data["truth"], data["systems"], n_bootstrap=200)
    # AR-like system (strong signal) is clearly better than the weak one on KLD
    assert paired_p_value(values["MR"]["kld"], values["AR"]["kld"]) < 0.05
    assert paired_p_value(values["AR"]["kld"], values["AR"]["kld"]) == 1.0


def test_percentile_interval_is_linear_and_validates_alpha() -> None:
    values = np.arange(101.0)
    assert percentile_interval(values, 5.0) == (2.5, 97.5)
    with pytest.raises(ValueError):
        percentile_interval(values, 0.0)


@pytest.mark.parametrize("unit", ["utterance", "speaker"])
def test_a_systems_values_do_not_depend_on_the_other_systems(data: dict, unit: str) -> None:
    """Scoring MR alone, or beside AR in either order, gives the same resample values bit for bit:
    the integer counts are exact in any order and the KLD/JSD sums take one fixed order, so
    ``serrules score`` (one or two systems) reproduces ``metrics.parquet`` (three) exactly."""
    conditions = data["speakers"] if unit == "speaker" else None
    mr, ar = data["systems"]["MR"], data["systems"]["AR"]
    kwargs = {"n_bootstrap": 200, "conditions": conditions}
    alone = bootstrap_metrics(data["truth"], {"MR": mr}, **kwargs)["MR"]
    first = bootstrap_metrics(data["truth"], {"MR": mr, "AR": ar}, **kwargs)["MR"]
    second = bootstrap_metrics(data["truth"], {"AR": ar, "X": ar, "MR": mr}, **kwargs)["MR"]
    small_chunks = bootstrap_metrics(data["truth"], {"MR": mr}, chunk_bytes=1, **kwargs)["MR"]
    for metric in ("macro_f1", "kld", "jsd"):
        for other in (first, second, small_chunks):
            np.testing.assert_array_equal(other[metric], alone[metric])


def test_bootstrap_settings_are_checked_once_where_they_are_built() -> None:
    from serrules.base.config import schema_defaults
    from serrules.base.errors import ConfigError
    from serrules.evaluation.bootstrap import BootstrapSettings

    defaults = schema_defaults("evaluation")
    settings = BootstrapSettings.from_mapping({"n_bootstrap": 50, "divergence_target": "votes"})
    assert settings.record() == {
        "n_bootstrap": 50,
        "alpha": float(defaults["alpha"]),
        "unit": defaults["unit"],
        "epsilon": defaults["epsilon"],
    }
    assert type(settings.alpha) is float and settings.chunk_bytes == 64 * 2**20
    overridden = BootstrapSettings.from_mapping({"alpha": 5}, alpha=10, unit=None)
    assert (overridden.alpha, overridden.unit) == (10.0, "utterance")
    for key, value, needle in [
        ("unit", "dialog", "one of utterance, speaker"),
        ("n_bootstrap", 0, "an integer >= 1"),
        ("n_bootstrap", 2.5, "an integer >= 1"),
        ("alpha", 100, r"a number in \(0, 100\)"),
        ("epsilon", 0, "a number > 0"),
        ("chunk_bytes", -1, "an integer >= 1"),
    ]:
        with pytest.raises(ConfigError, match=rf"evaluation\.{key}: must be {needle}"):
            BootstrapSettings.from_mapping({key: value})
