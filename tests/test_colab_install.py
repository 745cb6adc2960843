"""The Colab install cell (ftcourse.colab) must never let pip change Colab's torch.

A test runs pip's resolver (`--dry-run`) for the cell's exact commands against Colab-like
environments (torch 2.9, 2.10 and the newest) and fails if torch would change. If the registry
cannot be reached, the test says so and skips; it never passes silently. A second check runs the old
naive command (`pip install <pins>`) on the torch 2.9 environment and expects the same detector to
report that torch WOULD change, so the detector is known to be live.

The unit tests of `plan()` and `install()` need no network.
"""
from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from ftcourse import colab
from ftcourse.errors import LabError
from ftcourse.guards import check_cuda
from ftcourse.labtemplate import gpu_pins

pytest.register_assert_rewrite("tests.colab_envs")  # it is also loaded as a plugin, below
from .colab_envs import (  # noqa: E402
    HELD_NAMES, ColabEnv, PyPIUnreachable, available_versions, download_requires, make_colab_env, torch_requires)

pytest_plugins = ["tests.colab_envs"]  # marks the tests that ask PyPI `network` (see tests/colab_envs.py)

# numpy of the Colab runtime: 2.0.2 is the numpy Colab's image shipped during 2025 (`pip list` in a
# Colab then; not read from a live Colab at test time). A plausible value; what matters is that it is
# held, and any numpy the planned packages accept would do.
COLAB_NUMPY = "2.0.2"
# torch as Colab installs it: CUDA builds from download.pytorch.org carry a local label (+cu126).
# `None` = the newest torch on the index at test time (its label is a guess; only its presence matters).
ENVIRONMENTS = {"torch-2.9": ("2.9.0", "+cu126"), "torch-2.10": ("2.10.0", "+cu126"),
                "torch-newest": (None, "+cu130")}

# Real lines from the unsloth 2026.10.5 / unsloth_zoo 2026.10.7 wheels, for the offline unit tests.
SAMPLE_REQUIRES = [
    "unsloth_zoo>=2026.10.5",
    "torch<2.15.0,>=2.4.0",
    "torchvision",
    "numpy",
    'xformers>=0.0.27.post2; ("linux" in sys_platform or sys_platform == "win32") and '
    '(platform_machine == "AMD64" or platform_machine == "x86_64")',
    'triton>=3.0.0; "linux" in sys_platform',
    'triton-windows; sys_platform == "win32" and (platform_machine == "AMD64" or platform_machine == "x86_64")',
    "bitsandbytes!=0.46.0,!=0.48.0,>=0.45.5",
    "transformers!=4.53.0,!=4.54.0,!=4.55.0,!=4.55.1,!=4.57.0,!=4.57.4,!=4.57.5,!=5.0.0,!=5.1.0,<=5.17.0,>=4.52.4",
    "rich",
    "rich",
    'xformers==0.0.28.post2; (("linux" in sys_platform or sys_platform == "win32") and '
    '(platform_machine == "AMD64" or platform_machine == "x86_64")) and extra == "cu124onlytorch250"',
    'torch==2.12.0+cu126; extra == "cu126onlytorch2120"',
    'typer==0.27.1; python_version >= "3.10" and extra == "studio"',
    # unsloth_zoo
    'torch<2.15.0,>=2.4.0; sys_platform != "darwin" or platform_machine != "arm64"',
    'torchao>=0.13.0; sys_platform != "darwin" or platform_machine != "arm64"',
    'cut_cross_entropy; python_version >= "3.10" and (sys_platform != "darwin" or platform_machine != "arm64")',
    "packaging>=24.1",
]
PINS = gpu_pins()
HELD_2_9 = {"torch": "2.9.0+cu126", "torchvision": "0.24.0+cu126", "torchaudio": "2.9.0+cu126",
            "triton": "3.5.0", "numpy": COLAB_NUMPY}


def _names(args) -> list[str]:
    """Project names among pip arguments (options and their values left out)."""
    out, skip_next = [], False
    for arg in args:
        if skip_next or arg.startswith("-"):
            skip_next = arg in {"-c", "--constraint"}
            continue
        out.append(colab.requirement_name(arg))
    return out


