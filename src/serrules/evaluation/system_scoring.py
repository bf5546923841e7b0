"""Score any system's predictions on a corpus's MR_test, PR_test and AR_test (``serrules score``).

An outside system hands in one prediction per test utterance: ``utterance_id`` + one probability
column per class of the corpus (``<class>`` or ``p_<class>``; an optional ``fold`` column is
checked against the folds). The files (CSV or Parquet; several files are concatenated, e.g. the
per-fold ``predictions.parquet`` of a train rule) must cover every pooled test utterance of the
corpus exactly once: the union of the folds' test parts with usable audio, which is AR_test.
Everything that breaks this contract raises :class:`~serrules.evaluation.pooling.PredictionError`
naming the file and the offending columns or utterances.

The scores are computed by :func:`~serrules.evaluation.corpus_metrics.score_test_sets`, the
scoring of ``metrics.parquet``, with the evaluation settings stored in the corpus's
``metrics.parquet`` (unless overridden): for the pipeline's own pooled predictions the numbers
are those of ``metrics.parquet``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from serrules.base.classes import RULES, prefixed
from serrules.base.tables import preview, read_table
from serrules.evaluation.bootstrap import BootstrapSettings
from serrules.evaluation.corpus_metrics import METRICS_COLUMNS, read_metrics, score_test_sets
from serrules.evaluation.metrics import EPSILON
from serrules.evaluation.pooled_corpus import read_test_sets
from serrules.evaluation.pooling import (
    PredictionError,
    TestSet,
    check_distributions,
    expected_test_utterances,
    with_divergence_target,
)
from serrules.labels.table_names import fold_table_name

#: Label-stage files a corpus folder must hold to be scored against.
LABEL_FILES: tuple[str, ...] = (
    "utterances.parquet",
    *(f"labels_{rule}.parquet" for rule in RULES),
    "folds.parquet",
    "audio_index.parquet",
)
#: The protocol setting that picks the fold table (``protocol_record`` in metrics.parquet).
FOLDS_KEY = "training.iemocap_folds"
#: Evaluation settings used when the corpus folder has no ``metrics.parquet``.
DEFAULT_SETTINGS: dict[str, object] = {
    "n_bootstrap": 1000,
    "alpha": 5.0,
    "unit": "utterance",
    "epsilon": EPSILON,
    "divergence_target": "votes",
    "label_smoothing": 0.0,
}
#: Columns of :attr:`SystemScore.frame`.
SCORE_COLUMNS: tuple[str, ...] = ("system", *METRICS_COLUMNS[2:-1], "p_value")


@dataclass
class CorpusLabels:
    """The label-stage outputs of one corpus folder (``results/<corpus>/``)."""

    folder: Path
    corpus: str
    classes: tuple[str, ...]
    expected: pd.Series  #: pooled test utterance -> fold (sorted ids)
    test_sets: dict[str, TestSet]
    settings: dict[str, object]
    settings_source: str


def _classes_of(utterances_path: Path) -> tuple[str, ...]:
    import pyarrow.parquet as pq

    names = pq.read_schema(utterances_path).names
    classes = tuple(n[len("votes_") :] for n in names if n.startswith("votes_"))
    # a ratings-table corpus has the classes of its config entry: any two or more
    if len(classes) < 2:
        raise PredictionError(
            f"{utterances_path}: {len(classes)} votes_ column(s) {list(classes)}; the label "
            "stage writes one per class of the corpus, at least two"
        )
    return classes


def load_corpus_labels(folder: str | os.PathLike[str]) -> CorpusLabels:
    """Read a corpus folder written by the label stage (and ``audio_index.parquet``); the class
    list comes from the ``votes_`` columns of ``utterances.parquet``, the evaluation settings
    from ``metrics.parquet`` when present."""
    folder = Path(folder)
    if not folder.is_dir():
        raise PredictionError(f"{folder}: not a folder (expected results/<corpus>/)")
    missing = [name for name in LABEL_FILES if not (folder / name).is_file()]
    if missing:
        raise PredictionError(
            f"{folder}: missing {', '.join(missing)} (run the label stage and audio_index first)"
        )
    settings, source = dict(DEFAULT_SETTINGS), "defaults"
    corpus = folder.resolve().name
    scheme = "paper"
    metrics_path = folder / "metrics.parquet"
    if metrics_path.is_file():
        frame, stored = read_metrics(metrics_path)
        settings.update({k: v for k, v in stored.items() if k in DEFAULT_SETTINGS})
        scheme = stored.get("protocol", {}).get("settings", {}).get(FOLDS_KEY, scheme)
        source = str(metrics_path)
        if len(frame):
            corpus = str(frame["corpus"].iloc[0])
    utterances_path = folder / "utterances.parquet"
    classes = _classes_of(utterances_path)
    # the fold table of the protocol that produced metrics.parquet (the authors' IEMOCAP folds)
    folds_path, audio_path = folder / fold_table_name(scheme), folder / "audio_index.parquet"
    if not folds_path.is_file():
        raise PredictionError(f"{folds_path}: missing (fold table named by {source})")
    expected = expected_test_utterances(
        read_table(folds_path, "folds", error=PredictionError, check=False),
        read_table(
            audio_path, "audio_index", columns=("status",), error=PredictionError, check=False
        ),
        folds_source=str(folds_path),
        audio_source=str(audio_path),
    )
    test_sets = read_test_sets(
        expected.index,
        {rule: folder / f"labels_{rule}.parquet" for rule in RULES},
        utterances_path,
        classes,
    )
    # KLD/JSD target on MR_test/PR_test as in metrics.parquet (evaluate_corpus does the same)
    test_sets = with_divergence_target(
        test_sets, str(settings["divergence_target"]), float(settings["label_smoothing"])
    )
    return CorpusLabels(folder, corpus, classes, expected, test_sets, settings, source)


def _read_table(path: Path) -> pd.DataFrame:
    suffix = path.suffix.lower()
    if not path.is_file():
        raise PredictionError(f"{path}: no such file")
    try:
        if suffix == ".csv":
            return pd.read_csv(path, dtype={"utterance_id": str})
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise PredictionError(f"{path}: cannot read ({str(exc).strip().splitlines()[0]})") from exc
    raise PredictionError(f"{path}: unknown file type {suffix!r} (use .csv or .parquet)")


def _probability_columns(frame: pd.DataFrame, classes: Sequence[str], path: Path) -> list[str]:
    """Column of each class (``p_<class>`` or ``<class>``), after checking the column names."""
    columns = [str(c) for c in frame.columns]
    if "utterance_id" not in columns:
        raise PredictionError(f"{path}: no utterance_id column (columns: {', '.join(columns)})")
    chosen, missing = [], []
    for name in classes:
        found = [c for c in (f"p_{name}", name) if c in columns]
        if len(found) > 1:
            raise PredictionError(f"{path}: class {name!r} has two columns, {' and '.join(found)}")
        if not found:
            missing.append(name)
        else:
            chosen.extend(found)
    unknown = [c for c in columns if c not in ("utterance_id", "fold", *chosen)]
    expected = ", ".join(classes)
    if unknown:
        raise PredictionError(
            f"{path}: unknown column(s) {', '.join(unknown)}; expected utterance_id, an "
            f"optional fold and one probability column per class ({expected})"
        )
    if missing:
        raise PredictionError(
            f"{path}: no probability column for class(es) {', '.join(missing)} (classes: "
            f"{expected}; name columns <class> or p_<class>)"
        )
    return chosen


def read_system_predictions(
    paths: Sequence[str | os.PathLike[str]], labels: CorpusLabels
) -> pd.DataFrame:
    """One system's predictions: ``p_<class>`` float64 columns indexed by utterance id in the
    pooled order of ``labels``, after every check of the module docstring."""
    if not paths:
        raise PredictionError("no prediction files given")
    frames, origin = [], []
    for raw in paths:
        path = Path(raw)
        frame = _read_table(path)
        if frame.empty:
            raise PredictionError(f"{path}: no prediction rows")
        columns = _probability_columns(frame, labels.classes, path)
        ids = frame["utterance_id"]
        if ids.isna().any():
            raise PredictionError(f"{path}: {int(ids.isna().sum())} rows have no utterance_id")
        ids = ids.astype(str)
        probs = frame[columns].apply(pd.to_numeric, errors="coerce").to_numpy(np.float64)
        check_distributions(probs, ids, path)
        if "fold" in frame.columns:
            fold = pd.to_numeric(frame["fold"], errors="coerce").to_numpy()
            want = ids.map(labels.expected).to_numpy(dtype=np.float64)
            wrong = ~np.isnan(want) & (fold != want)
            if wrong.any():
                raise PredictionError(
                    f"{path}: {int(wrong.sum())} rows name another fold than folds.parquet's "
                    f"test part: {preview(ids[wrong])}"
                )
        frames.append(pd.DataFrame(probs, index=pd.Index(ids, name="utterance_id")))
        origin.extend([str(path)] * len(frame))
    pooled = pd.concat(frames)
    pooled.columns = prefixed("p_", labels.classes)
    where = pd.Series(origin, index=pooled.index)
    dup = pooled.index[pooled.index.duplicated()].unique()
    if len(dup):
        files = sorted(set(where.loc[dup[:5]]))
        raise PredictionError(
            f"{', '.join(files)}: {len(dup)} utterances have more than one prediction: "
            f"{preview(dup)}"
        )
    extra = pooled.index[~pooled.index.isin(labels.expected.index)]
    if len(extra):
        files = sorted(set(where.loc[extra[:5]]))
        raise PredictionError(
            f"{', '.join(files)}: {len(extra)} utterances are not test utterances of "
            f"{labels.corpus} (not in a test part of folds.parquet, or without usable audio in "
            f"audio_index.parquet): {preview(extra)}"
        )
    missing = labels.expected.index[~labels.expected.index.isin(pooled.index)]
    if len(missing):
        raise PredictionError(
            f"{', '.join(str(p) for p in paths)}: {len(missing)} of the "
            f"{len(labels.expected)} test utterances of {labels.corpus} have no prediction: "
            f"{preview(missing)}"
        )
    return pooled.loc[labels.expected.index]


@dataclass
class SystemScore:
    """Scores of one or two systems on a corpus's test sets."""

    corpus: str
    frame: pd.DataFrame  #: columns :data:`SCORE_COLUMNS`
    settings: dict[str, object]
    settings_source: str
    systems: list[str] = field(default_factory=list)
    reference: str | None = None


