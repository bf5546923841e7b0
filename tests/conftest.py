"""Fixtures shared by several test modules."""

from __future__ import annotations

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
