import re
from pathlib import Path

from snakemake.utils import min_version, validate

min_version("9.0")

from serrules.base.classes import RULES
from serrules.base.code_digest import script_digest
from serrules.base.config import (
    SCHEMA_PATH,
    complete_config,
    enabled_corpora,
    result_training_params,
)
from serrules.corpora.formats import (
    FOLD_SCHEMES,
    PARSER_MODULES,
    corpus_format,
    format_spec,
)
from serrules.labels.table_names import SHARE_DEPENDENT, fold_table_name
from serrules.audio.sharding import egemaps_shard_count
from serrules.training.job_resources import (
    AUDIO_INDEX_MEM_MB,
    EGEMAPS_GATHER_MEM_MB,
    EGEMAPS_MEM_MB,
    EGEMAPS_THREADS,
    egemaps_runtime_min,
    parquet_rows,
    train_request,
)
from serrules.training.model_names import WAV2VEC2_NAME, MODELS, model_spec
from serrules.training.backbone_runs import backbone_config, comparison_settings
from serrules.base.protocols import (
    PROTOCOLS,
    explicit_keys,
    protocol_record,
    resolve_protocol,
)
from serrules.base.named_files import flat_inputs, input_names

# An unknown protocol (or any bad key) fails here, before any job: the schema check (Snakemake's),
# then the schema defaults and the cross-field rules (serrules.base.config.complete_config).
validate(config, schema=str(SCHEMA_PATH))  # the package's copy, the one home
_CHECKED = complete_config(config)
# keys the user set himself win over every preset (also in protocol_comparison)
EXPLICIT_KEYS = explicit_keys(_CHECKED)
PROTOCOL_CONFIGS = {p: resolve_protocol(_CHECKED, p) for p in PROTOCOLS}
config.update(PROTOCOL_CONFIGS[_CHECKED["protocol"]])
# The label stage of results/<corpus>/ is built once, with the run's labels.mr_share (and its
# epsilon, training.target_smoothing); protocol_comparison shares it, so both presets' records
# carry the value the labels were built with (docs/protocols.md).
for _name in PROTOCOLS:
    PROTOCOL_CONFIGS[_name]["labels"]["mr_share"] = config["labels"]["mr_share"]

CORPORA = enabled_corpora(config)
# Each corpus's format record, built once: a ratings-table entry is checked here, before any job
FORMAT_RECORDS = {
    c: corpus_format(config["corpora"][c], key=f"corpora.{c}") for c in CORPORA
}
# label tables of the label_tables job; labels_MR (SHARE_DEPENDENT) is majority_labels'
SHARE_FREE_RULES = [r for r in RULES if f"labels_{r}" not in SHARE_DEPENDENT]
RESULTS = "results"
# What one training job needs (GPU only for wav2vec2), from serrules.training.job_resources.
TRAIN_REQUEST = train_request(config)
# Conda environments (paths relative to rules/): one for every rule on a CPU; GPU training gets
# the same packages with a CUDA build of PyTorch. Each installs the package from the checkout,
# which is how the jobs import serrules (as they do in a venv with `pip install -e .`).
CPU_ENV = "../../envs/cpu.yaml"
CUDA_ENV = "../../envs/cuda.yaml"
TRAIN_ENV = CUDA_ENV if TRAIN_REQUEST.gpus else CPU_ENV
# protocol_comparison: the other preset in its own results subfolder (protocol_results)
PROTOCOL_RESULTS = f"{RESULTS}/protocols/{{protocol}}"
# What one fold job writes into its folder (fold_folder), by output name.
FOLD_JOB_FILES = {
    "model": "best.safetensors",
    "train_log": "train_log.csv",
    "predictions": "predictions.parquet",
    "protocol": "protocol.json",
}
# Tables 4-6 (result_tables, result_tables_protocol), each in these formats.
RESULT_TABLES = ("table4", "table5", "table6")
TABLE_FORMATS = ("csv", "md", "tex")
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
    shard=r"\d+",
    protocol="|".join(PROTOCOLS),
    backbone="|".join(re.escape(b) for b in BACKBONES),


# ------------------------------------------------------------------------------- code digests
# Each rule with a script carries code=code_digest("<script>") (checked below by
# check_code_params): a change to the script or to any serrules module it runs reruns its jobs.
SCRIPTS = Path(workflow.basedir) / "workflow" / "scripts"
# Modules the code loads by name (importlib) when a job chooses them: each format's parser (run by
# the label stage only) and each model's network (run by training only). A job's digest counts
# those its rule says it runs (code_digest's runs), so that a change to one parser or one model
# reruns the jobs that run it, not those of the other corpora or models.
CHOSEN_MODULES = frozenset(PARSER_MODULES) | {spec.module for spec in MODELS.values()}


