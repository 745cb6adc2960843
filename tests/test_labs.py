"""The lab conventions, checked on every lab: recipe knobs, exercises, checked outputs, skeleton.

These read the notebooks; they cannot run them (no GPU here). What they can run on the CPU, they
run: each exercise's check with the student's stub, and each lab through papermill up to its start
check, with a knob changed the way a maintainer would change it.
"""
from __future__ import annotations

import ast
import contextlib
import io
import re
import textwrap

import nbformat
import pytest

from ftcourse import adapters, labgen, merge_lab, quant_lab, steps
from ftcourse.checks import NOT_ANSWERED, check_answer
from ftcourse.labtemplate import TEMPLATE_IDS
from ftcourse.paths import REPO_ROOT
from ftcourse.recipes import LABS, knob_name, knobs, resolve

from .conftest import CPU_RUN_OF_LAB

SOLUTIONS = sorted((REPO_ROOT / "solutions").glob("*.ipynb"))
NAMES = [p.stem for p in SOLUTIONS]
CHECK_MARK = "# NBVAL_CHECK_OUTPUT"
# library keywords that carry a recipe value: a literal there is a knob hidden from the parameters cell
RECIPE_KEYWORDS = {"r", "lora_alpha", "max_steps", "learning_rate", "per_device_train_batch_size",
                   "gradient_accumulation_steps", "max_length", "max_seq_length", "seed", "random_state",
                   "warmup_steps", "weight_decay", "load_in_4bit", "model_name"}


def notebook(folder: str, name: str):
    return nbformat.read(REPO_ROOT / folder / f"{name}.ipynb", as_version=4)


def body(nb) -> list:
    return [c for c in nb.cells if c.get("id") not in TEMPLATE_IDS]


def code(cells) -> list[tuple[str, ast.Module]]:
    return [(c.id, ast.parse(c.source)) for c in cells if c.cell_type == "code"]


# ----------------------------------------------------------------------------- recipe knobs
def knob_problems(cells, lab: str) -> list[str]:
    """Recipe values a lab body uses without its parameters cell: the reasons, one per finding."""
    lab_knobs = knobs(lab)
    properties = {name for cls in type(LABS[lab].full).__mro__ for name, value in vars(cls).items()
                  if isinstance(value, property)} | {"summary"}
    problems = []
    for cell_id, tree in code(cells):
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "recipe"
                    and node.attr not in lab_knobs and node.attr not in properties):
                problems.append(f"{cell_id}: recipe.{node.attr} is not a knob of the recipe")
            if isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for name in (t.id for t in targets if isinstance(t, ast.Name)):
                    if name in {knob_name(k) for k in lab_knobs} | {"LAB_PROFILE"}:
                        problems.append(f"{cell_id}: {name} is set outside the parameters cell")
            if isinstance(node, ast.Call):
                for keyword in node.keywords:
                    if keyword.arg in RECIPE_KEYWORDS and isinstance(keyword.value, ast.Constant):
                        problems.append(f"{cell_id}: {keyword.arg}={keyword.value.value!r} is typed, not taken from the recipe")
    return problems


@pytest.mark.parametrize("name", NAMES)
def test_every_recipe_value_comes_from_the_parameters_cell(name):
    nb = notebook("solutions", name)
    params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    assigned = [t.id for node in ast.parse(params.source).body for t in node.targets]
    assert assigned == ["LAB_PROFILE", *(knob_name(k) for k in knobs(name))], "the parameters cell lacks a knob"
    start = next(c for c in nb.cells if c.get("id") == "lab-start")
    passed = {kw.arg: kw.value.id for node in ast.walk(ast.parse(start.source)) if isinstance(node, ast.Call)
              for kw in node.keywords}
    assert passed == {k: knob_name(k) for k in knobs(name)}, "the start cell does not pass every knob to start_lab"
    assert knob_problems(body(nb), name) == []


def test_knob_problems_are_found():
    cell = nbformat.v4.new_code_cell(
        "LORA_R = 8\nmodel = get_peft_model(model, r=8, lora_alpha=recipe.lora_alpha)\nprint(recipe.rank)")
    cell.id = "probe"
    found = knob_problems([cell], "lab1_first_qlora")
    assert len(found) == 3 and "LORA_R is set" in found[0] and "r=8" in found[1] and "recipe.rank" in found[2]


