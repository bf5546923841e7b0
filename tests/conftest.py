"""Fixtures shared by several test modules.

The two workflow runs (``demo_run``, ``authors_run``) are built once per pytest session, also
under pytest-xdist: the first worker that asks for one builds it in the folder all workers share
(the parent of their temporary folders), under a file lock; the others wait for it and read it.
A run is read-only for its users: a test that changes files works on a copy (``copy_run``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from demo_workflow import AUTHORS_IEMOCAP_JOB, authors_config, copy_run, snakemake, tiny_config
from filelock import FileLock

#: session fixtures that run the workflow; with pytest-xdist (``--dist loadgroup``, the
#: project's default options) the tests that use them run in order on one worker
SHARED_RUNS = frozenset({"demo_run", "authors_run"})


def pytest_xdist_auto_num_workers(config) -> int:
    """``-n auto``: one worker per core, at most 4. Each worker first imports the suite (torch,
    transformers, scikit-learn: about 14 s of CPU), and the end-to-end tests' Snakemake jobs
    need the cores too."""
    return max(1, min(os.cpu_count() or 1, 4))


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Tests that use a shared run go to one worker, in their file order, unless their module
    names a group of its own (the SLURM tests read ``demo_run`` beside their cluster run). A test
    names the run as an argument: one fetched at run time (``request.getfixturevalue``) escapes
    the group."""
    for item in items:
        if SHARED_RUNS & set(item.fixturenames) and not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group("shared_runs"))


def _shared_folder(tmp_path_factory) -> Path:
    """The session's folder seen by every pytest-xdist worker (each worker's own temporary
    folder lies in it); the session's temporary folder without xdist."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def build_once(tmp_path_factory, name: str, build: Callable[[Path], None]) -> Path:
    """``build(folder)`` run once per session for all workers; a failed build fails every test
    that asks for it, with the first failure's message, instead of being retried."""
    root = _shared_folder(tmp_path_factory)
    folder, done, failed = root / name, root / f"{name}.done", root / f"{name}.failed"
    with FileLock(str(root / f"{name}.lock")):
        if failed.exists():
            pytest.fail(f"the shared run {name} failed (on another worker):\n{failed.read_text()}")
        if not done.exists():
            try:
                build(folder)
            except BaseException as exc:
                failed.write_text(f"{type(exc).__name__}: {exc}"[-20000:])
                raise
            done.touch()
    return folder


def _build_demo(workdir: Path) -> None:
    workdir.mkdir()
    (workdir / "config.yaml").write_text(yaml.safe_dump(tiny_config(), sort_keys=False))
    snakemake(workdir, "--cores", "2", "all")


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory) -> Path:
    """One tiny demo run of the whole workflow (``snakemake all``, IEMOCAP and MSP-PODCAST),
    shared by the end-to-end tests of the workflow, the command line, the documentation and
    the SLURM profile (its outputs are the local reference of the cluster run)."""
    return build_once(tmp_path_factory, "demo", _build_demo)


@pytest.fixture(scope="session")
def authors_run(demo_run, tmp_path_factory) -> Path:
    """The paper run switched to ``protocol: authors``, from a copy of it:

    * ``all`` on the podcast corpus (every rule of the protocol: majority_labels, three training
      jobs, evaluation, tables);
    * one IEMOCAP training job (MR, fold 1) on the authors' fold table, with the demo's config.

    Only ``majority_labels`` (``labels.mr_share`` is a protocol key), training and evaluation
    rerun; the demo corpora, parsed label tables, audio index and features are the paper run's.
    """

    def build(workdir: Path) -> None:
        copy_run(demo_run, workdir)
        snakemake(workdir, "--cores", "2", AUTHORS_IEMOCAP_JOB, "--config", "protocol=authors")
        (workdir / "config.yaml").write_text(yaml.safe_dump(authors_config(), sort_keys=False))
        snakemake(workdir, "--cores", "2", "all")

    return build_once(tmp_path_factory, "authors", build)
