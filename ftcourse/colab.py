"""Install the lab packages in Colab without touching Colab's torch.

The first code cell of every lab calls `install(LAB_PINS)` in Colab only. It must run before anything
else is installed, so this module imports nothing outside the standard library (and the stdlib-only
`ftcourse.errors` / `ftcourse.guards`).

Why not plain `pip install <pins>`
    unsloth 2026.10.5 and unsloth_zoo 2026.10.7 declare `torch<2.15.0,>=2.4.0`, `torchvision`,
    `triton`, `numpy` and (unsloth, on Linux x86-64) `xformers>=0.0.27.post2`; xformers builds ask
    for a given torch (0.0.33.post1: torch==2.9.0; 0.0.35: torch>=2.10). With full resolution pip
    picks the newest of each and moves Colab's CUDA torch to fit: torch 2.9 -> 2.14.1 (with triton
    and torchvision, but not torchaudio), torch 2.15 -> 2.14.1 (under unsloth's cap). Nothing holds
    numpy either.

Why not one `pip install -c constraints.txt <pins>` that pins Colab's versions
    On a runtime whose torch is above unsloth's cap (torch 2.15 today) the constraint
    `torch==2.15.0` and unsloth's `torch<2.15.0` cannot both hold: pip stops with
    ResolutionImpossible although Unsloth may well run there.

Why not `--no-deps` for everything
    Then the whole dependency tree (accelerate, tyro, cut_cross_entropy, torchao, ...) would be a
    hand-typed list that drifts from what the pinned releases declare.

What `plan()` does instead, in three steps (all `python -m pip install ...`)
    1. `--no-deps unsloth==... unsloth_zoo==...`: the two packages that carry the `torch<2.15.0` cap.
    2. `-c <constraints>` + the other pins + the requirements that unsloth and unsloth_zoo declare
       (read from their installed metadata after step 1, markers kept, extras dropped), minus the
       HELD packages, minus xformers, minus unsloth/unsloth_zoo. The constraints file pins every
       HELD package that is installed at its installed version, so pip may add and upgrade other
       packages but can never change torch & co: either it finds versions that fit, or it fails.
    3. Optional: xformers under the same constraints with `--only-binary=xformers`, so pip picks
       the prebuilt xformers made for the installed torch, or fails. Unsloth runs without
       xformers (it falls back to PyTorch's SDPA attention), so the lab goes on and says so.
    When Colab's torch lies outside the range unsloth declares, `install()` warns instead of
    refusing: it is the runtime Colab gives, and changing torch would break more than it fixes.

Nothing that is already imported changes (torch is imported only to look for the GPU), so the
runtime does not need a restart; `install()` checks that and says so.
tests/test_colab_install.py runs pip's resolver (`--dry-run`) on exactly these commands in
Colab-like environments (torch 2.9, 2.10 and the newest) and fails if torch would change.
"""
from __future__ import annotations

import importlib
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from .errors import LabError
from .guards import check_cuda

# Packages that come with Colab's runtime, built for each other and for its CUDA: pip must never
# change them.
HELD = ("torch", "torchvision", "torchaudio", "triton", "numpy")
# Installed without their dependencies: they carry the `torch<...` cap.
NO_DEPS = ("unsloth", "unsloth_zoo")
# Optional speed-up; Unsloth runs without it.
XFORMERS = "xformers"
CONSTRAINTS_PATH = Path(tempfile.gettempdir()) / "ftcourse-colab-constraints.txt"
PIP_TAIL_LINES = 30


@dataclass(frozen=True)
class Step:
    args: tuple[str, ...]  # everything after `python -m pip install`
    optional: bool  # may fail; the lab goes on
    purpose: str  # one short Korean line for the student


# ---- requirement strings (stdlib only, no `packaging`) --------------------------------------------

def canonical(name: str) -> str:
    """PEP 503 name: `Unsloth_Zoo` -> `unsloth-zoo`."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    """Canonical project name of a requirement string such as `torch<2.15.0,>=2.4.0; marker`."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    if not match:
        raise ValueError(f"not a requirement: {requirement!r}")
    return canonical(match.group(1))


def _for_an_extra(requirement: str) -> bool:
    """True for `foo; extra == "bar"`: needed only when someone asks for `pkg[bar]`."""
    _, _, marker = requirement.partition(";")
    return re.search(r"\bextra\s*==", marker) is not None


def dependency_requirements(pins: list[str], unsloth_requires: list[str]) -> list[str]:
    """Step 2's requirement strings: the pins besides unsloth/unsloth_zoo, then what those two declare.

    `unsloth_requires` is the concatenation of `Requires-Dist` of unsloth and unsloth_zoo
    (`importlib.metadata.requires(...)` in Colab, the wheels' METADATA in the test). Markers are
    kept (pip evaluates them); requirements of extras, HELD packages, xformers (step 3) and
    unsloth/unsloth_zoo themselves (step 1) are left out; exact duplicates appear once.
    """
    skip = {canonical(n) for n in (*HELD, *NO_DEPS, XFORMERS)}
    out: list[str] = []
    for req in [*pins, *unsloth_requires]:
        req = req.strip()
        if not req or _for_an_extra(req) or requirement_name(req) in skip or req in out:
            continue
        out.append(req)
    return out


