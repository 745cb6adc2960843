#!/usr/bin/env bash
# Runs every lab solution in the smoke profile on a CUDA machine (what `make lab-smoke` does) and
# keeps the evidence in $OUT: nvidia-smi, the executed notebooks with their outputs, nbval's log.
# On the offline GPU machine, first pack the lab packages here: ../shared/gpu/make-gpu-site.sh requirements-gpu.txt
set -uo pipefail
out=${OUT:-artifacts/gpu-smoke}
mkdir -p "$out/executed"
if [ -f .gpu-site/site.tar.gz ]; then
  mkdir -p /tmp/site && tar -xzf .gpu-site/site.tar.gz -C /tmp/site
  export PYTHONPATH="/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi
export LAB_PROFILE=smoke HF_HUB_OFFLINE=1 UNSLOTH_DISABLE_STATISTICS=1 PYTHONUNBUFFERED=1
nvidia-smi >"$out/nvidia-smi.txt" 2>&1 || echo "gpu-smoke: nvidia-smi not found" >&2
python3 -m ftcourse.tiny_model >"$out/tiny-model.log" 2>&1

status=0
for nb in solutions/*.ipynb; do
  # executed copies with outputs, to read the measured numbers (a failing cell is kept with its error)
  python3 - "$nb" "$out/executed/$(basename "$nb")" <<'PY' >"$out/executed/$(basename "$nb" .ipynb).log" 2>&1 || status=1
import sys, time, nbformat
from nbclient import NotebookClient
src, dst = sys.argv[1], sys.argv[2]
nb = nbformat.read(src, as_version=4)
start = time.time()
try:
    NotebookClient(nb, timeout=1200, kernel_name="python3", resources={"metadata": {"path": "solutions"}}).execute()
    print(f"{src}: ok in {time.time() - start:.0f}s")
finally:
    nbformat.write(nb, dst)
PY
done
python3 -m pytest --nbval-lax solutions/ -v -p no:cacheprovider 2>&1 | tee "$out/nbval.log"
exit $(( status || ${PIPESTATUS[0]} ))
