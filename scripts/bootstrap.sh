#!/usr/bin/env bash
# Creates .venv and installs the pinned CPU requirements (torch: the CPU build, see
# install-cpu-torch.sh); reruns only when a pin file changed.
# Every failure ends in one line that says what is wrong and what to do (details in the log).
set -uo pipefail
venv=${VENV:-.venv}
stamp=$venv/.installed
log=$venv/install.log
python=${PYTHON:-python3}

fail() { echo "setup: $*" >&2; exit 1; }

command -v "$python" >/dev/null 2>&1 || fail "no '$python' found: install Python 3.10 or newer (or run: make PYTHON=/path/to/python3)"
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
  || fail "Python $("$python" -c 'import platform; print(platform.python_version())') is too old: this course needs Python 3.10 or newer (run: make PYTHON=python3.11)"

if [ -f "$stamp" ] && [ "$stamp" -nt requirements.txt ] && [ "$stamp" -nt pyproject.toml ]; then
  exit 0
fi

if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv" 2>/dev/null || fail "could not create $venv: install the venv module (Debian: apt-get install python3-venv)"
fi
mkdir -p "$venv"
echo "setup: installing the pinned requirements into $venv (a few minutes the first time; log: $log)"
: >"$log"
# pip's output goes to the log; a failure ends in one line
pip_failed() {
  if grep -qiE "Could not find a version|No matching distribution|ConnectionError|Max retries|Temporary failure in name resolution|Network is unreachable|timed out" "$log"; then
    fail "pip could not download the pinned packages: the package registry is unreachable or lacks a pin (see $log)"
  fi
  fail "pip install failed; the last error was: $(grep -E 'ERROR' "$log" | tail -n 1) (see $log)"
}
# torch first, the CPU build from the PyTorch CPU index (PyPI's Linux torch brings gigabytes of CUDA
# libraries); the pin torch==X below is then already satisfied by X+cpu and kept
bash "$(dirname "$0")/install-cpu-torch.sh" "$venv/bin/python" 2>>"$log" || pip_failed
"$venv/bin/python" -m pip install --disable-pip-version-check -r requirements.txt -e . >>"$log" 2>&1 || pip_failed
touch "$stamp"