def xformers_requirement(unsloth_requires: list[str]) -> str:
    """unsloth's own xformers requirement (with its Linux x86-64 marker), or plain `xformers`."""
    for req in unsloth_requires:
        if requirement_name(req) == XFORMERS and not _for_an_extra(req):
            return req.strip()
    return XFORMERS


def constraints_text(held: dict[str, str]) -> str:
    """One `name==version` line per installed HELD package (local labels such as +cu126 kept)."""
    return "".join(f"{name}=={version}\n" for name, version in held.items())


def plan(pins: list[str], held: dict[str, str], unsloth_requires: list[str],
         constraints: str | Path | None = None) -> list[Step]:
    """The pip commands, in order. Pure: reads nothing, runs nothing.

    pins: `name==version` lines of requirements-gpu.txt; held: installed versions of the HELD
    packages (`installed_versions()`); unsloth_requires: see `dependency_requirements`;
    constraints: where `constraints_text(held)` is (or will be) written (default CONSTRAINTS_PATH).
    """
    constraints = CONSTRAINTS_PATH if constraints is None else constraints
    no_deps = [p for p in pins if requirement_name(p) in {canonical(n) for n in NO_DEPS}]
    hold = ("-c", str(constraints))
    held_list = ", ".join(held) or "-"
    return [
        Step(("--no-deps", *no_deps), False,
             "unsloth, unsloth_zoo 설치(--no-deps: 이 둘이 선언한 torch 상한이 torch를 바꾸지 못하게)"),
        Step((*hold, *dependency_requirements(pins, unsloth_requires)), False,
             f"나머지 고정 버전 패키지와 의존성 설치({held_list}은(는) 지금 버전으로 고정)"),
        Step((*hold, "--only-binary=xformers", xformers_requirement(unsloth_requires)), True,
             "xformers 설치(선택: 지금 torch에 맞는 빌드가 있을 때만)"),
    ]


# ---- versions -------------------------------------------------------------------------------------

def installed_versions(names=HELD) -> dict[str, str]:
    """{name: version} of the installed distributions among `names` (absent ones left out)."""
    importlib.invalidate_caches()
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def _release(version: str) -> tuple[int, ...]:
    """`2.9.0+cu126` -> (2, 9, 0); pre/post/dev parts are ignored (good enough for a warning)."""
    match = re.match(r"\s*v?(\d+(?:\.\d+)*)", version)
    return tuple(int(p) for p in match.group(1).split(".")) if match else ()


def _satisfies(version: str, clause: str) -> bool | None:
    """One clause such as `<2.15.0`; None when the operator is not understood."""
    match = re.fullmatch(r"\s*(<=|>=|==|!=|<|>)\s*([0-9][0-9.]*)\s*", clause)
    if not match:
        return None
    op, bound = match.groups()
    a, b = _release(version), _release(bound)
    width = max(len(a), len(b))
    a, b = a + (0,) * (width - len(a)), b + (0,) * (width - len(b))
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b, "==": a == b, "!=": a != b}[op]


def torch_range(unsloth_requires: list[str]) -> str:
    """The torch specifiers that unsloth/unsloth_zoo declare, joined: e.g. `<2.15.0,>=2.4.0`."""
    clauses: list[str] = []
    for req in unsloth_requires:
        if requirement_name(req) != "torch" or _for_an_extra(req):
            continue
        spec = req.split(";", 1)[0].strip()[len("torch"):].strip().strip("()")
        clauses += [c.strip() for c in spec.split(",") if c.strip() and c.strip() not in clauses]
    return ",".join(clauses)


def torch_outside(torch_version: str, spec: str) -> bool:
    """True when `torch_version` clearly fails one clause of `spec` (unknown clauses are ignored)."""
    return any(_satisfies(torch_version, c) is False for c in spec.split(",") if c.strip())


# ---- running it in Colab --------------------------------------------------------------------------

