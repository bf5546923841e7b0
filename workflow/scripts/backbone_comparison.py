from serrules.base.script_logging import log_to_file
from serrules.evaluation.backbone_comparison import compare_backbones
from serrules.reporting.backbones import write_backbone_table

log_to_file(snakemake.log[0])
named = {key: snakemake.input[key] for key in snakemake.input.keys()}
settings = snakemake.params.settings
frame = compare_backbones(
    corpora=settings["formats"],
    prediction_paths={k: v for k, v in named.items() if k.count("/") == 3},
    label_paths={k: v for k, v in named.items() if k.count("/") == 1},
    settings=settings,
)
write_backbone_table(
    frame,
    settings,
    csv=snakemake.output.csv,
    md=snakemake.output.md,
    tex=snakemake.output.tex,
)
