rule demo_corpus:
    """Generate a synthetic corpus in the native release layout of its format (seeded)."""
    output:
        native=directory(f"{RESULTS}/demo/{{corpus}}/native"),
        summary=f"{RESULTS}/demo/{{corpus}}/summary.json",
    log:
        f"{RESULTS}/logs/demo_corpus/{{corpus}}.log",
    conda:
        CPU_ENV
    params:
        code=code_digest("demo_corpus"),
        fmt=format_of,
        n_utterances=demo_utterances,
        seed=config["seed"],
    script:
        "../scripts/demo_corpus.py"