def code_digest(script, runs=None):
    """A rule's ``code`` param (an input function): the digest of workflow/scripts/<script>.py
    and of every serrules module it imports, transitively, lazy imports and modules named for
    importlib included, with the package data they read; comments, docstrings and formatting do
    not count (serrules.base.code_digest). ``runs(wildcards)``: which of CHOSEN_MODULES the job
    runs (none by default)."""

    def digest(wildcards):
        unused = CHOSEN_MODULES - set(runs(wildcards) if runs else ())
        return script_digest(SCRIPTS / f"{script}.py", unused)

    digest.script = script
    return digest


def corpus_parser(wildcards):
    """The parser module of the corpus's format (what the label stage runs)."""
    return [format_record(wildcards.corpus).parser_module]


def job_model(wildcards):
    """The module of the job's model (what a training job runs)."""
    return [model_spec(run_config(wildcards)["model"]["name"]).module]


def check_code_params(rules):
    """Every rule that runs a script declares code=code_digest(<that script>); a rule without it
    would keep results of older code after a code change."""
    wrong = []
    for each in rules:
        if each.script is None:
            continue
        script = Path(each.script).stem
        declared = getattr(dict(each.params.items()).get("code"), "script", None)
        if declared != script:
            wrong.append(f"{each.name} (script {script}.py, code digest of {declared})")
    if wrong:
        raise ValueError(
            "every rule with a script needs the param code=code_digest(<its script>) "
            f"(workflow/rules/common.smk); without it: {'; '.join(wrong)}"
        )


# --------------------------------------------------------------------------- corpus settings
def corpus_cfg(corpus):
    return config["corpora"][corpus]


def format_name(corpus):
    """The format of a corpus (serrules.corpora.formats.FORMAT_NAMES)."""
    return corpus_cfg(corpus)["format"]


def format_spec_of(corpus):
    """What a job gets as its fmt param: the format's name, or for a ratings-table corpus the
    entry's format and tables (serrules.corpora.formats.format_spec), so that a changed table
    setting reruns the jobs that read it."""
    return format_spec(corpus_cfg(corpus))


def format_record(corpus):
    """The format record (classes, parser, file patterns, folds) of a corpus."""
    return FORMAT_RECORDS[corpus]


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


def audio_listing(wildcards):
    """A digest of a release's audio listing (path, size, mtime of each file): the audio check's
    param, so an added, removed or rewritten audio file re-runs it and the stages after it,
    without one input per file (serrules.corpora.listing). Demo audio comes with the demo corpus,
    upstream of utterances.parquet."""
    cfg = corpus_cfg(wildcards.corpus)
    if cfg["source"] == "demo":
        return "demo"
    return format_record(wildcards.corpus).audio_listing(cfg["root"])


def demo_utterances(wildcards):
    cfg = corpus_cfg(wildcards.corpus)
    return cfg.get("demo_utterances", config["demo"]["n_utterances"])


def label_root(wildcards):
    return corpus_root(wildcards.corpus)


def format_of(wildcards):
    return format_spec_of(wildcards.corpus)


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


def egemaps_shards(wildcards):
    """The eGeMAPS shard tables of a corpus: their number follows the audio index's rows
    (a checkpoint), audio.egemaps_shard_utterances per shard."""
    index = checkpoints.audio_index.get(corpus=wildcards.corpus).output[0]
    n = egemaps_shard_count(
        parquet_rows(index), config["audio"]["egemaps_shard_utterances"]
    )
    return [
        f"{RESULTS}/{wildcards.corpus}/features/egemaps_shards/{k}.parquet"
        for k in range(n)
    ]


def egemaps_runtime(wildcards, threads):
    """Minutes for one eGeMAPS shard: scales with its utterances and the job's cores."""
    return egemaps_runtime_min(config["audio"]["egemaps_shard_utterances"], threads)


def fold_folder(prefix, corpus="{corpus}", train_rule="{train_rule}", fold="{fold}"):
    """The folder of one fold job's outputs under prefix (RESULTS, or PROTOCOL_RESULTS for a
    protocol_comparison preset); wildcard patterns unless the values are given."""
    return f"{prefix}/{corpus}/models/{train_rule}/fold{fold}"


def fold_job_outputs(prefix):
    """train_fold's named outputs under prefix (train_fold_protocol: PROTOCOL_RESULTS)."""
    return {
        name: f"{fold_folder(prefix)}/{file}" for name, file in FOLD_JOB_FILES.items()
    }


