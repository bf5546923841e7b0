"""CPU/GPU choice, and one free GPU per job when several jobs share a multi-GPU machine.

Snakemake's ``--resources gpu=N`` only limits how many GPU jobs run at once; it does not tell a
job WHICH GPU to use. :func:`acquire_gpu` gives each job its own: it takes an exclusive
``fcntl.flock`` on ``<lock_dir>/serrules-gpu<id>.lock`` for the first free visible GPU. The lock
belongs to the open file, so it is released by :meth:`GpuLease.release`, on leaving the ``with``
block, or by the operating system when the process ends for any reason (crash, kill).
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import socket
import tempfile
import time
from pathlib import Path
from types import TracebackType

import torch

from serrules.base.errors import DeviceError

log = logging.getLogger(__name__)

#: Accepted values of ``prefer`` in :func:`select_device`.
DEVICE_CHOICES: tuple[str, ...] = ("auto", "cpu", "cuda")
LOCK_PREFIX = "serrules-gpu"


#: Environment variables through which a scheduler hands a job its GPUs.
GPU_ENV_VARS: tuple[str, ...] = (
    "CUDA_VISIBLE_DEVICES",
    "SLURM_GPUS",
    "SLURM_GPUS_ON_NODE",
    "SLURM_JOB_GPUS",
    "SLURM_STEP_GPUS",
    "SLURM_GPUS_PER_NODE",
    "SLURM_GPUS_PER_TASK",
)
#: Values that mean "no GPU" (SLURM writes NoDevFiles for GPU-less steps).
_NO_GPU_VALUES = frozenset({"", "-1", "none", "nodevfiles", "(null)"})
#: Of those variables, the ones that hold a count (0 = none); the others hold device indices.
_GPU_COUNT_VARS = frozenset(
    {"SLURM_GPUS", "SLURM_GPUS_ON_NODE", "SLURM_GPUS_PER_NODE", "SLURM_GPUS_PER_TASK"}
)


def torch_build() -> str:
    """``"CUDA <version>"``, ``"ROCm <version>"`` or ``"CPU"``: what this torch was built for."""
    if torch.version.cuda:
        return f"CUDA {torch.version.cuda}"
    hip = getattr(torch.version, "hip", None)
    return f"ROCm {hip}" if hip else "CPU"


def gpus_from_environment(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The scheduler's GPU assignment found in the environment (variable -> value), if any.

    ``CUDA_VISIBLE_DEVICES`` counts only when it names a device (not empty, ``-1`` or
    ``NoDevFiles``); a GPU count of 0 (``SLURM_GPUS=0``, ``SLURM_GPUS_PER_NODE=a100:0``) counts
    as none.
    """
    env = os.environ if environ is None else environ
    given = {}
    for name in GPU_ENV_VARS:
        value = env.get(name)
        if value is None or value.strip().lower() in _NO_GPU_VALUES:
            continue
        if name in _GPU_COUNT_VARS and value.strip().rsplit(":", 1)[-1] == "0":
            continue
        given[name] = value
    return given


def _no_cuda_cause() -> str:
    if not torch.version.cuda:
        return (
            f"torch {torch.__version__} is a CPU-only build (no CUDA support compiled in); "
            "a conda solve on a GPU-less login node, or pip without the CUDA wheel index, "
            "installs such a build"
        )
    return (
        f"torch {torch.__version__} is built for CUDA {torch.version.cuda} but sees no usable "
        f"device (CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', '<unset>')!r}): "
        "no driver on this node, a driver older than the build needs, or the devices are hidden"
    )


_FIX = (
    "Fix: run training in an environment with a CUDA build of PyTorch (conda: envs/"
    "cuda.yaml, created on a GPU-less login node with CONDA_OVERRIDE_CUDA set, see "
    "docs/slurm.md; pip: install torch from the CUDA wheel index) on a node whose "
    "driver `nvidia-smi` shows; or, to train on the CPU on purpose, set training.device: cpu "
    "(then no GPU is requested)."
)


def require_usable_cuda(reason: str) -> None:
    """Raise :class:`DeviceError` (cause and fix) unless torch can use CUDA; ``reason`` says why
    this job needs it (e.g. "this job was given a GPU (SLURM_GPUS=1)")."""
    if torch.cuda.is_available():
        return
    raise DeviceError(f"{reason}, but torch cannot use CUDA: {_no_cuda_cause()}. {_FIX}")


def select_device(prefer: str = "auto", requested_gpus: int = 0) -> torch.device:
    """The training device; never a silent CPU fallback.

    ``"cpu"``: the CPU. ``"cuda"``: CUDA, else :class:`DeviceError`. ``"auto"``: CUDA if torch
    can use it; otherwise the CPU only when the job was given no GPU, neither by the workflow
    (``requested_gpus``, Snakemake's ``gpu`` resource) nor by the scheduler (see
    :func:`gpus_from_environment`); a job that was given one fails with cause and fix.
    """
    if prefer not in DEVICE_CHOICES:
        raise ValueError(f"device: unknown value {prefer!r}; expected one of {DEVICE_CHOICES}")
    if prefer == "cpu":
        return torch.device("cpu")
    if prefer == "cuda":
        require_usable_cuda("training.device is 'cuda'")
    given = gpus_from_environment()
    if requested_gpus > 0:
        given = {"Snakemake resource gpu": str(requested_gpus), **given}
    if given:
        names = ", ".join(f"{k}={v}" for k, v in given.items())
        require_usable_cuda(f"this job was given a GPU ({names})")
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


