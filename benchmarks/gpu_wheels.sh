#!/usr/bin/env bash
# Wheels that benchmarks/gpu_check.sh installs on an offline GPU machine whose image has python
# 3.12, torch, transformers, numpy, pandas, pyarrow, scikit-learn, scipy, matplotlib and pyyaml
# but not snakemake, soundfile or jsonschema. Run once, with registry access, from the repo root:
#
#     bash benchmarks/gpu_wheels.sh            # -> benchmarks/gpu_wheels/*.whl (git-ignored)
#
# Resolves the versions with this machine's pip, then fetches the CPython $PYVER manylinux build of
# every compiled one, builds a wheel for any sdist-only one, and drops the packages the image
# already has (IMAGE_HAS below, from the image's package list).
set -euo pipefail
DEST=${1:-benchmarks/gpu_wheels}
# PYVER: the target machine's Python (3.12 on the GPU image; 3.11 only to rehearse here)
PYVER=${PYVER:-3.12}
WANT=(snakemake==9.27.1 soundfile==0.14.0 jsonschema==4.26.0)
IMAGE_HAS='^(attrs|certifi|charset_normalizer|idna|jinja2|markupsafe|numpy|packaging|psutil|pyyaml|requests|tabulate|typing_extensions|urllib3|wrapt)-'
PLATFORMS=(--platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64
           --platform manylinux_2_24_x86_64 --platform manylinux_2_17_x86_64
           --platform manylinux2014_x86_64 --platform manylinux_2_5_x86_64
           --platform manylinux1_x86_64)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download -q -d "$tmp/resolved" "${WANT[@]}"
rm -rf "$DEST" && mkdir -p "$DEST"
for f in "$tmp"/resolved/*; do
  name=$(basename "$f")
  if [[ $name =~ $IMAGE_HAS ]]; then continue; fi
  case $name in
    *-none-any.whl|*-py2.py3-none-*.whl|*-abi3-*.whl) cp "$f" "$DEST/" ;;
    *.whl)  # compiled for this machine's Python: fetch the cp312 build of the same version
      pkg=${name%%-*}; ver=$(echo "$name" | cut -d- -f2)
      python3 -m pip download -q --no-deps --only-binary=:all: --python-version "$PYVER" \
        --implementation cp --abi "cp${PYVER/./}" "${PLATFORMS[@]}" -d "$DEST" "$pkg==$ver" ;;
    *.tar.gz|*.zip)  # sdist only (pure Python): build the wheel here
      python3 -m pip wheel -q --no-deps -w "$DEST" "$f" ;;
  esac
done
ls "$DEST" | wc -l
du -sh "$DEST"
