from serrules.training.pretrained import set_offline_mode

set_offline_mode()  # before torch/transformers are imported: training jobs never download

import torch  # noqa: E402

from serrules.base.config import RESULT_NEUTRAL_TRAINING_KEYS  # noqa: E402
from serrules.base.script_logging import log_to_file  # noqa: E402
from serrules.training.devices import select_device  # noqa: E402
from serrules.training.fold_job import train_fold  # noqa: E402

log_to_file(snakemake.log[0])
# A job given a GPU (Snakemake gpu resource, CUDA_VISIBLE_DEVICES, SLURM_GPUS*) that cannot use
# it fails here with cause and fix, before any data is read.
select_device(snakemake.params.training.get("device", "auto"), int(snakemake.params.gpus))
torch.set_num_threads(snakemake.threads)
train_fold(
    fmt=snakemake.params.fmt,
    fold=int(snakemake.wildcards.fold),
    train_rule=snakemake.wildcards.train_rule,
    labels_path=snakemake.input.labels,
    folds_path=snakemake.input.folds,
    audio_index_path=snakemake.input.audio_index,
    features_path=snakemake.input.features or None,
    model_cfg=dict(snakemake.params.model),
    # settings that do not change results come from the config, not from params (not compared)
    train_cfg={
        **dict(snakemake.params.training),
        **{
            k: snakemake.config["training"][k]
            for k in RESULT_NEUTRAL_TRAINING_KEYS
            if k in snakemake.config["training"]
        },
    },
    out_model=snakemake.output.model,
    out_train_log=snakemake.output.train_log,
    out_predictions=snakemake.output.predictions,
    checkpoint_dir=snakemake.params.checkpoint_dir,
    protocol=dict(snakemake.params.protocol),
    out_protocol=snakemake.output.protocol,
)
