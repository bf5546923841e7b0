"""Load and validate the workflow configuration against ``config.schema.yaml`` (beside this module,
shipped in the package; the workflow's ``validate(config, schema)`` reads this same file).

The schema is the one home of every default and of the unknown-key policy (an error:
``additionalProperties: false`` throughout). :func:`validate_config` checks a config against it,
fills its defaults and checks the cross-field rules the schema cannot express, with errors that name
the key. The workflow lets Snakemake's ``validate(config, schema)`` do the schema check and then
calls :func:`complete_config` for the rest, so nothing is checked twice.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from serrules.base.errors import ConfigError
from serrules.base.protocols import preset_section, resolve_protocol

#: The config schema: package data, the one home of every default (also for the workflow).
SCHEMA_PATH = Path(__file__).with_name("config.schema.yaml")


#: ``training`` keys that do not change any number a run produces (worker processes, keeping the
#: resume checkpoint, where GPU lock files live): left out of the rule parameters Snakemake
#: compares, so changing them reruns nothing, and out of the resume fingerprint.
RESULT_NEUTRAL_TRAINING_KEYS: tuple[str, ...] = ("num_workers", "keep_checkpoint", "gpu_lock_dir")


def load_schema(path: str | Path = SCHEMA_PATH) -> dict[str, Any]:
    with open(path) as fh:
        return yaml.safe_load(fh)


def _fill_defaults(instance: Any, schema: dict[str, Any]) -> None:
    """Insert schema defaults into ``instance`` in place (objects only, recursively)."""
    if not isinstance(instance, dict):
        return
    props = schema.get("properties", {})
    for key, sub in props.items():
        if key not in instance and "default" in sub:
            instance[key] = copy.deepcopy(sub["default"])
        if key in instance:
            _fill_defaults(instance[key], sub)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        for key, value in instance.items():
            if key not in props:
                _fill_defaults(value, extra)


def schema_defaults(section: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """The defaults the schema declares for the keys of one config section (``training``,
    ``model``, ...): the one home of these values. Protocol-dependent keys have no schema default;
    their values come from a protocol preset (:mod:`serrules.base.protocols`)."""
    schema = load_schema() if schema is None else schema
    props = schema["properties"][section].get("properties", {})
    return {k: copy.deepcopy(v["default"]) for k, v in props.items() if "default" in v}


def _raise_errors(
    validator: jsonschema.Validator, instance: Any, section: str | None = None
) -> None:
    """:class:`ConfigError` listing every schema violation of ``instance`` by key path (prefixed
    with ``section`` when ``instance`` is one section of the config)."""
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    if errors:
        prefix = [section] if section else []
        paths = [".".join([*prefix, *map(str, e.absolute_path)]) or "<top level>" for e in errors]
        lines = [f"  {p}: {e.message}" for e, p in zip(errors, paths, strict=True)]
        raise ConfigError("invalid configuration:\n" + "\n".join(lines))


def _check_training(training: dict[str, Any]) -> None:
    """Cross-field rule of the ``training`` section the schema cannot express."""
    bucket, batch = training.get("bucket_size"), training.get("batch_size")
    if bucket is not None and batch is not None and bucket < batch:
        raise ConfigError(
            "invalid configuration:\n  training.bucket_size: "
            f"{bucket} is below training.batch_size ({batch}); a bucket must hold at least one "
            "batch (or set bucket_size: null for random batches)"
        )


def validate_section(
    section: str, values: dict[str, Any], schema: dict[str, Any] | None = None
) -> dict[str, Any]:
    """One config section (e.g. the ``training`` or ``model`` mapping given to the Python API)
    checked against its part of the schema, with the schema's defaults filled in and the
    protocol-dependent keys left unset by ``values`` taken from the paper's preset. Unknown keys
    are errors (:class:`ConfigError` naming ``section.key``), as in :func:`validate_config`."""
    schema = load_schema() if schema is None else schema
    sub = schema["properties"][section]
    values = copy.deepcopy(dict(values))
    _raise_errors(jsonschema.Draft202012Validator(sub), values, section)
    _fill_defaults(values, sub)
    for key, value in preset_section(section).items():
        values.setdefault(key, value)
    if section == "training":
        _check_training(values)
    return values


def validate_config(
    config: dict[str, Any], schema: dict[str, Any] | None = None, *, resolve: bool = True
) -> dict[str, Any]:
    """Return a copy of ``config`` checked against the schema, with its defaults filled in and the
    cross-field rules checked (:func:`complete_config`); raise :class:`ConfigError` naming every
    offending key. The entry point of Python users and the command line.

    ``resolve`` (default) also fills the protocol-dependent keys the config leaves unset from the
    preset of ``config["protocol"]`` (:func:`serrules.base.protocols.resolve_protocol`); with
    ``resolve=False`` they stay unset (the workflow resolves each protocol itself)."""
    schema = load_schema() if schema is None else schema
    _raise_errors(jsonschema.Draft202012Validator(schema), config)
    config = complete_config(config, schema)
    return resolve_protocol(config) if resolve else config


def complete_config(config: dict[str, Any], schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """The second half of :func:`validate_config`, for a config whose schema check has been done:
    a copy with the schema's defaults filled in (also inside per-corpus entries) and the rules the
    schema cannot express checked. The workflow calls this after Snakemake's own
    ``validate(config, schema)`` in ``common.smk``, so the schema is evaluated once per run."""
    schema = load_schema() if schema is None else schema
    config = copy.deepcopy(config)
    _fill_defaults(config, schema)
    enabled = [name for name, c in config["corpora"].items() if c.get("enabled", True)]
    if not enabled:
        raise ConfigError("invalid configuration:\n  corpora: no corpus is enabled")
    for name, corpus in config["corpora"].items():
        if corpus["source"] == "release" and corpus.get("enabled", True):
            root = Path(corpus["root"])
            if not root.is_dir():
                raise ConfigError(
                    f"invalid configuration:\n  corpora.{name}.root: {root} is not a folder"
                )
        if corpus.get("include_self_evaluations") and corpus["format"] != "iemocap":
            raise ConfigError(
                f"invalid configuration:\n  corpora.{name}.include_self_evaluations: "
                f"only IEMOCAP has self-evaluations, not {corpus['format']}"
            )
    _check_training(config["training"])
    return config


def _corpus_entry_schema(schema: dict[str, Any]) -> dict[str, Any]:
    return schema["properties"]["corpora"]["additionalProperties"]


def corpus_tables(
    tables: Mapping[str, Any], key: str = "tables", schema: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A ``ratings-table`` corpus's ``tables`` section checked against its part of the schema,
    with the schema's defaults filled in; :class:`ConfigError` naming ``<key>.<path>`` for every
    violation. The format record is built from the result
    (:func:`serrules.corpora.formats.corpus_format`)."""
    schema = load_schema() if schema is None else schema
    sub = _corpus_entry_schema(schema)["properties"]["tables"]
    values = copy.deepcopy(dict(tables))
    _raise_errors(jsonschema.Draft202012Validator(sub), values, key)
    _fill_defaults(values, sub)
    return values


