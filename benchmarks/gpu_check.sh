#!/usr/bin/env bash
# One prepared check of the study's model on a GPU (docs/gpu.md); the CPU branch without one.
#
#     bash benchmarks/gpu_check.sh OUTDIR     # from the repository root
#
# Writes OUTDIR/gpu_check.json and OUTDIR/gpu_check.md. On a machine without snakemake (an
# offline GPU image), the wheels of benchmarks/gpu_wheels/ (made by benchmarks/gpu_wheels.sh)
# are installed with the project, --no-deps and --no-index, into a scratch folder first.
set -euo pipefail
if [[ $# -lt 1 ]]; then
  echo "usage: bash benchmarks/gpu_check.sh OUTDIR [gpu_check.py options]" >&2
  exit 2
fi
OUTDIR=$1
shift
PYTHON=${PYTHON:-python3}
WHEELS=${GPU_WHEELS:-benchmarks/gpu_wheels}
export PYTHONUNBUFFERED=1 PYTHONHASHSEED=0 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
mkdir -p "$OUTDIR"
if ! "$PYTHON" -c "import snakemake, soundfile, jsonschema" 2>/dev/null; then
  if ! ls "$WHEELS"/*.whl >/dev/null 2>&1; then
    echo "gpu_check: snakemake/soundfile/jsonschema missing and no wheels in $WHEELS" \
      "(run: bash benchmarks/gpu_wheels.sh)" >&2
    exit 1
  fi
  SITE=${GPU_CHECK_SITE:-${TMPDIR:-/tmp}/serrules-gpu-check-site}
  rm -rf "$SITE"
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --target "$SITE" "$WHEELS"/*.whl
  "$PYTHON" -m pip install -q --no-index --no-deps --no-build-isolation --no-cache-dir \
    --target "$SITE" . || echo "gpu_check: project install skipped; src/ is on PYTHONPATH"
  export PYTHONPATH="$PWD/src:$SITE${PYTHONPATH:+:$PYTHONPATH}"
  export PATH="$SITE/bin:$PATH"
else
  export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
fi
exec "$PYTHON" benchmarks/gpu_check.py "$OUTDIR" "$@"