@pytest.mark.parametrize("name", NAMES)
def test_papermill_changes_a_knob(name, tmp_path, monkeypatch):
    """As a maintainer would: papermill -p LORA_R 16 -p LAB_PROFILE smoke. No GPU here, so the lab must
    stop at its start check with the Korean message, after printing the recipe it would have used."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    monkeypatch.delenv("LAB_PROFILE", raising=False)
    out = tmp_path / f"{name}.ipynb"
    with pytest.raises(PapermillExecutionError) as error:
        papermill.execute_notebook(str(REPO_ROOT / "labs" / f"{name}.ipynb"), str(out), cwd=str(REPO_ROOT / "labs"),
                                   parameters={"LAB_PROFILE": "smoke", "LORA_R": 16}, progress_bar=False,
                                   kernel_name="python3")
    assert error.value.ename == "LabError" and "CUDA GPU가 보이지 않습니다" in error.value.evalue
    executed = nbformat.read(out, as_version=4)
    start = next(c for c in executed.cells if c.get("id") == "lab-start")
    printed = "".join(o.get("text", "") for o in start.outputs if o.get("output_type") == "stream")
    _, smoke = resolve(name, "smoke", lora_r=16)
    assert f"프로필(profile): smoke — {smoke.summary()}" in printed and "LoRA r=16," in printed
    assert LABS[name].smoke_note in printed  # the smoke profile says its data are synthetic
    assert "Traceback" not in "".join(start.outputs[-1].get("traceback", []))  # one clean message


# ----------------------------------------------------------------------------- exercises
def exercise_cells(name: str):
    """(solution cell, its regions, the student's cell) for every code cell with an exercise."""
    solution, lab = notebook("solutions", name), notebook("labs", name)
    student = {c.id: c for c in lab.cells}
    for cell in body(solution):
        if cell.cell_type == "code":
            _, regions = labgen.parse(cell.source, f"{name}/{cell.id}")
            if regions:
                yield cell, regions, student[cell.id]


def region_names(regions) -> set[str]:
    return {t.id for r in regions for node in ast.parse(textwrap.dedent("\n".join(r.answer))).body
            if isinstance(node, ast.Assign) for t in node.targets if isinstance(t, ast.Name)}


def check_calls(tree) -> list[ast.Call]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "check_answer"]


def _literal_forms(value) -> set[str]:
    if isinstance(value, bool):
        return {str(value)}
    if isinstance(value, (int, float)):
        return {repr(value), f"{value:,}", f"{value:g}"}
    return {str(value)} if isinstance(value, str) and len(value) > 1 else set()


def leaks(markdown_above: str, cell_source: str, where: str) -> list[str]:
    """Ways an exercise gives its answer away before the student works it out."""
    found = []
    parts, regions = labgen.parse(cell_source, where)
    names = region_names(regions)
    for region in regions:
        above = "\n".join(p for p in parts[: parts.index(region)] if isinstance(p, str))
        for node in ast.parse(textwrap.dedent("\n".join(region.answer))).body:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
                for form in _literal_forms(node.value.value):
                    if re.search(rf"(?<![\w.]){re.escape(form)}(?![\w])", markdown_above + "\n" + above):
                        found.append(f"{where}: the answer {form} is in the text above the exercise")
    for call in check_calls(ast.parse(cell_source)):
        answer, expected = call.args[1], call.args[2]
        answers_a_blank = any(isinstance(n, ast.Name) and n.id in names for n in ast.walk(answer))
        value = expected.body if isinstance(expected, ast.Lambda) else expected
        constant = not any(isinstance(n, ast.Name) for n in ast.walk(value))
        if answers_a_blank and not isinstance(expected, ast.Lambda) and constant:
            found.append(f"{where}: the expected value is written in the check, not computed when answered")
        elif answers_a_blank and constant and not isinstance(answer, ast.BoolOp):
            found.append(f"{where}: the expected value {ast.unparse(value)} is in plain sight")
    return found


@pytest.mark.parametrize("name", NAMES)
def test_no_exercise_gives_its_answer_away(name):
    solution = notebook("solutions", name)
    previous_markdown = {}
    text = ""
    for cell in solution.cells:
        if cell.cell_type == "markdown":
            text = cell.source
        previous_markdown[cell.id] = text
    count = 0
    for cell, regions, student in exercise_cells(name):
        count += 1
        answer_lines = {line.strip() for r in regions for line in r.answer if line.strip() and not line.strip().startswith("#")}
        copied = [line for line in student.source.splitlines() if line.strip() in answer_lines]
        assert not copied, f"{name}/{cell.id}: answer lines in the student lab: {copied[:3]}"
        assert leaks(previous_markdown[cell.id], cell.source, f"{name}/{cell.id}") == []
    written = [c for c in solution.cells if "solution" in c.metadata.get("tags", [])]
    lab_cells = {c.id: c for c in notebook("labs", name).cells}
    assert all(lab_cells[c.id].source == labgen.ANSWER_BOX for c in written)
    assert count >= 3, f"{name}: fewer than three exercises that check themselves"


