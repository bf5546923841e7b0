from serrules.base.named_files import resolve_names
from serrules.base.script_logging import start_job
from serrules.evaluation.backbone_comparison import compare_backbones
from serrules.reporting.backbones import write_backbone_table

start_job(snakemake)
settings = snakemake.params.settings
frame = compare_backbones(
    corpora=settings["formats"],
    # params.files: per corpus, which input holds each table and fold prediction
    files=resolve_names(snakemake.params.files, snakemake.input),
    settings=settings,
)
write_backbone_table(
    frame,
    settings,
    csv=snakemake.output.csv,
    md=snakemake.output.md,
    tex=snakemake.output.tex,
)
