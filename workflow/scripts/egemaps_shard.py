from serrules.audio.features import write_egemaps_shard
from serrules.base.script_logging import start_job

start_job(snakemake)
write_egemaps_shard(
    snakemake.input[0],
    snakemake.output[0],
    shard=int(snakemake.wildcards.shard),
    per_shard=int(snakemake.params.per_shard),
    max_seconds=(
        None if snakemake.params.max_seconds is None else float(snakemake.params.max_seconds)
    ),
    sample_rate=int(snakemake.params.sample_rate),
    workers=snakemake.threads,  # one extraction process per core the job was given
)
