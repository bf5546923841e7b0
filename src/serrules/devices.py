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

log = logging.getLogger(__name__)

#: Accepted values of ``prefer`` in :func:`select_device`.
DEVICE_CHOICES: tuple[str, ...] = ("auto", "cpu", "cuda")
LOCK_PREFIX = "serrules-gpu"


def select_device(prefer: str = "auto") -> torch.device:
    """``"auto"``: CUDA if available, else CPU; ``"cpu"``; ``"cuda"`` (error if unavailable)."""
    if prefer not in DEVICE_CHOICES:
        raise ValueError(f"device: unknown value {prefer!r}; expected one of {DEVICE_CHOICES}")
    if prefer == "cpu":
        return torch.device("cpu")
    if torch.cuda.is_available():
        return torch.device("cuda")
    if prefer == "cuda":
        raise RuntimeError(
            "device: 'cuda' requested but torch sees no CUDA device "
            f"(torch {torch.__version__}, CUDA_VISIBLE_DEVICES="
            f"{os.environ.get('CUDA_VISIBLE_DEVICES', '<unset>')!r})"
        )
    return torch.device("cpu")


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
