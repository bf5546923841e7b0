import json
import logging

from serrules.base.script_logging import start_job
from serrules.demo import generate_demo_corpus

start_job(snakemake)
summary = generate_demo_corpus(
    snakemake.params.fmt,
    snakemake.output.native,
    n_utterances=int(snakemake.params.n_utterances),
    seed=int(snakemake.params.seed),
)
with open(snakemake.output.summary, "w") as fh:
    json.dump(summary, fh, indent=2, sort_keys=True, default=int)
logging.getLogger("demo_corpus").info("summary: %s", summary)
