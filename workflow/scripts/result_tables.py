from serrules.base.script_logging import start_job
from serrules.reporting.result_tables import write_result_tables

start_job(snakemake)
write_result_tables(
    list(snakemake.input),
    {
        stem: {ext: snakemake.output[f"{stem}_{ext}"] for ext in ("csv", "md", "tex")}
        for stem in ("table4", "table5", "table6")
    },
)
