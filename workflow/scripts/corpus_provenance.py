from serrules.base.script_logging import start_job
from serrules.reporting.provenance import write_provenance_table

start_job(snakemake)
write_provenance_table(list(snakemake.input), snakemake.output[0])
