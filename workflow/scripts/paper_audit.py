from serrules.base.script_logging import start_job
from serrules.reporting.paper_audit import write_paper_audit

start_job(snakemake)
write_paper_audit(
    csv=snakemake.output.csv,
    md=snakemake.output.md,
    settings=snakemake.params.settings,
)
