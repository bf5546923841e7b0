"""Fixtures shared by several test modules."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml
from demo_workflow import snakemake, tiny_config

#: session fixtures that run the workflow; with pytest-xdist (``--dist loadgroup``, the
#: project's default options) every test that uses one runs on one worker, so each runs once
SHARED_RUNS = frozenset({"demo_run", "authors_run"})


def pytest_xdist_auto_num_workers(config) -> int:
    """``-n auto``: one worker per core plus one (at most 4), because the SLURM tests' worker
    mostly waits for the cluster."""
    return min((os.cpu_count() or 1) + 1, 4)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Tests that use a shared run go to one worker. A test names the run as an argument: one
    fetched at run time (``request.getfixturevalue``) escapes the group and builds its own copy."""
    for item in items:
        if SHARED_RUNS & set(item.fixturenames):
            item.add_marker(pytest.mark.xdist_group("shared_runs"))


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
    """The tiny demo again with ``protocol=authors``, from a copy of the paper run: only
    ``majority_labels`` (``labels.mr_share`` is a protocol key), training and evaluation rerun;
    the demo corpora, the parsed label tables, the audio index and the features are reused."""
    workdir = tmp_path_factory.mktemp("authors") / "run"
    shutil.copytree(demo_run, workdir, ignore=shutil.ignore_patterns("report.html"))
    snakemake(workdir, "--cores", "2", "all", "--config", "protocol=authors")
    return workdir
