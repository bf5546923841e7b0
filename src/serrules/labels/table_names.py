"""The names of the label stage's tables (``results/<corpus>/<name>.parquet``): which there are,
which depend on ``labels.mr_share``, and each fold scheme's fold table.

Kept apart from :mod:`serrules.labels.label_tables` (which builds the tables with pandas) so that
Snakemake's planning, which names these files, imports no pandas.
"""

from __future__ import annotations

from serrules.base.classes import RULES
from serrules.corpora.formats import FOLD_SCHEMES

#: the tables that depend on ``labels.mr_share`` (and its epsilon); built by
#: :func:`serrules.labels.label_tables.share_dependent_tables` from ``utterances``
SHARE_DEPENDENT: tuple[str, ...] = ("labels_MR", "label_loss")


def fold_table_name(scheme: str) -> str:
    """File name of a scheme's fold table in ``results/<corpus>/``: ``folds.parquet`` (paper),
    ``folds_authors.parquet`` (authors)."""
    if scheme not in FOLD_SCHEMES:
        raise ValueError(f"unknown fold scheme {scheme!r}; known: {', '.join(FOLD_SCHEMES)}")
    return "folds.parquet" if scheme == "paper" else f"folds_{scheme}.parquet"


def label_table_names() -> tuple[str, ...]:
    """Names of the tables the label stage writes, in writing order: ``ratings``,
    ``utterances``, ``labels_<rule>`` per rule, ``folds`` (paper) and ``folds_<scheme>`` per
    other fold scheme, ``exclusions``, ``label_loss``."""
    folds = [fold_table_name(s).removesuffix(".parquet") for s in FOLD_SCHEMES]
    return (
        "ratings",
        "utterances",
        *(f"labels_{r}" for r in RULES),
        *folds,
        "exclusions",
        "label_loss",
    )


__all__ = ["SHARE_DEPENDENT", "fold_table_name", "label_table_names"]
