"""Target ``backbone_comparison``: the DAG of the shipped config resolves (4 backbones x 39
fold-runs), and a tiny CPU run (two tiny backbones saved locally as their "pretrained" folders,
offline, on the demo run's podcast label stage) writes ``results/tables/backbones.{md,csv}``
whose AR_test macro-F1 equals scikit-learn's on the pooled predictions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from demo_workflow import REPO, TINY_CORPORA, copy_run, snakemake, tiny_config
from sklearn.metrics import f1_score
from tiny_wav2vec2 import tiny_backbone

from serrules.base.classes import prefixed
from serrules.corpora.formats import corpus_format
from serrules.evaluation.backbone_comparison import BACKBONE_COLUMNS
from serrules.training.model_names import model_spec

BACKBONES = ["wav2vec2-large-robust-12", "wavlm-large-12"]


@pytest.mark.e2e
def test_dry_run_of_the_shipped_config_resolves():
    proc = snakemake(REPO, "-n", "backbone_comparison", "--cores", "1")
    counts = dict(
        line.split()[:2] for line in proc.stdout.splitlines() if line[:1].isalpha() and " " in line
    )
    assert counts.get("train_fold_backbone") == "156"  # 4 backbones x 39 fold-runs
    assert counts.get("backbone_comparison") == "1"


@pytest.mark.e2e
def test_tiny_cpu_run_writes_the_leaderboard(demo_run, tmp_path):
    """From a copy of the demo run: the backbones train on its podcast label stage and audio,
    which are not rebuilt."""
    workdir = copy_run(demo_run, tmp_path / "run")
    label_stage = workdir / "results/msp-podcast/labels_AR.parquet"
    stamp = label_stage.stat().st_mtime_ns
    pretrained = {}
    for name in BACKBONES:
        torch.manual_seed(0)
        pretrained[name] = str(tmp_path / name)
        tiny_backbone(model_spec(name).backbone).save_pretrained(pretrained[name])
    config = tiny_config()
    config["corpora"] = {"msp-podcast": TINY_CORPORA["msp-podcast"]}
    config["model"].update(keep_layers=2, head_hidden=32)
    config["training"].update(epochs=1, batch_size=8, max_seconds=1.5, device="cpu")
    config["backbone_comparison"] = {
        "backbones": BACKBONES,
        "reference": BACKBONES[0],
        "pretrained": pretrained,
    }
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    snakemake(workdir, "--cores", "2", "backbone_comparison")
    assert label_stage.stat().st_mtime_ns == stamp

    table = pd.read_csv(workdir / "results/tables/backbones.csv")
    assert tuple(table.columns) == BACKBONE_COLUMNS
    assert len(table) == len(BACKBONES) * 3 * 3 * 3  # backbones x train x test rules x metrics
    ref = table[table["backbone"] == BACKBONES[0]]
    assert (ref["difference"] == 0).all() and ref["p_value"].isna().all()
    other = table[table["backbone"] == BACKBONES[1]]
    assert other["p_value"].between(0, 1).all()
    assert (table["low"] <= table["value"] + 1e-12).all()
    assert (table["value"] <= table["high"] + 1e-12).all()

    classes = corpus_format("msp-podcast").classes
    labels = pd.read_parquet(workdir / "results/msp-podcast/labels_AR.parquet")
    for name in BACKBONES:
        pred = pd.read_parquet(
            workdir / f"results/backbones/{name}/msp-podcast/models/AR/fold1/predictions.parquet"
        )
        test = pred.merge(labels, on="utterance_id")
        predicted = test[prefixed("p_", classes)].to_numpy() > 1 / len(classes)
        truth = test[prefixed("t_", classes)].to_numpy().astype(bool)
        want = f1_score(truth, predicted, average="macro", zero_division=0)
        cell = table[
            (table["backbone"] == name)
            & (table["train_rule"] == "AR")
            & (table["test_rule"] == "AR")
            & (table["metric"] == "macro_f1")
        ]
        assert cell["value"].item() == pytest.approx(want, abs=1e-12)
        assert cell["n_utterances"].item() == len(test)
    md = (workdir / "results/tables/backbones.md").read_text()
    assert md.index("AR_test") < md.index("MR_test") and "wavlm-large-12" in md
    assert "paired bootstrap p-value" in md
    np.testing.assert_equal(sorted(table["backbone"].unique()), sorted(BACKBONES))
