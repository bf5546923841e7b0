rule label_tables:
    """Parse the native per-rater annotations and build the ratings, utterances, PR/AR label
    tables, folds and exclusions (none of which depends on the protocol)."""
    input:
        annotation_input,
    output:
        ratings=f"{RESULTS}/{{corpus}}/ratings.parquet",
        utterances=f"{RESULTS}/{{corpus}}/utterances.parquet",
        labels=expand(
            f"{RESULTS}/{{{{corpus}}}}/labels_{{rule}}.parquet", rule=SHARE_FREE_RULES
        ),
        folds=expand(
            f"{RESULTS}/{{{{corpus}}}}/{{name}}",
            name=[fold_table_name(s) for s in FOLD_SCHEMES],
        ),
        exclusions=f"{RESULTS}/{{corpus}}/exclusions.parquet",
    log:
        f"{RESULTS}/logs/label_tables/{{corpus}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/label_tables/{{corpus}}.tsv"
    conda:
        CPU_ENV
    params:
        code=code_digest("label_tables", runs=corpus_parser),
        fmt=format_of,
        root=label_root,
        include_self_evaluations=self_evaluations,
        unknown_labels=config["labels"]["unknown_labels"],
    script:
        "../scripts/label_tables.py"


rule majority_labels:
    """MR labels and the per-rule data/rating loss: the only label tables that depend on
    labels.mr_share (a protocol key), so a protocol switch reruns this job alone."""
    input:
        utterances=f"{RESULTS}/{{corpus}}/utterances.parquet",
    output:
        labels_MR=f"{RESULTS}/{{corpus}}/labels_MR.parquet",
        label_loss=f"{RESULTS}/{{corpus}}/label_loss.parquet",
    log:
        f"{RESULTS}/logs/majority_labels/{{corpus}}.log",
    conda:
        CPU_ENV
    params:
        code=code_digest("majority_labels"),
        fmt=format_of,
        mr_share=config["labels"]["mr_share"],
        epsilon=config["training"]["target_smoothing"],
    script:
        "../scripts/majority_labels.py"


rule table3:
    """Table 3: data and rating loss of each rule, per corpus."""
    input:
        label_loss_tables,
    output:
        csv=report(
            f"{RESULTS}/tables/table3.csv",
            caption="../report/table3.rst",
            category="Label aggregation",
        ),
        md=f"{RESULTS}/tables/table3.md",
        tex=f"{RESULTS}/tables/table3.tex",
    log:
        f"{RESULTS}/logs/table3.log",
    conda:
        CPU_ENV
    params:
        code=code_digest("table3"),
    script:
        "../scripts/table3.py"


rule fig1:
    """Fig. 1: share of the data and of the ratings each rule keeps."""
    input:
        label_loss_tables,
    output:
        png=report(
            f"{RESULTS}/figures/fig1.png",
            caption="../report/fig1.rst",
            category="Label aggregation",
        ),
        pdf=f"{RESULTS}/figures/fig1.pdf",
    log:
        f"{RESULTS}/logs/fig1.log",
    conda:
        CPU_ENV
    params:
        code=code_digest("fig1"),
    script:
        "../scripts/fig1.py"
