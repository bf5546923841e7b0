# MR / PR / AR multi-label speech emotion recognition: labels -> folds -> training -> metrics -> tables.
# Run: snakemake --cores 2 all   (see README.md)


configfile: "config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/demo.smk"
include: "workflow/rules/labels.smk"
include: "workflow/rules/features.smk"
include: "workflow/rules/training.smk"
include: "workflow/rules/evaluation.smk"
include: "workflow/rules/protocols.smk"
include: "workflow/rules/backbones.smk"
include: "workflow/rules/evaluation_views.smk"
include: "workflow/rules/paper.smk"
include: "workflow/rules/provenance.smk"


report: "workflow/report/workflow.rst"


# Run by the Snakemake process itself, never submitted to a cluster: the targets, the tables and
# figures over all corpora, and the per-corpus views of pooled predictions (per-class scores,
# calibration, training curves) and provenance tables: seconds each, not worth a queue wait
# (measured: docs/slurm.md).
localrules:
    all,
    per_class_scores,
    calibration,
    training_curves,
    table3,
    fig1,
    result_tables,
    result_tables_protocol,
    paper_comparison,
    paper_comparison_protocols,
    paper_audit,
    corpus_provenance,


rule all:
    default_target: True
    input:
        all_outputs(),


# every rule that runs a script carries the digest of its code (common.smk: code_digest)
check_code_params(workflow.rules)
