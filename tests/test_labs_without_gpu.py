"""Run each lab as a student would on a machine with no GPU: it must stop at the start check with
the Korean message that says how to get a T4, not with a stack trace from deep inside a library."""
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from ftcourse.profiles import PROFILES

ROOT = Path(__file__).resolve().parent.parent
LABS = sorted((ROOT / "labs").glob("*.ipynb"))


@pytest.mark.parametrize("path", LABS, ids=lambda p: p.name)
def test_lab_stops_early_without_cuda(path, monkeypatch):
    monkeypatch.setenv("LAB_PROFILE", "smoke")
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    with pytest.raises(CellExecutionError) as err:
        client.execute()
    message = str(err.value)
    assert "LabError" in message and "CUDA GPU가 보이지 않습니다" in message and "T4" in message
    executed = [c for c in nb.cells if c.cell_type == "code" and c.get("execution_count")]
    failing = executed[-1]
    assert "start_lab(" in failing.source, "the lab failed somewhere other than its start check"
    printed = "".join(o.get("text", "") for o in failing.outputs if o.get("output_type") == "stream")
    assert "프로필(profile): smoke" in printed, "the lab must say which profile runs"
    # and the values it really uses: the parameters cell's step count, else the profile's
    steps = nb.metadata["course"].get("max_steps", PROFILES["smoke"].max_steps)
    assert f"; {steps} steps," in printed, printed
