""".ci/background.sh, the background steps of .ci/run, run by bash: a step's log and exit status
come back when it is waited for, and on an early exit a step is stopped with its children, or,
started with ``--let-finish``, waited for."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _bash(script: str, tmp_path: Path) -> subprocess.CompletedProcess:
    prelude = (
        "set -euo pipefail\n"
        'phase() { echo "--- $1 done"; }\n'
        f". {REPO / '.ci' / 'background.sh'}\n"
        "trap bg_cleanup EXIT\n"
    )
    return subprocess.run(
        ["bash", "-c", prelude + script],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "TMPDIR": str(tmp_path)},
    )


def test_a_step_gives_back_its_log_and_exit_status(tmp_path):
    proc = _bash(
        'bg_start ok bash -c "echo from ok"\n'
        'bg_start bad bash -c "echo from bad; exit 3"\n'
        "bg_finish ok\n"
        "status=0; bg_finish bad || status=$?\n"
        'echo "bad: $status"\n',
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "from ok",
        "--- ok done",
        "from bad",
        "--- bad done",
        "bad: 3",
    ]
    assert not list(tmp_path.glob("serrules-ci.*")), "the logs folder is left behind"


def test_a_failed_step_fails_a_script_under_errexit(tmp_path):
    proc = _bash('bg_start bad bash -c "exit 4"\nbg_finish bad\necho not reached\n', tmp_path)
    assert proc.returncode == 4
    assert "not reached" not in proc.stdout


def test_an_early_exit_stops_a_step_with_its_children_and_lets_the_other_finish(tmp_path):
    started, finished = tmp_path / "started", tmp_path / "finished"
    proc = _bash(
        # the step's child (sleep) must go with it: the whole process group is stopped
        f'bg_start slow bash -c "sleep 300 & echo \\$! > {started}; wait"\n'
        f'bg_start --let-finish install bash -c "sleep 1; touch {finished}"\n'
        f"while [ ! -s {started} ]; do sleep 0.05; done\n"
        "false\n",  # an error before anything was waited for
        tmp_path,
    )
    assert proc.returncode == 1
    assert finished.exists(), "the --let-finish step was cut short"
    child = int(started.read_text())
    deadline = time.monotonic() + 5
    while Path(f"/proc/{child}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    alive = Path(f"/proc/{child}").exists()
    if alive:
        os.kill(child, signal.SIGKILL)
    assert not alive, "a stopped step's child is still running"