def score_system(
    labels: CorpusLabels,
    predictions: Sequence[str | os.PathLike[str]],
    *,
    name: str = "system",
    against: Sequence[str | os.PathLike[str]] | None = None,
    against_name: str = "reference",
    bootstrap: BootstrapSettings | None = None,
    progress: Callable[[Iterable], Iterable] | None = None,
) -> SystemScore:
    """Score the system of ``predictions`` (optionally next to the one of ``against``, which then
    gives a paired bootstrap p-value per cell) on MR_test, PR_test and AR_test of ``labels``.
    ``bootstrap`` defaults to the settings of ``labels.settings``; ``progress`` wraps the loop
    over test sets."""
    if bootstrap is None:
        bootstrap = BootstrapSettings.from_mapping(labels.settings)
    settings = {**labels.settings, **bootstrap.record()}
    if against is not None and name == against_name:
        raise PredictionError(f"the two systems need different names, both are {name!r}")
    pooled = {name: read_system_predictions(predictions, labels).to_numpy()}
    if against is not None:
        pooled[against_name] = read_system_predictions(against, labels).to_numpy()
    rows = []
    test_rules = list(labels.test_sets)
    for test_rule in progress(test_rules) if progress else test_rules:
        rows += score_test_sets(
            {test_rule: labels.test_sets[test_rule]},
            pooled,
            reference=against_name if against is not None else None,
            bootstrap=bootstrap,
            label=labels.corpus,
            utterances_source=str(labels.folder / "utterances.parquet"),
        )
    frame = pd.DataFrame(rows, columns=list(SCORE_COLUMNS))
    frame["n_utterances"] = frame["n_utterances"].astype("int64")
    return SystemScore(
        corpus=labels.corpus,
        frame=frame,
        settings=settings,
        settings_source=labels.settings_source,
        systems=list(pooled),
        reference=against_name if against is not None else None,
    )


__all__ = [
    "CorpusLabels",
    "FOLDS_KEY",
    "SCORE_COLUMNS",
    "SystemScore",
    "load_corpus_labels",
    "read_system_predictions",
    "score_system",
]
