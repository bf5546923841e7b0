"""benchmarks/gpu_check.sh: argument handling, the cost arithmetic, and the CPU branch end to end
(no GPU here: the script must say so, measure the full-size model's step and exit 0)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "gpu_check.sh"


def _module():
    spec = importlib.util.spec_from_file_location("gpu_check", REPO / "benchmarks/gpu_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_without_an_outdir_the_script_prints_its_usage():
    proc = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 2 and "usage: bash benchmarks/gpu_check.sh OUTDIR" in proc.stderr


def test_study_cost_worked_example():
    """39 fold-runs; MSP-PODCAST: 3 runs x (50 x (84,030 / 100 + 19,815 / 400) + 45,462 / 400)
    seconds at 100 training and 400 no-grad utterances/s."""
    cost = _module().study_cost(100.0, 400.0)
    assert cost["fold_runs"] == 39
    podcast = 3 * (50 * (84_030 / 100 + 19_815 / 400) + (30_647 + 14_815) / 400) / 3600
    assert cost["per_corpus"]["msp-podcast"]["gpu_hours"] == round(podcast, 1)
    # IEMOCAP, 5 folds: per fold 1/5 test, 1/5 dev, 3/5 train of 10,039 utterances
    n = 10_039
    iemocap = 15 * (50 * (0.6 * n / 100 + 0.2 * n / 400) + 0.2 * n / 400) / 3600
    assert cost["per_corpus"]["iemocap"]["gpu_hours"] == round(iemocap, 1)


@pytest.mark.e2e  # minutes on 2 loaded cores (bf16 autocast is slow on a CPU)
def test_throughput_rows_of_the_three_combinations_on_a_tiny_model():
    """The GPU branch's timing loop (AdamW steps, gradient scaler, no-grad passes, the
    pipeline's batch sampler) run on the CPU with a tiny backbone in the study's classifier."""
    import torch
    from tiny_wav2vec2 import tiny_backbone

    from serrules.training.models import Wav2Vec2Classifier

    def build(device):
        torch.manual_seed(0)
        return Wav2Vec2Classifier(tiny_backbone("wav2vec2"), 4, head_hidden=8, dropout=0.5)

    module = _module()
    rows = module.throughput(torch.device("cpu"), batch_size=2, n_batches=2, warmup=1, build=build)
    assert [(r["precision"], r["batching"]) for r in rows] == [
        ("fp32", "random"), ("bf16", "bucketed"), ("fp16 + grad scaler", "bucketed"),
    ]  # fmt: skip
    for row in rows:
        assert row["timed_utterances"] == 4 and row["train_utt_per_s"] > 0
        assert row["eval_utt_per_s"] > 0 and 4 <= row["mean_seconds"] <= 12
        assert 0 <= row["padding_share"] < 1


def test_the_gpu_branch_row_names_each_combination_and_the_study_cost():
    result = {
        "branch": "gpu",
        "throughput": [
            {"precision": "fp32", "batching": "random", "train_utt_per_s": 40.5},
            {"precision": "bf16", "batching": "bucketed", "train_utt_per_s": 90.1},
        ],
        "study_cost": {"fold_runs": 39, "gpu_hours": 51.2},
    }
    what, figures = _module().row(result)
    assert what.startswith("GPU check: training throughput")
    assert figures == (
        "fp32 random: 40.5 utterances/s; bf16 bucketed: 90.1 utterances/s; "
        "the study's 39 fold-runs: 51.2 GPU-hours"
    )


def test_documented_parameter_count_is_the_docs_figure():
    # docs/training.md's parameter table is where the figure is documented
    docs = (REPO / "docs" / "training.md").read_text()
    assert f"| {_module().DOCUMENTED_PARAMETERS:,} |" in docs


@pytest.mark.e2e
def test_cpu_branch_writes_its_figures_and_exits_0(tmp_path):
    env = {**os.environ, "PYTHON": sys.executable, "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run(
        ["bash", str(SCRIPT), str(tmp_path / "out")],
        capture_output=True, text=True, cwd=REPO, env=env, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "no CUDA device" in proc.stdout
    result = json.loads((tmp_path / "out" / "gpu_check.json").read_text())
    assert result["branch"] == "cpu" and result["environment"]["cuda_available"] is False
    assert result["parameters"] == {
        "counted": 166_387_332, "documented": 166_387_332, "equal": True,
    }  # fmt: skip
    step = result["step"]
    assert step["finite_gradients"] and 0 < step["tensors_with_gradient"]
    assert step["tensors_with_gradient"] <= step["trainable_tensors"] and step["seconds"] > 0
    # 166M float32 weights + gradients alone are 1.3 GB
    assert result["peak_rss_mib"] > 1300
    md = (tmp_path / "out" / "gpu_check.md").read_text()
    assert "166,387,332 / 166,387,332" in md and "Branch: **cpu**" in md
    row = (
        "row: | GPU check, CPU branch: one training step of the full-size pruned model | "
        f"`bash benchmarks/gpu_check.sh {tmp_path / 'out'}` |"
    )
    assert row in proc.stdout and "parameters 166,387,332 (documented 166,387,332)" in proc.stdout
