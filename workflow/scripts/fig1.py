from serrules.base.script_logging import log_to_file
from serrules.reporting.table3_fig1 import plot_fig1

log_to_file(snakemake.log[0])
plot_fig1(list(snakemake.input), png=snakemake.output.png, pdf=snakemake.output.pdf)
