"""The SLURM profile tested by real submissions to a single-node SLURM cluster on localhost.

`.ci/run` starts the cluster (`.ci/slurm/start-local-slurm.sh`) and always stops it; run alone,
these tests start it themselves when they may (root) and are skipped, with the reason, where SLURM
cannot be started (under CI=true as root, a cluster that cannot start is a failure). The steps are
those of docs/slurm.md: copy the profile, edit its site settings,
`snakemake --workflow-profile <copy> all`. Nothing else is overridden: every further override
would be a defect of the profile.

Checked: every job of the demo ran as a SLURM job (local rules excepted) on the partition that
fits it; eGeMAPS training asks for no GPU and a wav2vec2 training job asks for one (and, given a
GPU it cannot use, fails at once instead of training on the CPU); the podcast corpus's outputs
equal those of the session's local demo run (``demo_run``: the same settings and thread counts,
built once for all pytest-xdist workers); a second run submits nothing; a training job cancelled
with scancel mid-run is retried and resumes from its checkpoint to the same model.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from demo_workflow import (
    TINY_CORPORA,
    W2V_CORPUS,
    W2V_JOB,
    assert_same_fold_job,
    tiny_config,
    w2v_config,
)

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile")]
START = REPO / ".ci" / "slurm" / "start-local-slurm.sh"
STOP = REPO / ".ci" / "slurm" / "stop-local-slurm.sh"
CORPUS = W2V_CORPUS  # the demo corpus submitted, which holds the job cancelled mid-run
TARGET = W2V_JOB
#: Upper bounds of every wait (a request SLURM cannot satisfy must fail the test, not hang it).
RUN_TIMEOUT_S = 600
CANCEL_TIMEOUT_S = 240

# one pytest-xdist worker runs this module: its fixtures (the cluster run) are built once
pytestmark = [pytest.mark.slurm, pytest.mark.e2e, pytest.mark.xdist_group("slurm")]


def _run(cmd: list[str], timeout: float = 60, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)


def _node_ready() -> str | None:
    """None when a SLURM node answers as usable, else why not."""
    if shutil.which("sinfo") is None:
        return "sinfo not found"
    try:
        proc = _run(["sinfo", "-h", "-o", "%T"], timeout=15)
    except subprocess.TimeoutExpired:
        return "sinfo timed out"
    states = proc.stdout.split()
    if proc.returncode != 0 or not any(s.rstrip("*") in ("idle", "mixed") for s in states):
        return f"no idle node (sinfo: {proc.stdout.strip() or proc.stderr.strip()})"
    return None


def _cannot_start(reason: str) -> None:
    """Root could not start the cluster: a failure in CI (CI=true), a skip with the reason
    elsewhere."""
    message = f"SLURM could not be started: {reason}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (CI=true as root: the SLURM tests must run)")
    pytest.skip(message)


@pytest.fixture(scope="module")
def slurm_cluster():
    """A running SLURM: the one .ci/run started, else one started (and stopped) here."""
    if _node_ready() is None:
        yield
        return
    if os.geteuid() != 0:
        pytest.skip("SLURM is not running and cannot be started here: not root")
    try:
        proc = _run(["bash", str(START)], timeout=300)
    except subprocess.TimeoutExpired:
        _cannot_start("start-local-slurm.sh took over 300 s")
    if proc.returncode != 0 or _node_ready() is not None:
        _cannot_start(proc.stderr.strip()[-500:])
    try:
        yield
    finally:
        _run(["bash", str(STOP)], timeout=120)


def site_profile(dest: Path) -> Path:
    """The step of docs/slurm.md: copy profiles/slurm and edit its SITE SETTINGS for this cluster
    (no conda here: jobs run in this Python environment; no accounts; the node's cores)."""
    shutil.copytree(REPO / "profiles" / "slurm", dest)
    config = yaml.safe_load((dest / "config.yaml").read_text())
    site_keys = {
        "software-deployment-method",
        "slurm-partition-config",
        "max-threads",
        "slurm-init-seconds-before-status-checks",
    }
    assert site_keys <= set(config), "the profile's site settings moved; update docs/slurm.md too"
    del config["software-deployment-method"]
    config["slurm-no-account"] = True
    # the cores of the local demo run (--cores 2), whose outputs the cluster's must equal
    config["max-threads"] = 2
    # a one-node cluster of the test's own: poll every 2 s (MinJobAge=600 > 3 x 2 s)
    config["slurm-init-seconds-before-status-checks"] = 2
    (dest / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    partitions = yaml.safe_load((dest / "partitions.yaml").read_text())["partitions"]
    assert partitions["cpu"]["max_gpu"] == 0 and partitions["gpu"]["max_gpu"] >= 1
    return dest


def demo_config() -> dict:
    """The session demo's configuration (tests/demo_workflow.py) with its podcast corpus only."""
    config = tiny_config()
    config["corpora"] = {CORPUS: TINY_CORPORA[CORPUS]}
    return config


def start(workdir: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [*SNAKEMAKE, "--directory", str(workdir), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": "0"},
        start_new_session=True,
    )


def finish(proc: subprocess.Popen, timeout: float = RUN_TIMEOUT_S) -> tuple[int, str]:
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
        raise AssertionError(f"snakemake ran over {timeout} s:\n{out[-5000:]}") from None
    return proc.returncode, out


def submissions(out: str) -> dict[str, list[tuple[str, str]]]:
    """SLURM job ids by rule, from Snakemake's output: {rule: [(snakemake jobid, slurm id)]}."""
    rule_of: dict[str, str] = {}
    # a checkpoint (audio_index) is announced as "checkpoint <name>:", a rule as "rule <name>:"
    for block in re.finditer(
        r"^(?:rule|checkpoint) (\w+):\n(?:    .*\n)*?    jobid: (\d+)", out, re.M
    ):
        rule_of[block.group(2)] = block.group(1)
    found: dict[str, list[tuple[str, str]]] = {}
    for job, slurm_id in re.findall(r"Job (\d+) has been submitted with SLURM jobid (\d+)", out):
        found.setdefault(rule_of[job], []).append((job, slurm_id))
    return found


def slurm_job(slurm_id: str) -> dict[str, str]:
    """`scontrol show job` fields (kept for MinJobAge = 600 s after the end)."""
    proc = _run(["scontrol", "show", "job", "-o", slurm_id], timeout=15)
    assert proc.returncode == 0, proc.stderr
    return dict(f.split("=", 1) for f in proc.stdout.split() if "=" in f)


def asks_gpu(job: dict[str, str]) -> bool:
    return any("gpu" in job.get(k, "") for k in ("TresPerJob", "TresPerNode", "TresPerTask"))


def remote_rules(out: str) -> list[str]:
    return re.findall(r"^(?:rule|checkpoint) (\w+):$", out, re.M)


@pytest.fixture(scope="module")
def demo(slurm_cluster, tmp_path_factory):
    """The demo's podcast corpus submitted to SLURM."""
    root = tmp_path_factory.mktemp("slurm")
    profile = site_profile(root / "profile")
    cluster = root / "cluster"
    cluster.mkdir()
    (cluster / "config.yaml").write_text(yaml.safe_dump(demo_config(), sort_keys=False))
    t0 = time.monotonic()
    rc, out = finish(start(cluster, "--workflow-profile", str(profile), "all"))
    assert rc == 0, out[-8000:]
    return {
        "root": root,
        "profile": profile,
        "cluster": cluster,
        "out": out,
        "seconds": time.monotonic() - t0,
    }


def test_every_job_ran_as_a_slurm_job_on_the_fitting_partition(demo):
    out = demo["out"]
    rules = remote_rules(out)
    jobs = submissions(out)
    assert sorted(r for r, ids in jobs.items() for _ in ids) == sorted(rules)
    assert {
        "demo_corpus",
        "label_tables",
        "audio_index",
        "egemaps_shard",
        "egemaps_features",
        "train_fold",
        "evaluate_corpus",
    } <= set(jobs)
    assert len(jobs["train_fold"]) == 3  # MR, PR, AR x the podcast's one fold
    for rule, ids in jobs.items():
        for _, slurm_id in ids:
            job = slurm_job(slurm_id)
            assert job["JobState"] == "COMPLETED", (rule, job)
            # eGeMAPS training (the demo's model) needs no GPU: no job asks for one
            assert not asks_gpu(job) and job["Partition"] == "cpu", (rule, job)
    egemaps = slurm_job(jobs["egemaps_shard"][0][1])
    assert int(egemaps["NumCPUs"]) == 1  # one core per eGeMAPS shard (job_resources)
    train = slurm_job(jobs["train_fold"][0][1])
    assert int(train["NumCPUs"]) == 1 and train["TRES"].split("mem=")[1].startswith("4000M")
    log = (demo["cluster"] / f"{TARGET}/train_log.csv").read_text().splitlines()
    assert log[0].endswith("device,torch_build,gpu_name") and ",cpu,CPU," in log[1]


def _table(workdir: Path, rel: Path) -> pd.DataFrame:
    """A Parquet table with the working directory in its paths replaced by a placeholder."""
    table = pd.read_parquet(workdir / rel)
    for column in table.columns:
        if table[column].dtype == object or pd.api.types.is_string_dtype(table[column]):
            table[column] = table[column].str.replace(str(workdir), "<workdir>", regex=False)
    return table


def test_outputs_equal_a_local_run(demo, demo_run):
    """Every table, metric and model of the podcast corpus equals the local demo run's (whose
    config adds IEMOCAP: a corpus's outputs depend on its own inputs and settings only)."""
    from safetensors.torch import load_file

    cluster, local = demo["cluster"], demo_run
    tables = sorted(p.name for p in (cluster / "results/tables").iterdir())
    # table3-6, vs_paper, claims: csv, md, tex each; vs_paper_summary.csv; paper_audit csv, md
    assert len(tables) == 21
    parquets = sorted(
        p.relative_to(cluster) for p in cluster.glob(f"results/**/{CORPUS}/**/*.parquet")
    )
    assert len(parquets) >= 15
    for rel in parquets:
        pd.testing.assert_frame_equal(_table(cluster, rel), _table(local, rel), obj=str(rel))
    models = sorted(cluster.glob("results/**/best.safetensors"))
    assert len(models) == 3
    for path in models:
        got, want = load_file(str(path)), load_file(str(local / path.relative_to(cluster)))
        assert got.keys() == want.keys()
        assert all((got[k] == want[k]).all() for k in want), path


def test_a_second_run_submits_nothing(demo):
    proc = start(demo["cluster"], "--workflow-profile", str(demo["profile"]), "all")
    rc, out = finish(proc, timeout=180)
    assert rc == 0, out[-5000:]
    assert "Nothing to be done" in out
    assert "submitted with SLURM jobid" not in out


def _w2v_workdir(demo: dict, name: str, pretrained: Path, **training) -> Path:
    """The demo's results (all up to date) with the wav2vec2 model configured and the outputs
    of one training job removed: that job is the only one to run."""
    workdir = demo["root"] / name
    shutil.copytree(demo["cluster"] / "results", workdir / "results")
    for path in (workdir / TARGET).iterdir():
        path.unlink()
    (workdir / f"results/logs/train_fold/{CORPUS}/AR_fold1.log").unlink()
    config = w2v_config(pretrained, **training)
    # the tiny model needs little: two such jobs share this 2-core node
    config["resources"].update(train_threads=1, train_mem_mb=2000)
    (workdir / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return workdir


@pytest.fixture(scope="module")
def gpu_run(demo, w2v_reference):
    """wav2vec2 with the default device (auto), submitted in the background: it asks for a GPU,
    gets one, and must fail at once because this torch cannot use CUDA."""
    import torch

    if torch.cuda.is_available():
        pytest.skip("torch can use CUDA here: the no-silent-CPU-fallback check needs a CPU build")
    workdir = _w2v_workdir(demo, "gpu", w2v_reference["pretrained"])
    proc = start(
        workdir, "--workflow-profile", str(demo["profile"]), f"{TARGET}/predictions.parquet"
    )
    state: dict = {"workdir": workdir, "proc": proc, "t0": time.monotonic()}
    yield state
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.communicate(timeout=60)


def test_a_cancelled_training_job_is_retried_and_resumes_to_the_same_model(
    demo, w2v_reference, gpu_run
):
    """The job, cancelled after epoch 3, ends with the model and predictions of the same job run
    uninterrupted on this host (``w2v_reference``: the same settings, one thread)."""
    killed = _w2v_workdir(demo, "cancelled", w2v_reference["pretrained"], device="cpu")
    target = f"{TARGET}/predictions.parquet"
    on_slurm = start(killed, "--workflow-profile", str(demo["profile"]), target)

    checkpoint = killed / f"results/{CORPUS}/checkpoints/AR/fold1/last.pt"
    job_log = killed / f"results/logs/train_fold/{CORPUS}/AR_fold1.log"
    comment = f"rule_train_fold_wildcards_{CORPUS}_AR_1"
    deadline = time.monotonic() + CANCEL_TIMEOUT_S
    cancelled = None
    while time.monotonic() < deadline and on_slurm.poll() is None:
        if checkpoint.is_file() and job_log.is_file() and "epoch 3:" in job_log.read_text():
            queue = _run(["squeue", "-h", "-o", "%i %k %T"], timeout=15).stdout.split("\n")
            running = [line.split()[0] for line in queue if comment in line and "RUNNING" in line]
            if running:
                cancelled = running[0]
                assert _run(["scancel", cancelled], timeout=15).returncode == 0
                break
        time.sleep(0.5)
    assert cancelled is not None, "the training job was not seen running after epoch 3"

    rc, out = finish(on_slurm)
    assert rc == 0, out[-8000:]
    assert slurm_job(cancelled)["JobState"] == "CANCELLED"
    attempts = submissions(out)["train_fold"]
    assert len(attempts) == 2 and attempts[0][1] == cancelled  # retried once (retries: 1)
    for _, slurm_id in attempts:
        assert not asks_gpu(slurm_job(slurm_id))  # device: cpu -> no GPU requested
    assert "resuming from" in job_log.read_text()
    assert_same_fold_job(killed / TARGET, w2v_reference["job"])
    assert not checkpoint.exists()


def test_a_wav2vec2_training_job_asks_for_a_gpu_and_fails_fast_without_cuda(demo, gpu_run):
    rc, out = finish(gpu_run["proc"])
    assert rc != 0
    attempts = submissions(out)["train_fold"]
    assert len(attempts) == 2  # the retry fails the same way
    for _, slurm_id in attempts:
        job = slurm_job(slurm_id)
        assert asks_gpu(job) and job["Partition"] == "gpu", job
        assert job["JobState"] == "FAILED", job
    log = (gpu_run["workdir"] / f"results/logs/train_fold/{CORPUS}/AR_fold1.log").read_text()
    assert "DeviceError: this job was given a GPU" in log
    assert "CPU-only build" in log and "Fix:" in log
    assert "epoch 1:" not in log and "part:" not in log  # failed before reading any data
    assert not (gpu_run["workdir"] / TARGET / "train_log.csv").exists()
