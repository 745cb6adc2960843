"""The lab template: the cells every lab starts with, rendered from one place.

`make labs` (ftcourse.labgen) re-renders these four cells in each solution and in its student lab:

1. header: title, what you learn, time, the memory estimate of the lab's full recipe (computed
   here with the course's estimator), figures from published runs (cited), the Colab link;
2. setup: in Colab, clone the course repository, check out the code this notebook was generated
   with (ftcourse.version), optionally cache the hub on Google Drive, check the GPU and install the
   lab pins without touching torch (ftcourse.colab); elsewhere, find the repository's code;
3. parameters (papermill's `parameters` tag): one knob per field of the lab's recipe type;
4. start: `start_lab(...)` with every knob, so a knob cannot be forgotten.

So the repository URL, the pins, the code digest and the recipe are never copied by hand.
"""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import nbformat
import yaml

from .paths import REPO_ROOT
from .recipes import LABS, PROFILES, Recipe, knob_name, knobs, shown

TEMPLATE_TAG = "lab-template"
TEMPLATE_IDS = ("lab-header", "lab-setup", "lab-parameters", "lab-start")
COLAB_BASE = "https://colab.research.google.com/github"
COLAB_CLONE_DIR = "/content/llm-finetuning"
# Colab opens a notebook on the runtime its metadata asks for: a GPU, and the free tier's T4.
COLAB_METADATA = {"accelerator": "GPU", "colab": {"gpuType": "T4", "provenance": []}}
T4_USABLE_GIB = 14.74  # a Colab T4's total memory as PyTorch reports it (16 GB nominal)


def repo_url(root: Path = REPO_ROOT) -> str:
    """The one repository URL, from the book's _config.yml."""
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    return config["repository"]["url"].rstrip("/")


def gpu_pins(root: Path = REPO_ROOT) -> list[str]:
    """`name==version` lines of requirements-gpu.txt, in file order."""
    lines = (root / "requirements-gpu.txt").read_text(encoding="utf-8").splitlines()
    return [ln.strip() for ln in lines if re.match(r"^[A-Za-z0-9_.-]+==", ln.strip())]


def colab_url(notebook_path: str, root: Path = REPO_ROOT) -> str:
    """notebook_path is relative to the repository root, e.g. labs/lab1_first_qlora.ipynb."""
    repository = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))["repository"]
    owner_repo = repository["url"].rstrip("/").removeprefix("https://github.com/")
    return f"{COLAB_BASE}/{owner_repo}/blob/{repository.get('branch', 'main')}/{notebook_path}"


def full_recipe_estimate_gib(lab: str) -> float | None:
    """The course estimator's peak for the lab's full recipe (ftcourse.labs.peak_estimate_bytes);
    None when the course does not know the model's architecture."""
    from .labs import model_config, peak_estimate_bytes

    recipe = LABS[lab].full
    config = model_config(recipe)
    return None if config is None else peak_estimate_bytes(recipe, config) / 2**30


def _memory_cells(estimate: float | None) -> tuple[str, str]:
    if estimate is None:
        return "시작 점검이 출력(이 모델의 구조는 추정식에 없음)", "NVIDIA GPU"
    fits = (f"Colab 무료 T4(PyTorch가 보는 전체 {T4_USABLE_GIB} GiB)에 들어갑니다" if estimate < T4_USABLE_GIB
            else "T4에는 들어가지 않습니다: 더 큰 GPU가 필요합니다")
    return (f"예상 최대 약 {estimate:.1f} GiB (강의의 추정식이며 실제 최대는 이보다 클 수 있음; 시작 점검이 다시 계산)",
            f"NVIDIA GPU. {fits}")


def _header(meta: dict, lab: str, notebook_path: str, is_solution: bool, root: Path) -> str:
    learn = "\n".join(f"- {item}" for item in meta["learn"])
    memory, needs = _memory_cells(full_recipe_estimate_gib(lab))
    lines = [
        f"# {meta['title']}",
        "",
        "**이 실습에서 배우는 것**",
        "",
        learn,
        "",
        "| 예상 시간 | GPU 메모리 (full 프로필) | 필요한 것 |",
        "| --- | --- | --- |",
        f"| {meta['time']} | {memory} | {needs} |",
    ]
    if LABS[lab].cited_runs:
        lines += ["", "공개된 실행 기록(인용한 값이며, 이 강의가 잰 값이 아닙니다):", "",
                  *(f"- {run}" for run in LABS[lab].cited_runs)]
    lines += ["", f"[▶ Colab에서 열기 (Open in Colab)]({colab_url(notebook_path, root)})"]
    if is_solution:
        student = Path(notebook_path).name
        lines += ["", f"이 노트북은 **해답**입니다. 빈칸이 있는 학생용 실습: [사이트의 실습 페이지]({'../labs/' + student}), "
                      f"[Colab에서 열기]({colab_url('labs/' + student, root)})"]
    return "\n".join(lines)


