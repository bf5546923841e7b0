rule evaluate_corpus:
    """Pool each train rule's fold predictions and score them on MR_test, PR_test and AR_test
    with bootstrap confidence intervals and paired p-values against AR_train."""
    input:
        unpack(fold_predictions),
        utterances=f"{RESULTS}/{{corpus}}/utterances.parquet",
        labels_MR=f"{RESULTS}/{{corpus}}/labels_MR.parquet",
        labels_PR=f"{RESULTS}/{{corpus}}/labels_PR.parquet",
        labels_AR=f"{RESULTS}/{{corpus}}/labels_AR.parquet",
        folds=folds_input,
        audio_index=f"{RESULTS}/{{corpus}}/audio_index.parquet",
    output:
        f"{RESULTS}/{{corpus}}/metrics.parquet",
    log:
        f"{RESULTS}/logs/evaluate_corpus/{{corpus}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/evaluate_corpus/{{corpus}}.tsv"
    conda:
        "../../envs/evaluation.yaml"
    params:
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
        report(
            expand(
                f"{RESULTS}/tables/table{{n}}.{{ext}}",
                n=(4, 5, 6),
                ext=("csv", "md", "tex"),
            ),
            caption="../report/result_tables.rst",
            category="Results",
        ),
    log:
        f"{RESULTS}/logs/result_tables.log",
    conda:
        "../../envs/evaluation.yaml"
    script:
        "../scripts/result_tables.py"
