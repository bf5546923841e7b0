from serrules.base.script_logging import start_job
from serrules.evaluation.bootstrap import BootstrapSettings
from serrules.evaluation.corpus_metrics import evaluate_corpus
from serrules.evaluation.pooled_corpus import CorpusFiles

start_job(snakemake)
cfg = snakemake.params.evaluation
evaluate_corpus(
    CorpusFiles.from_job(snakemake),
    bootstrap=BootstrapSettings.from_mapping(cfg),
    divergence_target=cfg["divergence_target"],
    label_smoothing=float(snakemake.params.training["target_smoothing"]),
    protocol=dict(snakemake.params.protocol),
    out_path=snakemake.output[0],
)
