"""Device choice and the one-GPU-per-job lock files (no GPU needed: device count injected)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import torch

from serrules.devices import acquire_gpu, select_device, visible_gpu_ids


@pytest.fixture(autouse=True)
def plain_env(monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)


def test_select_device(monkeypatch):
    assert select_device("cpu") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert select_device() == torch.device("cpu")
    with pytest.raises(RuntimeError, match="'cuda' requested"):
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
            "from serrules.devices import acquire_gpu; import sys;"
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
        "from serrules.devices import acquire_gpu; import os;"
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
