"""The provenance record every artifact carries (serrules.base.provenance): what it holds, where
each kind of file keeps it, that it does not make identical runs differ, the git lookup where
there is no checkout or no git, and the refusal of artifacts of different origins."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import serrules
from serrules.base import provenance as prov
from serrules.base import script_logging
from serrules.base.errors import ProvenanceError
from serrules.base.provenance import (
    LIBRARIES,
    PROVENANCE_KEY,
    check_same_origin,
    read_provenance,
    set_origin,
    settings_digest,
)
from serrules.base.tables import write_parquet

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _no_origin():
    """Every test starts and ends with no job declared (the state of the Python API)."""
    set_origin(rule=None, code=None, settings=None)
    prov.set_device("cpu")
    yield
    set_origin(rule=None, code=None, settings=None)
    prov.set_device("cpu")


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"utterance_id": ["a", "b"], "fold": [1, 1], "p_x": [0.25, 0.75]})


def test_a_table_carries_the_record_of_its_job(tmp_path):
    set_origin(rule="train_fold", code="sha256:" + "1" * 64, settings="sha256:" + "2" * 64)
    prov.set_device("cuda:0 (NVIDIA H100)")
    path = tmp_path / "predictions.parquet"
    write_parquet(_frame(), path)
    pd.testing.assert_frame_equal(pd.read_parquet(path), _frame())  # the data as before
    record = read_provenance(path)
    assert record["rule"] == "train_fold"
    assert record["code"] == "sha256:" + "1" * 64 and record["settings"] == "sha256:" + "2" * 64
    assert record["serrules"] == serrules.__version__
    assert record["device"] == "cuda:0 (NVIDIA H100)"
    assert list(record["libraries"]) == list(LIBRARIES)
    from importlib.metadata import version

    for name in LIBRARIES:
        assert record["libraries"][name] == version(name), name
    assert record["python"].count(".") == 2


def test_identical_writes_give_identical_files(tmp_path):
    """Nothing in the record varies between two runs of the same code and settings (no time, no
    host), so the tests that compare two runs' files still can."""
    set_origin(rule="evaluate_corpus", code="sha256:" + "3" * 64, settings="sha256:" + "4" * 64)
    write_parquet(_frame(), tmp_path / "a.parquet")
    write_parquet(_frame(), tmp_path / "b.parquet")
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(REPO), *args], capture_output=True, text=True, check=True
    ).stdout


@pytest.fixture
def fresh_git(monkeypatch):
    """The git lookup without its per-process cache, restored afterwards."""
    prov._git.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    prov._git.cache_clear()


@pytest.mark.skipif(
    shutil.which("git") is None or not (REPO / ".git").exists(), reason="not a git checkout"
)
def test_the_commit_and_the_state_of_the_checkout(fresh_git):
    record = prov.checkout()
    assert record == {
        "commit": _git("rev-parse", "HEAD").strip(),
        "dirty": bool(_git("status", "--porcelain").strip()),
    }


def test_no_checkout_or_no_git_records_none(fresh_git, tmp_path):
    """An installed wheel (the package outside any checkout), a copy of the package and a machine
    without git: no commit is recorded, and writing works."""
    fresh_git.setattr(prov, "_PACKAGE_DIR", tmp_path / "site-packages" / "serrules")
    assert prov.checkout() is None
    checkout = tmp_path / "checkout"
    (checkout / "src" / "serrules").mkdir(parents=True)
    (checkout / ".git").write_text("gitdir: /nowhere\n")  # a broken worktree link
    prov._git.cache_clear()
    fresh_git.setattr(prov, "_PACKAGE_DIR", checkout / "src" / "serrules")
    assert prov.checkout() is None
    prov._git.cache_clear()
    fresh_git.setattr(prov, "_PACKAGE_DIR", REPO / "src" / "serrules")
    fresh_git.setenv("PATH", str(tmp_path / "no-bin"))
    assert prov.checkout() is None
    write_parquet(_frame(), tmp_path / "t.parquet")
    assert read_provenance(tmp_path / "t.parquet")["git"] is None


def test_settings_are_the_params_but_code_data_and_places():
    params = {"model": {"name": "egemaps-mlp"}, "training": {"lr": 0.001}, "rules": ["MR", "AR"]}
    digest = settings_digest(params)
    places = {"code": "sha256:x", "fmt": "iemocap", "checkpoint_dir": "results/c/fold1", "gpus": 0}
    assert settings_digest({**places, **dict(reversed(params.items()))}) == digest
    assert settings_digest({**params, "training": {"lr": 0.002}}) != digest


