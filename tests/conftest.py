from pathlib import Path

import pytest

from ftcourse.paths import REPO_ROOT


@pytest.fixture(scope="session")
def root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A freshly built tiny Qwen3 (the smoke profile's model), shared by the tests that load it."""
    from ftcourse.tiny_model import build

    return build(tmp_path_factory.mktemp("tiny") / "tiny-qwen3")


@pytest.fixture(scope="session")
def lab1_cpu_run(tiny_model_dir, tmp_path_factory):
    """Lab 1's steps in the smoke profile on the CPU (tests/cpu_lab.py), run once per session."""
    from .cpu_lab import run_lab1_steps

    return run_lab1_steps(tiny_model_dir, tmp_path_factory.mktemp("lab1"))
