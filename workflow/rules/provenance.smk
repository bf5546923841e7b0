rule corpus_provenance:
    """What made each artifact of a corpus (label tables, audio index, features, models,
    predictions, metrics, views): one row per file, read from the file itself."""
    input:
        corpus_artifacts,
    output:
        report(
            f"{RESULTS}/{{corpus}}/provenance.csv",
            caption="../report/provenance.rst",
            category="{corpus}",
            subcategory="Provenance",
        ),
    log:
        f"{RESULTS}/logs/corpus_provenance/{{corpus}}.log",
    conda:
        CPU_ENV
    params:
        code=code_digest("corpus_provenance"),
    script:
        "../scripts/corpus_provenance.py"
