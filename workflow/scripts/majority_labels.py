from serrules.base.errors import TableError
from serrules.base.script_logging import exit_on_input_error, start_job
from serrules.labels.label_tables import run_majority_stage

start_job(snakemake)
with exit_on_input_error(TableError):
    run_majority_stage(
        corpus=snakemake.wildcards.corpus,
        fmt=snakemake.params.fmt,
        utterances=snakemake.input.utterances,
        outputs={
            "labels_MR": snakemake.output.labels_MR,
            "label_loss": snakemake.output.label_loss,
        },
        mr_share=snakemake.params.mr_share,
        epsilon=float(snakemake.params.epsilon),
    )