LEAKY = '''candidates[2]["from"] = "bot"
# BEGIN SOLUTION
broken_index = 2
# BEGIN STUB
# broken_index = None
# END SOLUTION
check_answer("x", broken_index, 2)'''


def test_leaks_are_found():
    found = leaks("", LEAKY, "probe")
    assert any("answer 2 is in the text above" in f for f in found)
    assert any("written in the check" in f for f in found)
    constant = LEAKY.replace('check_answer("x", broken_index, 2)', 'check_answer("x", broken_index, lambda: 2)')
    assert any("in plain sight" in f for f in leaks("", constant.replace('candidates[2]', 'candidates[i]'), "probe"))
    tuple_answer = LEAKY.replace('check_answer("x", broken_index, 2)', 'check_answer("x", broken_index, (8, 2560))')
    assert any("written in the check" in f for f in leaks("", tuple_answer, "probe"))
    fine = LEAKY.replace("broken_index = 2", "broken_index = find(candidates)").replace(
        'check_answer("x", broken_index, 2)', 'check_answer("x", broken_index, lambda: hidden)')
    assert leaks("행 2를 찾으세요", fine.replace("candidates[2]", "candidates[i]"), "probe") == []
    assert leaks("0.0048이 찍혀 있습니다", LEAKY.replace("= 2\n", "= 0.0048\n"), "probe")


@pytest.mark.parametrize("name", NAMES)
def test_every_check_with_the_stub_says_not_answered(name):
    """Each exercise's check, run on the CPU with exactly what the student lab has in the blank."""
    for cell, regions, student in exercise_cells(name):
        stub = "\n".join(textwrap.dedent("\n".join(r.stub)) for r in regions)
        tree = ast.parse(student.source)
        checks = [node for node in tree.body if check_calls(node)]
        program = stub + "\n" + "\n".join(ast.unparse(node) for node in checks)
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(program, f"{name}/{cell.id}", "exec"), {"check_answer": check_answer})
        lines = printed.getvalue().splitlines()
        assert lines and all(NOT_ANSWERED in line for line in lines), (cell.id, lines)
        assert len(lines) == sum(len(check_calls(node)) for node in checks)


# ----------------------------------------------------------------------------- checked outputs
def checked_cells(nb) -> list:
    return [c for c in body(nb) if c.cell_type == "code" and c.source.startswith(CHECK_MARK)]


REPORT_MODULES = {"steps": steps, "adapters": adapters, "quant_lab": quant_lab, "merge_lab": merge_lab}


def report_calls(cell) -> list[str]:
    """The reports (ftcourse.steps' or ftcourse.adapters' describe_*/check_*) a checked cell calls;
    fails if it does anything else."""
    names = []
    for node in ast.parse(cell.source).body:
        value = node.value if isinstance(node, (ast.Expr, ast.Assign)) else None
        func = getattr(value, "func", None)
        assert (isinstance(func, ast.Attribute) and getattr(func.value, "id", "") in REPORT_MODULES
                and func.attr.startswith(("describe_", "check_"))), (
            f"{cell.id}: a checked cell may only call the labs' reports, not {ast.unparse(node)}")
        assert hasattr(REPORT_MODULES[func.value.id], func.attr), f"{cell.id}: no report {ast.unparse(func)}"
        names.append(func.attr)
    return names


@pytest.mark.parametrize("name", NAMES)
def test_facts_are_checked_by_nbval(name, request):
    cells = checked_cells(notebook("solutions", name))
    assert len(cells) >= 5, f"{name}: fewer than five cells marked {CHECK_MARK}"
    reports = {r for c in cells for r in report_calls(c)}
    # every report a lab checks has run on the CPU, and its output survives the sanitizer (test_nbval_sanitize)
    cpu_run = request.getfixturevalue(CPU_RUN_OF_LAB[name])
    assert reports <= set(cpu_run.printed), reports - set(cpu_run.printed)


# ----------------------------------------------------------------------------- skeleton
def headings(nb) -> list[str]:
    return [line for c in nb.cells if c.cell_type == "markdown" for line in c.source.splitlines()
            if line.startswith("## ")]


