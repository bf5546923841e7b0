"""Pretrained weights for offline compute nodes: local folders, fetched hub copies, and a fast,
named failure for a hub id without a local copy (no network wait)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import torch
from tiny_wav2vec2 import tiny_config
from transformers import Wav2Vec2Model

from serrules.training.models import build_model
from serrules.training.pretrained import (
    FETCH_COMMAND,
    PretrainedNotFoundError,
    local_dir_for,
    resolve_pretrained,
)


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("tiny") / "tiny_w2v"
    Wav2Vec2Model(tiny_config()).save_pretrained(path)
    return path


def _cfg(pretrained) -> dict:
    return {"name": "wav2vec2-large-robust-12", "pretrained": str(pretrained), "keep_layers": 2}


def test_a_local_folder_is_used_as_it_is(tiny_folder):
    assert resolve_pretrained(str(tiny_folder)) == tiny_folder
    model = build_model(_cfg(tiny_folder), n_classes=4)
    assert len(model.backbone.encoder.layers) == 2


def test_a_hub_id_loads_its_fetched_copy(tiny_folder, tmp_path, monkeypatch):
    """What `python -m serrules.training.pretrained fetch org/name` leaves behind is what
    training loads."""
    import shutil

    monkeypatch.chdir(tmp_path)
    local = local_dir_for("some-org/tiny-w2v")
    assert local == tmp_path.joinpath("models", "some-org--tiny-w2v").relative_to(tmp_path)
    shutil.copytree(tiny_folder, local)
    assert resolve_pretrained("some-org/tiny-w2v") == local
    model = build_model(_cfg("some-org/tiny-w2v"), n_classes=4)
    want = Wav2Vec2Model.from_pretrained(tiny_folder).state_dict()
    got = model.backbone.state_dict()
    torch.testing.assert_close(
        got["feature_projection.projection.weight"], want["feature_projection.projection.weight"]
    )
    monkeypatch.setenv("SERRULES_MODELS_DIR", str(tmp_path / "elsewhere"))
    with pytest.raises(PretrainedNotFoundError):
        resolve_pretrained("some-org/tiny-w2v")


def test_a_hub_id_without_local_copy_fails_fast_naming_the_fetch_command(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    start = time.monotonic()
    with pytest.raises(PretrainedNotFoundError) as err:
        build_model(_cfg("no-such-org/unreachable-model"), n_classes=4)
    assert time.monotonic() - start < 5
    message = str(err.value)
    assert f"{FETCH_COMMAND} no-such-org/unreachable-model" in message
    assert "models/no-such-org--unreachable-model" in message


@pytest.mark.parametrize("bad", ["/no/such/folder", "./relative/missing", "a/b/c", "plain"])
def test_a_missing_folder_is_named(bad):
    with pytest.raises(PretrainedNotFoundError, match="no such folder"):
        resolve_pretrained(bad)


def test_a_folder_without_weights_is_refused(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(PretrainedNotFoundError, match="without config.json and"):
        resolve_pretrained(str(tmp_path))


def test_fetch_from_an_unreachable_hub_fails_fast(tmp_path):
    """The fetch command against a hub that refuses connections ends with an error, no hang."""
    env = {
        **os.environ,
        "HF_ENDPOINT": "http://127.0.0.1:9",  # discard port: connection refused
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HOME": str(tmp_path / "hf"),
    }
    env.pop("HF_HUB_OFFLINE", None)
    start = time.monotonic()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "serrules.training.pretrained",
            "fetch",
            "facebook/wav2vec2-large-robust",
            "--models-dir",
            str(tmp_path / "models"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stderr.startswith("error: ")
    assert time.monotonic() - start < 60
    assert not (tmp_path / "models" / "facebook--wav2vec2-large-robust" / "config.json").exists()


def test_training_jobs_run_with_the_hub_offline():
    """The train script switches the hub off before transformers is imported."""
    code = (
        "from serrules.training.pretrained import set_offline_mode\n"
        "set_offline_mode()\n"
        "import huggingface_hub.constants as c\n"
        "print(c.HF_HUB_OFFLINE)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert out.stdout.strip() == "True", out.stderr