def check_plan_shape(steps: list[colab.Step], held: dict[str, str], constraints) -> None:
    """What must hold for any plan, whatever unsloth declares."""
    first, deps, xformers = steps
    assert [s.optional for s in steps] == [False, False, True]
    assert first.args[0] == "--no-deps" and sorted(_names(first.args)) == ["unsloth", "unsloth-zoo"]
    for step in (deps, xformers):
        assert "--no-deps" not in step.args
        assert step.args[:2] == ("-c", str(constraints))
        assert not set(_names(step.args)) & HELD_NAMES, "a HELD package is requested"
        assert not {"unsloth", "unsloth-zoo"} & set(_names(step.args))
    assert "xformers" not in _names(deps.args)
    assert _names(xformers.args) == ["xformers"] and "--only-binary=xformers" in xformers.args
    lines = colab.constraints_text(held).splitlines()
    assert lines == [f"{n}=={v}" for n, v in held.items()]  # every installed HELD package, exactly


# ---- plan(): offline -------------------------------------------------------------------------------

def test_plan_never_asks_for_a_held_package():
    steps = colab.plan(PINS, HELD_2_9, SAMPLE_REQUIRES, "/tmp/c.txt")
    check_plan_shape(steps, HELD_2_9, "/tmp/c.txt")
    assert set(colab.constraints_text(HELD_2_9).splitlines()) == {
        "torch==2.9.0+cu126", "torchvision==0.24.0+cu126", "torchaudio==2.9.0+cu126", "triton==3.5.0",
        "numpy==2.0.2"}
    assert colab.HELD == ("torch", "torchvision", "torchaudio", "triton", "numpy")


def test_plan_keeps_markers_and_drops_extras():
    first, deps, xformers = colab.plan(PINS, HELD_2_9, SAMPLE_REQUIRES, "/tmp/c.txt")
    assert first.args == ("--no-deps", "unsloth==2026.10.5", "unsloth_zoo==2026.10.7")
    requested = list(deps.args[2:])
    assert requested[: len(PINS) - 2] == [p for p in PINS if not p.startswith("unsloth")]  # pins first
    assert 'torchao>=0.13.0; sys_platform != "darwin" or platform_machine != "arm64"' in requested
    assert ('cut_cross_entropy; python_version >= "3.10" and (sys_platform != "darwin" or '
            'platform_machine != "arm64")') in requested
    assert any(r.startswith("triton-windows;") for r in requested)  # another project, marker kept
    assert requested.count("rich") == 1
    assert not [r for r in requested if "extra" in r]
    assert xformers.args[-1] == SAMPLE_REQUIRES[4]  # unsloth's own line, marker and lower bound kept
    # no metadata yet (before step 1): plain xformers, the same first step
    assert colab.plan(PINS, HELD_2_9, [], "/tmp/c.txt")[2].args[-1] == "xformers"
    assert colab.plan(PINS, HELD_2_9, [], "/tmp/c.txt")[0] == first


def test_plan_constraints_cover_only_what_is_installed():
    held = {"torch": "2.15.0", "numpy": "2.0.2"}
    steps = colab.plan(PINS, held, SAMPLE_REQUIRES, "/x/c.txt")
    check_plan_shape(steps, held, "/x/c.txt")
    assert colab.constraints_text(held) == "torch==2.15.0\nnumpy==2.0.2\n"


def test_torch_range_and_warning(capsys, monkeypatch):
    spec = colab.torch_range(SAMPLE_REQUIRES)
    assert spec == "<2.15.0,>=2.4.0"
    assert not colab.torch_outside("2.9.0+cu126", spec)
    assert not colab.torch_outside("2.14.1", spec)
    assert colab.torch_outside("2.15.0", spec) and colab.torch_outside("2.15.0+cu130", spec)
    assert colab.torch_outside("2.3.1", spec)
    monkeypatch.setattr(colab.metadata, "version", lambda name: "2026.10.5")
    colab._warn_if_untested("2.15.0+cu130", SAMPLE_REQUIRES)
    out = capsys.readouterr().out
    assert "torch 2.15.0+cu130" in out and "범위(<2.15.0,>=2.4.0) 밖" in out and "런타임 버전" in out
    colab._warn_if_untested("2.9.0", SAMPLE_REQUIRES)
    assert capsys.readouterr().out == ""


def test_installed_versions_leaves_out_absent_packages():
    found = colab.installed_versions(("numpy", "surely-not-installed-xyz"))
    assert list(found) == ["numpy"] and found["numpy"][0].isdigit()


