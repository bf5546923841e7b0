"""Paired comparisons of several systems on one corpus (backbone_comparison, and the pooling that
protocol_comparison shares): every system is scored on the same test sets and the same
bootstrap resamples as evaluate_corpus would score it alone."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_pooling import _evaluate, _write_corpus

from serrules.base.classes import RULES
from serrules.evaluation import PredictionError
from serrules.evaluation.backbone_comparison import BACKBONE_COLUMNS, compare_corpus_backbones
from serrules.evaluation.bootstrap import BootstrapSettings
from serrules.evaluation.pooled_corpus import CorpusFiles, pool_systems, system_files

FMT = "msp-improv"


@pytest.fixture
def systems(tmp_path: Path) -> tuple[dict, dict]:
    """Two systems on one label stage: ``ref`` (the corpus's own predictions) and ``other``
    (predictions of another seed, on the same ids and folds)."""
    ref = _write_corpus(tmp_path / "ref", seed=0)
    other = _write_corpus(tmp_path / "other", seed=1)
    tree = {
        "utterances": str(ref["utterances"]),
        "audio_index": str(ref["audio"]),
        "labels": {rule: str(path) for rule, path in ref["labels"].items()},
        "folds": {"ref": str(ref["folds"]), "other": str(ref["folds"])},
        "predictions": {
            "ref": {r: [str(p) for p in ref["predictions"][r]] for r in RULES},
            "other": {r: [str(p) for p in other["predictions"][r]] for r in RULES},
        },
    }
    return ref, system_files("toy", FMT, tree)


def test_system_files_reads_the_workflow_tree(systems) -> None:
    ref, files = systems
    assert list(files) == ["ref", "other"]
    assert all(isinstance(f, CorpusFiles) for f in files.values())
    assert files["ref"].labels == ref["labels"] and files["other"].labels == ref["labels"]
    assert files["ref"].predictions == ref["predictions"]
    assert files["other"].predictions != ref["predictions"]


def test_each_backbone_scores_as_evaluate_corpus_scores_it_alone(systems, tmp_path) -> None:
    ref, files = systems
    bootstrap = BootstrapSettings.from_mapping({"n_bootstrap": 200})
    table = compare_corpus_backbones(
        files, reference="ref", bootstrap=bootstrap, divergence_target="votes", target_smoothing=0
    )
    assert tuple(table.columns) == BACKBONE_COLUMNS
    assert len(table) == 2 * 3 * 3 * 3  # systems x train rules x test rules x metrics
    for name, corpus_files in files.items():
        alone = _evaluate({**ref, "predictions": corpus_files.predictions}, tmp_path / name)
        keys = ["train_rule", "test_rule", "metric"]
        both = table[table["backbone"] == name].merge(alone, on=keys, suffixes=("", "_alone"))
        assert len(both) == 27
        # the same functions on the same arrays and the same resample seeds, but another
        # caller: a tolerance of 1e-12 instead of exact equality
        for col in ("value", "low", "high", "n_utterances"):
            np.testing.assert_allclose(
                both[col], both[f"{col}_alone"], rtol=1e-12, atol=0, err_msg=col
            )
    same = table["backbone"] == "ref"
    assert (table.loc[same, "difference"] == 0).all() and table.loc[same, "p_value"].isna().all()
    other = table[~same].reset_index(drop=True)
    ref_rows = table[same].reset_index(drop=True)
    np.testing.assert_allclose(other["difference"], other["value"] - ref_rows["value"], atol=0)
    assert other["p_value"].between(0, 1).all()


def test_unknown_reference_backbone_is_named(systems) -> None:
    _, files = systems
    bootstrap = BootstrapSettings.from_mapping({"n_bootstrap": 10})
    with pytest.raises(ValueError, match="'nope' is not among"):
        compare_corpus_backbones(
            files, reference="nope", bootstrap=bootstrap, divergence_target="votes",
            target_smoothing=0,
        )  # fmt: skip


def test_systems_that_pool_other_test_utterances_are_rejected(systems, tmp_path) -> None:
    ref, files = systems
    # the other system's fold table and predictions leave out u000: consistent on their own,
    # but a test set of one utterance fewer
    folds = pd.read_parquet(ref["folds"])
    other_folds = tmp_path / "other_folds.parquet"
    folds[folds["utterance_id"] != "u000"].to_parquet(other_folds)
    predictions = {}
    for rule, paths in files["other"].predictions.items():
        predictions[rule] = []
        for k, path in enumerate(paths, start=1):
            frame = pd.read_parquet(path)
            predictions[rule].append(tmp_path / "fewer" / rule / f"fold{k}" / "predictions.parquet")
            predictions[rule][-1].parent.mkdir(parents=True)
            frame[frame["utterance_id"] != "u000"].to_parquet(predictions[rule][-1])
    fewer = replace(files["other"], folds=other_folds, predictions=predictions)
    with pytest.raises(PredictionError, match="pool different test utterances") as err:
        pool_systems({**files, "other": fewer})
    assert str(other_folds) in str(err.value)
