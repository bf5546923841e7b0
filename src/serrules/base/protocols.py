"""The two readings of the study, as config presets: the paper's text and its authors' code.

``protocol: paper`` (default) follows what the paper writes; ``protocol: authors`` follows the
authors' released training code and label files. Each choice where the two differ is its own
config key (:data:`PROTOCOL_KEYS`, validated by ``serrules/base/config.schema.yaml``); the
preset fills only the keys the user did not set, so an explicit key always wins and a user can mix
the readings. :func:`resolve_protocol` does that and :func:`protocol_record` says, for every
artifact, which protocol and which values produced it.

This module is the one home of the presets; docs/protocols.md documents them in one table.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from serrules.base.errors import ProtocolError

#: Protocol names accepted by the ``protocol`` config key (first = default).
PROTOCOLS: tuple[str, ...] = ("paper", "authors")
DEFAULT_PROTOCOL = "paper"
#: What each protocol follows (captions and docs).
PROTOCOL_SOURCES: dict[str, str] = {
    "paper": "the paper's text",
    "authors": "the authors' released code",
}

#: ``training.beta`` value meaning "beta = (N - 1) / N, N = training utterances of the fold".
BETA_FROM_FOLD_SIZE = "(N-1)/N"


@dataclass(frozen=True)
class Choice:
    """One choice where the paper's text and the authors' code differ."""

    section: str  #: config section (``labels``, ``training``, ``model``, ``evaluation``)
    key: str
    paper: Any
    authors: Any
    meaning: str
    #: where the authors' value comes from: file:line in their released repository
    source: str = ""

    @property
    def path(self) -> str:
        return f"{self.section}.{self.key}"


#: Every protocol-dependent key, in the order of docs/protocols.md.
CHOICES: tuple[Choice, ...] = (
    Choice("training", "beta", 0.99, BETA_FROM_FOLD_SIZE, "class-weight beta"),
    Choice(
        "training",
        "loss_weighting",
        "per_class",
        "per_utterance",
        "per class term -sum_j w_j y_j log p_j | per utterance (sum_j w_j y_j)(-sum_j y_j log p_j)",
    ),
    Choice("training", "target_smoothing", 0.0, 0.05, "training-target smoothing epsilon"),
    Choice("training", "dev_loss", "weighted", "unweighted", "dev loss for model selection"),
    Choice(
        "training",
        "waveform_normalisation",
        "utterance",
        "global",
        "per utterance | one mean/std over the fold's training samples (wav2vec2 only)",
    ),
    Choice("model", "pooling", "masked", "plain", "mean over valid frames | over all frames"),
    Choice("model", "head_batchnorm", False, True, "BatchNorm1d after each hidden Linear"),
    Choice("training", "optimizer", "adamw", "adam", "optimiser"),
    Choice("training", "weight_decay", 0.01, 0.0, "optimiser weight decay"),
    Choice("training", "precision", "bf16", "fp16", "mixed precision on GPU"),
    Choice("training", "drop_last", False, True, "drop the last partial train/dev batch"),
    Choice("training", "iemocap_folds", "paper", "authors", "IEMOCAP session folds"),
    Choice(
        "labels",
        "mr_share",
        "raw",
        "smoothed",
        "MR decided on the raw top vote share > 1/2 | on the share smoothed with "
        "training.target_smoothing > 1/2",
        "data/MSP-IMPROV/.../labels_consensus_EmoP_4class_{D,M}/labels_consensus_*.csv",
    ),
    Choice(
        "training",
        "batching",
        "bucketed",
        "shuffled",
        "training batches: length-bucketed (training.bucket_size) | a random permutation cut "
        "into batches",
        "train.py:136",
    ),
    Choice(
        "training",
        "eval_order",
        "length",
        "name",
        "dev/test batch order: sorted by length | by utterance name",
        "test.py:128, utils/data_manager.py:62",
    ),
    Choice(
        "training",
        "eval_precision",
        "autocast",
        "fp32",
        "dev/test forward passes: under training.precision's autocast | always fp32",
        "train.py:227, test.py:153",
    ),
    Choice(
        "training",
        "waveform_statistics",
        "cropped",
        "uncropped",
        "global waveform mean/std over the cropped | uncropped training waveforms",
        "utils/dataset.py:84 (crop at :94-95)",
    ),
    Choice(
        "training",
        "dev_loss_decimals",
        None,
        4,
        "best epoch: compare the exact dev loss | the dev loss rounded to 4 decimals",
        "utils/loss_manager.py:33, train.py:266",
    ),
    Choice(
        "evaluation",
        "divergence_target",
        "votes",
        "smoothed_label",
        "KLD/JSD target on MR_test/PR_test",
    ),
)

#: ``section.key`` of every protocol-dependent key.
PROTOCOL_KEYS: tuple[str, ...] = tuple(c.path for c in CHOICES)


def preset(protocol: str) -> dict[str, dict[str, Any]]:
    """``{section: {key: value}}`` of one protocol's preset."""
    if protocol not in PROTOCOLS:
        raise ProtocolError(
            f"protocol: unknown protocol {protocol!r}; known: {', '.join(PROTOCOLS)}"
        )
    out: dict[str, dict[str, Any]] = {}
    for choice in CHOICES:
        out.setdefault(choice.section, {})[choice.key] = copy.deepcopy(getattr(choice, protocol))
    return out


