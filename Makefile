# Two commands after cloning:  make book   (build the site)   and   make test   (everything CI checks).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BUILD_LOG := _build/build.log

.PHONY: book test venv labs tiny-model lab-smoke lab-full lint-workflows clean

venv:
	@PYTHON=$(PYTHON) bash scripts/bootstrap.sh

book: venv
	@$(PY) -m ftcourse.build_book

labs: venv
	@$(PY) -m ftcourse.labgen

tiny-model: venv
	@$(PY) -m ftcourse.tiny_model

test: venv
	@bash scripts/check_system.sh
	@$(PY) -m ftcourse.build_book
	@$(PY) -m pytest

# On a CUDA machine with requirements-gpu.txt and nbval installed (PYTHON=... picks that Python):
# every solution under nbval; evidence (executed notebooks, timings, nbval log) lands in $$OUT or
# artifacts/labs-<profile>. smoke: offline, at most 3 minutes a lab. full: the real 60-step runs.
lab-smoke:
	bash scripts/run-labs.sh smoke

lab-full:
	bash scripts/run-labs.sh full

# actionlint on the GitHub workflows (also part of make test)
lint-workflows: venv
	@$(PY) scripts/actionlint.py

clean:
	rm -rf _build
