"""The workflow scripts' start: everything a job prints goes to its log file, and what it writes
carries its rule, code and settings (:func:`start_job`)."""

from __future__ import annotations

import contextlib
import logging
import sys
from pathlib import Path

from serrules.base.provenance import set_origin, settings_digest


def log_to_file(log_path: str | Path, level: int = logging.INFO) -> None:
    """Send the ``logging`` records, warnings, stdout and stderr of this process to ``log_path``.

    Snakemake keeps the log of a failed job, so an exception's traceback (written to stderr)
    ends up next to the messages that led to it.
    """
    path = Path(log_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    stream = open(path, "a", buffering=1)  # noqa: SIM115 - lives as long as the process
    sys.stdout = stream
    sys.stderr = stream
    logging.basicConfig(
        level=level,
        stream=stream,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    logging.captureWarnings(True)


def start_job(job) -> None:
    """The first call of every workflow script (``job``: its ``snakemake`` object): the log of
    :func:`log_to_file`, and the job's origin for the provenance of what it writes: its rule, the
    digest of its code (the rule's ``code`` param, ``code_digest`` of workflow/rules/common.smk)
    and of its settings (its other params, :func:`serrules.base.provenance.settings_digest`)."""
    log_to_file(job.log[0])
    params = dict(job.params.items())
    set_origin(rule=job.rule, code=params.get("code"), settings=settings_digest(params))


@contextlib.contextmanager
def exit_on_input_error(*errors: type[BaseException]):
    """Around a script's work: an expected input error (e.g. ``AnnotationError``, ``AudioError``)
    is logged as one clear line (file, line, what is wrong) instead of a traceback, also shown
    on the console, and the job exits with status 1. Other exceptions keep their traceback."""
    try:
        yield
    except errors as exc:
        logging.getLogger("serrules").error("%s", exc)
        print(f"error: {exc}", file=sys.__stderr__)
        raise SystemExit(1) from None
