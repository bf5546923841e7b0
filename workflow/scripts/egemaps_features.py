from serrules.audio.features import write_egemaps
from serrules.base.script_logging import log_to_file

log_to_file(snakemake.log[0])
write_egemaps(
    snakemake.input[0],
    snakemake.output[0],
    max_seconds=(
        None if snakemake.params.max_seconds is None else float(snakemake.params.max_seconds)
    ),
    sample_rate=int(snakemake.params.sample_rate),
    workers=snakemake.threads,  # one extraction process per core the job was given
)
