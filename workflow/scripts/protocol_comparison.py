from serrules.base.script_logging import log_to_file
from serrules.evaluation.protocol_comparison import compare_protocols
from serrules.reporting.protocol_comparison import write_protocol_comparison

log_to_file(snakemake.log[0])
named = {key: snakemake.input[key] for key in snakemake.input.keys()}
settings = snakemake.params.settings
frame = compare_protocols(
    corpora=settings["formats"],
    prediction_paths={k: v for k, v in named.items() if k.count("/") == 3},
    label_paths={
        k: v
        for k, v in named.items()
        if k.count("/") == 1 and k.split("/")[0] in settings["formats"]
    },
    folds_paths={
        k: v
        for k, v in named.items()
        if k.count("/") == 1 and k.split("/")[0] in settings["protocols"]
    },
    settings=settings["protocols"],
)
write_protocol_comparison(
    frame,
    settings["protocols"],
    csv=snakemake.output.csv,
    md=snakemake.output.md,
    tex=snakemake.output.tex,
)
