"""The tiny demo configuration and the Snakemake subprocess runner shared by the end-to-end
tests (the session-wide demo run itself is the ``demo_run`` fixture in conftest.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile")]

TINY_CORPORA = {
    "iemocap": {"format": "iemocap", "source": "demo", "demo_utterances": 90},
    "msp-podcast": {"format": "msp-podcast", "source": "demo", "demo_utterances": 80},
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


def authors_config() -> dict:
    """The authors-protocol run's ``all``: the tiny demo's podcast corpus under
    ``protocol: authors``."""
    config = tiny_config()
    config["corpora"] = {AUTHORS_CORPUS: TINY_CORPORA[AUTHORS_CORPUS]}
    config["protocol"] = "authors"
    return config


def copy_run(run: Path, dest: Path) -> Path:
    """A copy of a shared run (files, times and Snakemake's records) for a test that writes."""
    shutil.copytree(run, dest, ignore=shutil.ignore_patterns("report.html", "*.lock"))
    return dest
