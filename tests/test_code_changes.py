"""A code change reruns exactly the jobs whose code it changes, and what depends on them: dry runs
(``snakemake -n``, the job table parsed) on a copy of the shared demo run, with an edited copy of
the package and the workflow first on the path. Nothing is trained or evaluated here; the digests
themselves: tests/test_code_digest.py."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from demo_workflow import RATINGS_CORPUS, REPO, TINY_CORPORA, copy_run, job_table

from serrules.base.classes import RULES

# one worker: the module-scoped copy of the demo run is made once
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("runs:code_changes")]

N_FOLDS = {"iemocap": 5, "msp-podcast": 1, RATINGS_CORPUS: 1}
#: the jobs downstream of the fold predictions, per corpus (and the tables over all corpora)
EVALUATION = ("evaluate_corpus", "per_class_scores", "calibration", "corpus_provenance")


@pytest.fixture(scope="module")
def run(demo_run, tmp_path_factory) -> Path:
    """A copy of the demo run, for dry runs only."""
    return copy_run(demo_run, tmp_path_factory.mktemp("code_changes") / "run")


@pytest.fixture
def code(tmp_path) -> Path:
    """A copy of the checkout's workflow and package (``src/serrules``), for a test to edit."""
    root = tmp_path / "code"
    root.mkdir()
    shutil.copy2(REPO / "Snakefile", root / "Snakefile")
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(REPO / "workflow", root / "workflow", ignore=ignore)
    shutil.copytree(REPO / "src" / "serrules", root / "src" / "serrules", ignore=ignore)
    return root


def edit(root: Path, rel: str, old: str, new: str) -> None:
    path = root / rel
    text = path.read_text()
    assert text.count(old) == 1, (rel, old)
    path.write_text(text.replace(old, new))


