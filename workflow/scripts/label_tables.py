from pathlib import Path

from serrules.base.script_logging import exit_on_input_error, log_to_file
from serrules.corpora import AnnotationError
from serrules.labels.label_tables import run_label_stage

log_to_file(snakemake.log[0])
with exit_on_input_error(AnnotationError, FileNotFoundError):
    run_label_stage(
        corpus=snakemake.wildcards.corpus,
        fmt=snakemake.params.fmt,
        root=snakemake.params.root,
        out_dir=Path(snakemake.output.utterances).parent,
        include_self_evaluations=bool(snakemake.params.include_self_evaluations),
        unknown_labels=snakemake.params.unknown_labels,
    )
