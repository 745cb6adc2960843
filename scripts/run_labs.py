"""Run every lab on a CUDA machine under nbval, once each, and keep the evidence.

    python scripts/run_labs.py smoke            (make lab-smoke) offline: tiny Qwen3, synthetic data
    python scripts/run_labs.py full             (make lab-full)  Qwen3-4B and FineTome-100k from the hub
    python scripts/run_labs.py smoke --record   (make lab-smoke RECORD=1) and keep the checked outputs

Each solution and each student lab is executed once by nbval (`--nbval-lax`): every cell must run
without an error, and the cells marked `# NBVAL_CHECK_OUTPUT` are compared with the outputs of an
earlier good run of the same profile, stored in tests/lab_outputs/<profile>/<lab>.json, after
scripts/nbval-sanitize.cfg has blanked what varies (times, memory, losses, paths, GPU names).
Such a cell without a stored output fails the run. With --record nothing is compared: if every
cell runs, what the checked cells printed is stored (read it, then commit tests/lab_outputs/). In
the smoke profile a lab must also finish within SMOKE_BUDGET_S seconds (default 180).

Evidence lands in $OUT (default artifacts/labs-<profile>): nvidia-smi, pip freeze, the executed
notebooks with their outputs, timings.json, the checked outputs of this run, and nbval's log.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("solutions", "labs")
CHECK_MARK = "# NBVAL_CHECK_OUTPUT"


def checked(cell) -> bool:
    """A cell whose first line is the marker (the convention tests/test_labs.py enforces)."""
    return cell.cell_type == "code" and cell.source.startswith(CHECK_MARK)


def prepare(root: Path, run_dir: Path, expected_dir: Path | None) -> list[str]:
    """Copy every notebook into run_dir with the stored outputs in its checked cells, so that nbval
    compares them (none when `expected_dir` is None: a recording run compares nothing); returns the
    checked cells of the solutions that have nothing stored ("lab/cell-id")."""
    missing = []
    shutil.rmtree(run_dir, ignore_errors=True)
    for folder in FOLDERS:
        for path in sorted((root / folder).glob("*.ipynb")):
            nb = nbformat.read(path, as_version=4)
            stored_file = expected_dir / f"{path.stem}.json" if expected_dir else None
            stored = json.loads(stored_file.read_text(encoding="utf-8")) if stored_file and stored_file.exists() else {}
            for cell in filter(checked, nb.cells):
                if cell.id in stored:
                    cell.outputs = [nbformat.from_dict(o) for o in stored[cell.id]]
                    cell.execution_count = 1  # nbval compares only cells that have been run
                elif folder == "solutions":
                    missing.append(f"{path.stem}/{cell.id}")
            (run_dir / folder).mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, run_dir / folder / path.name)
    return missing


def run(profile: str, root: Path = ROOT, out: Path | None = None, record: bool = False,
        budget_s: float = float(os.environ.get("SMOKE_BUDGET_S", "180"))) -> int:
    out = (out or root / "artifacts" / f"labs-{profile}").resolve()
    out.mkdir(parents=True, exist_ok=True)
    expected_dir = root / "tests" / "lab_outputs" / profile
    env = {**os.environ, "LAB_PROFILE": profile, "PYTHONUNBUFFERED": "1", "LAB_EVIDENCE_DIR": str(out),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).parent), os.environ.get("PYTHONPATH")]))}
    if profile == "smoke":
        env.update(HF_HUB_OFFLINE="1", UNSLOTH_DISABLE_STATISTICS="1")
    for name, command in (("nvidia-smi.txt", ["nvidia-smi"]), ("pip-freeze.txt", [sys.executable, "-m", "pip", "freeze"])):
        try:
            result = subprocess.run(command, capture_output=True, text=True)
            (out / name).write_text(result.stdout + result.stderr, encoding="utf-8")
        except FileNotFoundError:
            (out / name).write_text(f"{command[0]}: not found\n", encoding="utf-8")

    run_dir = root / ".lab-run"
    # recording replaces what is stored (an intended change of a fact), so it compares nothing
    missing = prepare(root, run_dir, None if record else expected_dir)
    command = [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "--nbval-cell-timeout", "3600",
               "--nbval-sanitize-with", str(root / "scripts" / "nbval-sanitize.cfg"), "-p", "nbval_evidence",
               "-p", "no:cacheprovider", "-v", "-rs", "--color=no", *(str(run_dir / folder) for folder in FOLDERS)]
    with open(out / "nbval.log", "w", encoding="utf-8") as log:
        proc = subprocess.Popen(command, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for line in proc.stdout:
            sys.stdout.write(line)
            log.write(line)
        status = proc.wait()

    timings = json.loads((out / "timings.json").read_text()) if (out / "timings.json").exists() else {}
    slow = {name: s for name, s in timings.items() if profile == "smoke" and s > budget_s}
    for name, seconds in sorted(timings.items()):
        print(f"run_labs: {name}: {seconds:.0f} s" + (f", over the {budget_s:.0f} s budget" if name in slow else ""))
    if record and status == 0:
        expected_dir.mkdir(parents=True, exist_ok=True)
        for path in sorted((out / "recorded").glob("*.json")):
            shutil.copy(path, expected_dir / path.name)
        print(f"run_labs: checked outputs stored in {expected_dir.relative_to(root)}: commit them")
    elif missing and not record:
        print(f"run_labs: {len(missing)} checked cells have no stored output to compare with "
              f"({', '.join(missing[:5])}{', ...' if len(missing) > 5 else ''}). Run with --record "
              f"(make lab-{profile} RECORD=1) on a GPU and commit tests/lab_outputs/{profile}/.", file=sys.stderr)
    failed = status != 0 or bool(slow) or (bool(missing) and not record)
    print(f"run_labs: {profile} profile {'FAILED' if failed else 'passed'}; evidence in {out}")
    return int(failed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", choices=["smoke", "full"])
    parser.add_argument("--record", action="store_true", help="store the checked cells' outputs of this run")
    args = parser.parse_args(argv)
    out = Path(os.environ["OUT"]) if os.environ.get("OUT") else None
    return run(args.profile, out=out, record=args.record)


if __name__ == "__main__":
    sys.exit(main())
