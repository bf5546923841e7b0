from pathlib import Path

from serrules.evaluation import write_result_tables
from serrules.script_logging import log_to_file

log_to_file(snakemake.log[0])
write_result_tables([Path(p) for p in snakemake.input], Path(snakemake.output[0]).parent)
