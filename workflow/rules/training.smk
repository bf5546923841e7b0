rule train_fold:
    """Train one model per (corpus, train rule, fold); keep the epoch with the lowest dev loss and
    score every utterance of the fold's test part. Resumes from its last epoch checkpoint.
    """
    input:
        labels=f"{RESULTS}/{{corpus}}/labels_{{train_rule}}.parquet",
        folds=folds_input,
        audio_index=f"{RESULTS}/{{corpus}}/audio_index.parquet",
        features=features_input,
    output:
        **fold_job_outputs(RESULTS),
    log:
        f"{RESULTS}/logs/train_fold/{{corpus}}/{{train_rule}}_fold{{fold}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train_fold/{{corpus}}/{{train_rule}}_fold{{fold}}.tsv"
    conda:
        TRAIN_ENV
    threads: TRAIN_REQUEST.threads
    resources:
        gpu=TRAIN_REQUEST.gpus,
        mem_mb=TRAIN_REQUEST.mem_mb,
        runtime=TRAIN_REQUEST.runtime_min,
    params:
        code=code_digest("train_fold", runs=job_model),
        fmt=format_of,
        model=model_params,
        training=training_params,
        protocol=protocol_params,
        checkpoint_dir=checkpoint_dir,
        gpus=TRAIN_REQUEST.gpus,
    script:
        "../scripts/train_fold.py"
