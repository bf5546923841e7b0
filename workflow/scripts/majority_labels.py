from serrules.base.errors import TableError
from serrules.base.script_logging import exit_on_input_error, log_to_file
from serrules.labels.label_tables import run_majority_stage

log_to_file(snakemake.log[0])
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
