from serrules.base.script_logging import start_job
from serrules.evaluation.pooled_corpus import CorpusFiles, load_pooled_corpus
from serrules.reporting.evaluation_views import write_calibration_views

start_job(snakemake)
write_calibration_views(
    load_pooled_corpus(CorpusFiles.from_job(snakemake)),
    calibration_path=snakemake.output.calibration,
    calibration_csv=snakemake.output.calibration_csv,
    reliability_path=snakemake.output.reliability,
    reliability_csv=snakemake.output.reliability_csv,
    png=snakemake.output.png,
)
