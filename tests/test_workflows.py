"""The GitHub workflows: actionlint finds nothing, and they do what the course promises."""
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
    assert "--upgrade unsloth" in runs["drift"] and jobs["drift"]["continue-on-error"] is True
    assert "GITHUB_STEP_SUMMARY" in runs["drift"]
    # pins are read from the pin files, never typed in the workflow
    for name, text in runs.items():
        assert "-r requirements-gpu.txt" in text, name
        assert not re.search(r"[A-Za-z][\w.-]*==\d", text), name


def test_the_workflow_reads_pins_that_exist():
    pinned = (ROOT / "requirements.txt").read_text(encoding="utf-8")
    for package in ("nbval", "nbclient", "nbformat", "ipykernel"):
        assert f"\n{package}==" in pinned, package


def test_pages_workflow_builds_strictly_and_deploys():
    workflow = load("pages.yml")
    assert "push" in workflow["on"] and workflow["permissions"]["pages"] == "write"
    build, deploy = workflow["jobs"]["build"], workflow["jobs"]["deploy"]
    assert any(step.get("run") == "make book" for step in build["steps"])
    upload = next(step for step in build["steps"] if step.get("uses", "").startswith("actions/upload-pages-artifact@"))
    assert upload["with"]["path"] == "_build/html"
    assert deploy["needs"] == "build"
    assert any(step.get("uses", "").startswith("actions/deploy-pages@") for step in deploy["steps"])
