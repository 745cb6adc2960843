#!/usr/bin/env bash
# The Python environment of a GPU runner: .venv-gpu (or $VENV_GPU) with the lab pins
# (requirements-gpu.txt), the notebook runners pinned in requirements.txt, and the course package.
# --system-site-packages: the machine's own CUDA build of torch is used as it is.
#   bash scripts/install-gpu-env.sh            the pins
#   bash scripts/install-gpu-env.sh --newest   then the newest Unsloth/TRL/transformers/PEFT over them (drift check)
set -euo pipefail
venv=${VENV_GPU:-.venv-gpu}
python3 -m venv --system-site-packages "$venv"
mapfile -t runners < <(grep -E '^(nbval|nbclient|nbformat|ipykernel)==' requirements.txt)
"$venv/bin/python" -m pip install --disable-pip-version-check -r requirements-gpu.txt "${runners[@]}" -e .
if [ "${1:-}" = --newest ]; then
  "$venv/bin/python" -m pip install --disable-pip-version-check --upgrade \
    unsloth unsloth_zoo trl transformers peft datasets bitsandbytes
fi
