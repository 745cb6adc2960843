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


@pytest.fixture(scope="session")
def lab2_cpu_run(tiny_model_dir, tmp_path_factory):
    """Lab 2's steps in the smoke profile on the CPU (tests/cpu_lab.py), run once per session."""
    from .cpu_lab import run_lab2_steps

    return run_lab2_steps(tiny_model_dir, tmp_path_factory.mktemp("lab2"))


@pytest.fixture(scope="session")
def lab3_cpu_run(tiny_model_dir, tmp_path_factory):
    """Lab 3's steps in the smoke profile on the CPU (tests/cpu_lab_3.py), run once per session."""
    from .cpu_lab_3 import run_lab3_steps

    return run_lab3_steps(tiny_model_dir, tmp_path_factory.mktemp("lab3"))


@pytest.fixture(scope="session")
def lab4_cpu_run(tiny_model_dir, tmp_path_factory):
    """Lab 4's steps in the smoke profile on the CPU (tests/cpu_lab_4.py), run once per session."""
    from .cpu_lab_4 import run_lab4_steps

    return run_lab4_steps(tiny_model_dir, tmp_path_factory.mktemp("lab4"))


# the CPU run whose reports stand for each lab's checked cells (lab 0 calls a subset of lab 1's)
CPU_RUN_OF_LAB = {"lab0_setup": "lab1_cpu_run", "lab1_first_qlora": "lab1_cpu_run", "lab2_lora_inside": "lab2_cpu_run",
                  "lab3_quant_cost": "lab3_cpu_run", "lab4_merge_deploy": "lab4_cpu_run"}
