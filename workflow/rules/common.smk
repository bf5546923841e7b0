import os
import re
import sys
from pathlib import Path

from snakemake.utils import min_version, validate

min_version("9.0")

# The package lives in src/; jobs (and their conda envs) import it from there.
PKG_SRC = str(Path(workflow.basedir) / "src")
if PKG_SRC not in sys.path:
    sys.path.insert(0, PKG_SRC)
os.environ.update(
    PYTHONPATH=os.pathsep.join(
        p for p in (PKG_SRC, os.environ.get("PYTHONPATH", "")) if p
    )
)

from serrules.base.classes import RULES
from serrules.base.config import (
    complete_config,
    enabled_corpora,
    result_training_params,
)
from serrules.corpora.formats import FOLD_SCHEMES, corpus_format
from serrules.labels.folds import fold_table_name
from serrules.training.job_resources import (
    EGEMAPS_MEM_MB,
    EGEMAPS_THREADS,
    egemaps_runtime_min,
    parquet_rows,
    train_request,
)
from serrules.training.model_names import model_spec
from serrules.training.backbone_runs import backbone_config, comparison_settings
from serrules.base.protocols import (
    PROTOCOLS,
    explicit_keys,
    protocol_record,
    resolve_protocol,
)

# An unknown protocol (or any bad key) fails here, before any job: the schema check (Snakemake's),
# then the schema defaults and the cross-field rules (serrules.base.config.complete_config).
validate(config, schema="../schemas/config.schema.yaml")
_CHECKED = complete_config(config)
# keys the user set himself win over every preset (also in protocol_comparison)
EXPLICIT_KEYS = explicit_keys(_CHECKED)
PROTOCOL_CONFIGS = {p: resolve_protocol(_CHECKED, p) for p in PROTOCOLS}
config.update(PROTOCOL_CONFIGS[_CHECKED["protocol"]])

CORPORA = enabled_corpora(config)
RESULTS = "results"
# What one training job needs (GPU only for wav2vec2), from serrules.training.job_resources.
TRAIN_REQUEST = train_request(config)
# A CUDA build of PyTorch for GPU training, the CPU build otherwise (paths relative to rules/).
TRAIN_ENV = "../../envs/training-%s.yaml" % ("cuda" if TRAIN_REQUEST.gpus else "cpu")
# protocol_comparison: each preset in its own results subfolder
PROTOCOL_RESULTS = f"{RESULTS}/protocols/{{protocol}}"
# backbone_comparison: the main run's config with each backbone as the model, in its own folder
BACKBONE_SETTINGS = comparison_settings(config)
BACKBONES = BACKBONE_SETTINGS["backbones"]
BACKBONE_CONFIGS = {b: backbone_config(config, b) for b in BACKBONES}
BACKBONE_REQUESTS = {b: train_request(c) for b, c in BACKBONE_CONFIGS.items()}
BACKBONE_RESULTS = f"{RESULTS}/backbones/{{backbone}}"


wildcard_constraints:
    corpus="|".join(re.escape(c) for c in CORPORA),
    train_rule="|".join(RULES),
    fold=r"\d+",
    protocol="|".join(PROTOCOLS),
    backbone="|".join(re.escape(b) for b in BACKBONES),


def corpus_cfg(corpus):
    return config["corpora"][corpus]


def format_name(corpus):
    """The native format of a corpus (a key of serrules.corpora.formats.FORMATS)."""
    return corpus_cfg(corpus)["format"]


def format_record(corpus):
    """The format record (classes, parser, file patterns, folds) of a corpus."""
    return corpus_format(format_name(corpus))


def corpus_root(corpus):
    """Where the native release files of a corpus are: the generated demo or the user's copy."""
    if corpus_cfg(corpus)["source"] == "demo":
        return f"{RESULTS}/demo/{corpus}/native"
    return corpus_cfg(corpus)["root"]


def folds_of(corpus):
    return list(range(1, format_record(corpus).folds.n_folds + 1))


def annotation_input(wildcards):
    """Demo corpora depend on the generating rule; releases on their native annotation files."""
    if corpus_cfg(wildcards.corpus)["source"] == "demo":
        return f"{RESULTS}/demo/{wildcards.corpus}/summary.json"
    cfg = corpus_cfg(wildcards.corpus)
    files = format_record(wildcards.corpus).annotation_files(cfg["root"])
    if not files:
        raise ValueError(
            f"corpora.{wildcards.corpus}.root: no {cfg['format']} annotation files under {cfg['root']}"
        )
    return [str(f) for f in files]


