from pathlib import Path

from serrules.label_tables import run_label_stage
from serrules.script_logging import log_to_file

log_to_file(snakemake.log[0])
run_label_stage(
    corpus=snakemake.wildcards.corpus,
    fmt=snakemake.params.fmt,
    root=snakemake.params.root,
    out_dir=Path(snakemake.output.utterances).parent,
    include_self_evaluations=bool(snakemake.params.include_self_evaluations),
    unknown_labels=snakemake.params.unknown_labels,
)
