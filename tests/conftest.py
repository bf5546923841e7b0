"""Fixtures shared by several test modules.

The workflow runs (``demo_run``, ``authors_run``, ``w2v_reference``) are built once per
session, also under pytest-xdist: the first worker that asks for one builds it in the folder all
workers share (the parent of their temporary folders), under a file lock; the others wait for it
and read it.
A run is read-only for its users: a test that changes files works on a copy (``copy_run``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import demo_workflow as demo
import pytest
import yaml
from filelock import FileLock

#: session fixtures that run the workflow (each built once for all workers, ``build_once``)
SHARED_RUNS = frozenset({"demo_run", "authors_run", "w2v_reference"})


#: pytest-xdist's work queue (``--no-loadscope-reorder``: in this order): the ``slurm`` tests (one
#: group: their cluster run needs no other run until its outputs are compared), the first test
#: that reads a shared run (it builds ``demo_run``, and ``authors_run`` where it reads that), then
#: every test that reads no shared run, then the tests that read one, once it is built. So one
#: worker builds the runs while the others work through the tests that need none, instead of
#: waiting on the build's lock. A group a module names for itself stays one unit of work.
BUILD_GROUP = "runs:build"


def _group(item) -> str | None:
    mark = item.get_closest_marker("xdist_group")
    return None if mark is None else (mark.args[0] if mark.args else mark.kwargs.get("name"))


def _rank(item, builder) -> int:
    if item.get_closest_marker("slurm"):
        return 0
    if item is builder:
        return 1
    return 3 if SHARED_RUNS & set(item.fixturenames) else 2


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Orders the items as the comment on :data:`BUILD_GROUP` says. The builder is the first
    test that reads ``authors_run`` (which needs ``demo_run``), else the first that reads any
    shared run; it is its own group, so that pytest-xdist hands it out second, right after the
    SLURM group, and its worker builds the runs while the others work through the tests that
    need none."""
    readers = [item for item in items if SHARED_RUNS & set(item.fixturenames)]
    authors = [item for item in readers if "authors_run" in item.fixturenames]
    builder = next(iter(authors or readers), None)
    if builder is not None and _group(builder) is None:
        builder.add_marker(pytest.mark.xdist_group(BUILD_GROUP))
    items.sort(key=lambda item: _rank(item, builder))


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
    (workdir / "config.yaml").write_text(yaml.safe_dump(demo.tiny_config(), sort_keys=False))
    demo.snakemake(workdir, "--cores", "2", "all")


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
        demo.copy_run(demo_run, workdir)
        job = demo.AUTHORS_IEMOCAP_JOB
        demo.snakemake(workdir, "--cores", "2", job, "--config", "protocol=authors")
        (workdir / "config.yaml").write_text(yaml.safe_dump(demo.authors_config(), sort_keys=False))
        demo.snakemake(workdir, "--cores", "2", "all")

    return build_once(tmp_path_factory, "authors", build)


@pytest.fixture(scope="session")
def w2v_reference(demo_run, tmp_path_factory) -> dict[str, Path]:
    """One uninterrupted training job of a tiny wav2vec2 (``pretrained``: saved here from a fixed
    seed) on the demo run's podcast label stage: the reference model and predictions of the
    killed-and-resumed jobs (tests/test_workflow.py, on this host; tests/test_slurm.py, scancel)."""

    def build(folder: Path) -> None:
        import torch
        from tiny_wav2vec2 import tiny_config as tiny_w2v_config
        from transformers import Wav2Vec2Model

        torch.manual_seed(0)
        Wav2Vec2Model(tiny_w2v_config()).save_pretrained(folder / "tiny_w2v")
        workdir = demo.w2v_workdir(demo_run, folder / "run", folder / "tiny_w2v")
        demo.snakemake(workdir, f"{demo.W2V_JOB}/predictions.parquet", *demo.W2V_JOB_OPTIONS)

    folder = build_once(tmp_path_factory, "w2v_reference", build)
    return {"pretrained": folder / "tiny_w2v", "job": folder / "run" / demo.W2V_JOB}
