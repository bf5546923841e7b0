from serrules.audio.features import gather_egemaps
from serrules.base.script_logging import start_job

start_job(snakemake)
gather_egemaps(
    snakemake.input.index,
    list(snakemake.input.shards),
    snakemake.output[0],
    max_seconds=(
        None if snakemake.params.max_seconds is None else float(snakemake.params.max_seconds)
    ),
    sample_rate=int(snakemake.params.sample_rate),
)
