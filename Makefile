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
	@$(PY) -m ftcourse.build_book
	@$(PY) -m pytest

# On a CUDA machine with the lab requirements installed: run every solution in the smoke profile.
lab-smoke:
	LAB_PROFILE=smoke HF_HUB_OFFLINE=1 python3 -m pytest --nbval-lax solutions/ -v

clean:
	rm -rf _build
