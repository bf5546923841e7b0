rule evaluate_corpus:
    """Pool each train rule's fold predictions and score them on MR_test, PR_test and AR_test
    with bootstrap confidence intervals and paired p-values against AR_train."""
    input:
        unpack(fold_predictions),
        unpack(evaluation_label_tables),
    output:
        f"{RESULTS}/{{corpus}}/metrics.parquet",
    log:
        f"{RESULTS}/logs/evaluate_corpus/{{corpus}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/evaluate_corpus/{{corpus}}.tsv"
    conda:
        CPU_ENV
    params:
        code=code_digest("evaluate_corpus"),
        fmt=format_of,
        rules=RULES,
        evaluation=evaluation_params,
        training=training_params,
        protocol=protocol_params,
    script:
        "../scripts/evaluate_corpus.py"


rule result_tables:
    """Tables 4 (macro-F1), 5 (KLD) and 6 (JSD): corpus x train rule rows, test-rule columns."""
    input:
        metrics_tables,
    output:
        **in_report(
            result_table_files(f"{RESULTS}/tables"),
            caption="../report/result_tables.rst",
            category="Results",
        ),
    log:
        f"{RESULTS}/logs/result_tables.log",
    conda:
        CPU_ENV
    params:
        code=code_digest("result_tables"),
    script:
        "../scripts/result_tables.py"
