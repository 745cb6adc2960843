"""One source of truth for pins: requirements.txt (CPU) and requirements-gpu.txt (labs)."""
import re
from pathlib import Path

import nbformat
import yaml

from ftcourse.labtemplate import gpu_pins
from ftcourse.paths import REPO_ROOT as ROOT

PIN = re.compile(r"^([A-Za-z0-9_.-]+)==(\S+)$")


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = PIN.match(line)
        assert match, f"{path.name}: '{line}' is not pinned as name==version"
        found[match.group(1).lower().replace("_", "-")] = match.group(2)
    return found


def test_cpu_and_gpu_pins_agree_on_shared_packages():
    cpu, gpu = pins(ROOT / "requirements.txt"), pins(ROOT / "requirements-gpu.txt")
    shared = set(cpu) & set(gpu)
    assert {"transformers", "peft", "trl", "datasets"} <= shared
    for name in shared:
        assert cpu[name] == gpu[name], f"{name}: requirements.txt has {cpu[name]}, requirements-gpu.txt {gpu[name]}"


def test_environment_yml_installs_requirements_txt():
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert "-r requirements.txt" in pip_section, "environment.yml must install the pins from requirements.txt"
    conda_pins = [d for d in env["dependencies"] if isinstance(d, str) and "==" in d]
    assert not conda_pins, f"environment.yml pins packages of its own: {conda_pins}"


def test_every_lab_installs_exactly_the_gpu_pins():
    expected = gpu_pins()
    assert expected, "requirements-gpu.txt has no pins"
    for path in sorted([*ROOT.glob("labs/*.ipynb"), *ROOT.glob("solutions/*.ipynb")]):
        setup = next(c for c in nbformat.read(path, as_version=4).cells if c.get("id") == "lab-setup")
        block = re.search(r"LAB_PINS = \[(.*?)\]", setup.source, re.S)
        assert block, f"{path}: no LAB_PINS list in the setup cell"
        found = re.findall(r'"([^"]+)"', block.group(1))
        assert found == expected, f"{path}: pins {found} differ from requirements-gpu.txt {expected}"