def audio_input(wildcards):
    """A release's audio files (so that a repaired file re-runs the audio check and the stages
    after it); demo audio comes with the demo corpus, upstream of utterances.parquet."""
    cfg = corpus_cfg(wildcards.corpus)
    if cfg["source"] == "demo":
        return []
    return [str(f) for f in format_record(wildcards.corpus).audio_files(cfg["root"])]


def demo_utterances(wildcards):
    cfg = corpus_cfg(wildcards.corpus)
    return cfg.get("demo_utterances", config["demo"]["n_utterances"])


def label_root(wildcards):
    return corpus_root(wildcards.corpus)


def format_of(wildcards):
    return format_name(wildcards.corpus)


def self_evaluations(wildcards):
    return corpus_cfg(wildcards.corpus).get("include_self_evaluations", False)


def run_config(wildcards):
    """The resolved config of a job: its protocol's (protocol_comparison), its backbone's
    (backbone_comparison) or the main run's."""
    protocol = getattr(wildcards, "protocol", None)
    backbone = getattr(wildcards, "backbone", None)
    if backbone:
        return BACKBONE_CONFIGS[backbone]
    return PROTOCOL_CONFIGS[protocol] if protocol else config


def run_prefix(wildcards):
    protocol = getattr(wildcards, "protocol", None)
    backbone = getattr(wildcards, "backbone", None)
    if backbone:
        return f"{RESULTS}/backbones/{backbone}"
    return f"{RESULTS}/protocols/{protocol}" if protocol else RESULTS


def training_params(wildcards):
    """Result-changing training settings of the job's protocol (params: a change reruns it)."""
    return result_training_params(run_config(wildcards))


def model_params(wildcards):
    return run_config(wildcards)["model"]


def evaluation_params(wildcards):
    return run_config(wildcards)["evaluation"]


def protocol_params(wildcards):
    """Which protocol and which values produce a job's outputs (written with them)."""
    return protocol_record(run_config(wildcards), EXPLICIT_KEYS)


def folds_input(wildcards):
    """The fold table of the job's IEMOCAP fold scheme (identical tables for other corpora)."""
    scheme = run_config(wildcards)["training"]["iemocap_folds"]
    return f"{RESULTS}/{wildcards.corpus}/{fold_table_name(scheme)}"


def checkpoint_dir(wildcards):
    w = wildcards
    return f"{run_prefix(w)}/{w.corpus}/checkpoints/{w.train_rule}/fold{w.fold}"


def features_input(wildcards):
    """Only the eGeMAPS baseline trains on cached features; wav2vec2 reads the audio."""
    if model_spec(run_config(wildcards)["model"]["name"]).needs_features:
        return f"{RESULTS}/{wildcards.corpus}/features/egemaps.parquet"
    return []


def egemaps_runtime(wildcards, input, threads):
    """Minutes for the eGeMAPS job: scales with the corpus's utterances and the job's cores."""
    return egemaps_runtime_min(parquet_rows(input[0]), threads)


def fold_predictions(wildcards):
    prefix = run_prefix(wildcards)
    return {
        train_rule: [
            f"{prefix}/{wildcards.corpus}/models/{train_rule}/fold{k}/predictions.parquet"
            for k in folds_of(wildcards.corpus)
        ]
        for train_rule in RULES
    }


def protocol_metrics_tables(wildcards):
    return [
        f"{RESULTS}/protocols/{wildcards.protocol}/{c}/metrics.parquet" for c in CORPORA
    ]


def comparison_predictions(wildcards):
    """Every fold prediction of both presets, named <protocol>/<corpus>/<train rule>/fold<k>."""
    return {
        f"{p}/{c}/{rule}/fold{k}": (
            f"{RESULTS}/protocols/{p}/{c}/models/{rule}/fold{k}/predictions.parquet"
        )
        for p in PROTOCOLS
        for c in CORPORA
        for rule in RULES
        for k in folds_of(c)
    }


def comparison_inputs(wildcards):
    """Label-stage tables (shared by both presets) of every corpus."""
    names = ["utterances", "audio_index", *[f"labels_{r}" for r in RULES]]
    return {
        f"{c}/{name}": f"{RESULTS}/{c}/{name}.parquet"
        for c in CORPORA
        for name in names
    }


