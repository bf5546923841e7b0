from serrules.base.script_logging import log_to_file
from serrules.reporting.paper_audit import write_paper_audit

log_to_file(snakemake.log[0])
write_paper_audit(
    csv=snakemake.output.csv,
    md=snakemake.output.md,
    settings=snakemake.params.settings,
)
