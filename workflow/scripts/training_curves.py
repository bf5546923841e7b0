from serrules.base.script_logging import log_to_file
from serrules.reporting.training_curves import plot_training_curves

log_to_file(snakemake.log[0])
plot_training_curves(
    {rule: list(snakemake.input[rule]) for rule in snakemake.params.rules},
    snakemake.wildcards.corpus,
    snakemake.output[0],
)
