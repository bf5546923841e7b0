"""The runs of ``backbone_comparison``: one resolved configuration per backbone (importable
without PyTorch, so the workflow reads it while it plans the DAG).

Each backbone run is the main run's configuration (protocol, training settings, head, pooling,
layer pruning, evaluation) with ``model.name`` set to the backbone and ``model.pretrained`` set
to ``backbone_comparison.pretrained[<backbone>]``, or null (the registry's hub id, fetched once
into ``models/``). Results go to ``results/backbones/<backbone>/``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from serrules.base.errors import ConfigError
from serrules.training.model_names import BACKBONE_NAMES


def comparison_settings(config: Mapping[str, Any]) -> dict[str, Any]:
    """``backbone_comparison`` of a schema-completed config, checked: known backbones, the
    reference among them, ``pretrained`` naming only listed backbones. ``ConfigError`` names the
    key."""
    section = dict(config.get("backbone_comparison") or {})
    backbones = list(section.get("backbones") or [])
    unknown = [b for b in backbones if b not in BACKBONE_NAMES]
    if unknown or not backbones:
        known = ", ".join(BACKBONE_NAMES)
        raise ConfigError(f"backbone_comparison.backbones: {unknown or 'empty'}; known: {known}")
    reference = section.get("reference")
    if reference not in backbones:
        raise ConfigError(
            f"backbone_comparison.reference: {reference!r} is not in backbone_comparison.backbones "
            f"{backbones}"
        )
    pretrained = dict(section.get("pretrained") or {})
    stray = sorted(set(pretrained) - set(backbones))
    if stray:
        raise ConfigError(
            f"backbone_comparison.pretrained: {stray} not in backbone_comparison.backbones"
        )
    return {"backbones": backbones, "reference": reference, "pretrained": pretrained}


def backbone_config(config: Mapping[str, Any], backbone: str) -> dict[str, Any]:
    """A copy of the resolved ``config`` whose model is ``backbone`` (its weights: the
    comparison's ``pretrained`` entry, else the registry's hub id)."""
    settings = comparison_settings(config)
    if backbone not in settings["backbones"]:
        raise ConfigError(f"backbone {backbone!r} is not in backbone_comparison.backbones")
    out = copy.deepcopy(dict(config))
    out["model"] = {
        **dict(out["model"]),
        "name": backbone,
        "pretrained": settings["pretrained"].get(backbone),
    }
    return out


__all__ = ["backbone_config", "comparison_settings"]
