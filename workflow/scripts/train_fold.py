from serrules.training.pretrained import set_offline_mode

set_offline_mode()  # before torch/transformers are imported: training jobs never download

import torch  # noqa: E402

from serrules.base.config import RESULT_NEUTRAL_TRAINING_KEYS  # noqa: E402
from serrules.base.script_logging import start_job  # noqa: E402
from serrules.training.devices import select_device  # noqa: E402
from serrules.training.fold_job import train_fold  # noqa: E402
from serrules.training.fold_spec import FoldFiles, FoldKey  # noqa: E402
from serrules.training.run_config import TrainConfig  # noqa: E402

start_job(snakemake)
# settings that do not change results come from the config, not from params (not compared)
train_cfg = TrainConfig.from_mapping(
    {
        **dict(snakemake.params.training),
        **{
            k: snakemake.config["training"][k]
            for k in RESULT_NEUTRAL_TRAINING_KEYS
            if k in snakemake.config["training"]
        },
    }
)
# A job given a GPU (Snakemake gpu resource, CUDA_VISIBLE_DEVICES, SLURM_GPUS*) that cannot use
# it fails here with cause and fix, before any data is read.
select_device(train_cfg.device, int(snakemake.params.gpus))
torch.set_num_threads(snakemake.threads)
train_fold(
    FoldKey(snakemake.params.fmt, int(snakemake.wildcards.fold), snakemake.wildcards.train_rule),
    FoldFiles.from_job(snakemake),
    model_cfg=dict(snakemake.params.model),
    train_cfg=train_cfg,
    protocol=dict(snakemake.params.protocol),
)