def dry_run(code: Path, workdir: Path, *args: str, check: bool = True) -> str:
    """``snakemake -n all`` (or ``args``) with the code of ``code``: its Snakefile, and its
    package first on the path (before the installed one)."""
    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": str(code / "src")}
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(code / "Snakefile")]
    proc = subprocess.run(
        [*cmd, "--directory", str(workdir), *(args or ("-n", "all"))],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    out = proc.stdout + proc.stderr
    if check:
        assert proc.returncode == 0, out
    return out


def job_blocks(out: str, rule: str) -> list[str]:
    """The dry run's block of each planned job of ``rule`` (from its header to the next job's
    timestamp)."""
    blocks = re.split(r"\n(?=\[[A-Z][a-z]{2} )", out)
    return [b for b in blocks if re.search(rf"^(local)?(rule|checkpoint) {rule}:", b, re.M)]


def planned_corpora(out: str) -> set[str]:
    """The corpora of the planned jobs (their ``corpus`` wildcard)."""
    return set(re.findall(r"wildcards: .*?corpus=([\w-]+)", out))


def test_comments_docstrings_and_formatting_rerun_nothing(code, run):
    """Edits that cannot change a result, in the modules of several stages: comments,
    docstrings, line breaks, a comment in the table contracts. (An edit of a workflow script's
    file reruns its rule whatever it changes: Snakemake's own trigger on the script's date.)"""
    loss = "src/serrules/training/loss.py"
    edit(code, loss, "import logging\n", "import logging  # why: the job's log\n")
    edit(code, loss, "Class-balanced soft cross-entropy (", "Class-balanced soft CE, reworded (")
    edit(code, "src/serrules/evaluation/metrics.py", "from __future__", "\n\nfrom __future__")
    edit(code, "src/serrules/corpora/iemocap.py", '"""IEMOCAP: ', '"""IEMOCAP, a note: ')
    edit(code, "src/serrules/base/tables.yaml", "tables:", "# a note\ntables:")
    out = dry_run(code, run)
    assert "Nothing to be done" in out, out[-3000:]


def test_a_training_change_reruns_training_and_downstream_only(code, run):
    """The training loss changes: every training job reruns (its code param changed), then the
    evaluation, views and tables of its predictions; not the label stage, the audio check or the
    features. ``snakemake --summary`` names the training jobs' outputs as the ones whose params
    changed, and the rest of the plan as updates pending."""
    edit(code, "src/serrules/training/loss.py", "DEFAULT_BETA = 0.99\n", "DEFAULT_BETA = 0.999\n")
    out = dry_run(code, run)
    folds = sum(N_FOLDS.values()) * len(RULES)
    per_corpus = dict.fromkeys((*EVALUATION, "training_curves"), len(TINY_CORPORA))
    assert job_table(out) == {
        "train_fold": folds,
        **per_corpus,
        "result_tables": 1,
        "paper_comparison": 1,
        "all": 1,
    }
    blocks = job_blocks(out, "train_fold")
    assert len(blocks) == folds and all("reason: Params have changed" in b for b in blocks)
    rows = [line.split("\t") for line in dry_run(code, run, "--summary").splitlines()]
    status = {row[0]: (row[2], row[4], row[5]) for row in rows if len(row) == 6}
    changed = {f for f, (_, state, _) in status.items() if state == "params changed"}
    assert {f.rsplit("/", 1)[0] for f in changed} == {
        f"results/{corpus}/models/{rule}/fold{k}"
        for corpus, n in N_FOLDS.items()
        for rule in RULES
        for k in range(1, n + 1)
    }
    assert {status[f][0] for f in changed} == {"train_fold"}
    pending = {rule for rule, _, plan in status.values() if plan == "update pending"}
    assert pending == set(job_table(out)) - {"all"}


def test_a_parser_change_reruns_its_corpus_label_stage_and_downstream(code, run):
    """The IEMOCAP parser changes: the label stage of the IEMOCAP corpus reruns, and everything
    after it for that corpus, then the tables over all corpora; nothing of the podcast corpus
    (its label stage runs another parser)."""
    edit(
        code,
        "src/serrules/corpora/iemocap.py",
        "from __future__ import annotations",
        "from __future__ import annotations\n\n_CHANGED = 1",
    )
    out = dry_run(code, run)
    jobs = job_table(out)
    assert planned_corpora(out) == {"iemocap"}
    assert jobs["label_tables"] == jobs["majority_labels"] == jobs["audio_index"] == 1
    assert jobs["train_fold"] == N_FOLDS["iemocap"] * len(RULES)
    assert {"egemaps_features", "table3", "fig1", "result_tables", *EVALUATION} <= set(jobs)
    assert "demo_corpus" not in jobs
    (block,) = job_blocks(out, "label_tables")
    assert "reason: Params have changed" in block


def test_a_metrics_change_reruns_evaluation_and_tables_only(code, run):
    edit(
        code,
        "src/serrules/evaluation/metrics.py",
        "import numpy as np",
        "import numpy as np\n\n_CHANGED = 1",
    )
    out = dry_run(code, run)
    assert job_table(out) == {
        **dict.fromkeys(EVALUATION, len(TINY_CORPORA)),
        "result_tables": 1,
        "paper_comparison": 1,
        "paper_audit": 1,  # it lays out Tables 4-6 cells as the result tables do
        "all": 1,
    }


def test_a_rule_without_the_code_digest_is_refused(code, run):
    """A rule added later (here a paper_notes rule) that runs a script without the code param
    stops the workflow before any job, naming the rule (every other run of the suite plans with
    the check passing for every rule of the workflow)."""
    rule = """

rule paper_notes:
    input:
        metrics_tables,
    output:
        f"{RESULTS}/tables/notes.csv",
    log:
        f"{RESULTS}/logs/paper_notes.log",
    script:
        "../scripts/paper_notes.py"
"""
    (code / "workflow" / "scripts" / "paper_notes.py").write_text(
        "from serrules.base.script_logging import start_job\n\nstart_job(snakemake)\n"
    )
    rules = code / "workflow" / "rules" / "paper.smk"
    rules.write_text(rules.read_text() + rule)
    out = dry_run(code, run, "-n", "all", check=False)
    assert "every rule with a script needs the param code=code_digest(<its script>)" in out
    assert "paper_notes (script paper_notes.py, code digest of None)" in out


def _recorded_outputs(workdir: Path) -> dict[Path, str]:
    """Snakemake's record file of each output of a run (by the output's path)."""
    records = workdir / ".snakemake" / "metadata"
    out = {}
    for path in sorted(p for p in records.rglob("*") if p.is_file()):
        name = "".join(path.relative_to(records).parts)
        out[path] = base64.urlsafe_b64decode(name + "=" * (-len(name) % 4)).decode()
    return out


def test_outputs_of_a_run_before_provenance_are_rerun(demo_run, tmp_path):
    """The upgrade path (docs/architecture.md, "Provenance"): outputs whose Snakemake records
    hold no code digest, as those of a run before this version, are all planned again: every job
    of the run, each output's params changed (``snakemake --summary``); none is kept."""
    old = copy_run(demo_run, tmp_path / "old")
    recorded = _recorded_outputs(old)
    for path in recorded:
        record = json.loads(path.read_text())
        record["params"] = [p for p in record["params"] if not p.startswith("'sha256:")]
        path.write_text(json.dumps(record))
    rows = [line.split("\t") for line in dry_run(REPO, old, "--summary").splitlines()]
    rows = [row for row in rows[1:] if len(row) == 6 and row[0] != "output_file"]
    # the eGeMAPS shards are planned once the audio check (a checkpoint) has run again, and
    # until then their gather's inputs are not known (its status says so first)
    shards = {f for f in recorded.values() if "/egemaps_shards/" in f}
    assert shards and {row[0] for row in rows} == set(recorded.values()) - shards
    assert {row[5] for row in rows} == {"update pending"}
    assert {row[2] for row in rows if row[4] != "params changed"} == {"egemaps_features"}
