"""Device choice and the one-GPU-per-job lock files (no GPU needed: device count injected)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import torch

from serrules.training.devices import (
    GPU_ENV_VARS,
    DeviceError,
    acquire_gpu,
    device_report,
    gpus_from_environment,
    select_device,
    visible_gpu_ids,
)


@pytest.fixture(autouse=True)
def plain_env(monkeypatch):
    for name in (*GPU_ENV_VARS, "SLURM_JOB_ID"):
        monkeypatch.delenv(name, raising=False)


def test_select_device(monkeypatch):
    assert select_device("cpu") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert select_device() == torch.device("cpu")
    with pytest.raises(DeviceError, match="training.device is 'cuda'.*CPU-only build.*Fix:"):
        select_device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert select_device("auto") == torch.device("cuda")
    assert select_device("cuda") == torch.device("cuda")
    assert select_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="'gpu'"):
        select_device("gpu")


def test_two_jobs_get_different_gpus_and_a_third_waits(tmp_path):
    i0, lease0 = acquire_gpu(tmp_path, n_devices=2)
    i1, lease1 = acquire_gpu(tmp_path, n_devices=2)
    assert (i0, i1) == (0, 1)
    assert lease0.lock_path == tmp_path / "serrules-gpu0.lock" and lease1.held
    start = time.monotonic()
    with pytest.raises(TimeoutError, match="2 visible GPU"):
        acquire_gpu(tmp_path, n_devices=2, timeout_s=0.3, poll_s=0.05)
    assert time.monotonic() - start >= 0.3
    lease1.release()
    lease1.release()  # idempotent
    with acquire_gpu(tmp_path, n_devices=2, timeout_s=0)[1] as lease:
        assert lease.index == 1 and lease.held
    assert not lease.held
    lease0.release()
    assert acquire_gpu(tmp_path, n_devices=2, timeout_s=0)[0] == 0


def test_waiting_job_gets_gpu_when_released(tmp_path):
    _, lease = acquire_gpu(tmp_path, n_devices=1)
    # this process holds the only GPU; a child process waits until it is released
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from serrules.training.devices import acquire_gpu; import sys;"
            f"i, _ = acquire_gpu({str(tmp_path)!r}, n_devices=1, timeout_s=20, poll_s=0.05);"
            "print(i)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    time.sleep(0.3)
    assert child.poll() is None  # still waiting
    lease.release()
    out, _ = child.communicate(timeout=20)
    assert child.returncode == 0 and out.strip() == "0"


def test_lock_released_when_process_dies(tmp_path):
    code = (
        "from serrules.training.devices import acquire_gpu; import os;"
        f"acquire_gpu({str(tmp_path)!r}, n_devices=1); os._exit(3)"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 3
    assert acquire_gpu(tmp_path, n_devices=1, timeout_s=0)[0] == 0


def test_cuda_visible_devices_names_the_locks(tmp_path, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    assert visible_gpu_ids(2) == ["3", "5"]
    i, lease = acquire_gpu(tmp_path, n_devices=2)
    assert i == 0 and lease.lock_path.name == "serrules-gpu3.lock"
    # a job that sees only physical GPU 3 must wait for it
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")
    with pytest.raises(TimeoutError):
        acquire_gpu(tmp_path, n_devices=1, timeout_s=0)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "GPU-ab/cd")
    assert visible_gpu_ids(1) == ["GPU-ab_cd"]


def test_slurm_single_gpu_needs_no_lock(tmp_path, monkeypatch):
    monkeypatch.setenv("SLURM_JOB_ID", "123")
    i, lease = acquire_gpu(tmp_path, n_devices=1)
    assert i == 0 and lease.lock_path is None and not lease.held
    assert list(tmp_path.iterdir()) == []


def test_no_gpu(tmp_path):
    with pytest.raises(RuntimeError, match="no visible CUDA device"):
        acquire_gpu(tmp_path, n_devices=0)


@pytest.mark.parametrize(
    ("env", "given"),
    [
        ({"CUDA_VISIBLE_DEVICES": "0"}, True),
        ({"CUDA_VISIBLE_DEVICES": "GPU-8a1b"}, True),
        ({"CUDA_VISIBLE_DEVICES": ""}, False),
        ({"CUDA_VISIBLE_DEVICES": "-1"}, False),
        ({"CUDA_VISIBLE_DEVICES": "NoDevFiles"}, False),
        ({"SLURM_GPUS": "1"}, True),
        ({"SLURM_GPUS": "0"}, False),
        ({"SLURM_GPUS_PER_NODE": "a100:2"}, True),
        ({"SLURM_GPUS_PER_NODE": "a100:0"}, False),
        ({"SLURM_JOB_GPUS": "0"}, True),  # an index list: GPU 0
        ({"SLURM_JOB_ID": "12"}, False),
    ],
)
def test_gpus_from_environment(env, given):
    assert bool(gpus_from_environment(env)) is given


def test_a_job_given_a_gpu_never_falls_back_to_the_cpu(monkeypatch):
    """auto + a GPU from the scheduler or from Snakemake + no usable CUDA: fail, naming both."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.version, "cuda", None)
    monkeypatch.setenv("SLURM_GPUS", "1")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    with pytest.raises(DeviceError) as err:
        select_device("auto")
    message = str(err.value)
    assert "SLURM_GPUS=1" in message and "CUDA_VISIBLE_DEVICES=0" in message
    assert "CPU-only build" in message and "Fix:" in message and "CONDA_OVERRIDE_CUDA" in message
    assert select_device("cpu") == torch.device("cpu")  # CPU on purpose stays possible

    monkeypatch.delenv("SLURM_GPUS")
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    with pytest.raises(DeviceError, match="Snakemake resource gpu=1"):
        select_device("auto", requested_gpus=1)
    assert select_device("auto") == torch.device("cpu")  # nothing given: the CPU is the choice


def test_cuda_build_without_a_device_names_that_cause(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.version, "cuda", "12.6")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    with pytest.raises(DeviceError, match="built for CUDA 12.6 but sees no usable device"):
        select_device("auto")


def test_device_report_names_device_build_and_gpu(monkeypatch):
    report = device_report(torch.device("cpu"))
    assert report == {
        "device": "cpu",
        "torch": torch.__version__,
        "torch_build": "CPU" if torch.version.cuda is None else f"CUDA {torch.version.cuda}",
        "gpu_name": "",
    }
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index: f"Fake GPU {index}")
    monkeypatch.setattr(torch.version, "cuda", "12.6")
    report = device_report(torch.device("cuda", 1))
    assert report["device"] == "cuda:1" and report["gpu_name"] == "Fake GPU 1"
    assert report["torch_build"] == "CUDA 12.6"


def test_training_job_fails_fast_when_given_a_gpu_it_cannot_use(tmp_path):
    """A real training-script process with SLURM's GPU variables and this CPU-only torch."""
    code = (
        "from serrules.training.devices import select_device\n"
        "select_device('auto')\n"
        "print('trained on the CPU in silence')\n"
    )
    env = {"PATH": "/usr/bin:/bin", "SLURM_GPUS_ON_NODE": "1", "CUDA_VISIBLE_DEVICES": "0"}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    if torch.cuda.is_available():
        pytest.skip("this machine can use CUDA")
    assert proc.returncode != 0
    assert "DeviceError" in proc.stderr and "SLURM_GPUS_ON_NODE=1" in proc.stderr
    assert "trained on the CPU in silence" not in proc.stdout
