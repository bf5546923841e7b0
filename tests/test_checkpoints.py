"""Damaged resume checkpoints are detected, named, moved aside (never loaded unsafely)."""

from __future__ import annotations

import logging

import pytest
import torch
from safetensors.torch import save_file

from serrules.training.resume import RESUME_KEYS, load_best_weights, load_resume_state


def _good(path):
    state = {k: 0 for k in RESUME_KEYS}
    state.update(model={"w": torch.ones(3)}, rows=[{"epoch": 1}], best_file="best_epoch0001")
    torch.save(state, path)
    return state


def test_good_checkpoint_loads(tmp_path):
    path = tmp_path / "last.pt"
    want = _good(path)
    got = load_resume_state(path)
    assert got.keys() == want.keys()
    torch.testing.assert_close(got["model"]["w"], torch.ones(3))
    assert path.is_file()


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        ("empty", "empty file"),
        ("truncated", "cannot be loaded"),
        ("garbage", "cannot be loaded"),
        ("pickle", "cannot be loaded: UnpicklingError: its contents are not a tensor checkpoint"),
        ("list", "holds a list, not a checkpoint dict"),
        ("missing_keys", "lacks ['best_dev_loss'"),
    ],
)
def test_damaged_checkpoint_is_moved_aside_with_its_best_weights(tmp_path, caplog, damage, reason):
    path, best = tmp_path / "last.pt", tmp_path / "best_epoch0001.safetensors"
    _good(path)
    save_file({"w": torch.ones(2)}, str(best))
    data = path.read_bytes()
    if damage == "empty":
        path.write_bytes(b"")
    elif damage == "truncated":
        path.write_bytes(data[: len(data) - 100])
    elif damage == "garbage":
        path.write_bytes(bytes(range(256)) * 10)
    elif damage == "pickle":  # a pickle that would run code if loaded unsafely
        import pickle

        path.write_bytes(pickle.dumps(logging.getLogger))
    elif damage == "list":
        torch.save([1, 2], path)
    else:
        torch.save({"fingerprint": "x", "epoch": 1, "best_epoch": 1}, path)
    with caplog.at_level(logging.WARNING, logger="serrules.training.resume"):
        assert load_resume_state(path, also=[best]) is None
    assert not path.exists() and not best.exists()
    assert len(list(tmp_path.glob("last.pt.corrupt-*"))) == 1
    assert len(list(tmp_path.glob("best_epoch0001.safetensors.corrupt-*"))) == 1
    assert f"resume checkpoint {path} is unusable ({reason}" in caplog.text
    assert "restarting this fold from scratch" in caplog.text
    assert "weights_only" not in caplog.text


@pytest.mark.parametrize("content", [b"", b"\x10\x00\x00\x00\x00\x00\x00\x00{", b"junk" * 50])
def test_damaged_best_weights(tmp_path, caplog, content):
    best = tmp_path / "best_epoch0003.safetensors"
    best.write_bytes(content)
    with caplog.at_level(logging.WARNING, logger="serrules.training.resume"):
        assert load_best_weights(best) is None
    assert not best.exists() and list(tmp_path.glob("best_epoch0003.safetensors.corrupt-*"))
    assert str(best) in caplog.text


def test_gradient_scaler_state_survives_a_resume(tmp_path):
    """An fp16 run's loss scale and growth tracker are in the epoch checkpoint and come back on
    resume (the scaler is built enabled on the CPU here, as it is on a GPU under fp16)."""
    from serrules.training.resume import Progress, load_checkpoint, save_checkpoint

    def parts(init_scale):
        torch.manual_seed(0)
        model = torch.nn.Linear(3, 2)
        optimizer = torch.optim.Adam(model.parameters())
        scaler = torch.amp.GradScaler("cpu", init_scale=init_scale, growth_interval=3)
        return model, optimizer, scaler, torch.Generator().manual_seed(1)

    model, optimizer, scaler, generator = parts(2.0**10)
    for _ in range(2):  # two clean steps: growth tracker at 2, then an overflow halves the scale
        loss = model(torch.ones(4, 3)).sum()
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
    scaler.update(new_scale=scaler.get_scale() / 4)
    progress = Progress(epoch=1, best_epoch=1, best_dev_loss=0.5)
    progress.best_state = {k: v.clone() for k, v in model.state_dict().items()}
    save_checkpoint(tmp_path, progress, model, optimizer, scaler, generator, "fp", True)

    model2, optimizer2, scaler2, generator2 = parts(2.0**16)
    restored = load_checkpoint(tmp_path, "fp", model2, optimizer2, scaler2, generator2)
    assert restored is not None and restored.epoch == 1
    assert scaler2.get_scale() == scaler.get_scale() == 2.0**8
    assert scaler2.state_dict() == scaler.state_dict()
