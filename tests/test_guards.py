"""The lab guards' logic, on the CPU: each stops with a Korean message and an English gist."""
import pytest

from ftcourse import guards
from ftcourse.errors import LabError
from ftcourse.memory import qlora_peak_bytes
from ftcourse.models import qwen3_4b_config
from ftcourse.profiles import PROFILES, resolve_profile

GiB = guards.GiB


def test_no_cuda_says_how_to_pick_a_t4():
    guards.check_cuda(True)
    with pytest.raises(LabError) as err:
        guards.check_cuda(False)
    assert "T4" in err.value.ko and "런타임" in err.value.ko and "T4" in err.value.en


def test_full_profile_without_hub_points_to_smoke():
    guards.check_hub_access(needs_network=True, reachable=True)
    guards.check_hub_access(needs_network=False, reachable=False)
    with pytest.raises(LabError) as err:
        guards.check_hub_access(needs_network=True, reachable=False)
    assert "LAB_PROFILE=smoke" in err.value.ko and "smoke" in err.value.en


def test_offline_flag_means_unreachable(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert guards.hub_reachable() is False


def test_too_little_memory_reports_estimate_and_free():
    guards.check_gpu_memory(6 * GiB, 14 * GiB, "full")
    with pytest.raises(LabError) as err:
        guards.check_gpu_memory(6 * GiB, 3.5 * GiB, "full")
    assert "6.0 GiB" in err.value.ko and "3.5 GiB" in err.value.ko
    assert "MAX_SEQ_LENGTH" in err.value.ko and "BATCH_SIZE" in err.value.en


def test_profile_choice(monkeypatch):
    monkeypatch.delenv("LAB_PROFILE", raising=False)
    assert resolve_profile().name == "full"
    monkeypatch.setenv("LAB_PROFILE", "smoke")
    assert resolve_profile().name == "smoke"
    assert resolve_profile("full").name == "full"  # the parameters cell wins
    assert resolve_profile("smoke", max_steps=3, batch_size=None).max_steps == 3
    with pytest.raises(LabError, match="unknown|알 수 없는"):
        resolve_profile("huge")


def test_profiles_follow_the_course_recipe():
    full, smoke = PROFILES["full"], PROFILES["smoke"]
    assert full.model_name == "unsloth/Qwen3-4B-unsloth-bnb-4bit" and full.dataset == "mlabonne/FineTome-100k"
    assert (full.max_steps, full.batch_size, full.grad_accum, full.learning_rate) == (60, 2, 4, 2e-4)
    assert smoke.local and not smoke.needs_network and full.needs_network


def test_full_profile_estimate_fits_a_t4_with_room():
    # the design target: peak <= 7 GB on a 15 GB T4; the seed's run measured 6.07 GB reserved
    estimate = qlora_peak_bytes(qwen3_4b_config(), 16_515_072, 2, 2048)
    assert 4 * GiB < estimate < 7 * GiB
    # the estimate grows with the batch, so lowering BATCH_SIZE (the guard's advice) helps
    assert qlora_peak_bytes(qwen3_4b_config(), 16_515_072, 1, 2048) < estimate


def test_lab_helpers_do_not_import_transformers_before_unsloth():
    # Unsloth must be imported before transformers/trl/peft; the helpers a lab imports first must not
    # pull transformers in (start_lab imports unsloth itself, on the GPU machine)
    import subprocess
    import sys

    code = ("import sys, ftcourse.labs, ftcourse.chat, ftcourse.checks, ftcourse.gpus, ftcourse.labtemplate; "
            "bad = [m for m in ('transformers', 'trl', 'peft') if m in sys.modules]; "
            "assert not bad, bad")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_lab1_header_states_the_estimator_figure():
    # the header's memory figure is the estimator's, not a number typed once and left to drift
    import nbformat

    from ftcourse.profiles import REPO_ROOT

    meta = nbformat.read(REPO_ROOT / "solutions" / "lab1_first_qlora.ipynb", as_version=4).metadata["course"]
    full = PROFILES["full"]
    estimate = qlora_peak_bytes(qwen3_4b_config(), 16_515_072, full.batch_size, full.max_seq_length) / GiB
    assert f"{estimate:.1f} GiB" in meta["gpu_memory"], meta["gpu_memory"]