def test_module_imports_only_the_standard_library():
    """It runs in Colab before anything is installed."""
    code = ("import sys, ftcourse.colab; top = {m.split('.')[0] for m in sys.modules}; "
            "print(sorted(t for t in top - set(sys.stdlib_module_names) - {'ftcourse'} if not t.startswith('_')))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=Path(colab.__file__).parents[1])
    assert proc.returncode == 0 and proc.stdout.strip() == "[]", proc.stdout + proc.stderr


# ---- install(): offline, pip replaced --------------------------------------------------------------

@pytest.fixture
def no_pip(monkeypatch, tmp_path):
    """install() with its constraints file under tmp_path and pip calls recorded, not run."""
    calls = []
    monkeypatch.setattr(colab, "CONSTRAINTS_PATH", tmp_path / "constraints.txt")
    monkeypatch.setattr(colab, "_unsloth_requires", lambda: SAMPLE_REQUIRES)
    return calls


def _fake_run(calls, failing_step=None, stdout="", stderr=""):
    def run(cmd, **kwargs):
        calls.append(cmd)
        code = 1 if len(calls) == failing_step else 0
        return subprocess.CompletedProcess(cmd, code, stdout if code else "", stderr if code else "")
    return run


def test_install_without_gpu_raises_the_guard_message(monkeypatch, no_pip):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr("ftcourse.colab.subprocess.run", _fake_run(no_pip))
    with pytest.raises(LabError) as raised:
        colab.install(PINS)
    with pytest.raises(LabError) as guard:
        check_cuda(False)
    assert (raised.value.ko, raised.value.en) == (guard.value.ko, guard.value.en)
    assert "T4" in raised.value.ko and "런타임 유형 변경" in raised.value.ko and "No CUDA GPU" in raised.value.en
    assert no_pip == []  # nothing was installed


def test_install_shows_pips_error_and_raises(monkeypatch, capsys, no_pip):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    pip_error = ("ERROR: Cannot install trl==1.15.0 because these package versions have conflicting dependencies.\n"
                 "ERROR: ResolutionImpossible: for help visit https://pip.pypa.io/en/latest/topics/")
    monkeypatch.setattr("ftcourse.colab.subprocess.run",
                        _fake_run(no_pip, failing_step=2, stdout="Collecting trl==1.15.0\n", stderr=pip_error))
    with pytest.raises(LabError) as raised:
        colab.install(PINS)
    out = capsys.readouterr().out
    assert pip_error in out and "Collecting trl==1.15.0" in out  # pip's own words
    assert "버전 충돌" in out and "다시 실행" in out  # and what to do, in Korean
    assert "2단계" in raised.value.ko and "step 2" in raised.value.en
    assert len(no_pip) == 2  # stopped at the failed step
    assert no_pip[0][1:4] == ["-m", "pip", "install"] and "--no-deps" in no_pip[0]
    held = colab.installed_versions()
    written = colab.CONSTRAINTS_PATH.read_text(encoding="utf-8")
    assert written == colab.constraints_text(held) and "torch==" in written


def test_install_goes_on_without_xformers(monkeypatch, capsys, no_pip):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr("ftcourse.colab.subprocess.run",
                        _fake_run(no_pip, failing_step=3, stderr="ERROR: ResolutionImpossible"))
    colab.install(PINS)
    out = capsys.readouterr().out
    assert [c[4:] for c in no_pip] == [list(s.args) for s in colab.plan(PINS, colab.installed_versions(),
                                                                         SAMPLE_REQUIRES, colab.CONSTRAINTS_PATH)]
    assert "xformers 없이" in out and "설치된 버전: unsloth" in out
    assert "버전은 설치 전과 같습니다" in out
    assert out.strip().splitlines()[-1].startswith("이미 불러온 패키지는 하나도 바뀌지 않았으니 런타임을 다시 시작할 필요가 없습니다")


# ---- pip's resolver against Colab-like environments (network) --------------------------------------
# Every dry run below is independent of the others (nothing is installed), so they run side by side:
# the work is mostly waiting on the registry. Tests then read their results.

@pytest.fixture(scope="session")
def pypi():
    try:
        with socket.create_connection(("pypi.org", 443), timeout=5):
            pass
    except OSError as exc:
        pytest.skip(f"PyPI unreachable: the resolver test did not run ({exc})")


def _skip_if_offline(exc: PyPIUnreachable):
    pytest.skip(f"PyPI unreachable: the resolver test did not run (pip: {exc.reason})")


def _cache() -> Path:
    """Release metadata never changes, so it is kept between runs (also under `-p no:cacheprovider`)."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = base / "ftcourse-tests" / "colab"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def wheel_requires(pypi) -> list[str]:
    """Requires-Dist of the pinned unsloth and unsloth_zoo wheels (downloaded once into _cache())."""
    pins = dict(p.split("==") for p in PINS if p.startswith("unsloth"))
    try:
        found = download_requires(pins, _cache())
    except PyPIUnreachable as exc:
        _skip_if_offline(exc)
    return [*found["unsloth"], *found["unsloth_zoo"]]


@dataclass
class Resolved:
    env: ColabEnv
    steps: list[colab.Step]
    runs: dict  # "step1".."step3", "naive" -> (DryRun, seconds)
    build_s: float  # seconds to build the environment (finding torch's companions)


WORKERS = 4


@pytest.fixture(scope="session")
def resolved(pypi, wheel_requires, tmp_path_factory) -> dict[str, Resolved]:
    """Build the Colab-like environments and run the plan's steps (and the naive command) in each."""
    started = time.monotonic()

    def timed(env: ColabEnv, args: list[str], name: str):
        start = time.monotonic()
        return env.dry_run(args, name), time.monotonic() - start

    def build(name: str, pool: ThreadPoolExecutor):
        start = time.monotonic()
        version, local = ENVIRONMENTS[name]
        version = version or available_versions("torch")[0]
        cached = _cache() / f"torch-{version}-requires.json"  # a release's metadata never changes
        if cached.exists():
            reqs = json.loads(cached.read_text(encoding="utf-8"))
        else:
            reqs = torch_requires(version, tmp_path_factory.mktemp(f"{name}-torch"))
            partial = cached.with_suffix(f".{os.getpid()}.tmp")
            partial.write_text(json.dumps(reqs), encoding="utf-8")
            partial.replace(cached)  # whole or not at all, even with two sessions at once
        env = make_colab_env(name, tmp_path_factory.mktemp(name), version, local, COLAB_NUMPY, reqs)
        constraints = env.write_constraints(colab.constraints_text(env.held))
        steps = colab.plan(PINS, env.held, wheel_requires, constraints)
        jobs = {"naive": list(PINS)} if name == NAIVE_ENV else {}  # the old cell; the longest run: first
        jobs.update({f"step{i}": list(step.args) for i, step in enumerate(steps, start=1)})
        futures = {job: pool.submit(timed, env, args, job) for job, args in jobs.items()}
        return env, steps, futures, time.monotonic() - start

    try:
        with ThreadPoolExecutor(WORKERS) as pool:
            builds = {name: pool.submit(build, name, pool) for name in ENVIRONMENTS}
            out = {}
            for name, fut in builds.items():
                env, steps, futures, build_s = fut.result()
                out[name] = Resolved(env, steps, {job: f.result() for job, f in futures.items()}, build_s)
    except PyPIUnreachable as exc:
        _skip_if_offline(exc)
    print(f"\nresolver runs: {time.monotonic() - started:.0f} s in all")
    for name, res in out.items():
        print(f"{name} (built in {res.build_s:.0f} s): " + ", ".join(f"{k} {v}" for k, v in res.env.held.items()))
        for job, (run, took) in res.runs.items():
            picked = {k: v for k, v in run.installs.items() if k in {"xformers", "torchao", "transformers"}}
            print(f"  {job}: {'ok' if run.ok else 'FAILED'} in {took:.0f} s, {len(run.installs)} packages {picked}"
                  f"{' held: ' + str(run.held_changes(res.env.held)) if run.held_changes(res.env.held) else ''}")
    return out


NAIVE_ENV = "torch-2.9"


@pytest.mark.parametrize("name", list(ENVIRONMENTS))
def test_plan_never_changes_held_packages(resolved, name):
    res = resolved[name]
    env = res.env
    assert set(env.held) == HELD_NAMES, env.held
    check_plan_shape(res.steps, env.held, env.root / "constraints.txt")
    for number, step in enumerate(res.steps, start=1):
        run, _ = res.runs[f"step{number}"]
        command = f"pip install {shlex.join(step.args)}"
        if not step.optional:
            assert run.ok, f"{name} step {number} failed: {command}\n{run.output[-4000:]}"
        elif not run.ok:
            why = f"{name} optional step failed, not by resolution: {command}\n{run.output[-4000:]}"
            assert run.resolution_error, why
            continue
        assert run.held_changes(env.held) == {}, f"{name} step {number} would change HELD packages: {command}"
    fakes = {f"{n}-{v}.dist-info" for n, v in env.held.items()}
    assert {d.name for d in env.site_packages.glob("*.dist-info")} - fakes <= {  # dry runs installed nothing
        d.name for d in env.site_packages.glob("*.dist-info") if d.name.startswith(("pip-", "setuptools-"))}


def test_naive_command_would_change_torch(resolved):
    """The old cell, `pip install <pins>` with full resolution: the same detector must see torch move."""
    res = resolved[NAIVE_ENV]
    run, _ = res.runs["naive"]
    assert run.ok, run.output[-4000:]
    changes = run.held_changes(res.env.held)
    assert "torch" in changes and changes["torch"][1] != res.env.held["torch"], changes
