"""Pretrained weights without internet on compute nodes.

Cluster compute nodes are usually offline, so training jobs never download: a hub id in
``model.pretrained`` is fetched ONCE, from a login node, into a project folder,

    python -m serrules.training.pretrained fetch facebook/wav2vec2-large-robust

(``huggingface_hub.snapshot_download``; written to ``models/facebook--wav2vec2-large-robust``),
and training jobs run with the hub in offline mode (:func:`set_offline_mode`) and load that local
folder (:func:`resolve_pretrained`). A missing local copy fails at once with a message giving the
fetch command; nothing waits on a network time-out. ``model.pretrained`` may also be a folder
(``config.json`` + weights), used as it is.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from serrules.base.errors import PretrainedNotFoundError

#: Project folder holding fetched models, relative to the working directory (git-ignored);
#: the environment variable ``SERRULES_MODELS_DIR`` overrides it.
DEFAULT_MODELS_DIR = "models"
MODELS_DIR_ENV = "SERRULES_MODELS_DIR"
#: Files a wav2vec2 backbone needs (no tokenizer: the model reads raw 16 kHz audio). Safetensors
#: weights when the repository has them, the PyTorch pickle otherwise.
FETCH_PATTERNS: tuple[str, ...] = (
    "config.json",
    "preprocessor_config.json",
    "*.safetensors",
    "*.safetensors.index.json",
    "pytorch_model.bin",
    "README.md",
    "LICENSE*",
)
FETCH_COMMAND = "python -m serrules.training.pretrained fetch"
#: Environment of a training job: no hub access at all (huggingface_hub and transformers).
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def models_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """The folder fetched models live in: ``path``, else ``$SERRULES_MODELS_DIR``, else
    ``models/`` in the working directory."""
    return Path(path or os.environ.get(MODELS_DIR_ENV) or DEFAULT_MODELS_DIR)


def local_dir_for(repo_id: str, directory: str | os.PathLike[str] | None = None) -> Path:
    """Where :func:`fetch` puts ``repo_id`` (``org/name`` -> ``<models>/org--name``)."""
    if not repo_id or repo_id.startswith(("/", ".")) or ".." in repo_id.split("/"):
        raise ValueError(f"not a hub repository id: {repo_id!r}")
    return models_dir(directory) / repo_id.replace("/", "--")


def _is_model_folder(path: Path) -> bool:
    return (path / "config.json").is_file() and any(
        (path / name).is_file()
        for name in ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json")
    )


def resolve_pretrained(pretrained: str, directory: str | os.PathLike[str] | None = None) -> Path:
    """The local folder to load ``model.pretrained`` from, without any network access.

    A folder is returned as it is (it must hold ``config.json`` and weights). A hub id resolves
    to its fetched copy under :func:`models_dir`; when there is none,
    :class:`PretrainedNotFoundError` says which command fetches it.
    """
    path = Path(pretrained).expanduser()
    if path.is_dir():
        if not _is_model_folder(path):
            raise PretrainedNotFoundError(
                f"model.pretrained={pretrained!r} is a folder without config.json and "
                "model.safetensors / pytorch_model.bin"
            )
        return path
    if path.is_absolute() or pretrained.startswith((".", "~")) or pretrained.count("/") != 1:
        raise PretrainedNotFoundError(
            f"model.pretrained={pretrained!r}: no such folder (and not a hub id 'org/name')"
        )
    local = local_dir_for(pretrained, directory)
    if _is_model_folder(local):
        return local
    raise PretrainedNotFoundError(
        f"model.pretrained={pretrained!r} has no local copy at {local} and training jobs do not "
        f"download (compute nodes are offline, the hub runs in offline mode). Fetch it once, "
        f"from a machine with internet access (the login node), in the working directory: "
        f"{FETCH_COMMAND} {pretrained}"
    )


def set_offline_mode() -> None:
    """Put huggingface_hub and transformers in offline mode for this process (call before they
    are imported: both read the variables at import time)."""
    os.environ.update(OFFLINE_ENV)


def fetch(
    repo_id: str,
    directory: str | os.PathLike[str] | None = None,
    revision: str | None = None,
    timeout_s: float = 30.0,
) -> Path:
    """Download ``repo_id`` (at ``revision``, default the main branch) into
    :func:`local_dir_for` with ``huggingface_hub.snapshot_download``; returns the folder.

    The commit downloaded is written to ``<folder>/REVISION``. Connection problems raise after
    ``timeout_s`` per request instead of hanging.
    """
    os.environ.setdefault("HF_HUB_ETAG_TIMEOUT", str(int(timeout_s)))
    os.environ.setdefault("HF_HUB_DOWNLOAD_TIMEOUT", str(int(timeout_s)))
    from huggingface_hub import HfApi, snapshot_download

    local = local_dir_for(repo_id, directory)
    info = HfApi().model_info(repo_id, revision=revision, timeout=timeout_s)
    snapshot_download(
        repo_id,
        revision=info.sha,
        local_dir=local,
        allow_patterns=list(FETCH_PATTERNS),
    )
    if not _is_model_folder(local):
        raise PretrainedNotFoundError(f"{repo_id}: no config.json + weights in the download")
    (local / "REVISION").write_text(f"{repo_id} {info.sha}\n")
    return local


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m serrules.training.pretrained",
        description="Fetch pretrained weights once (login node) for offline training jobs.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p_fetch = sub.add_parser("fetch", help="download a hub model into the models folder")
    p_fetch.add_argument("repo_id", help="e.g. facebook/wav2vec2-large-robust")
    p_fetch.add_argument("--revision", default=None, help="branch, tag or commit (default main)")
    p_fetch.add_argument(
        "--models-dir", default=None, help=f"default ${MODELS_DIR_ENV} or ./{DEFAULT_MODELS_DIR}"
    )
    p_where = sub.add_parser("where", help="print the local folder model.pretrained resolves to")
    p_where.add_argument("pretrained")
    p_where.add_argument("--models-dir", default=None)
    args = parser.parse_args(argv)
    try:
        if args.command == "fetch":
            print(fetch(args.repo_id, args.models_dir, args.revision))
        else:
            print(resolve_pretrained(args.pretrained, args.models_dir))
    except Exception as err:  # a clear one-line error for a command-line user
        print(f"error: {type(err).__name__}: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
