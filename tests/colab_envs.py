"""Colab-like Python environments for tests/test_colab_install.py, and pip's resolver run on them.

A Colab-like environment is a fresh venv whose site-packages holds fake `*.dist-info` folders (no
code: METADATA, INSTALLER, an empty RECORD) for Colab's torch, torchvision, torchaudio, triton and
numpy. pip treats them as installed, so `pip install --dry-run --report` shows what a command would
do to them in Colab, without installing anything.

Also a pytest plugin (loaded with `pytest_plugins` from the test module): it registers the
`network` marker and puts it on every test that uses the `pypi` fixture. A `pytest_configure` hook
inside a test module is never called by pytest (hooks come from conftest.py files and plugins only).
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from email.parser import Parser
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from ftcourse.colab import HELD

HELD_NAMES = {canonicalize_name(n) for n in HELD}

# Transport settings are kept (certificates, proxy, timeouts); everything that changes what pip
# resolves (this machine's /etc/xdg/pip constraint `torch<=2.14.1`, local wheel folders, ...) goes.
_KEEP_PIP_VARS = {"PIP_CERT", "PIP_CLIENT_CERT", "PIP_PROXY", "PIP_DEFAULT_TIMEOUT", "PIP_RETRIES",
                  "PIP_CACHE_DIR"}

NETWORK_ERRORS = re.compile(
    r"NewConnectionError|ConnectTimeout|ReadTimeout|Max retries exceeded|Could not fetch URL|"
    r"Temporary failure in name resolution|Name or service not known|Network is unreachable|"
    r"Connection refused|Connection reset|ProxyError|SSLError|IncompleteRead|HTTP error 5\d\d|"
    # every project asked for here exists on PyPI: seeing no release at all means the index was not read
    r"\(from versions: none\)",
    re.IGNORECASE,
)
RESOLUTION_ERRORS = re.compile(
    r"ResolutionImpossible|conflicting dependencies|No matching distribution found|"
    r"Could not find a version that satisfies",
)


# ---- the pytest plugin part -----------------------------------------------------------------------

@pytest.hookimpl(tryfirst=True)  # before `-m` deselects
def pytest_collection_modifyitems(config, items):
    for item in items:
        if "pypi" in getattr(item, "fixturenames", ()):
            item.add_marker("network")


# ---- pip ------------------------------------------------------------------------------------------

def pip_env() -> dict[str, str]:
    """os.environ as a Colab's pip would see it: no pip config files, no resolution-changing PIP_* vars."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_") or k in _KEEP_PIP_VARS}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1", PYTHONUTF8="1")
    return env


class PyPIUnreachable(Exception):
    """pip could not read the index; str() is pip's output."""

    @property
    def reason(self) -> str:
        """The first line of pip's output that names the network problem, else its last line."""
        lines = str(self).strip().splitlines() or [""]
        return next((ln for ln in lines if NETWORK_ERRORS.search(ln)), lines[-1]).strip()[:300]


@dataclass
class DryRun:
    args: list[str]
    returncode: int
    output: str  # stdout + stderr
    report: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def installs(self) -> dict[str, str]:
        """{canonical name: version} of everything pip would install (or replace)."""
        return {canonicalize_name(i["metadata"]["name"]): i["metadata"]["version"]
                for i in self.report.get("install", [])}

    def held_changes(self, held: dict[str, str]) -> dict[str, tuple[str | None, str]]:
        """The detector: HELD packages this command would install or replace, {name: (now, new)}."""
        return {name: (held.get(name), version) for name, version in self.installs.items()
                if name in HELD_NAMES}

    @property
    def network_error(self) -> bool:
        return not self.ok and bool(NETWORK_ERRORS.search(self.output))

    @property
    def resolution_error(self) -> bool:
        return not self.ok and not self.network_error and bool(RESOLUTION_ERRORS.search(self.output))


def pip_dry_run(python: str | Path, args: list[str], report_path: Path, timeout: float = 600) -> DryRun:
    """`python -m pip install --dry-run --report <json> <args>`; raises PyPIUnreachable on network errors."""
    report_path.unlink(missing_ok=True)
    cmd = [str(python), "-m", "pip", "install", "--dry-run", "--report", str(report_path), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=pip_env(), timeout=timeout)
    run = DryRun(list(args), proc.returncode, proc.stdout + proc.stderr)
    if run.ok:
        run.report = json.loads(report_path.read_text(encoding="utf-8"))
    elif run.network_error:
        raise PyPIUnreachable(run.output[-2000:])
    return run


def available_versions(project: str) -> list[str]:
    """Releases pip could install on this interpreter, newest first (`pip index versions`)."""
    proc = subprocess.run([sys.executable, "-m", "pip", "index", "versions", project],
                          capture_output=True, text=True, env=pip_env(), timeout=120)
    match = re.search(r"^Available versions: (.+)$", proc.stdout, re.MULTILINE)
    if proc.returncode != 0 or not match:
        output = proc.stdout + proc.stderr
        if NETWORK_ERRORS.search(output) or "No matching distribution" in output:  # index not read
            raise PyPIUnreachable(output)
        raise AssertionError(f"pip index versions {project} failed:\n{output[-3000:]}")
    return [v.strip() for v in match.group(1).split(",")]


