# Two commands after cloning:  make book   (build the site)   and   make test   (everything CI checks).
# make test-fast: the same without the browser, lint and PyPI-resolver tests (Python only).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BUILD_LOG := _build/build.log

.PHONY: book slides test test-fast venv labs tiny-model lab-smoke lab-full lint-workflows clean

venv:
	@PYTHON=$(PYTHON) bash scripts/bootstrap.sh

book: venv
	@$(PY) -m ftcourse.build_book

# reveal.js slides of each chapter, cut from the built book into _build/html/slides
slides: book
	@$(PY) -m ftcourse.slides

labs: venv
	@$(PY) -m ftcourse.labgen

tiny-model: venv
	@$(PY) -m ftcourse.tiny_model

test: venv
	@bash scripts/check_system.sh
	@$(PY) -m ftcourse.build_book
	@$(PY) -m ftcourse.slides
	@$(PY) -m pytest

# make test without the browser, lint and network tests: needs no Chromium, Node.js, shellcheck, npm
# registry or PyPI (once installed)
test-fast: venv
	@$(PY) -m ftcourse.build_book
	@$(PY) -m ftcourse.slides
	@$(PY) -m pytest -m "not browser and not lint and not network"

# On a CUDA machine with requirements-gpu.txt and nbval installed (PYTHON=... picks that Python):
# every solution and student lab under nbval, once each; the cells marked NBVAL_CHECK_OUTPUT are
# compared with tests/lab_outputs/<profile>/ (RECORD=1: compare nothing, store them if every cell runs). Evidence
# (executed notebooks, timings, nbval log) lands in $$OUT or artifacts/labs-<profile>.
# smoke: offline, at most 3 minutes a lab. full: the real runs (Qwen3-4B, FineTome-100k).
RECORD ?=
lab-smoke:
	$(PYTHON) scripts/run_labs.py smoke $(if $(filter 1,$(RECORD)),--record)

lab-full:
	$(PYTHON) scripts/run_labs.py full $(if $(filter 1,$(RECORD)),--record)

# actionlint on the GitHub workflows (also part of make test)
lint-workflows: venv
	@$(PY) scripts/actionlint.py

clean:
	rm -rf _build
