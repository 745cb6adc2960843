"""`make`'s setup: one-line explanations of a bad environment, the CPU build of torch, make test-fast."""
import base64
import hashlib
import http.server
import os
import shlex
import shutil
import subprocess
import sys
import threading
import zipfile
from pathlib import Path
from urllib.parse import quote

import pytest

ROOT = Path(__file__).resolve().parent.parent


def bootstrap(tmp_path, **env):
    run_env = {**os.environ, "VENV": str(tmp_path / "venv"), **env}
    return subprocess.run(["bash", "scripts/bootstrap.sh"], cwd=ROOT, env=run_env,
                          capture_output=True, text=True, timeout=300)


def one_line_error(proc) -> str:
    assert proc.returncode != 0
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, f"expected one line, got: {proc.stderr!r}"
    assert "Traceback" not in proc.stderr
    return lines[0]


def test_too_old_python(tmp_path):
    fake = tmp_path / "python3.8"
    fake.write_text("#!/usr/bin/env bash\n"
                    "case \"$*\" in *version_info*) exit 1;; *python_version*) echo 3.8.18;; esac\n")
    fake.chmod(0o755)
    line = one_line_error(bootstrap(tmp_path, PYTHON=str(fake)))
    assert "3.8.18 is too old" in line and "3.10" in line


def test_missing_python(tmp_path):
    line = one_line_error(bootstrap(tmp_path, PYTHON="no-such-python"))
    assert "no 'no-such-python' found" in line


def test_unreachable_registry(tmp_path):
    proc = bootstrap(tmp_path, PIP_CONFIG_FILE=os.devnull, PIP_INDEX_URL="http://127.0.0.1:9/simple",
                     PIP_FIND_LINKS="", PIP_RETRIES="0", PIP_TIMEOUT="2", PIP_NO_CACHE_DIR="1")
    line = one_line_error(proc)
    assert "registry is unreachable" in line


