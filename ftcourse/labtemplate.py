"""The lab template: the cells every lab starts with, rendered from one place.

`make labs` (ftcourse.labgen) re-renders these cells in each solution and in its student lab, so the
repository URL, the GPU pins and the profile defaults are never copied by hand.
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import yaml

from .profiles import PROFILES, REPO_ROOT

TEMPLATE_TAG = "lab-template"
COLAB_BASE = "https://colab.research.google.com/github"
COLAB_CLONE_DIR = "/content/llm-finetuning"


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
    owner_repo = repo_url(root).removeprefix("https://github.com/")
    return f"{COLAB_BASE}/{owner_repo}/blob/main/{notebook_path}"


def _header(meta: dict, notebook_path: str, is_solution: bool, root: Path) -> str:
    learn = "\n".join(f"- {item}" for item in meta["learn"])
    lines = [
        f"# {meta['title']}",
        "",
        "**이 실습에서 배우는 것**",
        "",
        learn,
        "",
        "| 예상 시간 | GPU 메모리 (full 프로필) | 필요한 것 |",
        "| --- | --- | --- |",
        f"| {meta['time']} | {meta['gpu_memory']} | NVIDIA GPU (Colab T4 15 GB면 충분) |",
        "",
        f"[▶ Colab에서 열기 (Open in Colab)]({colab_url(notebook_path, root)})",
    ]
    if is_solution:
        student = Path(notebook_path).name
        lines += ["", f"이 노트북은 **해답**입니다. 빈칸이 있는 학생용 실습은 [여기]({'../labs/' + student})에 있습니다."]
    return "\n".join(lines)


def _setup_code(root: Path) -> str:
    pins = ",\n".join(f'    "{p}"' for p in gpu_pins(root))
    return f'''# 준비(setup): Colab에서는 고정된 버전의 실습 패키지를 설치하고
# 강의 저장소(공용 코드, 오프라인 데이터)를 받습니다.
# 다른 곳에서는 이 노트북이 든 저장소의 공용 코드(ftcourse)를 찾습니다.
import subprocess
import sys
from pathlib import Path

REPO_URL = "{repo_url(root)}"
LAB_PINS = [
{pins},
]

if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", *LAB_PINS], check=True)
    repo = Path("{COLAB_CLONE_DIR}")
    if not repo.exists():
        subprocess.run(["git", "clone", "-q", "--depth", "1", REPO_URL, str(repo)], check=True)
else:
    repo = next((p for p in [Path.cwd(), *Path.cwd().parents] if (p / "ftcourse").is_dir()), Path.cwd())
sys.path.insert(0, str(repo))'''


def _parameters_code(meta: dict) -> str:
    full, smoke = PROFILES["full"], PROFILES["smoke"]
    # a lab may fix its own step count (lab 0 trains 5 steps only to prove the setup)
    if "max_steps" in meta:
        steps = f"MAX_STEPS = {meta['max_steps']:<10d} # 학습 스텝 수: 이 실습은 두 프로필 모두 {meta['max_steps']}"
    else:
        steps = f"MAX_STEPS = None       # 학습 스텝 수: full {full.max_steps}, smoke {smoke.max_steps}"
    return f'''# parameters: 실행 전에 바꾸거나 papermill이 덮어쓰는 값입니다.
# None이면 프로필의 기본값을 씁니다.
LAB_PROFILE = None     # "full" 또는 "smoke"; None이면 환경 변수 LAB_PROFILE, 그것도 없으면 "full"
{steps}
MAX_SEQ_LENGTH = None  # 최대 토큰 길이: full {full.max_seq_length}, smoke {smoke.max_seq_length}
BATCH_SIZE = None      # 장치당 배치 크기: full {full.batch_size}, smoke {smoke.batch_size}'''


def template_cells(meta: dict, notebook_path: str, is_solution: bool, root: Path = REPO_ROOT) -> list:
    """The three cells at the top of every lab, with fixed ids so diffs stay quiet."""
    header = nbformat.v4.new_markdown_cell(_header(meta, notebook_path, is_solution, root))
    setup = nbformat.v4.new_code_cell(_setup_code(root))
    params = nbformat.v4.new_code_cell(_parameters_code(meta))
    for cell, cell_id, tags in ((header, "lab-header", [TEMPLATE_TAG]),
                                (setup, "lab-setup", [TEMPLATE_TAG]),
                                (params, "lab-parameters", [TEMPLATE_TAG, "parameters"])):
        cell.id = cell_id
        cell.metadata = {"tags": tags}
    return [header, setup, params]