@pytest.mark.parametrize("folder", ["solutions", "labs"])
@pytest.mark.parametrize("name", NAMES)
def test_lab_skeleton(folder, name):
    nb = notebook(folder, name)
    assert [c.get("id") for c in nb.cells[:4]] == list(TEMPLATE_IDS)
    assert "parameters" in nb.cells[2].metadata["tags"]
    assert nb.metadata["accelerator"] == "GPU" and nb.metadata["colab"]["gpuType"] == "T4"
    titles = headings(nb)
    assert titles[0].startswith("## 0. 시작 점검") and titles[-1] == "## 정리"
    assert re.fullmatch(r"## \d+\. 연습 문제", titles[-2]), f"{name}: exercises must come right before ## 정리"
    numbers = [int(t[3:].split(".")[0]) for t in titles[:-1]]
    assert numbers == list(range(len(numbers))), f"{name}: sections are numbered 0, 1, 2, ...: {titles}"
    exercises_at = next(i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and titles[-2] in c.source)
    for i, cell in enumerate(nb.cells):
        is_exercise = "solution" in cell.metadata.get("tags", []) or "check_answer(" in cell.source
        assert not is_exercise or i >= exercises_at, f"{name}: an exercise before the exercise section ({cell.id})"
    assert nb.cells[-1].cell_type == "markdown" and nb.cells[-1].source.startswith("## 정리")
    prefix = name.split("_")[0]
    odd = [c.id for c in body(nb) if not re.fullmatch(rf"{prefix}-\d\d", c.id)]
    assert not odd, f"{name}: body cells are named {prefix}-00, {prefix}-01, ...; rename {odd[:5]}"


# ----------------------------------------------------------------------------- the Colab setup cell
def run_setup_cell(tmp_path, origin, clone_dir, course_code: str):
    """The labs' real setup cell, in a fresh Python that looks like Colab (a google.colab module),
    with the course repository served from a local clone instead of GitHub."""
    import subprocess
    import sys

    from ftcourse.labtemplate import COLAB_CLONE_DIR, repo_url

    setup = next(c for c in notebook("labs", NAMES[0]).cells if c.get("id") == "lab-setup").source
    cell = (setup.replace(repo_url(), str(origin)).replace(COLAB_CLONE_DIR, str(clone_dir))
            .replace(re.search(r'COURSE_CODE = "(\w+)"', setup).group(1), course_code))
    (tmp_path / "cell.py").write_text(cell, encoding="utf-8")
    colab = ("import sys, types; sys.modules['google'] = types.ModuleType('google'); "
             "sys.modules['google.colab'] = types.ModuleType('google.colab'); "
             "exec(compile(open(sys.argv[1], encoding='utf-8').read(), 'setup-cell', 'exec'))")
    return subprocess.run([sys.executable, "-c", colab, str(tmp_path / "cell.py")], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)


def test_colab_setup_cell_clones_the_notebooks_code_and_checks_the_gpu_before_installing(tmp_path):
    import subprocess

    from ftcourse.version import commit_digest

    origin = tmp_path / "origin.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(REPO_ROOT), str(origin)], check=True)
    head = subprocess.run(["git", "-C", str(origin), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    wanted = commit_digest(origin, head)
    clone = tmp_path / "content" / "llm-finetuning"
    # first run in a fresh runtime: clone, the code matches, then no GPU: stop before any pip install
    first = run_setup_cell(tmp_path, origin, clone, wanted)
    assert first.returncode != 0 and "CUDA GPU가 보이지 않습니다" in first.stderr, first.stderr[-2000:]
    assert "pip" not in first.stdout and (clone / "ftcourse" / "colab.py").exists()
    # a runtime that kept an older clone: it is brought up to date, then matched to the notebook
    subprocess.run(["git", "-C", str(clone), "checkout", "-q", "--detach", "HEAD~1"], check=True)
    again = run_setup_cell(tmp_path, origin, clone, wanted)
    assert "CUDA GPU가 보이지 않습니다" in again.stderr
    now = subprocess.run(["git", "-C", str(clone), "rev-parse", "HEAD"], capture_output=True, text=True).stdout
    assert commit_digest(clone, now.strip()) == wanted
    # a notebook from a version the repository never had: a clear message, nothing installed
    unknown = run_setup_cell(tmp_path, origin, clone, "0" * 16)
    assert "찾지 못했습니다" in unknown.stderr and "CUDA" not in unknown.stderr
