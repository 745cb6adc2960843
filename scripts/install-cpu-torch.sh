#!/usr/bin/env bash
# Installs requirements.txt's torch pin, CPU build, into the environment of PYTHON (bootstrap.sh runs
# this before the other requirements):   bash scripts/install-cpu-torch.sh PYTHON
# On Linux, PyPI's torch is the CUDA build (gigabytes of nvidia-* wheels) although the book builds on
# the CPU, so torch comes from the PyTorch CPU index (TORCH_INDEX_URL, default below) when that index
# answers, and from pip's default index otherwise. Only torch comes from there (--no-deps): its
# dependencies come with the rest of requirements.txt, where the pin torch==X is satisfied by the
# installed X+cpu (PEP 440 ignores local labels), so pip keeps it. A torch that already satisfies
# the pin is kept. pip's output goes to stderr; one status line to stdout.
set -uo pipefail
py=${1:?usage: install-cpu-torch.sh PYTHON}
root=$(cd "$(dirname "$0")/.." && pwd)
index=${TORCH_INDEX_URL:-https://download.pytorch.org/whl/cpu}
pin=$(grep -E '^torch==' "$root/requirements.txt") || { echo "torch: no torch== pin in $root/requirements.txt" >&2; exit 1; }

# torch X or X+anything installed already: nothing to do (and no network)
if "$py" - "${pin#torch==}" <<'EOF' 2>/dev/null; then
import sys
from importlib.metadata import version
sys.exit(version("torch").split("+")[0] != sys.argv[1])
EOF
  exit 0
fi

# Does the CPU index answer? One request, 10 s: an unreachable index must not cost pip's retries.
reachable() {
  case "$index" in
    http://* | https://*)
      "$py" - "${index%/}/torch/" <<'EOF' 2>/dev/null
import sys, urllib.request
urllib.request.urlopen(sys.argv[1], timeout=10).close()
EOF
      ;;
    *) return 0 ;;  # a local (file:) index: pip itself says whether torch is there
  esac
}

pip_install() { "$py" -m pip install --disable-pip-version-check --no-deps "$@" "$pin" 1>&2; }

if reachable && pip_install --index-url "$index"; then
  echo "setup: $pin from the PyTorch CPU index ($index)"
  exit 0
fi
echo "setup: the PyTorch CPU index ($index) did not answer or lacks $pin: torch comes from pip's default index (on Linux that can be the CUDA build, gigabytes)"
pip_install
