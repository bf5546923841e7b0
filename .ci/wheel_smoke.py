"""The installed wheel outside the checkout: run by .ci/wheel-check inside a fresh virtual
environment, from a temporary working directory. Every file it writes stays in that directory.

usage: python wheel_smoke.py FIXTURES  (FIXTURES: the checkout's tests/fixtures/corpora, input
data only; the package itself must come from the wheel)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

import serrules
from serrules.audio.features import write_egemaps
from serrules.audio.loading import write_audio_index
from serrules.corpora.formats import corpus_format
from serrules.demo import generate_demo_corpus
from serrules.evaluation.system_scoring import load_corpus_labels
from serrules.training.fold_job import train_fold
from serrules.training.fold_spec import FoldFiles, FoldKey
from serrules.training.run_config import TrainConfig

FIXTURES = Path(sys.argv[1]).resolve()
HERE = Path.cwd()
SERRULES = Path(sys.executable).with_name("serrules")


def run(*args: object) -> str:
    print("$", " ".join(map(str, args)), flush=True)
    proc = subprocess.run([str(a) for a in args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


installed = Path(serrules.__file__).resolve()
assert (
    installed.is_relative_to(Path(sys.prefix).resolve()) and "site-packages" in installed.parts
), f"serrules imported from {installed}, not from the wheel installed in {sys.prefix}"
assert (installed.parent / "base" / "config.schema.yaml").is_file()
print("serrules from", installed.parent)
assert TrainConfig.from_mapping({}).epochs > 0  # the schema's defaults, read from package data

run(SERRULES, "--help")
run(sys.executable, "-m", "serrules.training.pretrained", "--help")

# labels on a native fixture, then show on what it wrote
out = run(SERRULES, "labels", "--format", "iemocap", FIXTURES / "iemocap", HERE / "fixture")
assert "utterances:" in out, out
shown = run(SERRULES, "show", HERE / "fixture" / "labels_AR.parquet")
assert "contract:" in shown, shown
# the provenance of a wheel's tables: the command, and no git commit (not run from a checkout)
assert "commit not a git checkout" in shown and "rule: serrules labels" in shown, shown

# a small corpus of the package's demo (with audio), its labels and audio index
fmt = "msp-podcast"
generate_demo_corpus(fmt, HERE / "native", 80, seed=0)
corpus = HERE / "results" / fmt
run(SERRULES, "labels", "--format", fmt, HERE / "native", corpus)
write_audio_index(corpus / "utterances.parquet", corpus / "audio_index.parquet")

# score: a random system on every test utterance
labels = load_corpus_labels(corpus)
classes = corpus_format(fmt).classes
rng = np.random.default_rng(0)
system = pd.DataFrame(rng.dirichlet(np.ones(len(classes)), size=len(labels.expected)))
system.columns = classes
system.insert(0, "utterance_id", labels.expected.index)
system.to_csv(HERE / "system.csv", index=False)
out = run(SERRULES, "score", "--labels", corpus, HERE / "system.csv", "--out", HERE / "score")
assert "| System | Metric |" in out and (HERE / "score.csv").is_file(), out

# predict with a small eGeMAPS model that the package trains and saves (one fold, two epochs)
write_egemaps(corpus / "audio_index.parquet", corpus / "egemaps.parquet")
model = corpus / "models" / "AR" / "fold1"
train_fold(
    FoldKey(fmt, 1, "AR"),
    FoldFiles(
        labels=corpus / "labels_AR.parquet",
        folds=corpus / "folds.parquet",
        audio_index=corpus / "audio_index.parquet",
        features=corpus / "egemaps.parquet",
        model=model / "best.safetensors",
        train_log=model / "train_log.csv",
        predictions=model / "predictions.parquet",
        checkpoint_dir=HERE / "ckpt",
    ),
    model_cfg={"name": "egemaps-mlp", "head_hidden": 16, "dropout": 0.1},
    train_cfg=TrainConfig.from_mapping(
        {"epochs": 2, "batch_size": 16, "num_workers": 0, "device": "cpu"}
    ),
)
wavs = sorted((HERE / "native").rglob("*.wav"))[:3]
out = run(SERRULES, "predict", "--model", model, *wavs)
assert out.splitlines()[0].startswith("utterance_id,path,p_"), out
assert len(out.splitlines()) == 4, out
print("wheel check passed")