def test_missing_chromium_is_one_line(tmp_path):
    env = {**os.environ, "CHROMIUM": str(tmp_path / "no-chromium")}
    proc = subprocess.run(["bash", "scripts/check_system.sh"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert "Chromium is missing" in one_line_error(proc)


def test_missing_node_is_one_line(tmp_path):
    # a PATH with what the earlier checks need (a Chromium, fc-list with a Korean font, grep) but no Node.js;
    # stand-ins, so that this runs under make test-fast on a machine without Chromium or fonts
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "grep").symlink_to(shutil.which("grep"))
    for tool, output in (("chromium", ""), ("fc-list", "/usr/share/fonts/NanumGothic.ttf: NanumGothic")):
        (bin_dir / tool).write_text(f"#!/bin/sh\necho '{output}'\n")
        (bin_dir / tool).chmod(0o755)
    env = {**os.environ, "PATH": str(bin_dir), "CHROMIUM": str(bin_dir / "chromium")}
    proc = subprocess.run([shutil.which("bash"), "scripts/check_system.sh"], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    assert "Node.js is missing" in one_line_error(proc)


# --- torch: the CPU build, from the PyTorch CPU index when it answers ---------------------------------

def test_installed_torch_is_the_cpu_build():
    import torch
    from importlib.metadata import distributions

    nvidia = sorted({d.metadata["Name"] for d in distributions() if d.metadata["Name"].lower().startswith("nvidia")})
    assert not nvidia and torch.version.cuda is None, (
        f"this environment has a CUDA torch ({torch.__version__}, CUDA {torch.version.cuda}; {nvidia[:3]}...): "
        "the book needs only the CPU build. Recreate it: rm -rf .venv && make test")


TORCH_PIN = next(ln.split("==")[1] for ln in (ROOT / "requirements.txt").read_text().splitlines()
                 if ln.startswith("torch=="))


def fake_wheel(directory: Path, version: str) -> str:
    """A pure-Python wheel named torch (no code worth importing), built here; returns its file name."""
    name = f"torch-{version}-py3-none-any.whl"
    info = f"torch-{version}.dist-info"
    files = {
        "torch/__init__.py": f'__version__ = "{version}"\n',
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: torch\nVersion: {version}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test_setup\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = [f"{path},sha256={_digest(text)},{len(text.encode())}" for path, text in files.items()]
    files[f"{info}/RECORD"] = "\n".join([*record, f"{info}/RECORD,,"]) + "\n"
    with zipfile.ZipFile(directory / name, "w") as wheel:
        for path, text in files.items():
            wheel.writestr(path, text)
    return name


def _digest(text: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()


class FakeIndex:
    """A PEP 503 simple index on 127.0.0.1 serving one fake torch wheel; records the paths asked for."""

    def __init__(self, root: Path, version: str):
        wheel = fake_wheel(root, version)
        (root / "simple" / "torch").mkdir(parents=True)
        (root / "simple" / "torch" / "index.html").write_text(
            f'<html><body><a href="../../{quote(wheel)}">{wheel}</a></body></html>\n')
        self.requests: list[str] = []
        requests = self.requests

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(root), **kwargs)

            def do_GET(self):
                requests.append(self.path)
                super().do_GET()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/simple"

    def asked_for_torch(self) -> bool:
        return any(path.startswith("/simple/torch") for path in self.requests)


@pytest.fixture()
def indexes(tmp_path):
    """The PyTorch CPU index (torch X+cpu) and pip's default index (torch X, the "CUDA" build)."""
    (tmp_path / "cpu").mkdir()
    (tmp_path / "default").mkdir()
    cpu, default = FakeIndex(tmp_path / "cpu", f"{TORCH_PIN}+cpu"), FakeIndex(tmp_path / "default", TORCH_PIN)
    yield cpu, default
    cpu.server.shutdown()
    default.server.shutdown()


@pytest.fixture(scope="module")
def throwaway_venv(tmp_path_factory):
    venv = tmp_path_factory.mktemp("torch-venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    return venv / "bin" / "python"


def offline_pip_env(default_index: str, **env) -> dict:
    """pip sees only our fake indexes: no config file, no find-links, no cache, no retries."""
    return {**os.environ, "PIP_CONFIG_FILE": os.devnull, "PIP_INDEX_URL": default_index, "PIP_FIND_LINKS": "",
            "PIP_EXTRA_INDEX_URL": "", "PIP_NO_CACHE_DIR": "1", "PIP_RETRIES": "0", "PIP_TIMEOUT": "5", **env}


def install_torch(python: Path, env: dict) -> subprocess.CompletedProcess:
    subprocess.run([str(python), "-m", "pip", "uninstall", "-y", "-q", "torch"], env=env, capture_output=True)
    return subprocess.run(["bash", "scripts/install-cpu-torch.sh", str(python)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def torch_version(python: Path) -> str:
    return subprocess.run([str(python), "-c", "from importlib.metadata import version; print(version('torch'))"],
                          capture_output=True, text=True, check=True).stdout.strip()


def test_torch_comes_from_the_cpu_index_first_and_stays(throwaway_venv, indexes):
    cpu, default = indexes
    env = offline_pip_env(default.url, TORCH_INDEX_URL=cpu.url)
    proc = install_torch(throwaway_venv, env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert torch_version(throwaway_venv) == f"{TORCH_PIN}+cpu"
    assert cpu.asked_for_torch() and not default.asked_for_torch(), (cpu.requests, default.requests)
    assert "from the PyTorch CPU index" in proc.stdout
    # what bootstrap.sh does next: requirements.txt's torch==X is satisfied by X+cpu, pip keeps it
    proc = subprocess.run([str(throwaway_venv), "-m", "pip", "install", f"torch=={TORCH_PIN}"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "already satisfied" in proc.stdout, proc.stdout + proc.stderr
    assert torch_version(throwaway_venv) == f"{TORCH_PIN}+cpu"


def test_torch_falls_back_to_the_default_index(throwaway_venv, indexes):
    _, default = indexes
    env = offline_pip_env(default.url, TORCH_INDEX_URL="http://127.0.0.1:9/simple")  # nothing listens there
    proc = install_torch(throwaway_venv, env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert torch_version(throwaway_venv) == TORCH_PIN and default.asked_for_torch()
    assert "did not answer" in proc.stdout


def test_bootstrap_installs_torch_with_the_cpu_script():
    script = (ROOT / "scripts" / "bootstrap.sh").read_text(encoding="utf-8")
    torch_step = script.index("install-cpu-torch.sh")
    assert torch_step < script.index("-r requirements.txt"), "torch must come first, before requirements.txt"
    assert "TORCH_INDEX_URL" in (ROOT / "scripts" / "install-cpu-torch.sh").read_text(encoding="utf-8")


# --- make test-fast: no Chromium, Node, shellcheck, npm registry or PyPI resolver --------------------

def test_make_test_fast_skips_the_system_check_and_exactly_the_browser_lint_and_network_tests(tmp_path, pytestconfig):
    proc = subprocess.run(["make", "-n", "test-fast"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "check_system.sh" not in proc.stdout and "ftcourse.build_book" in proc.stdout, proc.stdout
    pytest_lines = [shlex.split(ln) for ln in proc.stdout.splitlines() if "-m pytest" in ln]
    assert len(pytest_lines) == 1, proc.stdout
    args = pytest_lines[0]
    expression = args[args.index("-m", args.index("pytest")) + 1]
    # let pytest itself apply that -m to one test per registered marker, and one unmarked test
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    markers = sorted({line.split(":")[0].strip() for line in pytestconfig.getini("markers") if f'"{line}"' in pyproject})
    assert {"browser", "lint", "network"} <= set(markers), markers
    (tmp_path / "test_markers.py").write_text("import pytest\n\ndef test_unmarked():\n    pass\n" + "".join(
        f"\n@pytest.mark.{m}\ndef test_{m}():\n    pass\n" for m in markers))
    collected = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                                "-W", "ignore::pytest.PytestUnknownMarkWarning", "-m", expression, "test_markers.py"],
                               cwd=tmp_path, capture_output=True, text=True).stdout
    ran = {ln.split("::test_")[1] for ln in collected.splitlines() if "::test_" in ln}
    assert ran == {"unmarked", *markers} - {"browser", "lint", "network"}, collected
    # the full target still checks the system and runs every test
    full = subprocess.run(["make", "-n", "test"], cwd=ROOT, capture_output=True, text=True).stdout
    assert "check_system.sh" in full
    assert [ln.split("-m pytest")[1].strip() for ln in full.splitlines() if "-m pytest" in ln] == [""], full
