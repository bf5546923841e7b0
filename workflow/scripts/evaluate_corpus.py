from serrules.base.script_logging import log_to_file
from serrules.evaluation.bootstrap import BootstrapSettings
from serrules.evaluation.corpus_metrics import evaluate_corpus
from serrules.evaluation.pooled_corpus import CorpusFiles

log_to_file(snakemake.log[0])
cfg = snakemake.params.evaluation
evaluate_corpus(
    CorpusFiles.from_job(snakemake),
    bootstrap=BootstrapSettings.from_mapping(cfg),
    divergence_target=cfg["divergence_target"],
    label_smoothing=float(snakemake.params.training["target_smoothing"]),
    protocol=dict(snakemake.params.protocol),
    out_path=snakemake.output[0],
)