def comparison_folds(wildcards):
    return {
        f"{p}/{c}": f"{RESULTS}/{c}/"
        + fold_table_name(PROTOCOL_CONFIGS[p]["training"]["iemocap_folds"])
        for p in PROTOCOLS
        for c in CORPORA
    }


def comparison_params(wildcards):
    """Per protocol: its record, evaluation settings and label smoothing; corpus formats."""
    return {
        "protocols": {
            p: {
                "record": protocol_record(PROTOCOL_CONFIGS[p], EXPLICIT_KEYS),
                "evaluation": PROTOCOL_CONFIGS[p]["evaluation"],
                "target_smoothing": PROTOCOL_CONFIGS[p]["training"]["target_smoothing"],
            }
            for p in PROTOCOLS
        },
        "formats": {c: format_name(c) for c in CORPORA},
    }


def fold_train_logs(wildcards):
    return {
        train_rule: [
            f"{RESULTS}/{wildcards.corpus}/models/{train_rule}/fold{k}/train_log.csv"
            for k in folds_of(wildcards.corpus)
        ]
        for train_rule in RULES
    }


def evaluation_label_tables(wildcards):
    """The label-stage tables the test sets are built from (named as evaluate_corpus's)."""
    base = f"{RESULTS}/{wildcards.corpus}"
    return {
        "utterances": f"{base}/utterances.parquet",
        **{f"labels_{rule}": f"{base}/labels_{rule}.parquet" for rule in RULES},
        "folds": folds_input(wildcards),
        "audio_index": f"{base}/audio_index.parquet",
    }


def label_loss_tables(wildcards):
    return [f"{RESULTS}/{c}/label_loss.parquet" for c in CORPORA]


def metrics_tables(wildcards):
    return [f"{RESULTS}/{c}/metrics.parquet" for c in CORPORA]


def all_outputs():
    tables = expand(
        f"{RESULTS}/tables/table{{n}}.{{ext}}", n=(3, 4, 5, 6), ext=("csv", "md", "tex")
    )
    figures = expand(f"{RESULTS}/figures/fig1.{{ext}}", ext=("png", "pdf"))
    metrics = [f"{RESULTS}/{c}/metrics.parquet" for c in CORPORA]
    return tables + figures + metrics + evaluation_view_outputs()


def evaluation_view_outputs():
    """Per-class scores, confusion, calibration and training curves of every corpus."""
    return expand(
        f"{RESULTS}/{{corpus}}/figures/{{name}}.png",
        corpus=CORPORA,
        name=("per_class_f1", "confusion_AR", "reliability", "training_curves"),
    )


def backbone_request(wildcards):
    """What one training job of a backbone asks for (serrules.training.job_resources)."""
    return BACKBONE_REQUESTS[wildcards.backbone]


def backbone_gpus(wildcards):
    return backbone_request(wildcards).gpus


def backbone_threads(wildcards):
    return backbone_request(wildcards).threads


def backbone_mem_mb(wildcards):
    return backbone_request(wildcards).mem_mb


def backbone_runtime(wildcards):
    return backbone_request(wildcards).runtime_min


def backbone_predictions(wildcards):
    """Every fold prediction of every backbone, named <backbone>/<corpus>/<train rule>/fold<k>."""
    return {
        f"{b}/{c}/{rule}/fold{k}": (
            f"{RESULTS}/backbones/{b}/{c}/models/{rule}/fold{k}/predictions.parquet"
        )
        for b in BACKBONES
        for c in CORPORA
        for rule in RULES
        for k in folds_of(c)
    }


def backbone_label_tables(wildcards):
    """Label-stage tables and the fold table of every corpus, named <corpus>/<table>."""
    names = ["utterances", "audio_index", *[f"labels_{r}" for r in RULES]]
    scheme = fold_table_name(config["training"]["iemocap_folds"])
    tables = {f"{c}/{n}": f"{RESULTS}/{c}/{n}.parquet" for c in CORPORA for n in names}
    tables.update({f"{c}/folds": f"{RESULTS}/{c}/{scheme}" for c in CORPORA})
    return tables


def backbone_params(wildcards):
    """Backbones, reference, the run's evaluation settings and protocol; corpus formats."""
    return {
        **BACKBONE_SETTINGS,
        "protocol": config["protocol"],
        "evaluation": config["evaluation"],
        "target_smoothing": config["training"]["target_smoothing"],
        "formats": {c: format_name(c) for c in CORPORA},
    }
