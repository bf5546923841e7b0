# protocol_comparison: the run's own protocol is the run in results/ (not trained twice); the
# other preset runs in results/protocols/<protocol>/, sharing the label stage and the features of
# results/<corpus>/ (common.smk: protocol_results).


use rule train_fold as train_fold_protocol with:
    output:
        **fold_job_outputs(PROTOCOL_RESULTS),
    log:
        f"{RESULTS}/logs/protocols/{{protocol}}/train_fold/{{corpus}}/{{train_rule}}_fold{{fold}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/protocols/{{protocol}}/train_fold/{{corpus}}/{{train_rule}}_fold{{fold}}.tsv"


use rule evaluate_corpus as evaluate_corpus_protocol with:
    output:
        f"{PROTOCOL_RESULTS}/{{corpus}}/metrics.parquet",
    log:
        f"{RESULTS}/logs/protocols/{{protocol}}/evaluate_corpus/{{corpus}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/protocols/{{protocol}}/evaluate_corpus/{{corpus}}.tsv"


use rule result_tables as result_tables_protocol with:
    input:
        protocol_metrics_tables,
    output:
        **result_table_files(f"{PROTOCOL_RESULTS}/tables"),
    log:
        f"{RESULTS}/logs/protocols/{{protocol}}/result_tables.log",


rule protocol_comparison:
    """Paper vs authors per corpus, train rule, test rule and metric: both values, their
    difference and a paired bootstrap p-value on the same resamples."""
    input:
        unpack(comparison_inputs),
        tables=protocol_table4,
        # the paper's values and claims beside both presets (rule paper_comparison_protocols)
        vs_paper=f"{RESULTS}/tables/protocols_vs_paper.csv",
        claims=f"{RESULTS}/tables/protocols_claims.csv",
    output:
        csv=f"{RESULTS}/tables/protocols.csv",
        md=f"{RESULTS}/tables/protocols.md",
        tex=f"{RESULTS}/tables/protocols.tex",
    log:
        f"{RESULTS}/logs/protocol_comparison.log",
    benchmark:
        f"{RESULTS}/benchmarks/protocol_comparison.tsv"
    conda:
        CPU_ENV
    params:
        code=code_digest("protocol_comparison"),
        settings=comparison_params,
        files=comparison_file_names,
        rules=RULES,
    script:
        "../scripts/protocol_comparison.py"
