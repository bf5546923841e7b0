"""Configuration validation: the shipped config is valid, every bad key or value is named."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from serrules.base.config import ConfigError, enabled_corpora, load_config, validate_config

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def raw_config() -> dict:
    with open(REPO / "config.yaml") as fh:
        return yaml.safe_load(fh)


def test_shipped_config_is_valid_and_runs_the_four_demo_corpora():
    config = load_config(REPO / "config.yaml")
    assert enabled_corpora(config) == ["iemocap", "msp-improv", "msp-podcast", "biic-podcast"]
    assert all(config["corpora"][c]["source"] == "demo" for c in enabled_corpora(config))
    # the study's protocol is the default
    assert config["training"]["epochs"] == 50
    assert config["training"]["batch_size"] == 32
    assert config["training"]["lr"] == pytest.approx(1e-4)
    assert config["training"]["beta"] == pytest.approx(0.99)
    assert config["evaluation"]["n_bootstrap"] == 1000


def test_defaults_are_filled_in(raw_config):
    del raw_config["training"]["epochs"]
    del raw_config["evaluation"]["unit"]
    config = validate_config(raw_config)
    assert config["training"]["epochs"] == 50
    assert config["evaluation"]["unit"] == "utterance"
    assert config["corpora"]["iemocap"]["enabled"] is True


@pytest.mark.parametrize(
    ("path", "value", "needle"),
    [
        (("training", "epochz"), 3, "training: Additional properties are not allowed ('epochz'"),
        (("model", "name"), "resnet", "model.name: 'resnet' is not one of"),
        (("training", "lr"), -1, "training.lr: -1 is less than or equal to"),
        (("evaluation", "unit"), "dialog", "evaluation.unit: 'dialog' is not one of"),
        (("corpora", "iemocap", "format"), "iemocap2", "corpora.iemocap.format"),
        (("audio", "sample_rate"), 8000, "audio.sample_rate"),
    ],
)
def test_bad_values_name_their_key(raw_config, path, value, needle):
    config = copy.deepcopy(raw_config)
    node = config
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(ConfigError) as err:
        validate_config(config)
    assert needle in str(err.value)


def test_release_corpus_needs_an_existing_root(raw_config, tmp_path):
    config = copy.deepcopy(raw_config)
    config["corpora"]["msp-podcast"] = {"format": "msp-podcast", "source": "release"}
    with pytest.raises(ConfigError, match="corpora.msp-podcast: 'root' is a required property"):
        validate_config(config)
    config["corpora"]["msp-podcast"]["root"] = str(tmp_path / "nowhere")
    with pytest.raises(ConfigError, match=r"corpora\.msp-podcast\.root: .*nowhere is not a folder"):
        validate_config(config)
    config["corpora"]["msp-podcast"]["root"] = str(tmp_path)
    assert validate_config(config)["corpora"]["msp-podcast"]["root"] == str(tmp_path)


def test_self_evaluations_only_for_iemocap(raw_config):
    config = copy.deepcopy(raw_config)
    config["corpora"]["msp-improv"]["include_self_evaluations"] = True
    with pytest.raises(ConfigError, match="corpora.msp-improv.include_self_evaluations"):
        validate_config(config)


def test_no_enabled_corpus_is_an_error(raw_config):
    config = copy.deepcopy(raw_config)
    for corpus in config["corpora"].values():
        corpus["enabled"] = False
    with pytest.raises(ConfigError, match="no corpus is enabled"):
        validate_config(config)


def test_bucket_below_batch_fails_at_validation(raw_config):
    """A combination that would only fail inside a training job fails before any job runs."""
    raw_config["training"].update(batch_size=32, bucket_size=16)
    with pytest.raises(ConfigError, match=r"training\.bucket_size: 16 is below training\.batch"):
        validate_config(raw_config)
    raw_config["training"]["bucket_size"] = 32
    validate_config(raw_config)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("max_seconds", None),  # documented: null = whole file
        ("bucket_size", None),  # documented: null = random batches
        ("gpu_lock_dir", None),
        ("gpu_lock_dir", "/tmp/locks"),
        ("device", "cpu"),
        ("device", "cuda"),
        ("keep_checkpoint", True),
        ("num_workers", 0),
    ],
)
def test_every_documented_training_value_is_accepted(raw_config, key, value):
    raw_config["training"][key] = value
    assert validate_config(raw_config)["training"][key] == value


def test_result_neutral_training_keys_are_not_rule_params(raw_config):
    from serrules.base.config import RESULT_NEUTRAL_TRAINING_KEYS, result_training_params
    from serrules.training.run_config import TrainConfig

    config = validate_config(raw_config)
    params = result_training_params(config)
    assert not set(params) & set(RESULT_NEUTRAL_TRAINING_KEYS)
    assert set(params) | set(RESULT_NEUTRAL_TRAINING_KEYS) == set(config["training"])
    assert set(RESULT_NEUTRAL_TRAINING_KEYS) <= set(TrainConfig.from_mapping({}).as_dict())


def test_python_api_sections_take_the_schema_defaults_and_reject_unknown_keys():
    """The schema is the one home of defaults: the training and model settings given to the
    Python API are filled from it (and the paper preset), and an unknown key is an error there
    as in the workflow."""
    from serrules.base.config import load_schema, schema_defaults, validate_section
    from serrules.training.models import resolve_model_cfg
    from serrules.training.run_config import TrainConfig

    schema = load_schema()
    train = TrainConfig.from_mapping({"epochs": 3}).as_dict()
    assert train["epochs"] == 3 and train["batch_size"] == 32 and train["beta"] == 0.99
    for key, sub in schema["properties"]["training"]["properties"].items():
        if "default" in sub and key != "epochs":
            assert train[key] == sub["default"], key
    model = resolve_model_cfg({"name": "egemaps-mlp"})
    assert model["head_hidden"] == schema_defaults("model")["head_hidden"] == 1024
    assert model["dropout"] == 0.5 and model["head_batchnorm"] is False
    with pytest.raises(ConfigError, match=r"training: .*'epoch' was unexpected"):
        TrainConfig.from_mapping({"epoch": 3})
    with pytest.raises(ConfigError, match=r"model\.dropout: 1 is greater than or equal"):
        validate_section("model", {"name": "egemaps-mlp", "dropout": 1})
    with pytest.raises(ConfigError, match=r"training\.bucket_size: 4 is below"):
        TrainConfig.from_mapping({"batch_size": 8, "bucket_size": 4})


def test_every_model_of_the_schema_is_in_the_registry():
    from serrules.base.config import load_schema
    from serrules.training.model_names import MODEL_NAMES, model_spec

    names = load_schema()["properties"]["model"]["properties"]["name"]["enum"]
    assert sorted(names) == sorted(MODEL_NAMES)
    assert model_spec("egemaps-mlp").needs_features and not model_spec("egemaps-mlp").needs_gpu
    assert model_spec("wav2vec2-large-robust-12").needs_gpu
    with pytest.raises(ConfigError, match="unknown model 'bert'"):
        model_spec("bert")


def test_backbone_comparison_choices_are_the_registry_backbones():
    from serrules.base.config import load_schema
    from serrules.training.model_names import BACKBONE_NAMES, MODELS

    section = load_schema()["properties"]["backbone_comparison"]["properties"]
    assert sorted(section["backbones"]["items"]["enum"]) == sorted(BACKBONE_NAMES)
    assert sorted(section["reference"]["enum"]) == sorted(BACKBONE_NAMES)
    assert set(section["backbones"]["default"]) <= set(BACKBONE_NAMES)
    assert all(MODELS[n].hub_id and MODELS[n].license for n in BACKBONE_NAMES)


def test_complete_config_fills_defaults_and_checks_the_rules_without_a_second_schema_pass(
    raw_config,
):
    """What the workflow runs after Snakemake's own schema check: defaults (also inside each
    corpus entry) and the cross-field rules, on a copy."""
    from serrules.base.config import complete_config

    checked = validate_config(raw_config, resolve=False)
    raw = copy.deepcopy(raw_config)
    assert complete_config(raw) == checked
    assert raw == raw_config  # the caller's mapping is not changed
    bad = copy.deepcopy(raw_config)
    bad["training"]["bucket_size"] = 1
    bad["training"]["batch_size"] = 4
    with pytest.raises(ConfigError, match=r"training\.bucket_size: 1 is below"):
        complete_config(bad)


def _schema_values(*path: str) -> list:
    from serrules.base.config import load_schema

    node = load_schema()
    for key in path:
        node = node["properties"][key] if key != "*" else node["additionalProperties"]
    return node["enum"] if "enum" in node else [node["const"]]


def test_the_schema_spells_each_choice_as_the_code_that_acts_on_it():
    """The schema (what Snakemake validates) and the code (what runs) list the same values for
    every choice: a value added to one without the other fails here."""
    from serrules.audio.loading import ON_ERROR_MODES, SAMPLE_RATE
    from serrules.base.protocols import PROTOCOLS
    from serrules.corpora.formats import FOLD_SCHEMES, FORMAT_NAMES
    from serrules.corpora.parsing import UNKNOWN_LABEL_MODES
    from serrules.corpora.vocabulary import WHITESPACE_MODES
    from serrules.training.batching import WAVEFORM_NORMALISATIONS
    from serrules.training.choices import DEV_LOSSES, OPTIMIZERS, PRECISIONS
    from serrules.training.devices import DEVICE_CHOICES
    from serrules.training.loss import WEIGHTINGS
    from serrules.training.models.wav2vec2 import POOLINGS

    pairs = {
        ("protocol",): PROTOCOLS,
        ("corpora", "*", "format"): FORMAT_NAMES,
        ("corpora", "*", "tables", "whitespace"): WHITESPACE_MODES,
        ("labels", "unknown_labels"): UNKNOWN_LABEL_MODES,
        ("audio", "sample_rate"): (SAMPLE_RATE,),
        ("audio", "on_error"): ON_ERROR_MODES,
        ("model", "pooling"): POOLINGS,
        ("training", "loss_weighting"): WEIGHTINGS,
        ("training", "dev_loss"): DEV_LOSSES,
        ("training", "waveform_normalisation"): WAVEFORM_NORMALISATIONS,
        ("training", "optimizer"): OPTIMIZERS,
        ("training", "precision"): PRECISIONS,
        ("training", "iemocap_folds"): FOLD_SCHEMES,
        ("training", "device"): DEVICE_CHOICES,
    }
    for path, values in pairs.items():
        assert sorted(_schema_values(*path)) == sorted(values), ".".join(path)


def test_train_config_has_one_field_per_schema_key():
    """``TrainConfig`` is the ``training`` section as one typed object: a key added to the schema
    needs its field (and the object keeps the config's values and types as given)."""
    import dataclasses

    from serrules.base.config import load_schema
    from serrules.training.run_config import TrainConfig

    keys = list(load_schema()["properties"]["training"]["properties"])
    assert [f.name for f in dataclasses.fields(TrainConfig)] == keys
    cfg = TrainConfig.from_mapping({"max_seconds": 12, "lr": 1e-3})
    assert cfg.max_seconds == 12 and type(cfg.max_seconds) is int and cfg.lr == 1e-3
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.epochs = 2  # type: ignore[misc]


def test_resume_fingerprint_is_unchanged_by_the_typed_training_settings():
    """The fingerprints of two configurations, computed by the version that held the training
    section as a dict (before ``TrainConfig``): a checkpoint written then still resumes, and a
    result-neutral key (``keep_checkpoint``, ``num_workers``) still leaves it unchanged. The
    pinned values were computed by the dict version with the authors-protocol training keys
    (batching, eval_order, eval_precision, waveform_statistics, dev_loss_decimals) present."""
    import torch

    from serrules.training.fold_spec import FoldKey
    from serrules.training.run_config import TrainConfig, run_fingerprint

    def fingerprint(train: dict) -> str:
        return run_fingerprint(
            FoldKey("msp-improv", 1, "AR"),
            model_cfg={"name": "egemaps-mlp", "head_hidden": 32},
            train_cfg=TrainConfig.from_mapping(train),
            train_ids=["u1", "u2"],
            dev_ids=["u3"],
            device=torch.device("cpu"),
        )

    small = {"epochs": 3, "batch_size": 4, "lr": 1e-3, "max_seconds": 0.8, "bucket_size": 8,
             "device": "cpu"}  # fmt: skip
    assert fingerprint({}) == "85badcba40b023b71e28aea3b5810ae303f631b2f75736c1b7ba23f5790f5efc"
    expected = "03d1839e7de7f8435acd4b6df51d6128645710436fe2da4193b990bee69ba4f3"
    assert fingerprint({**small, "num_workers": 2, "keep_checkpoint": True}) == expected
    assert fingerprint(small) == expected
    assert fingerprint({**small, "seed": 1}) != expected