def fold_files(prefix, corpus, output):
    """One output of every fold job of a corpus, per train rule (e.g. predictions)."""
    return {
        train_rule: [
            f"{fold_folder(prefix, corpus, train_rule, k)}/{FOLD_JOB_FILES[output]}"
            for k in folds_of(corpus)
        ]
        for train_rule in RULES
    }


def fold_predictions(wildcards):
    return fold_files(run_prefix(wildcards), wildcards.corpus, "predictions")


def result_table_files(folder):
    """Tables 4-6 in folder, named table<n>_<format> as workflow/scripts/result_tables.py reads
    them."""
    return {
        f"{table}_{fmt}": f"{folder}/{table}.{fmt}"
        for table in RESULT_TABLES
        for fmt in TABLE_FORMATS
    }


def in_report(files, **options):
    """The same named files, each flagged for the HTML report (report() with these options)."""
    return {name: report(path, **options) for name, path in files.items()}


def protocol_metrics_tables(wildcards):
    return [
        f"{RESULTS}/protocols/{wildcards.protocol}/{c}/metrics.parquet" for c in CORPORA
    ]


def paired_system_files(results_of, fold_table_of):
    """Per corpus, what a paired comparison of systems reads: the label-stage tables (shared by
    every system), each system's fold table and its fold predictions by train rule; results_of:
    system -> its results folder; fold_table_of: system -> its fold table's file name.
    serrules.evaluation.pooled_corpus.system_files reads this tree."""
    return {
        c: {
            "utterances": f"{RESULTS}/{c}/utterances.parquet",
            "audio_index": f"{RESULTS}/{c}/audio_index.parquet",
            "labels": {rule: f"{RESULTS}/{c}/labels_{rule}.parquet" for rule in RULES},
            "folds": {s: f"{RESULTS}/{c}/{fold_table_of[s]}" for s in results_of},
            "predictions": {
                s: fold_files(prefix, c, "predictions")
                for s, prefix in results_of.items()
            },
        }
        for c in CORPORA
    }


def protocol_results(protocol):
    """Where protocol_comparison finds a preset's runs: results/ for the run's own protocol
    (PROTOCOL_CONFIGS of that protocol is the run's config, so its jobs are the run's jobs and are
    not trained twice), results/protocols/<protocol>/ for the other preset."""
    if protocol == config["protocol"]:
        return RESULTS
    return PROTOCOL_RESULTS.format(protocol=protocol)


def protocol_table4(wildcards):
    """Table 4 of each preset (protocol_comparison waits for both presets' tables)."""
    return [f"{protocol_results(p)}/tables/table4.csv" for p in PROTOCOLS]


def comparison_files(wildcards):
    """What protocol_comparison reads: both presets, each with its own fold scheme."""
    return paired_system_files(
        {p: protocol_results(p) for p in PROTOCOLS},
        {
            p: fold_table_name(PROTOCOL_CONFIGS[p]["training"]["iemocap_folds"])
            for p in PROTOCOLS
        },
    )


def comparison_inputs(wildcards):
    """comparison_files as named inputs (the names are labels only; see comparison_file_names)."""
    return flat_inputs(comparison_files(wildcards))


def comparison_file_names(wildcards):
    """comparison_files' structure with each path replaced by its input name (params: the script
    rebuilds the structure from the job's inputs, serrules.base.named_files)."""
    return input_names(comparison_files(wildcards))


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
        "formats": {c: format_spec_of(c) for c in CORPORA},
    }


def fold_train_logs(wildcards):
    return fold_files(RESULTS, wildcards.corpus, "train_log")


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


def protocol_metrics(protocol):
    """metrics.parquet of every corpus under one preset of protocol_comparison."""
    return [f"{protocol_results(protocol)}/{c}/metrics.parquet" for c in CORPORA]


def protocol_metrics_all(wildcards):
    """metrics.parquet of every corpus under every preset of protocol_comparison."""
    return [path for p in PROTOCOLS for path in protocol_metrics(p)]


def utterance_tables(wildcards):
    return [f"{RESULTS}/{c}/utterances.parquet" for c in CORPORA]


def _paper_comparison_settings(metrics):
    return {
        "metrics": metrics,
        "formats": {c: format_name(c) for c in CORPORA},
        "utterances": {c: f"{RESULTS}/{c}/utterances.parquet" for c in CORPORA},
        "demo": any(corpus_cfg(c)["source"] == "demo" for c in CORPORA),
    }


