"""The tiny demo configuration and the Snakemake subprocess runner shared by the end-to-end
tests (the session-wide demo run itself is the ``demo_run`` fixture in conftest.py)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile")]


def _shipped_corpus(name: str) -> dict:
    with open(REPO / "config.yaml") as fh:
        return yaml.safe_load(fh)["corpora"][name]


#: the shipped config's ratings-table corpus (two plain tables written by the demo)
RATINGS_CORPUS = "my-corpus"
_RATINGS_ENTRY = _shipped_corpus(RATINGS_CORPUS)

TINY_CORPORA = {
    "iemocap": {"format": "iemocap", "source": "demo", "demo_utterances": 90},
    "msp-podcast": {"format": "msp-podcast", "source": "demo", "demo_utterances": 80},
    # on one split fold: three training jobs instead of the shipped five speaker folds' fifteen
    RATINGS_CORPUS: {
        **_RATINGS_ENTRY,
        "enabled": True,
        "demo_utterances": 60,
        "tables": {**_RATINGS_ENTRY["tables"], "folds": {"by": "split"}},
    },
}

#: the corpus of the authors-protocol run's ``all`` (IEMOCAP adds one job on the authors' folds)
AUTHORS_CORPUS = "msp-podcast"
AUTHORS_IEMOCAP_JOB = "results/iemocap/models/MR/fold1/predictions.parquet"


def tiny_config() -> dict:
    with open(REPO / "config.yaml") as fh:
        config = yaml.safe_load(fh)
    config["corpora"] = TINY_CORPORA
    config["training"].update(epochs=4, batch_size=16, num_workers=0)
    config["resources"]["train_threads"] = 1
    config["evaluation"]["n_bootstrap"] = 50
    return config


def snakemake(workdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    proc = subprocess.run(
        [*SNAKEMAKE, "--directory", str(workdir), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def job_table(out: str) -> dict[str, int]:
    """Rule -> job count of the job table in a dry run's output."""
    table = out.split("Job stats:", 1)[1] if "Job stats:" in out else ""
    return {m[0]: int(m[1]) for m in re.findall(r"^(\w+)\s+(\d+)$", table, re.M) if m[0] != "total"}


def authors_config() -> dict:
    """The authors-protocol run's ``all``: the tiny demo's podcast corpus under
    ``protocol: authors``."""
    config = tiny_config()
    config["corpora"] = {AUTHORS_CORPUS: TINY_CORPORA[AUTHORS_CORPUS]}
    config["protocol"] = "authors"
    return config


#: what a copy of a shared run leaves out: Snakemake's lock files and logs, which a Snakemake
#: call that another worker makes in the run (a dry run, a report) may create and delete while
#: the copy is made
NOT_COPIED = shutil.ignore_patterns("locks", "log", "*.lock", "report.html")


def copy_run(run: Path, dest: Path) -> Path:
    """A copy of a shared run (files, times and Snakemake's records) for a test that writes."""
    shutil.copytree(run, dest, ignore=NOT_COPIED)
    return dest


#: the job the killed-and-resumed tests interrupt: a tiny wav2vec2 on the podcast corpus
W2V_CORPUS = "msp-podcast"
W2V_JOB = f"results/{W2V_CORPUS}/models/AR/fold1"
#: Snakemake options of that job run alone in a copy of the label stage (the target comes first:
#: --allowed-rules and --rerun-triggers take several values)
W2V_JOB_OPTIONS = ("--allowed-rules", "train_fold", "--rerun-triggers", "mtime", "--cores", "1")


def w2v_config(pretrained: Path, **training) -> dict:
    """The tiny demo's podcast corpus trained with the (tiny) wav2vec2 model at ``pretrained``:
    12 short epochs, so that a job can be interrupted after a few of them."""
    config = tiny_config()
    config["corpora"] = {W2V_CORPUS: TINY_CORPORA[W2V_CORPUS]}
    config["model"].update(
        name="wav2vec2-large-robust-12", pretrained=str(pretrained), keep_layers=2
    )
    config["training"].update(epochs=12, batch_size=8, max_seconds=2, bucket_size=None, **training)
    return config


def w2v_workdir(demo_run: Path, workdir: Path, pretrained: Path) -> Path:
    """A workdir holding the demo run's label stage of the podcast corpus and a config that
    trains the tiny wav2vec2 on the CPU (device cpu: the model otherwise asks for a GPU, and a
    CPU-only torch refuses it)."""
    src, dst = demo_run / "results" / W2V_CORPUS, workdir / "results" / W2V_CORPUS
    dst.mkdir(parents=True)
    for name in ("labels_AR.parquet", "folds.parquet", "audio_index.parquet"):
        shutil.copy2(src / name, dst / name)
    config = w2v_config(pretrained, device="cpu")
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return workdir


def assert_same_fold_job(job: Path, reference: Path) -> None:
    """Two fold-job folders hold the same predictions and bit-identical model weights."""
    import pandas as pd
    import torch
    from safetensors.torch import load_file

    pd.testing.assert_frame_equal(
        pd.read_parquet(job / "predictions.parquet"),
        pd.read_parquet(reference / "predictions.parquet"),
    )
    got = load_file(str(job / "best.safetensors"))
    want = load_file(str(reference / "best.safetensors"))
    assert got.keys() == want.keys()
    for key in want:
        torch.testing.assert_close(got[key], want[key], rtol=0, atol=0)
