from pathlib import Path

from serrules.base.script_logging import log_to_file
from serrules.labels.label_loss import plot_fig1

log_to_file(snakemake.log[0])
plot_fig1(
    [Path(p) for p in snakemake.input], Path(snakemake.output.png), Path(snakemake.output.pdf)
)
