"""What each heavy job needs from a scheduler: GPUs, CPU threads, memory and time.

The one home of these figures. The workflow's rules read them (``workflow/rules/*.smk``), so a
SLURM profile only says *how* a site wants them asked for (account, partitions, GPU type), never
*how much*: a GPU is requested only for the wav2vec2 model, and the eGeMAPS extraction's time
follows the number of utterances and the cores it is given.

``config.yaml``'s ``resources:`` section can override the training figures (``null`` = the
model's figure below).
"""

from __future__ import annotations

import errno
import math
import os
from collections.abc import Mapping
from typing import Any

from serrules.training.model_names import MODELS, TrainNeeds, model_spec

#: Per model, from the registry of models (:data:`serrules.training.model_names.MODELS`, where
#: each figure is explained).
TRAIN_NEEDS: dict[str, TrainNeeds] = {name: spec.needs for name, spec in MODELS.items()}

#: eGeMAPS extraction speed assumed per core when sizing the job's time: well below the measured
#: speed on 3 s utterances (docs/benchmarks.md, benchmarks/bench_egemaps.py), a margin for longer
#: utterances (the crop is ``training.max_seconds``) and slower cluster cores.
EGEMAPS_UTTERANCES_PER_CORE_S = 8.0
#: Threads of one eGeMAPS shard job (one worker process per thread; see serrules.audio.features):
#: one, so that ``--cores N`` or a cluster runs N shards at once.
EGEMAPS_THREADS = 1
#: Fixed part of an eGeMAPS shard job's time (start-up, conda activation, writing), minutes.
EGEMAPS_BASE_RUNTIME_MIN = 10
#: Memory of one eGeMAPS shard job, the gather job and the audio check, MB (peak RSS measured by
#: benchmarks/bench_scale.py at 150,000 clips: docs/scale.md).
EGEMAPS_MEM_MB = 2000
EGEMAPS_GATHER_MEM_MB = 2000
AUDIO_INDEX_MEM_MB = 2000


def train_needs(model_cfg: Mapping[str, Any], train_cfg: Mapping[str, Any]) -> TrainNeeds:
    """The request of a training job for this model; no GPU when ``training.device`` is cpu."""
    needs = model_spec(model_cfg.get("name")).needs
    if train_cfg.get("device") == "cpu" and needs.gpus:
        needs = TrainNeeds(0, needs.threads, needs.mem_mb, needs.runtime_min)
    return needs


def train_request(config: Mapping[str, Any]) -> TrainNeeds:
    """:func:`train_needs` with the ``resources:`` overrides of the configuration applied."""
    needs = train_needs(config["model"], config.get("training", {}))
    res = config.get("resources") or {}
    return TrainNeeds(
        gpus=needs.gpus,
        threads=int(res.get("train_threads") or needs.threads),
        mem_mb=int(res.get("train_mem_mb") or needs.mem_mb),
        runtime_min=int(res.get("train_runtime") or needs.runtime_min),
    )


def parquet_rows(path: str | os.PathLike[str]) -> int:
    """Row count of a Parquet file from its footer. A missing file raises ``FileNotFoundError``
    naming it (Snakemake then re-evaluates the resource once the input exists)."""
    import pyarrow.parquet as pq

    if not os.path.exists(path):
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), str(path))
    return int(pq.ParquetFile(path).metadata.num_rows)


def egemaps_runtime_min(n_utterances: int, threads: int) -> int:
    """Minutes for extracting ``n_utterances`` with ``threads`` worker processes.

    Scales with the utterances: a shard of 5,000 on one core asks for 21 min.
    """
    if n_utterances < 0 or threads < 1:
        raise ValueError(f"need n_utterances >= 0 and threads >= 1, got {n_utterances}, {threads}")
    seconds = n_utterances / (EGEMAPS_UTTERANCES_PER_CORE_S * threads)
    return EGEMAPS_BASE_RUNTIME_MIN + math.ceil(seconds / 60)
