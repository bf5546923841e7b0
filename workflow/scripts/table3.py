from serrules.base.script_logging import log_to_file
from serrules.reporting.table3_fig1 import write_table3

log_to_file(snakemake.log[0])
write_table3(
    list(snakemake.input),
    csv=snakemake.output.csv,
    md=snakemake.output.md,
    tex=snakemake.output.tex,
)
