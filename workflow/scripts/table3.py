from serrules.base.script_logging import start_job
from serrules.reporting.table3_fig1 import write_table3

start_job(snakemake)
write_table3(
    list(snakemake.input),
    csv=snakemake.output.csv,
    md=snakemake.output.md,
    tex=snakemake.output.tex,
)
