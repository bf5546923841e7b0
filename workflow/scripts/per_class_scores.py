from serrules.base.script_logging import start_job
from serrules.evaluation.pooled_corpus import CorpusFiles, load_pooled_corpus
from serrules.reporting.evaluation_views import write_per_class_views

start_job(snakemake)
write_per_class_views(
    load_pooled_corpus(CorpusFiles.from_job(snakemake)),
    per_class_path=snakemake.output.per_class,
    per_class_csv=snakemake.output.per_class_csv,
    confusion_path=snakemake.output.confusion,
    confusion_csv=snakemake.output.confusion_csv,
    per_class_png=snakemake.output.per_class_png,
    confusion_png=snakemake.output.confusion_png,
)
