from pathlib import Path

from serrules.base.script_logging import log_to_file
from serrules.labels.label_loss import write_table3

log_to_file(snakemake.log[0])
write_table3([Path(p) for p in snakemake.input], Path(snakemake.output.csv).with_suffix(""))
