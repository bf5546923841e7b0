from serrules.base.script_logging import log_to_file
from serrules.evaluation import evaluate_corpus

log_to_file(snakemake.log[0])
cfg = snakemake.params.evaluation
evaluate_corpus(
    corpus=snakemake.wildcards.corpus,
    fmt=snakemake.params.fmt,
    utterances_path=snakemake.input.utterances,
    labels_paths={rule: snakemake.input[f"labels_{rule}"] for rule in snakemake.params.rules},
    folds_path=snakemake.input.folds,
    audio_index_path=snakemake.input.audio_index,
    predictions={rule: list(snakemake.input[rule]) for rule in snakemake.params.rules},
    n_bootstrap=int(cfg["n_bootstrap"]),
    alpha=float(cfg["alpha"]),
    unit=cfg["unit"],
    epsilon=float(cfg["epsilon"]),
    divergence_target=cfg["divergence_target"],
    label_smoothing=float(snakemake.params.training["target_smoothing"]),
    protocol=dict(snakemake.params.protocol),
    out_path=snakemake.output[0],
)
