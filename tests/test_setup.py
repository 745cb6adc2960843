"""`make`'s setup explains a bad environment in one line instead of a stack trace."""
import os
import shutil
import subprocess
from pathlib import Path

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
    # a PATH with what the earlier checks need (fc-list, grep) but no Node.js
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("fc-list", "grep"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    env = {**os.environ, "PATH": str(bin_dir), "CHROMIUM": shutil.which("chromium") or "/usr/bin/chromium"}
    proc = subprocess.run([shutil.which("bash"), "scripts/check_system.sh"], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    assert "Node.js is missing" in one_line_error(proc)