def _pip(args: tuple[str, ...]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pip", "install", *args], capture_output=True, text=True)


def _tail(result: subprocess.CompletedProcess, n: int = PIP_TAIL_LINES) -> str:
    lines = (result.stdout or "").splitlines() + (result.stderr or "").splitlines()
    return "\n".join(lines[-n:])


def _unsloth_requires() -> list[str]:
    """Requires-Dist of the unsloth and unsloth_zoo that step 1 just installed."""
    importlib.invalidate_caches()
    return [*(metadata.requires("unsloth") or []), *(metadata.requires("unsloth_zoo") or [])]


def _imported_distributions() -> dict[str, str]:
    """Versions of the installed distributions that this Python process has already imported from."""
    top = {name.partition(".")[0] for name in list(sys.modules)}
    owners = metadata.packages_distributions()
    return installed_versions(sorted({d for t in top for d in owners.get(t, [])}))


def _run(number: int, total: int, step: Step) -> None:
    """Run one step, one line of output. A failed optional step is skipped; a failed required one raises."""
    print(f"[{number}/{total}] {step.purpose} ...", end=" ", flush=True)
    start = time.monotonic()
    result = _pip(step.args)
    if result.returncode == 0:
        print(f"완료({time.monotonic() - start:.0f}초)", flush=True)
        return
    if step.optional:
        print("건너뜀: 이 torch에 맞는 xformers를 설치하지 못했습니다(맞는 빌드가 없거나 내려받기 실패). "
              "Unsloth는 xformers 없이 PyTorch SDPA 어텐션으로 동작하니 실습은 그대로 진행됩니다(조금 느릴 수 있음).",
              flush=True)
        return
    print("실패", flush=True)
    print("----- pip가 남긴 메시지(마지막 부분) -----\n" + _tail(result) + "\n" + "-" * 40, flush=True)
    print(
        "→ 네트워크 오류(ConnectionError, timed out 등)라면 이 셀을 다시 실행하세요. 버전 충돌"
        "(ResolutionImpossible, conflict)이라면 위 메시지를 조교에게 보내거나 강의 저장소에 이슈로 "
        "올려 주세요. 그동안 [런타임] → [런타임 유형 변경] → '런타임 버전'에서 이전 버전을 골라 볼 수 있습니다.",
        flush=True,
    )
    raise LabError(
        f"실습 패키지 설치 {number}단계가 실패했습니다: {step.purpose}. 위의 pip 메시지를 확인하세요.",
        f"Lab install step {number} failed (pip install {' '.join(step.args)}); see pip's output above.",
    )


def _warn_if_untested(torch_version: str, requires: list[str]) -> None:
    spec = torch_range(requires)
    if spec and torch_version and torch_outside(torch_version, spec):
        print(
            f"⚠ 주의: Colab의 torch {torch_version}는 unsloth {metadata.version('unsloth')}가 시험한 "
            f"범위({spec}) 밖입니다. torch는 그대로 두고 설치를 계속합니다. 실습이 이 때문에 실패하면 "
            "[런타임] → [런타임 유형 변경] → '런타임 버전'에서 더 이전 버전을 골라 처음부터 다시 실행하세요.",
            flush=True,
        )


def install(pins: list[str]) -> None:
    """Install the lab pins in Colab without changing torch, torchvision, torchaudio, triton, numpy."""
    try:
        import torch  # preinstalled in Colab
    except ImportError:
        raise LabError(
            "torch가 설치되어 있지 않습니다. 이 설치 셀은 torch가 미리 깔린 Colab GPU 런타임용입니다. "
            "Colab에서 열었는지 확인하세요.",
            "torch is not installed: this install cell is meant for a Colab GPU runtime.",
        ) from None
    check_cuda(torch.cuda.is_available())

    held = installed_versions()
    imported_before = _imported_distributions()
    CONSTRAINTS_PATH.write_text(constraints_text(held), encoding="utf-8")
    print("고정(바꾸지 않음): " + ", ".join(f"{k} {v}" for k, v in held.items()), flush=True)

    first, *_ = steps = plan(pins, held, [], CONSTRAINTS_PATH)  # step 1 does not depend on unsloth's metadata
    _run(1, len(steps), first)
    requires = _unsloth_requires()  # what the unsloth and unsloth_zoo just installed declare
    _warn_if_untested(held.get("torch", ""), requires)
    steps = plan(pins, held, requires, CONSTRAINTS_PATH)
    for number, step in enumerate(steps[1:], start=2):
        _run(number, len(steps), step)
    _report(pins, held, imported_before)


def _report(pins: list[str], held_before: dict[str, str], imported_before: dict[str, str]) -> None:
    names = [*(pin.split("==")[0] for pin in pins), XFORMERS, *HELD]
    now = installed_versions(names)
    print("설치된 버전: " + ", ".join(f"{n} {now.get(n, '없음')}" for n in names), flush=True)

    held_after = {n: now.get(n) for n in held_before}
    changed = {n: (v, held_after[n]) for n, v in held_before.items() if held_after[n] != v}
    if changed:
        print(
            "!!!!! 경고: 바뀌면 안 되는 패키지가 바뀌었습니다: "
            + ", ".join(f"{n} {a} → {b}" for n, (a, b) in changed.items())
            + ". [런타임] → [세션 다시 시작] 후 처음부터 다시 실행하고, 그래도 실패하면 이 출력을 조교에게 "
            "보내 주세요. !!!!!",
            flush=True,
        )
    else:
        print("확인: " + ", ".join(held_before) + " 버전은 설치 전과 같습니다.", flush=True)

    imported_after = installed_versions(list(imported_before))
    moved = sorted({n for n, v in imported_before.items() if imported_after.get(n) != v} | set(changed))
    if moved:
        print(
            f"이미 불러온 패키지({', '.join(moved)})가 바뀌었으니 [런타임] → [세션 다시 시작]을 "
            "누른 뒤 처음부터 다시 실행하세요(두 번째에는 설치가 금방 끝납니다).",
            flush=True,
        )
    else:
        print("이미 불러온 패키지는 하나도 바뀌지 않았으니 런타임을 다시 시작할 필요가 없습니다. 다음 셀로 가세요.",
              flush=True)
