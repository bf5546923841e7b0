from serrules.base.classes import RULES
from serrules.base.script_logging import exit_on_input_error, start_job
from serrules.corpora import AnnotationError
from serrules.corpora.formats import FOLD_SCHEMES
from serrules.labels.label_tables import run_label_stage
from serrules.labels.table_names import SHARE_DEPENDENT, fold_table_name

start_job(snakemake)
out = snakemake.output
# every output path of the rule, by table name (labels and folds in RULES / FOLD_SCHEMES order);
# the SHARE_DEPENDENT tables are the majority_labels rule's
shared_labels = [f"labels_{rule}" for rule in RULES if f"labels_{rule}" not in SHARE_DEPENDENT]
outputs = {
    "ratings": out.ratings,
    "utterances": out.utterances,
    **dict(zip(shared_labels, out.labels, strict=True)),
    **{
        fold_table_name(scheme).removesuffix(".parquet"): path
        for scheme, path in zip(FOLD_SCHEMES, out.folds, strict=True)
    },
    "exclusions": out.exclusions,
}
with exit_on_input_error(AnnotationError, FileNotFoundError):
    run_label_stage(
        corpus=snakemake.wildcards.corpus,
        fmt=snakemake.params.fmt,
        root=snakemake.params.root,
        outputs=outputs,
        include_self_evaluations=bool(snakemake.params.include_self_evaluations),
        unknown_labels=snakemake.params.unknown_labels,
    )
