"""Vectorised bootstrap confidence intervals and paired bootstrap p-values.

Reproduces the confidence-intervals toolkit of Ferrer and Riera (PyPI ``confidence-intervals``
0.0.3, ``evaluate_with_conf_int``) exactly, but computes every resample of every metric of every
system at once:

* Resample ``b`` (``b = 0 .. B-1``) draws the toolkit's indices:
  ``np.random.RandomState(b).randint(0, n, size=n)`` over utterances; with *conditions*
  (speakers), first the unique conditions (sorted, as ``np.unique`` orders them) with
  ``RandomState(b)``, then, for every chosen condition, its utterances (in their original order)
  with a *fresh* ``RandomState(b)``, repeated as many times as the condition was chosen.
* A resample is held as a count vector (how often each utterance was drawn). Every metric is a
  function of count-weighted sums of per-utterance rows: one matrix product ``counts @ rows``
  gives, for a chunk of resamples, the per-class TP / predicted / actual counts of every system
  (-> macro-F1), and ``(counts * values).sum(axis=1)`` the summed KLD / JSD values (-> means).
* The sums do not depend on the CPU, the BLAS, its thread count or how many systems are scored
  together: the counts are integers (exact in any summation order), and the float sums are
  numpy's pairwise sum of elementwise products, one fixed order. So a system's numbers are bit
  for bit the same in ``metrics.parquet`` (three systems) and in ``serrules score`` (one or two).
* Bounds: ``np.percentile(values, alpha / 2)`` and ``np.percentile(values, 100 - alpha / 2)``
  (linear interpolation), as the toolkit.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from serrules.base.errors import ConfigError
from serrules.evaluation.metrics import METRICS, SystemScores, macro_f1_from_counts

#: Upper bound on the memory of one chunk of resample count vectors (bytes).
DEFAULT_CHUNK_BYTES = 64 * 2**20


#: Bootstrap units: resample utterances, or speakers then utterances within each speaker.
UNITS: tuple[str, ...] = ("utterance", "speaker")


@dataclass(frozen=True)
class BootstrapSettings:
    """How the scores are bootstrapped: ``n_bootstrap`` resamples over ``unit`` (utterances, or
    speakers then utterances within each chosen speaker), intervals between the ``alpha / 2``
    and ``100 - alpha / 2`` percentiles, ``epsilon`` the floor of both distributions in KLD/JSD
    and ``chunk_bytes`` the memory bound of one chunk of resample count vectors. Every field is
    checked here, once, when the object is built (a :class:`ConfigError` naming the
    ``evaluation`` key); the config's values come in through :meth:`from_mapping`."""

    n_bootstrap: int
    alpha: float
    unit: str
    epsilon: float
    chunk_bytes: int = DEFAULT_CHUNK_BYTES

    def __post_init__(self) -> None:
        def bad(key: str, rule: str) -> ConfigError:
            value = getattr(self, key)
            return ConfigError(f"evaluation.{key}: must be {rule}, got {value!r}")

        for key in ("n_bootstrap", "chunk_bytes"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise bad(key, "an integer >= 1")
            object.__setattr__(self, key, int(value))
        if not _is_number(self.alpha) or not 0 < self.alpha < 100:
            raise bad("alpha", "a number in (0, 100)")
        if not _is_number(self.epsilon) or not self.epsilon > 0:
            raise bad("epsilon", "a number > 0")
        if self.unit not in UNITS:
            raise bad("unit", f"one of {', '.join(UNITS)}")
        object.__setattr__(self, "alpha", float(self.alpha))
        object.__setattr__(self, "epsilon", float(self.epsilon))

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], **overrides: Any) -> BootstrapSettings:
        """From an ``evaluation`` config section (or the settings stored in ``metrics.parquet``):
        its ``n_bootstrap``, ``alpha``, ``unit`` and ``epsilon`` (other keys are not bootstrap
        settings), each missing one taken from the config schema's default; ``overrides`` that
        are not None win."""
        from serrules.base.config import schema_defaults

        keys = ("n_bootstrap", "alpha", "unit", "epsilon")
        chosen = {**schema_defaults("evaluation"), **values}
        chosen.update({k: v for k, v in overrides.items() if v is not None})
        extra = {"chunk_bytes": chosen["chunk_bytes"]} if "chunk_bytes" in chosen else {}
        return cls(**{k: chosen[k] for k in keys}, **extra)

    def resample(
        self,
        truth: np.ndarray,
        systems: Mapping[str, SystemScores],
        conditions: np.ndarray | None = None,
    ) -> dict[str, dict[str, np.ndarray]]:
        """:func:`bootstrap_metrics` of ``systems`` on these settings' resamples (``conditions``:
        each utterance's speaker when ``unit`` is ``speaker``, else None)."""
        return bootstrap_metrics(
            truth,
            systems,
            n_bootstrap=self.n_bootstrap,
            conditions=conditions,
            chunk_bytes=self.chunk_bytes,
        )

    def record(self) -> dict[str, Any]:
        """The settings a ``metrics.parquet`` and a score table record (``chunk_bytes`` changes
        no number, so it is left out)."""
        return {
            "n_bootstrap": self.n_bootstrap,
            "alpha": self.alpha,
            "unit": self.unit,
            "epsilon": self.epsilon,
        }


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


