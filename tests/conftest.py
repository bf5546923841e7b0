"""Fixtures shared by several test modules."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from demo_workflow import snakemake, tiny_config


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory) -> Path:
    """One tiny demo run of the whole workflow (``snakemake all``), shared by the end-to-end
    tests of the workflow and of the command line."""
    workdir = tmp_path_factory.mktemp("demo")
    (workdir / "config.yaml").write_text(yaml.safe_dump(tiny_config(), sort_keys=False))
    snakemake(workdir, "--cores", "2", "all")
    return workdir


@pytest.fixture(scope="session")
def authors_run(demo_run, tmp_path_factory) -> Path:
    """The tiny demo again with ``protocol=authors``, from a copy of the paper run. The label
    stage reruns (``labels.mr_share`` is a protocol key of the one ``label_tables`` job), and with
    it the audio index and the eGeMAPS features; the demo corpora are reused."""
    workdir = tmp_path_factory.mktemp("authors") / "run"
    shutil.copytree(demo_run, workdir, ignore=shutil.ignore_patterns("report.html"))
    snakemake(workdir, "--cores", "2", "all", "--config", "protocol=authors")
    return workdir