def test_start_job_declares_the_rule_code_and_settings(monkeypatch):
    logs = []
    monkeypatch.setattr(script_logging, "log_to_file", logs.append)
    params = {"code": "sha256:" + "5" * 64, "fmt": "iemocap", "evaluation": {"n_bootstrap": 50}}
    job = SimpleNamespace(log=["job.log"], rule="evaluate_corpus", params=params)
    script_logging.start_job(job)
    record = prov.provenance()
    assert logs == ["job.log"]
    assert (record["rule"], record["code"]) == ("evaluate_corpus", params["code"])
    assert record["settings"] == settings_digest(params)


def test_every_kind_of_artifact_keeps_the_record(tmp_path):
    """Parquet (above), a model's safetensors metadata, the Markdown and LaTeX tables (a comment
    line each), a PNG figure (a text chunk)."""
    from safetensors.numpy import save_file

    from serrules.reporting.figures import new_figure, save_figure
    from serrules.reporting.writers import write_table

    set_origin(rule="result_tables", code="sha256:" + "6" * 64, settings="sha256:" + "7" * 64)
    want = prov.provenance()
    model = tmp_path / "best.safetensors"
    save_file({"w": np.zeros(2, np.float32)}, str(model), {PROVENANCE_KEY: prov.provenance_json()})
    table = pd.DataFrame({"a": [1]})
    files = {ext: tmp_path / f"table.{ext}" for ext in ("csv", "md", "tex")}
    write_table(table, caption="A table.", label="tab:a", **files)
    fig = new_figure(2, 2)
    fig.add_subplot().plot([0, 1])
    save_figure(fig, tmp_path / "fig.png")
    for path in (model, files["md"], files["tex"], tmp_path / "fig.png"):
        assert read_provenance(path) == want, path
    md = files["md"].read_text().splitlines()
    assert md[-1].startswith("<!-- serrules.provenance: {") and md[-1].endswith("} -->")
    assert files["tex"].read_text().startswith("% serrules.provenance: {")
    assert pd.read_csv(files["csv"]).equals(table)  # the CSV stays plain data
    assert read_provenance(files["csv"]) is None


def test_a_file_without_a_record_or_unreadable(tmp_path):
    old = tmp_path / "old.parquet"
    _frame().to_parquet(old)  # as written before provenance was recorded
    assert read_provenance(old) is None
    damaged = tmp_path / "damaged.parquet"
    damaged.write_bytes(b"PAR1 not really")
    with pytest.raises(ProvenanceError, match="damaged.parquet: cannot read its provenance"):
        read_provenance(damaged)


def test_different_origins_are_refused_naming_each_group():
    a = {"code": "sha256:" + "a" * 64, "settings": "sha256:" + "b" * 64}
    b = {"code": "sha256:" + "c" * 64, "settings": "sha256:" + "b" * 64}
    check_same_origin({"fold 1": a, "fold 2": dict(a)}, "the folds")  # one origin: accepted
    with pytest.raises(ProvenanceError) as err:
        check_same_origin({"fold 1": a, "fold 2": b, "fold 3": a, "fold 4": None}, "x: the folds")
    text = str(err.value)
    assert text.startswith("x: the folds come from different code or settings")
    assert f"code sha256:{'a' * 12}, settings sha256:{'b' * 12}: fold 1, fold 3" in text
    assert f"code sha256:{'c' * 12}, settings sha256:{'b' * 12}: fold 2" in text
    assert "(no provenance: written before it was recorded): fold 4" in text


def test_the_record_is_one_line_of_json():
    line = prov.provenance_line()
    assert "\n" not in line and json.loads(line.split(": ", 1)[1]) == prov.provenance()


def test_the_command_line_records_its_command(tmp_path, capsys):
    """``serrules labels`` writes tables that name the command, the digest of its module and of
    its settings (its options, not its paths); run inside another program, it leaves that
    program's origin as it was."""
    from serrules.base.code_digest import module_digest
    from serrules.cli import main

    iemocap = REPO / "tests" / "fixtures" / "corpora" / "iemocap"
    set_origin(rule="outside", code=None, settings=None)
    records = {}
    for name, options in (("a", []), ("b", []), ("c", ["--unknown-labels", "exclude"])):
        assert (
            main(["labels", "--format", "iemocap", str(iemocap), str(tmp_path / name), *options])
            == 0
        )
        records[name] = read_provenance(tmp_path / name / "labels_AR.parquet")
    assert records["a"]["rule"] == "serrules labels"
    assert records["a"]["code"] == module_digest("serrules.cli.labels")
    assert records["a"]["settings"] == records["b"]["settings"]  # another output folder
    assert records["c"]["settings"] != records["a"]["settings"]  # another option
    assert prov.provenance()["rule"] == "outside"