class _ConditionLayout:
    """Utterances grouped by condition, in the toolkit's order (sorted conditions, original
    utterance order inside each)."""

    def __init__(self, conditions: np.ndarray) -> None:
        codes = np.unique(np.asarray(conditions), return_inverse=True)[1].ravel()
        self.order = np.argsort(codes, kind="stable")
        self.sizes = np.bincount(codes)
        self.starts = np.concatenate(([0], np.cumsum(self.sizes)[:-1]))

    def counts(self, seed: int, n: int) -> np.ndarray:
        n_conditions = self.sizes.size
        chosen = np.random.RandomState(seed).randint(0, n_conditions, size=n_conditions)
        multiplicity = np.bincount(chosen, minlength=n_conditions)
        selected = np.flatnonzero(multiplicity)
        positions, weights = [], []
        # The toolkit redraws with RandomState(seed) for every chosen condition, so the draw only
        # depends on the condition's size: one draw per distinct size serves all of them.
        for size in np.unique(self.sizes[selected]):
            same_size = selected[self.sizes[selected] == size]
            draw = np.random.RandomState(seed).randint(0, size, size=size)
            positions.append((self.starts[same_size][:, None] + draw[None, :]).ravel())
            weights.append(np.repeat(multiplicity[same_size], size))
        utterances = self.order[np.concatenate(positions)]
        return np.bincount(utterances, weights=np.concatenate(weights), minlength=n)


def resample_counts(
    n: int, seeds: Sequence[int] | range, conditions: np.ndarray | None = None
) -> np.ndarray:
    """Count vectors (``len(seeds)`` x ``n``, float64) of the toolkit's resamples ``seeds``.

    ``conditions`` (length ``n``, any sortable labels, e.g. speaker ids) switches to the
    toolkit's two-stage sampling; conditions are ordered as ``np.unique`` sorts them, which is
    the toolkit's order when it is given their integer codes.
    """
    if n < 1:
        raise ValueError("cannot bootstrap an empty test set")
    counts = np.empty((len(seeds), n), dtype=np.float64)
    if conditions is None:
        for row, seed in enumerate(seeds):
            draw = np.random.RandomState(seed).randint(0, n, size=n)
            counts[row] = np.bincount(draw, minlength=n)
        return counts
    conditions = np.asarray(conditions)
    if conditions.shape != (n,):
        raise ValueError(f"conditions must have shape ({n},), got {conditions.shape}")
    layout = _ConditionLayout(conditions)
    for row, seed in enumerate(seeds):
        counts[row] = layout.counts(seed, n)
    return counts


