from serrules.base.script_logging import log_to_file
from serrules.evaluation.calibration import write_calibration_views
from serrules.evaluation.pooled_corpus import load_pooled_corpus

log_to_file(snakemake.log[0])
data = load_pooled_corpus(
    corpus=snakemake.wildcards.corpus,
    fmt=snakemake.params.fmt,
    utterances_path=snakemake.input.utterances,
    labels_paths={rule: snakemake.input[f"labels_{rule}"] for rule in snakemake.params.rules},
    folds_path=snakemake.input.folds,
    audio_index_path=snakemake.input.audio_index,
    predictions={rule: list(snakemake.input[rule]) for rule in snakemake.params.rules},
)
write_calibration_views(
    data,
    calibration_path=snakemake.output.calibration,
    reliability_path=snakemake.output.reliability,
    png=snakemake.output.png,
)
