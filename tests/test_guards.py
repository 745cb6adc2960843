"""The start check's parts, on the CPU: recipes and profiles, and guards that stop with a Korean
message and an English gist."""
import dataclasses
import subprocess
import sys

import pytest

from ftcourse import guards
from ftcourse.errors import LabError
from ftcourse.labs import model_config, peak_estimate_bytes
from ftcourse.labtemplate import T4_USABLE_GIB, full_recipe_estimate_gib
from ftcourse.memory import lora_training_peak_bytes
from ftcourse.models import qwen3_4b_config
from ftcourse.paths import SAMPLE_PATH, TINY_MODEL_DIR
from ftcourse.peft_counts import PROJECTIONS, lora_param_count
from ftcourse.recipes import FINETOME, LABS, QWEN3_4B_4BIT, chosen_profile, resolve

GiB = guards.GiB


def test_no_cuda_says_how_to_pick_a_t4():
    guards.check_cuda(True)
    with pytest.raises(LabError) as err:
        guards.check_cuda(False)
    assert "T4" in err.value.ko and "런타임" in err.value.ko and "T4" in err.value.en
    assert err.value._render_traceback_() == [f"LabError: {err.value.ko}", f"[English] {err.value.en}"]


def test_offline_run_of_a_hub_recipe_points_to_smoke_and_names_what_it_needs():
    guards.check_hub_access([QWEN3_4B_4BIT], reachable=True)
    guards.check_hub_access([], reachable=False)
    with pytest.raises(LabError) as err:
        guards.check_hub_access([QWEN3_4B_4BIT, FINETOME], reachable=False)
    assert "LAB_PROFILE=smoke" in err.value.ko and "smoke" in err.value.en
    assert QWEN3_4B_4BIT in err.value.ko and FINETOME in err.value.en


def test_offline_flag_means_unreachable(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert guards.hub_reachable() is False


def test_too_little_memory_reports_estimate_and_free():
    guards.check_gpu_memory(6 * GiB, 14 * GiB, "lab1")
    with pytest.raises(LabError) as err:
        guards.check_gpu_memory(6 * GiB, 3.5 * GiB, "'lab1_first_qlora' (full)")
    assert "6.0 GiB" in err.value.ko and "3.5 GiB" in err.value.ko and "lab1_first_qlora" in err.value.en
    assert "MAX_SEQ_LENGTH" in err.value.ko and "BATCH_SIZE" in err.value.en


def test_profile_choice(monkeypatch):
    monkeypatch.delenv("LAB_PROFILE", raising=False)
    assert chosen_profile() == "full"
    monkeypatch.setenv("LAB_PROFILE", "smoke")
    assert chosen_profile() == "smoke"
    assert chosen_profile("full") == "full"  # the parameters cell wins over the environment
    with pytest.raises(LabError, match="unknown|알 수 없는"):
        chosen_profile("huge")


def test_overrides_win_and_none_keeps_the_profile_value():
    name, recipe = resolve("lab1_first_qlora", "smoke", max_steps=3, batch_size=None)
    assert name == "smoke" and recipe.max_steps == 3 and recipe.batch_size == LABS["lab1_first_qlora"].recipe("smoke").batch_size
    with pytest.raises(TypeError, match="not knobs of lab1_first_qlora"):
        resolve("lab1_first_qlora", "smoke", rank=4)


def test_recipes_follow_the_seed_run_and_smoke_is_offline():
    full = LABS["lab1_first_qlora"].full
    assert (full.model, full.dataset) == (QWEN3_4B_4BIT, FINETOME)
    assert (full.max_steps, full.batch_size, full.grad_accum, full.learning_rate, full.lora_r, full.lora_alpha) == (
        60, 2, 4, 2e-4, 8, 8)
    assert full.downloads == [QWEN3_4B_4BIT, FINETOME]
    for lab in LABS.values():
        smoke = lab.recipe("smoke")
        assert smoke.downloads == [] and (smoke.model, smoke.dataset) == (str(TINY_MODEL_DIR), str(SAMPLE_PATH))
        assert "synthetic" in lab.smoke_note and "FineTome이 아니며" in lab.smoke_note
    assert LABS["lab0_setup"].full.max_steps == LABS["lab0_setup"].recipe("smoke").max_steps == 5


def test_full_recipe_estimate_fits_a_t4_with_room():
    # the design target: peak <= 7 GiB on a T4 (14.74 GB usable); the seed's run measured 6.07 GiB reserved
    estimate = peak_estimate_bytes(LABS["lab1_first_qlora"].full, qwen3_4b_config())
    assert 4 * GiB < estimate < 7 * GiB < T4_USABLE_GIB * GiB
    # the estimate grows with the batch, so lowering BATCH_SIZE (the guard's advice) helps
    smaller = dataclasses.replace(LABS["lab1_first_qlora"].full, batch_size=1)
    assert peak_estimate_bytes(smaller, qwen3_4b_config()) < estimate
    # a 16-bit base costs the linear weights' difference between 2 bytes and NF4
    sixteen = dataclasses.replace(LABS["lab1_first_qlora"].full, load_in_4bit=False)
    assert peak_estimate_bytes(sixteen, qwen3_4b_config()) > estimate + 4 * GiB


def test_model_config_knows_the_hub_models_and_reads_local_ones(tiny_model_dir):
    assert model_config(LABS["lab1_first_qlora"].full).hidden_size == 2560
    local = dataclasses.replace(LABS["lab1_first_qlora"].full, model=str(tiny_model_dir))
    assert model_config(local).hidden_size == 128
    assert model_config(dataclasses.replace(local, model="someone/unknown-model")) is None


def test_lab_headers_state_the_estimators_figure():
    # the header's memory figure is the estimator's, rendered by the lab template, never typed
    import nbformat

    from ftcourse.paths import REPO_ROOT

    for lab in LABS:
        header = nbformat.read(REPO_ROOT / "solutions" / f"{lab}.ipynb", as_version=4).cells[0].source
        trainable = lora_param_count(qwen3_4b_config(), LABS[lab].full.largest_rank, PROJECTIONS)
        estimate = lora_training_peak_bytes(qwen3_4b_config(), trainable, LABS[lab].full.batch_size,
                                            LABS[lab].full.max_seq_length,
                                            not LABS[lab].full.trains_16bit_base) / GiB
        assert f"예상 최대 약 {full_recipe_estimate_gib(lab):.1f} GiB" in header
        assert f"{estimate:.1f} GiB" in header


def test_lab_helpers_do_not_import_transformers_before_unsloth():
    # Unsloth must be imported before transformers/trl/peft; what a lab imports before start_lab has
    # imported unsloth must not pull them in
    code = ("import sys, ftcourse.labs, ftcourse.steps, ftcourse.chat, ftcourse.checks, ftcourse.gpus, "
            "ftcourse.recipes, ftcourse.version, ftcourse.colab; "
            "bad = [m for m in ('transformers', 'trl', 'peft', 'datasets') if m in sys.modules]; "
            "assert not bad, bad")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_a_full_run_after_a_smoke_run_asks_for_a_restart():
    guards.check_offline_left_by_smoke([QWEN3_4B_4BIT], left_by_smoke=False)
    guards.check_offline_left_by_smoke([], left_by_smoke=True)  # another smoke run is fine
    with pytest.raises(LabError) as err:
        guards.check_offline_left_by_smoke([QWEN3_4B_4BIT], left_by_smoke=True)
    assert "세션 다시 시작" in err.value.ko and "Restart" in err.value.en