def iter_resample_chunks(
    n: int,
    n_bootstrap: int,
    conditions: np.ndarray | None = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> Iterator[tuple[slice, np.ndarray]]:
    """Yield ``(slice of resample numbers, count matrix)`` covering resamples ``0 .. B-1``, each
    count matrix at most ``chunk_bytes`` large (at least one resample)."""
    if n_bootstrap < 1:
        raise ValueError(f"n_bootstrap must be at least 1, got {n_bootstrap}")
    per_chunk = max(1, min(n_bootstrap, chunk_bytes // (8 * max(n, 1))))
    for start in range(0, n_bootstrap, per_chunk):
        stop = min(start + per_chunk, n_bootstrap)
        yield slice(start, stop), resample_counts(n, range(start, stop), conditions)


def bootstrap_metrics(
    truth: np.ndarray,
    systems: Mapping[str, SystemScores],
    *,
    n_bootstrap: int = 1000,
    conditions: np.ndarray | None = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> dict[str, dict[str, np.ndarray]]:
    """Values of macro-F1, KLD and JSD on resamples ``0 .. n_bootstrap-1`` of one test set for
    every system: ``{system: {metric: array (n_bootstrap,)}}``.

    All systems see the same resamples (what the paired p-value needs). ``truth`` is the test
    set's multi-hot ground truth (n x C).
    """
    truth = np.asarray(truth, dtype=bool)
    n, n_classes = truth.shape
    names = list(systems)
    # Per-utterance 0/1 rows whose count-weighted sums are the counts macro-F1 needs:
    # [actual (C) | per system: true positives (C), predicted (C)]; KLD/JSD rows apart.
    counted = np.empty((n, n_classes * (1 + 2 * len(names))), dtype=np.float64)
    counted[:, :n_classes] = truth
    divergences = {}
    for k, name in enumerate(names):
        scores = systems[name]
        if scores.predicted.shape != truth.shape:
            raise ValueError(
                f"system {name!r}: predictions {scores.predicted.shape} vs truth {truth.shape}"
            )
        base = n_classes + 2 * k * n_classes
        counted[:, base : base + n_classes] = scores.predicted & truth
        counted[:, base + n_classes : base + 2 * n_classes] = scores.predicted
        divergences[name] = {
            "kld": np.asarray(scores.kld, dtype=np.float64),
            "jsd": np.asarray(scores.jsd, dtype=np.float64),
        }

    values = {name: {m: np.empty(n_bootstrap) for m in METRICS} for name in names}
    for span, counts in iter_resample_chunks(n, n_bootstrap, conditions, chunk_bytes):
        # integer sums: exact whatever order the BLAS adds them in
        sums = counts @ counted
        sizes = counts.sum(axis=1)  # n for utterances; varies with conditions
        actual = sums[:, :n_classes]
        product = np.empty_like(counts)
        for k, name in enumerate(names):
            base = n_classes + 2 * k * n_classes
            tp = sums[:, base : base + n_classes]
            predicted = sums[:, base + n_classes : base + 2 * n_classes]
            values[name]["macro_f1"][span] = macro_f1_from_counts(tp, predicted, actual)
            for metric in ("kld", "jsd"):
                np.multiply(counts, divergences[name][metric], out=product)
                values[name][metric][span] = product.sum(axis=1) / sizes
    return values


def percentile_interval(values: np.ndarray, alpha: float = 5.0) -> tuple[float, float]:
    """``(alpha/2, 100 - alpha/2)`` percentiles (linear interpolation), the toolkit's bounds."""
    if not 0 < alpha < 100:
        raise ValueError(f"alpha must be in (0, 100), got {alpha}")
    return (
        float(np.percentile(values, alpha / 2)),
        float(np.percentile(values, 100 - alpha / 2)),
    )


#: Paired p-value: a resample whose two values differ by at most ``TIE_RTOL`` times the larger
#: of them (plus ``TIE_ATOL``, for values at 0) is a tie, counted on both sides. Far above the
#: float64 rounding of a metric computed in another order (relative 1e-16 per operation, a few
#: 1e-13 for a mean over a million utterances), so that no setting of the BLAS, its thread
#: count or numpy's SIMD decides a resample's side; far below any difference the float32
#: probabilities of a prediction file can resolve (relative 6e-8).
TIE_RTOL = 1e-9
TIE_ATOL = 1e-12


def paired_p_value(values: np.ndarray, reference: np.ndarray) -> float:
    """Two-sided paired bootstrap p-value of ``values`` against ``reference`` on the same
    resamples: with ``d_b = values_b - reference_b``,
    ``p = min(1, 2 * min(mean(d_b <= 0), mean(d_b >= 0)))``, where a resample whose
    ``|d_b|`` is within :data:`TIE_RTOL` of the larger value (or :data:`TIE_ATOL`) counts as
    ``d_b = 0`` (a tie, on both sides).

    With B resamples the smallest non-zero value is ``2/B``; 0 means no resample crossed zero,
    i.e. ``p < 2/B`` (report it that way, see :func:`p_value_resolution`).
    """
    values = np.asarray(values, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    if values.ndim != 1 or values.size == 0 or values.shape != reference.shape:
        raise ValueError("need two equally long, non-empty 1-D arrays of resample values")
    d = values - reference
    tie = np.abs(d) <= TIE_RTOL * np.maximum(np.abs(values), np.abs(reference)) + TIE_ATOL
    d[tie] = 0.0
    return float(min(1.0, 2.0 * min(np.mean(d <= 0), np.mean(d >= 0))))


def p_value_resolution(n_bootstrap: int) -> float:
    """Smallest non-zero paired p-value attainable with ``n_bootstrap`` resamples (``2/B``)."""
    return 2.0 / n_bootstrap


__all__ = [
    "DEFAULT_CHUNK_BYTES",
    "TIE_ATOL",
    "TIE_RTOL",
    "UNITS",
    "BootstrapSettings",
    "bootstrap_metrics",
    "iter_resample_chunks",
    "p_value_resolution",
    "paired_p_value",
    "percentile_interval",
    "resample_counts",
]