def paper_comparison_params(wildcards):
    """The run's metrics (under its protocol's name), corpus formats, demo or not."""
    return _paper_comparison_settings({config["protocol"]: metrics_tables(wildcards)})


def paper_comparison_protocol_params(wildcards):
    """Per preset of protocol_comparison, its metrics files."""
    return _paper_comparison_settings({p: protocol_metrics(p) for p in PROTOCOLS})


def study_model_module(wildcards):
    """The network module of the study's model, whose parameters paper_audit counts."""
    return [model_spec(WAV2VEC2_NAME).module]


def paper_audit_settings(wildcards):
    """What the paper audit checks the text's settings against: the run's config under the
    paper's preset (training, evaluation and model sections)."""
    paper = PROTOCOL_CONFIGS["paper"]
    return {
        "training": result_training_params(paper),
        "evaluation": paper["evaluation"],
        "model": paper["model"],
    }


def all_outputs():
    tables = expand(
        f"{RESULTS}/tables/table{{n}}.{{ext}}", n=(3, 4, 5, 6), ext=("csv", "md", "tex")
    )
    figures = expand(f"{RESULTS}/figures/fig1.{{ext}}", ext=("png", "pdf"))
    tables += expand(
        f"{RESULTS}/tables/{{name}}.{{ext}}",
        name=("vs_paper", "claims"),
        ext=("csv", "md", "tex"),
    )
    tables += [f"{RESULTS}/tables/vs_paper_summary.csv"]
    tables += expand(f"{RESULTS}/tables/paper_audit.{{ext}}", ext=("csv", "md"))
    metrics = [f"{RESULTS}/{c}/metrics.parquet" for c in CORPORA]
    return tables + figures + metrics + evaluation_view_outputs()


def evaluation_view_outputs():
    """Per-class scores, confusion, calibration and training curves of every corpus, and its
    provenance table."""
    return expand(
        f"{RESULTS}/{{corpus}}/figures/{{name}}.png",
        corpus=CORPORA,
        name=EVALUATION_FIGURES,
    ) + expand(f"{RESULTS}/{{corpus}}/provenance.csv", corpus=CORPORA)


# the figures of the evaluation views, per corpus (results/<corpus>/figures/<name>.png)
EVALUATION_FIGURES = ("per_class_f1", "confusion_AR", "reliability", "training_curves")


def corpus_artifacts(wildcards):
    """Every artifact of a corpus that records its provenance: the label stage's tables, the
    audio index, the eGeMAPS table (where the model trains on it), each fold's model and
    predictions, the metrics and the evaluation views (tables and figures)."""
    base = f"{RESULTS}/{wildcards.corpus}"
    label_tables = [
        "ratings",
        "utterances",
        *(f"labels_{rule}" for rule in RULES),
        *(fold_table_name(s).removesuffix(".parquet") for s in FOLD_SCHEMES),
        "exclusions",
        "label_loss",
        "audio_index",
    ]
    views = ["metrics", "per_class", "confusion_AR", "calibration", "reliability"]
    # a path, or [] where the model reads the audio
    features = features_input(wildcards)
    models = fold_files(RESULTS, wildcards.corpus, "model")
    predictions = fold_files(RESULTS, wildcards.corpus, "predictions")
    return [
        *(f"{base}/{name}.parquet" for name in label_tables),
        *([features] if features else []),
        *(path for rule in RULES for path in models[rule] + predictions[rule]),
        *(f"{base}/{name}.parquet" for name in views),
        *(f"{base}/figures/{name}.png" for name in EVALUATION_FIGURES),
    ]


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


def backbone_files(wildcards):
    """What backbone_comparison reads: every backbone, all on the run's fold scheme."""
    scheme = fold_table_name(config["training"]["iemocap_folds"])
    return paired_system_files(
        {b: f"{RESULTS}/backbones/{b}" for b in BACKBONES},
        dict.fromkeys(BACKBONES, scheme),
    )


def backbone_inputs(wildcards):
    """backbone_files as named inputs (labels only; see backbone_file_names)."""
    return flat_inputs(backbone_files(wildcards))


def backbone_file_names(wildcards):
    """backbone_files' structure with each path replaced by its input name (params)."""
    return input_names(backbone_files(wildcards))


def backbone_params(wildcards):
    """Backbones, reference, the run's evaluation settings and protocol; corpus formats."""
    return {
        **BACKBONE_SETTINGS,
        "protocol": config["protocol"],
        "evaluation": config["evaluation"],
        "target_smoothing": config["training"]["target_smoothing"],
        "formats": {c: format_spec_of(c) for c in CORPORA},
    }
