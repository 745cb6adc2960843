#!/usr/bin/env bash
# Runs every lab solution on a CUDA machine and keeps the evidence in $OUT (default artifacts/labs-<profile>):
# nvidia-smi, each executed notebook with its outputs and its wall time, and nbval's log.
#   bash scripts/run-labs.sh          smoke profile: offline, each lab must finish within SMOKE_BUDGET_S
#   bash scripts/run-labs.sh full     full profile: Qwen3-4B and FineTome from the hub (or its cache)
# PYTHON picks the interpreter that has requirements-gpu.txt and nbval installed (default python3).
# On the offline GPU machine, first pack the lab packages here: ../shared/gpu/make-gpu-site.sh requirements-gpu.txt
set -uo pipefail
profile=${1:-smoke}
python=${PYTHON:-python3}
out=${OUT:-artifacts/labs-$profile}
budget_s=${SMOKE_BUDGET_S:-180}  # the course's promise: a lab's smoke profile takes at most 3 minutes
mkdir -p "$out/executed"
if [ -f .gpu-site/site.tar.gz ]; then
  mkdir -p /tmp/site && tar -xzf .gpu-site/site.tar.gz -C /tmp/site
  export PYTHONPATH="/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi
export LAB_PROFILE=$profile PYTHONUNBUFFERED=1
if [ "$profile" = smoke ]; then
  export HF_HUB_OFFLINE=1 UNSLOTH_DISABLE_STATISTICS=1
  "$python" -m ftcourse.tiny_model >"$out/tiny-model.log" 2>&1
fi
nvidia-smi >"$out/nvidia-smi.txt" 2>&1 || echo "run-labs: nvidia-smi not found" >&2
"$python" -m pip freeze >"$out/pip-freeze.txt" 2>/dev/null

status=0
for nb in solutions/*.ipynb; do
  name=$(basename "$nb" .ipynb)
  # an executed copy with outputs, to read the measured numbers (a failing cell is kept with its error)
  "$python" - "$nb" "$out/executed/$name.ipynb" "$profile" "$budget_s" <<'PY' 2>&1 | tee "$out/executed/$name.log" || status=1
import sys, time, nbformat
from nbclient import NotebookClient
src, dst, profile, budget = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
nb = nbformat.read(src, as_version=4)
start = time.time()
try:
    NotebookClient(nb, timeout=1800, kernel_name="python3", resources={"metadata": {"path": "solutions"}}).execute()
finally:
    nbformat.write(nb, dst)
elapsed = time.time() - start
print(f"{src}: ok in {elapsed:.0f} s ({profile} profile)")
if profile == "smoke" and elapsed > budget:
    sys.exit(f"{src}: the smoke profile took {elapsed:.0f} s, over the {budget:.0f} s budget")
PY
done
"$python" -m pytest --nbval-lax --nbval-sanitize-with scripts/nbval-sanitize.cfg solutions/ -v \
  -p no:cacheprovider 2>&1 | tee "$out/nbval.log"
nbval_status=${PIPESTATUS[0]}
exit $(( status || nbval_status ))
