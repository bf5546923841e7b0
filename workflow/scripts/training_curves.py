from serrules.base.script_logging import start_job
from serrules.reporting.training_curves import plot_training_curves

start_job(snakemake)
plot_training_curves(
    {rule: list(snakemake.input[rule]) for rule in snakemake.params.rules},
    snakemake.wildcards.corpus,
    snakemake.output[0],
)
