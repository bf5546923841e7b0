"""The row a benchmark prints for docs/benchmarks.md: what was measured, the command as it was
run, the result, the machine (CPU model, cores, memory, key package versions) and the date, so
that re-measuring a row is copy and paste."""

from __future__ import annotations

import datetime
import os
import platform
import shlex
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

#: The packages whose version says what a figure was measured with.
PACKAGES = ("numpy", "pandas", "torch", "snakemake")


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``; the platform's processor elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_gib() -> float | None:
    """Physical memory in GiB (``sysconf``), or None where it cannot be read."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        return None


def machine() -> str:
    """``CPU, N cores, M GiB; Python x, numpy y, ...`` of this machine and environment."""
    memory = memory_gib()
    parts = [cpu_model(), f"{os.cpu_count()} cores"]
    if memory is not None:
        parts.append(f"{memory:.0f} GiB")
    versions = [f"Python {platform.python_version()}"]
    for name in PACKAGES:
        try:
            versions.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            pass
    return ", ".join(parts) + "; " + ", ".join(versions)


def command() -> str:
    """This process's command line, as typed from the checkout (``python benchmarks/...``)."""
    script = Path(sys.argv[0])
    try:
        script = script.resolve().relative_to(Path.cwd())
    except ValueError:
        pass
    return shlex.join(["python", str(script), *sys.argv[1:]])


def pin_to_one_core() -> None:
    """Run this process, and the processes it starts, on the first CPU it may use (as
    ``taskset -c 0``; Linux only)."""
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def print_row(what: str, result: str, typed: str | None = None) -> None:
    """Print the docs/benchmarks.md row of this run; ``typed`` is the command a user types where
    it is not this process's own (a wrapper script)."""
    today = datetime.date.today().isoformat()
    print(f"\nrow: | {what} | `{typed or command()}` | {result} | {machine()} | {today} |")


__all__ = ["command", "machine", "pin_to_one_core", "print_row"]
