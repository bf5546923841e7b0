checkpoint audio_index:
    """Check every utterance's audio file once (all later stages rely on it) and record its
    length. For a release, the param audio_listing is a digest of the audio files' paths, sizes
    and modification times, so an added, removed or rewritten file re-runs this and what follows.
    A checkpoint: the number of eGeMAPS shards follows the index's rows.
    """
    input:
        utterances=f"{RESULTS}/{{corpus}}/utterances.parquet",
    output:
        f"{RESULTS}/{{corpus}}/audio_index.parquet",
    log:
        f"{RESULTS}/logs/audio_index/{{corpus}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/audio_index/{{corpus}}.tsv"
    conda:
        CPU_ENV
    resources:
        mem_mb=AUDIO_INDEX_MEM_MB,
    params:
        code=code_digest("audio_index"),
        audio_listing=audio_listing,
        on_error=config["audio"]["on_error"],
        sample_rate=config["audio"]["sample_rate"],
    script:
        "../scripts/audio_index.py"


rule egemaps_shard:
    """eGeMAPSv02 functionals of one shard: audio.egemaps_shard_utterances consecutive rows of
    the audio index (its ok utterances). Shards are independent jobs; a failed one reruns alone.
    """
    input:
        f"{RESULTS}/{{corpus}}/audio_index.parquet",
    output:
        f"{RESULTS}/{{corpus}}/features/egemaps_shards/{{shard}}.parquet",
    log:
        f"{RESULTS}/logs/egemaps_shard/{{corpus}}/{{shard}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/egemaps_shard/{{corpus}}/{{shard}}.tsv"
    conda:
        CPU_ENV
    threads: EGEMAPS_THREADS
    resources:
        mem_mb=EGEMAPS_MEM_MB,
        runtime=egemaps_runtime,
    params:
        code=code_digest("egemaps_shard"),
        per_shard=config["audio"]["egemaps_shard_utterances"],
        max_seconds=config["training"]["max_seconds"],
        sample_rate=config["audio"]["sample_rate"],
    script:
        "../scripts/egemaps_shard.py"


rule egemaps_features:
    """Gather the shards into the corpus's one eGeMAPS table (the CPU baseline's input), equal to
    an unsharded extraction."""
    input:
        index=f"{RESULTS}/{{corpus}}/audio_index.parquet",
        shards=egemaps_shards,
    output:
        f"{RESULTS}/{{corpus}}/features/egemaps.parquet",
    log:
        f"{RESULTS}/logs/egemaps_features/{{corpus}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/egemaps_features/{{corpus}}.tsv"
    conda:
        CPU_ENV
    resources:
        mem_mb=EGEMAPS_GATHER_MEM_MB,
    params:
        code=code_digest("egemaps_features"),
        max_seconds=config["training"]["max_seconds"],
        sample_rate=config["audio"]["sample_rate"],
    script:
        "../scripts/egemaps_features.py"
