# Two commands after cloning:  make book   (build the site)   and   make test   (everything CI checks).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BUILD_LOG := _build/build.log

.PHONY: book test venv labs tiny-model lab-smoke clean

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

# On a CUDA machine with the lab requirements and nbval installed: every solution in the smoke
# profile, offline; evidence (executed notebooks, nbval log) lands in $$OUT or artifacts/gpu-smoke.
lab-smoke:
	bash scripts/gpu-smoke.sh

clean:
	rm -rf _build
