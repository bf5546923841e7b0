rule audio_index:
    """Check every utterance's audio file once (all later stages rely on it) and record its
    length; a release's audio files are inputs, so repairing one re-runs this and what follows.
    """
    input:
        utterances=f"{RESULTS}/{{corpus}}/utterances.parquet",
        audio=audio_input,
    output:
        f"{RESULTS}/{{corpus}}/audio_index.parquet",
    log:
        f"{RESULTS}/logs/audio_index/{{corpus}}.log",
    conda:
        CPU_ENV
    params:
        on_error=config["audio"]["on_error"],
        sample_rate=config["audio"]["sample_rate"],
    script:
        "../scripts/audio_index.py"


rule egemaps_features:
    """eGeMAPSv02 functionals per utterance, computed once per corpus (the CPU baseline's input)."""
    input:
        f"{RESULTS}/{{corpus}}/audio_index.parquet",
    output:
        f"{RESULTS}/{{corpus}}/features/egemaps.parquet",
    log:
        f"{RESULTS}/logs/egemaps_features/{{corpus}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/egemaps_features/{{corpus}}.tsv"
    conda:
        CPU_ENV
    threads: EGEMAPS_THREADS
    resources:
        mem_mb=EGEMAPS_MEM_MB,
        runtime=egemaps_runtime,
    params:
        max_seconds=config["training"]["max_seconds"],
        sample_rate=config["audio"]["sample_rate"],
    script:
        "../scripts/egemaps_features.py"