def preset_section(section: str, protocol: str = DEFAULT_PROTOCOL) -> dict[str, Any]:
    """The preset's keys of one config section (``{key: value}``). Presets are not defaults: the
    schema holds the defaults of the other keys (:func:`serrules.base.config.schema_defaults`)."""
    return preset(protocol).get(section, {})


def explicit_keys(config: Mapping[str, Any]) -> list[str]:
    """``section.key`` of the protocol-dependent keys ``config`` sets itself."""
    return [c.path for c in CHOICES if c.key in (config.get(c.section) or {})]


def resolve_protocol(config: Mapping[str, Any], protocol: str | None = None) -> dict[str, Any]:
    """A copy of ``config`` with every protocol-dependent key filled from the preset of
    ``protocol`` (default: ``config["protocol"]``, else ``paper``) where the config does not set
    it, and ``config["protocol"]`` set. Keys the config sets are kept (an explicit key wins).
    Raises :class:`ProtocolError` for an unknown protocol name."""
    name = protocol if protocol is not None else config.get("protocol", DEFAULT_PROTOCOL)
    values = preset(name)
    out = copy.deepcopy(dict(config))
    out["protocol"] = name
    for section, keys in values.items():
        current = dict(out.get(section) or {})
        for key, value in keys.items():
            current.setdefault(key, value)
        out[section] = current
    return out


def protocol_record(config: Mapping[str, Any], explicit: list[str] | None = None) -> dict:
    """What produced an artifact: ``{"protocol", "settings": {section.key: value},
    "overrides": [section.key set by the user that differ from the preset]}`` of a resolved
    config. ``explicit`` = keys the user set (default: those differing from the preset)."""
    name = config.get("protocol", DEFAULT_PROTOCOL)
    values = preset(name)
    settings = {c.path: config[c.section][c.key] for c in CHOICES}
    differ = [c.path for c in CHOICES if settings[c.path] != values[c.section][c.key]]
    overrides = differ if explicit is None else [k for k in explicit if k in differ]
    return {"protocol": name, "settings": settings, "overrides": overrides}


def describe(record: Mapping[str, Any]) -> str:
    """One line for captions and logs: ``protocol authors`` plus any overridden keys."""
    text = f"protocol {record['protocol']}"
    if record.get("overrides"):
        changed = ", ".join(f"{k}={record['settings'][k]}" for k in record["overrides"])
        text += f" with {changed}"
    return text


def settings_in(cfg: Mapping[str, Any], section: str) -> dict[str, Any]:
    """The protocol-dependent keys of one resolved config section (``key: value``)."""
    return {c.key: cfg[c.key] for c in CHOICES if c.section == section and c.key in cfg}


__all__ = [
    "BETA_FROM_FOLD_SIZE",
    "CHOICES",
    "DEFAULT_PROTOCOL",
    "PROTOCOLS",
    "PROTOCOL_SOURCES",
    "PROTOCOL_KEYS",
    "Choice",
    "ProtocolError",
    "describe",
    "explicit_keys",
    "preset",
    "protocol_record",
    "resolve_protocol",
    "preset_section",
]
