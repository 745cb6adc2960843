"""A pytest plugin for nbval runs of the labs (`-p nbval_evidence`, with scripts/ on PYTHONPATH).

nbval executes each notebook once and compares the cells marked `# NBVAL_CHECK_OUTPUT` with their
stored outputs; it keeps what each cell printed on the test item but writes nothing. This plugin
writes, into $LAB_EVIDENCE_DIR:
- executed/<folder>/<name>.ipynb: the notebook with every cell's outputs (a failing cell keeps its error);
- recorded/<name>.json: the outputs of the checked cells, by cell id (what `--record` commits);
- timings.json: wall seconds per notebook, from its first cell's start to its last cell's end.
"""
from __future__ import annotations

import copy
import json
import os
import time
from pathlib import Path

import nbformat
import pytest

CHECK_MARK = "# NBVAL_CHECK_OUTPUT"
_runs: dict[str, dict] = {}
_failed: set[str] = set()


def is_checked(cell) -> bool:
    return cell.source.startswith(CHECK_MARK)  # the first line, as tests/test_labs.py requires


def pytest_runtest_setup(item):
    # after a failing cell the rest of its notebook can only fail with NameErrors: skip it
    if item.nodeid.split("::")[0] in _failed:
        pytest.skip("an earlier cell of this notebook failed")


def pytest_runtest_logreport(report):
    if report.when == "call" and report.failed:
        _failed.add(report.nodeid.split("::")[0])


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    run = _runs.setdefault(str(item.fspath), {"nb": getattr(item.parent, "nb", None), "cells": {}, "start": time.time()})
    yield
    run["end"] = time.time()
    if hasattr(item, "cell_num"):
        run["cells"][item.cell_num] = copy.deepcopy(getattr(item, "test_outputs", None) or [])


def pytest_sessionfinish(session):
    out = os.environ.get("LAB_EVIDENCE_DIR")
    if not out:
        return
    out = Path(out)
    timings = {}
    for path, run in _runs.items():
        if run["nb"] is None:
            continue
        notebook = Path(path)
        name = f"{notebook.parent.name}/{notebook.name}"
        timings[name] = round(run.get("end", run["start"]) - run["start"], 1)
        executed = copy.deepcopy(run["nb"])
        recorded = {}
        code_cells = [c for c in executed.cells if c.cell_type == "code"]
        for number, cell in enumerate(code_cells):
            cell.outputs = [nbformat.from_dict(o) for o in run["cells"].get(number, [])]
            cell.execution_count = number + 1 if number in run["cells"] else None
            if number in run["cells"] and is_checked(cell):
                recorded[cell.id] = [dict(o) for o in run["cells"][number]]
        target = out / "executed" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(executed, target)
        if notebook.parent.name == "solutions":
            (out / "recorded").mkdir(parents=True, exist_ok=True)
            (out / "recorded" / f"{notebook.stem}.json").write_text(
                json.dumps(recorded, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    (out / "timings.json").write_text(json.dumps(timings, indent=1, sort_keys=True) + "\n", encoding="utf-8")