def _setup_code(root: Path, code_digest: str) -> str:
    pins = ",\n".join(f'    "{p}"' for p in gpu_pins(root))
    return f'''# 준비(setup). Colab에서는 강의 저장소를 받아 이 노트북을 만든 버전의 코드로 맞추고,
# GPU를 확인한 뒤 실습 패키지를 설치합니다(Colab에 깔린 torch와 numpy는 건드리지 않습니다).
# 다른 곳에서는 이 노트북이 든 저장소의 코드(ftcourse)를 씁니다.
import os
import subprocess
import sys
from pathlib import Path

REPO_URL = "{repo_url(root)}"
COURSE_CODE = "{code_digest}"  # 이 노트북을 만든 강의 코드의 지문(make labs가 적음)
LAB_PINS = [
{pins},
]
HF_CACHE_ON_DRIVE = False  # True면 모델과 데이터를 Google Drive에 캐시합니다(실습 0의 4절)

if "google.colab" in sys.modules:
    repo = Path("{COLAB_CLONE_DIR}")
    if repo.exists():  # 이 런타임에서 전에 받아 둔 저장소: 먼저 최신으로
        subprocess.run(["git", "-C", str(repo), "fetch", "-q", "origin"], check=True)
        subprocess.run(["git", "-C", str(repo), "checkout", "-q", "--detach", "origin/HEAD"], check=True)
    else:
        subprocess.run(["git", "clone", "-q", "--filter=blob:none", REPO_URL, str(repo)], check=True)
    sys.path.insert(0, str(repo))
    from ftcourse.version import checkout_matching

    checkout_matching(repo, COURSE_CODE)
    if HF_CACHE_ON_DRIVE:
        from google.colab import drive

        drive.mount("/content/drive")
        os.environ["HF_HOME"] = "/content/drive/MyDrive/hf-cache"
    from ftcourse.colab import install

    install(LAB_PINS)
else:
    repo = next((p for p in [Path.cwd(), *Path.cwd().parents] if (p / "ftcourse").is_dir()), None)
    if repo is None:
        raise SystemExit(f"강의 저장소 안에서 실행하세요: git clone {{REPO_URL}} 한 뒤 그 안의 이 노트북을 엽니다. "
                         "(Run this notebook inside a clone of the course repository.)")
    sys.path.insert(0, str(repo))
    from ftcourse.version import worktree_digest

    if worktree_digest(repo) != COURSE_CODE:
        print("주의: 이 노트북은 지금 저장소의 코드와 다른 버전에서 만들어졌습니다. `make labs`로 다시 만드세요.")'''


def _value(recipe: Recipe, name: str) -> str:
    value = getattr(recipe, name)
    if isinstance(value, tuple):  # written as a list: what papermill passes and a student types
        return str(list(value))
    if value == "":
        return '""'  # an empty choice (e.g. "none" or "automatic"), shown as such
    return shown(value) if isinstance(value, str) else f"{value:g}" if isinstance(value, float) else str(value)


def _parameters_code(lab: str) -> str:
    recipes = {profile: LABS[lab].recipe(profile) for profile in PROFILES}
    width = max(len(knob_name(name)) for name in knobs(lab)) + len(" = None")
    lines = [
        "# parameters: 이 실습의 레시피입니다. None이면 고른 프로필의 값을 씁니다(주석의 full / smoke 값).",
        "# 값을 바꾼 뒤 이 셀과 아래 시작 점검 셀부터 다시 실행하세요. papermill로도 바꿉니다:",
        "# papermill 실습.ipynb 결과.ipynb -p LORA_R 16",
        f'{"LAB_PROFILE = None":<{width}}  # "full" 또는 "smoke"; None이면 환경 변수 LAB_PROFILE, 그것도 없으면 "full"',
    ]
    for f in dataclasses.fields(LABS[lab].full):
        values = [_value(recipes[p], f.name) for p in PROFILES]
        profile_values = (f"{values[0]}" if values[0] == values[1]
                          else ", ".join(f"{p} {v}" for p, v in zip(PROFILES, values)))
        lines.append(f"{knob_name(f.name) + ' = None':<{width}}  # {f.metadata['help']} — {profile_values}")
    return "\n".join(lines)


def _start_code(lab: str) -> str:
    rows, row = [], "   "
    for item in (f"{name}={knob_name(name)}" for name in knobs(lab)):
        if len(row) + len(item) + 2 > 100:
            rows.append(row.rstrip())
            row = "   "
        row += f" {item},"
    rows.append(row)
    return "\n".join([
        "# 시작 점검(start check): 위의 값으로 이 실습의 레시피를 정해 출력하고, 끝까지 돌릴 수 있는지",
        "# (GPU, 모델 허브, GPU 메모리) 먼저 확인합니다. 문제가 있으면 무엇을 하면 되는지 알려 주며 멈춥니다.",
        "from ftcourse.labs import start_lab",
        "",
        f'recipe = start_lab(\n    "{lab}", LAB_PROFILE,',
        *rows,
        ")",
    ])


def template_cells(meta: dict, lab: str, notebook_path: str, is_solution: bool, code_digest: str,
                   root: Path = REPO_ROOT) -> list:
    """The four cells at the top of every lab, with fixed ids so diffs stay quiet."""
    header = nbformat.v4.new_markdown_cell(_header(meta, lab, notebook_path, is_solution, root))
    setup = nbformat.v4.new_code_cell(_setup_code(root, code_digest))
    params = nbformat.v4.new_code_cell(_parameters_code(lab))
    start = nbformat.v4.new_code_cell(_start_code(lab))
    for cell, cell_id in zip((header, setup, params, start), TEMPLATE_IDS):
        cell.id = cell_id
        cell.metadata = {"tags": [TEMPLATE_TAG, "parameters"] if cell is params else [TEMPLATE_TAG]}
    return [header, setup, params, start]
