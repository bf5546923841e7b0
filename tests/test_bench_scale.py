"""benchmarks/bench_scale.py drives the workflow stage by stage, so a change to the rules can break
it without any other test noticing: it runs here on a small release, every stage once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

STAGES = (
    "| `snakemake -n all`, nothing built |",
    "| label stage (`label_tables`) |",
    "| MR labels and label loss (`majority_labels`) |",
    "| `audio_index` |",
    "| `serrules score`, 2 systems, 1000 resamples |",
    "| eGeMAPS shard 0 (100 utt., 1 core) |",
    "| eGeMAPS gather (`egemaps_features`), full size |",
    "| `snakemake -n all`, eGeMAPS built |",
)


@pytest.mark.e2e
def test_every_stage_runs_on_a_small_release(tmp_path: Path) -> None:
    cmd = [
        sys.executable, "benchmarks/bench_scale.py", "--clips", "200", "--repeat", "1",
        "--egemaps-shards", "1", "--shard-utterances", "100", "--root", str(tmp_path),
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    missing = [stage for stage in STAGES if stage not in proc.stdout]
    assert not missing, proc.stdout
    row = next(line for line in proc.stdout.splitlines() if line.startswith("row: | a 200-clip"))
    assert "label stage" in row and "`serrules score`" in row
