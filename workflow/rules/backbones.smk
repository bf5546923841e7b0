# backbone_comparison: each backbone of backbone_comparison.backbones trained on every corpus in
# results/backbones/<backbone>/ (sharing the label stage of results/<corpus>/), then scored
# against the reference backbone (docs/backbones.md).


use rule train_fold as train_fold_backbone with:
    output:
        model=f"{BACKBONE_RESULTS}/{{corpus}}/models/{{train_rule}}/fold{{fold}}/best.safetensors",
        train_log=f"{BACKBONE_RESULTS}/{{corpus}}/models/{{train_rule}}/fold{{fold}}/train_log.csv",
        predictions=f"{BACKBONE_RESULTS}/{{corpus}}/models/{{train_rule}}/fold{{fold}}/predictions.parquet",
        protocol=f"{BACKBONE_RESULTS}/{{corpus}}/models/{{train_rule}}/fold{{fold}}/protocol.json",
    log:
        f"{RESULTS}/logs/backbones/{{backbone}}/train_fold/{{corpus}}/{{train_rule}}_fold{{fold}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/backbones/{{backbone}}/train_fold/{{corpus}}/{{train_rule}}_fold{{fold}}.tsv"
    conda:
        CUDA_ENV
    threads: backbone_threads
    resources:
        gpu=backbone_gpus,
        mem_mb=backbone_mem_mb,
        runtime=backbone_runtime,
    params:
        fmt=format_of,
        model=model_params,
        training=training_params,
        protocol=protocol_params,
        checkpoint_dir=checkpoint_dir,
        gpus=backbone_gpus,


rule backbone_comparison:
    """Per corpus, train rule, test rule, metric and backbone: the value with its bootstrap
    interval and the paired p-value against the reference backbone (AR_test first)."""
    input:
        unpack(backbone_inputs),
    output:
        csv=f"{RESULTS}/tables/backbones.csv",
        md=f"{RESULTS}/tables/backbones.md",
        tex=f"{RESULTS}/tables/backbones.tex",
    log:
        f"{RESULTS}/logs/backbone_comparison.log",
    benchmark:
        f"{RESULTS}/benchmarks/backbone_comparison.tsv"
    conda:
        CPU_ENV
    params:
        code=code_digest("backbone_comparison"),
        settings=backbone_params,
        files=backbone_file_names,
    script:
        "../scripts/backbone_comparison.py"
