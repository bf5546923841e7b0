from pathlib import Path

from serrules.base.script_logging import log_to_file
from serrules.reporting.result_tables import write_result_tables

log_to_file(snakemake.log[0])
write_result_tables([Path(p) for p in snakemake.input], Path(snakemake.output[0]).parent)