def download_requires(pins: dict[str, str], folder: Path) -> dict[str, list[str]]:
    """Requires-Dist of `name==version` wheels, downloaded once (`pip download --no-deps`) into folder."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, version in pins.items():
        stem = f"{canonicalize_name(name).replace('-', '_')}-{version}-"
        wheel = next((w for w in folder.glob("*.whl") if w.name.lower().startswith(stem)), None)
        if wheel is None:
            with tempfile.TemporaryDirectory(dir=folder) as tmp:  # then moved: never a half-written wheel
                proc = subprocess.run(
                    [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", tmp,
                     f"{name}=={version}"], capture_output=True, text=True, env=pip_env(), timeout=600)
                if proc.returncode != 0:
                    output = proc.stdout + proc.stderr
                    if NETWORK_ERRORS.search(output):
                        raise PyPIUnreachable(output)
                    raise AssertionError(f"pip download {name}=={version} failed:\n{output[-3000:]}")
                downloaded = next(Path(tmp).glob("*.whl"))
                wheel = downloaded.replace(folder / downloaded.name)
        with zipfile.ZipFile(wheel) as zf:
            name_in_zip = next(n for n in zf.namelist() if re.fullmatch(r"[^/]+\.dist-info/METADATA", n))
            meta = Parser().parsestr(zf.read(name_in_zip).decode("utf-8"))
        out[name] = meta.get_all("Requires-Dist") or []
    return out


# ---- Colab-like environments ----------------------------------------------------------------------

@dataclass
class ColabEnv:
    label: str
    root: Path
    python: Path
    held: dict[str, str] = field(default_factory=dict)  # what the fake dist-infos say is installed

    @property
    def site_packages(self) -> Path:
        out = subprocess.run([str(self.python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
        return Path(out)

    def add_fake(self, name: str, version: str, requires: list[str] = ()) -> None:
        """A `*.dist-info` with no code: enough for pip to treat name==version as installed."""
        info = self.site_packages / f"{name}-{version}.dist-info"
        info.mkdir()
        lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}",
                 *(f"Requires-Dist: {r}" for r in requires)]
        (info / "METADATA").write_text("\n".join(lines) + "\n", encoding="utf-8")
        (info / "INSTALLER").write_text("pip\n", encoding="utf-8")
        (info / "RECORD").write_text("", encoding="utf-8")
        self.held[name] = version

    def write_constraints(self, text: str) -> Path:
        path = self.root / "constraints.txt"
        path.write_text(text, encoding="utf-8")
        return path

    def dry_run(self, args: list[str], name: str) -> DryRun:
        return pip_dry_run(self.python, args, self.root / f"report-{name}.json")


def held_requires(requires_dist: list[str]) -> list[str]:
    """The Requires-Dist lines that name another HELD package (torch -> triton, torchvision -> torch)."""
    return [r for r in requires_dist if canonicalize_name(Requirement(r).name) in HELD_NAMES]


def torch_requires(version: str, work: Path) -> list[str]:
    """torch==version's Requires-Dist for this platform, from pip's report (no install)."""
    run = pip_dry_run(sys.executable, ["--ignore-installed", "--no-deps", f"torch=={version}"],
                      work / f"torch-{version}.json")
    assert run.ok, run.output[-3000:]
    return run.report["install"][0]["metadata"].get("requires_dist", [])


def make_colab_env(label: str, root: Path, torch_version: str, local: str, numpy_version: str,
                   torch_reqs: list[str]) -> ColabEnv:
    """A venv with fake torch and numpy, and the torchvision/torchaudio/triton that go with that torch.

    pip finds the companions itself: with torch (declaring its real triton requirement) and numpy
    installed and held, `--dry-run torchvision torchaudio==<torch's version>` reports the newest
    torchvision that accepts this torch and the triton this torch asks for. torchaudio is the release
    numbered like torch, as PyTorch ships them (torchaudio 2.11.0 declares no torch requirement at
    all, so "newest that accepts" would pair it with any torch); when there is none (torch newer than
    the last torchaudio), the newest torchaudio that pip accepts with it.
    """
    root.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(root / "venv")], check=True, capture_output=True)
    env = ColabEnv(label, root, root / "venv" / "bin" / "python")
    env.add_fake("torch", f"{torch_version}{local}", held_requires(torch_reqs))
    env.add_fake("numpy", numpy_version)
    cons = env.write_constraints(f"torch=={torch_version}{local}\nnumpy=={numpy_version}\n")
    same = torch_version in available_versions("torchaudio")
    audio = f"torchaudio=={torch_version}" if same else "torchaudio"
    run = env.dry_run(["-c", str(cons), "torchvision", audio], "companions")
    assert run.ok, f"no torchvision/torchaudio for torch {torch_version}:\n{run.output[-3000:]}"
    for item in run.report["install"]:
        meta = item["metadata"]
        name = canonicalize_name(meta["name"])
        if name in {"torchvision", "torchaudio"}:
            env.add_fake(name, meta["version"] + local, held_requires(meta.get("requires_dist") or []))
        elif name == "triton":
            env.add_fake(name, meta["version"])
    return env