def device_report(device: torch.device) -> dict[str, str]:
    """What a job trains on, for its log and ``train_log.csv``: ``device`` (e.g. ``cuda:0``),
    ``torch`` (version), ``torch_build`` (:func:`torch_build`) and ``gpu_name`` (empty on CPU)."""
    name = ""
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        name = torch.cuda.get_device_name(index)
        device = torch.device("cuda", index)
    return {
        "device": str(device),
        "torch": torch.__version__,
        "torch_build": torch_build(),
        "gpu_name": name,
    }


def visible_gpu_ids(n_devices: int) -> list[str]:
    """Stable names of the ``n_devices`` visible GPUs, for lock file names.

    With ``CUDA_VISIBLE_DEVICES`` set, visible index ``i`` is its ``i``-th entry (a physical index
    or a ``GPU-<uuid>``), so jobs that see different subsets still lock the same physical GPU
    under the same name; otherwise the names are ``0..n_devices-1``.
    """
    raw = os.environ.get("CUDA_VISIBLE_DEVICES")
    entries = [e.strip() for e in raw.split(",")] if raw else []
    entries = [re.sub(r"[^A-Za-z0-9_-]", "_", e) for e in entries if e]
    if len(entries) >= n_devices:
        return entries[:n_devices]
    return [str(i) for i in range(n_devices)]


class GpuLease:
    """An exclusive hold on one GPU; a context manager. ``index`` is the torch device index."""

    def __init__(self, index: int, lock_path: Path | None, fd: int | None) -> None:
        self.index = index
        self.lock_path = lock_path
        self._fd = fd

    @property
    def held(self) -> bool:
        """True until :meth:`release` (always False for a lease that needed no lock)."""
        return self._fd is not None

    def release(self) -> None:
        """Give the GPU back (idempotent)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)

    def __enter__(self) -> GpuLease:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def __del__(self) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"GpuLease(index={self.index}, lock_path={self.lock_path}, held={self.held})"


def _try_lock(path: Path) -> int | None:
    """Open ``path`` and take a non-blocking exclusive flock; the fd, or None if taken."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except PermissionError:  # created by another user: a read-only fd can still be flocked
        fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise
    try:  # who holds it, for a person looking at the lock files; best effort
        os.ftruncate(fd, 0)
        os.write(fd, f"{socket.gethostname()} pid {os.getpid()}\n".encode())
    except OSError:
        pass
    return fd


def acquire_gpu(
    lock_dir: str | os.PathLike[str] | None = None,
    *,
    n_devices: int | None = None,
    timeout_s: float = 6 * 3600.0,
    poll_s: float = 5.0,
) -> tuple[int, GpuLease]:
    """Hold the first free visible GPU for this job; returns ``(index, lease)``.

    ``index`` is the torch device index (``torch.device("cuda", index)``). Lock files live in
    ``lock_dir`` (default ``$TMPDIR``, else the system temp dir), named after the GPU's entry in
    ``CUDA_VISIBLE_DEVICES`` (or its index). Under SLURM with one visible GPU, the scheduler has
    already given the job that GPU: index 0 is returned without a lock. If every GPU is held,
    polls every ``poll_s`` seconds and raises ``TimeoutError`` after ``timeout_s``.
    ``n_devices`` overrides ``torch.cuda.device_count()`` (tests, or to use fewer GPUs).
    """
    if n_devices is None:
        n_devices = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if n_devices < 1:
        raise RuntimeError(
            "acquire_gpu: no visible CUDA device (CUDA_VISIBLE_DEVICES="
            f"{os.environ.get('CUDA_VISIBLE_DEVICES', '<unset>')!r})"
        )
    if timeout_s < 0 or poll_s <= 0:
        raise ValueError(
            f"acquire_gpu: need timeout_s >= 0 and poll_s > 0, got {timeout_s}, {poll_s}"
        )
    if n_devices == 1 and os.environ.get("SLURM_JOB_ID"):
        return 0, GpuLease(0, None, None)

    directory = Path(lock_dir or os.environ.get("TMPDIR") or tempfile.gettempdir())
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / f"{LOCK_PREFIX}{gpu}.lock" for gpu in visible_gpu_ids(n_devices)]
    deadline = time.monotonic() + timeout_s
    waited = False
    while True:
        for index, path in enumerate(paths):
            fd = _try_lock(path)
            if fd is not None:
                if waited:
                    log.info("acquire_gpu: got GPU %d (%s) after waiting", index, path)
                return index, GpuLease(index, path, fd)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(
                f"acquire_gpu: all {n_devices} visible GPU(s) stayed locked for {timeout_s:g} s "
                f"({', '.join(str(p) for p in paths)}); is --resources gpu larger than the "
                "number of GPUs, or do other jobs hold them?"
            )
        if not waited:
            log.warning("acquire_gpu: all %d GPU(s) busy; waiting up to %g s", n_devices, timeout_s)
            waited = True
        time.sleep(min(poll_s, remaining))