def load_corpus_entry(path: str | Path, corpus: str) -> dict[str, Any]:
    """``corpora.<corpus>`` of a YAML file (the workflow's config, or any file with a ``corpora``
    section; nothing else of it is read), checked against the schema's corpus entry with its
    defaults filled in; :class:`ConfigError` naming the key."""
    with open(path) as fh:
        raw = yaml.safe_load(fh) or {}
    corpora = raw.get("corpora") if isinstance(raw, dict) else None
    if not isinstance(corpora, dict) or corpus not in corpora:
        known = ", ".join(corpora) if isinstance(corpora, dict) else "none"
        raise ConfigError(f"{path}: no corpora.{corpus} entry (corpora: {known})")
    schema = load_schema()
    sub = _corpus_entry_schema(schema)
    entry = copy.deepcopy(corpora[corpus])
    _raise_errors(jsonschema.Draft202012Validator(sub), entry, f"corpora.{corpus}")
    _fill_defaults(entry, sub)
    return entry


def result_training_section(training: Mapping[str, Any]) -> dict[str, Any]:
    """A ``training`` section without :data:`RESULT_NEUTRAL_TRAINING_KEYS`: the settings that
    change a run's numbers."""
    return {k: v for k, v in training.items() if k not in RESULT_NEUTRAL_TRAINING_KEYS}


def result_training_params(config: dict[str, Any]) -> dict[str, Any]:
    """The config's :func:`result_training_section` (what a training rule declares as
    ``params``, so only changes that alter results rerun its jobs)."""
    return result_training_section(config["training"])


def load_config(path: str | Path) -> dict[str, Any]:
    """Read a YAML config file and validate it."""
    with open(path) as fh:
        raw = yaml.safe_load(fh) or {}
    return validate_config(raw)


def enabled_corpora(config: dict[str, Any]) -> list[str]:
    """Names of the corpora the workflow runs, in config order."""
    return [name for name, c in config["corpora"].items() if c.get("enabled", True)]
