from pathlib import Path

from serrules.label_loss import plot_fig1
from serrules.script_logging import log_to_file

log_to_file(snakemake.log[0])
plot_fig1(
    [Path(p) for p in snakemake.input], Path(snakemake.output.png), Path(snakemake.output.pdf)
)
