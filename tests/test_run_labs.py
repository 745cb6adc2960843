"""scripts/run_labs.py on the CPU, with a toy notebook in place of the labs (which need a GPU):
one nbval execution per notebook, checked cells compared with the stored outputs of an earlier run,
a missing stored output fails unless recorded, a changed fact fails, evidence is kept."""
from __future__ import annotations

import importlib.util
import json
import shutil

import nbformat
import pytest

from ftcourse.paths import REPO_ROOT

spec = importlib.util.spec_from_file_location("run_labs", REPO_ROOT / "scripts" / "run_labs.py")
run_labs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(run_labs)

SETUP = "import os, random, time\nCOUNT = int(os.environ.get('TOY_COUNT', '16515072'))"
# varies from run to run (a loss, a duration, a path) around a fact that must not change (a count)
FACT = ("# NBVAL_CHECK_OUTPUT\n"
        "print(f'학습 파라미터 {COUNT:,}개, 손실 {1 + random.random():.3f}, {time.time() % 100:.1f}초, {os.getcwd()}')")


def toy_repo(tmp_path, extra: str = ""):
    (tmp_path / "scripts").mkdir(parents=True)
    shutil.copy(REPO_ROOT / "scripts" / "nbval-sanitize.cfg", tmp_path / "scripts")
    for folder in run_labs.FOLDERS:
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nb.cells = [nbformat.v4.new_code_cell(SETUP), nbformat.v4.new_code_cell(FACT)]
        if extra:
            nb.cells.append(nbformat.v4.new_code_cell(extra))
        nb.cells.append(nbformat.v4.new_code_cell("print('the end')"))
        for i, cell in enumerate(nb.cells):
            cell.id = f"toy-{i}"
        (tmp_path / folder).mkdir(exist_ok=True)
        nbformat.write(nb, tmp_path / folder / "toy.ipynb")
    return tmp_path


def run(root, out, monkeypatch, count="16515072", record=False):
    monkeypatch.setenv("TOY_COUNT", count)
    return run_labs.run("smoke", root=root, out=out, record=record)


def test_record_then_compare(tmp_path, monkeypatch, capsys):
    root = toy_repo(tmp_path / "repo")
    # nothing stored yet: the run says how to record, and fails
    assert run(root, tmp_path / "out0", monkeypatch) == 1
    assert "no stored output" in capsys.readouterr().err
    # --record on a good run stores what the checked cell printed
    assert run(root, tmp_path / "out1", monkeypatch, record=True) == 0
    stored = json.loads((root / "tests" / "lab_outputs" / "smoke" / "toy.json").read_text())
    assert list(stored) == ["toy-1"] and "16,515,072개" in stored["toy-1"][0]["text"]
    # a second run prints another loss, time and folder: the same after sanitizing, so it passes
    assert run(root, tmp_path / "out2", monkeypatch) == 0
    log = (tmp_path / "out2" / "nbval.log").read_text()
    assert "6 passed" in log  # 3 cells x (solution + student lab), one execution each
    executed = nbformat.read(tmp_path / "out2" / "executed" / "labs" / "toy.ipynb", as_version=4)
    assert "16,515,072개" in executed.cells[1].outputs[0]["text"] and executed.cells[1].execution_count == 2
    timings = json.loads((tmp_path / "out2" / "timings.json").read_text())
    assert set(timings) == {"solutions/toy.ipynb", "labs/toy.ipynb"}
    # a fact that changed (a library now counts other parameters) fails the run
    assert run(root, tmp_path / "out3", monkeypatch, count="16515073") == 1
    assert "Cell outputs differ" in (tmp_path / "out3" / "nbval.log").read_text()
    # an intended change is recorded again: --record compares nothing and replaces what is stored
    assert run(root, tmp_path / "out4", monkeypatch, count="16515073", record=True) == 0
    assert run(root, tmp_path / "out5", monkeypatch, count="16515073") == 0


def test_a_failing_cell_stops_its_notebook_and_is_kept_with_its_error(tmp_path, monkeypatch):
    root = toy_repo(tmp_path / "repo", extra="raise ValueError('boom')")
    assert run(root, tmp_path / "out", monkeypatch, record=True) == 1
    log = (tmp_path / "out" / "nbval.log").read_text()
    assert "boom" in log and "an earlier cell of this notebook failed" in log
    executed = nbformat.read(tmp_path / "out" / "executed" / "solutions" / "toy.ipynb", as_version=4)
    assert executed.cells[2].outputs[-1]["ename"] == "ValueError" and executed.cells[3].outputs == []
    assert not (root / "tests" / "lab_outputs").exists()  # a failed run records nothing


def test_the_smoke_budget(tmp_path, monkeypatch, capsys):
    root = toy_repo(tmp_path / "repo", extra="time.sleep(0.5)")
    assert run(root, tmp_path / "out1", monkeypatch, record=True) == 0
    monkeypatch.setenv("TOY_COUNT", "16515072")
    assert run_labs.run("smoke", root=root, out=tmp_path / "out2", budget_s=0.3) == 1
    assert "over the 0 s budget" in capsys.readouterr().out


@pytest.mark.parametrize("lab", sorted(p.stem for p in (REPO_ROOT / "solutions").glob("*.ipynb")))
def test_the_labs_checked_cells_are_found(lab, tmp_path):
    missing = run_labs.prepare(REPO_ROOT, tmp_path / "run", tmp_path / "no-outputs")
    assert sum(m.startswith(f"{lab}/") for m in missing) >= 5
    assert (tmp_path / "run" / "labs" / f"{lab}.ipynb").exists()
