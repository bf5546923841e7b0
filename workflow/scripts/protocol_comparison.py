from serrules.base.named_files import resolve_names
from serrules.base.script_logging import start_job
from serrules.evaluation.protocol_comparison import compare_protocols
from serrules.reporting.protocol_comparison import write_protocol_comparison

start_job(snakemake)
settings = snakemake.params.settings
frame = compare_protocols(
    corpora=settings["formats"],
    # params.files: per corpus, which input holds each table and fold prediction
    files=resolve_names(snakemake.params.files, snakemake.input),
    settings=settings["protocols"],
)
write_protocol_comparison(
    frame,
    settings["protocols"],
    csv=snakemake.output.csv,
    md=snakemake.output.md,
    tex=snakemake.output.tex,
)
