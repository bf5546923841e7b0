"""Training stage: models, class-balanced loss, batching, devices, the per-fold training job,
checkpoints and prediction with a trained model. May import the base and the earlier stages
(corpora, labels, audio).

This ``__init__`` imports nothing, so light modules (``model_names``, ``job_resources``) load
without PyTorch, e.g. while Snakemake plans the DAG."""
