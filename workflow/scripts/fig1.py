from serrules.base.script_logging import start_job
from serrules.reporting.table3_fig1 import plot_fig1

start_job(snakemake)
plot_fig1(list(snakemake.input), png=snakemake.output.png, pdf=snakemake.output.pdf)
