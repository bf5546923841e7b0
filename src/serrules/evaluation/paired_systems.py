"""Several systems of one corpus scored on the same test sets and the same bootstrap resamples:
the cells that ``protocol_comparison`` (paper vs authors) and ``backbone_comparison`` (one
system per backbone) both lay out as rows. Each system may score KLD/JSD against its own
divergence target and with its own epsilon; the resamples are shared (one
:meth:`~serrules.evaluation.bootstrap.BootstrapSettings.resample` call per cell), which is what
makes a paired p-value between two systems meaningful.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from serrules.base.classes import RULES
from serrules.corpora.formats import corpus_format
from serrules.evaluation.bootstrap import BootstrapSettings
from serrules.evaluation.metrics import SystemScores
from serrules.evaluation.pooled_corpus import CorpusFiles, pool_systems, read_test_sets
from serrules.evaluation.pooling import with_divergence_target


@dataclass(frozen=True)
class SystemTarget:
    """How one system's KLD/JSD are scored: ``divergence_target`` (``evaluation``), the
    ``target_smoothing`` of its training, the ``epsilon`` of its evaluation."""

    divergence_target: str
    target_smoothing: float
    epsilon: float


@dataclass(frozen=True)
class PairedCell:
    """One (test rule, train rule) cell: per system its point metrics and its metrics on each of
    the shared resamples (system -> metric -> value / array of ``n_bootstrap`` values)."""

    test_rule: str
    train_rule: str
    size: int
    points: dict[str, dict[str, float]]
    resampled: dict[str, dict[str, np.ndarray]]


def paired_cells(
    files: Mapping[str, CorpusFiles],
    *,
    bootstrap: BootstrapSettings,
    targets: Mapping[str, SystemTarget],
) -> Iterator[PairedCell]:
    """The nine cells (test rule outer, train rule inner, :data:`RULES` order) of the systems
    ``files`` names (system -> its files; the label stage is shared and read from the first).
    Every system's predictions are pooled on its own fold table (:func:`pool_systems`: they must
    cover the same test utterances); ``targets[system]`` says how its KLD/JSD are scored."""
    shared = next(iter(files.values()))
    classes = corpus_format(shared.fmt).classes
    ids, pooled = pool_systems(files)
    base_sets = read_test_sets(ids, shared.labels, shared.utterances, classes)
    sets = {
        name: with_divergence_target(
            base_sets, targets[name].divergence_target, targets[name].target_smoothing
        )
        for name in files
    }
    for test_rule in RULES:
        test = base_sets[test_rule]
        conditions = test.speakers.astype(str) if bootstrap.unit == "speaker" else None
        for train_rule in RULES:
            systems = {
                name: SystemScores.from_probabilities(
                    pooled[name][train_rule][test.positions],
                    sets[name][test_rule].target,
                    targets[name].epsilon,
                )
                for name in files
            }
            yield PairedCell(
                test_rule=test_rule,
                train_rule=train_rule,
                size=test.size,
                points={name: s.point_metrics(test.truth) for name, s in systems.items()},
                resampled=bootstrap.resample(test.truth, systems, conditions),
            )


__all__ = ["PairedCell", "SystemTarget", "paired_cells"]
