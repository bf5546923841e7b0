from serrules.base.script_logging import log_to_file
from serrules.reporting.result_tables import write_result_tables

log_to_file(snakemake.log[0])
write_result_tables(
    list(snakemake.input),
    {
        stem: {ext: snakemake.output[f"{stem}_{ext}"] for ext in ("csv", "md", "tex")}
        for stem in ("table4", "table5", "table6")
    },
)
