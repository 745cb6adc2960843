"""The memory calculator and the format explorer (book/calculator.md, book/format_explorer.md).

Python side: the data the pages emit at build time (ftcourse/calculator.py) equals what ftcourse.memory,
ftcourse.peft_counts, ftcourse.quant and torch say. Browser side (marked `browser`; needs `_build/html`):
the JavaScript ports in _static/ give, in headless Chromium and offline, the same bytes as `ftcourse.memory`
on a grid of inputs (through the form and through the port's functions), lab 1's answer on a T4, and the
same bits as torch's own dtype conversions and the same NF4 codes as ftcourse.quant and bitsandbytes.
"""
from __future__ import annotations

import dataclasses
import itertools
import json
import math
import random

import pytest
import torch

from ftcourse import calculator as calc
from ftcourse import memory as mem
from ftcourse import quant as q
from ftcourse.models import build_on_meta, count_parameters
from ftcourse.peft_counts import PROJECTIONS, lora_param_count
from ftcourse.recipes import LABS

from .test_site_browser import browser, needs_browser, open_page, page, site_url  # noqa: F401  (fixtures)

DTYPES = {"FP32": (torch.float32, torch.int32, 32), "FP16": (torch.float16, torch.int16, 16),
          "BF16": (torch.bfloat16, torch.int16, 16), "FP8 E4M3": (torch.float8_e4m3fn, torch.uint8, 8),
          "FP8 E5M2": (torch.float8_e5m2, torch.uint8, 8)}
PARTS = ("weights", "trainable_states", "activations", "transient", "workspace")


def inputs_of(model="Qwen3-4B", method="qlora", r=8, batch_size=2, seq_len=2048, checkpointing="unsloth"):
    return dict(model=model, method=method, r=r, batch_size=batch_size, seq_len=seq_len, checkpointing=checkpointing)


def torch_bits(values: list[float], name: str) -> list[str]:
    """The bit string torch stores for each value (a Python float, i.e. a double) in the format."""
    dtype, int_view, width = DTYPES[name]
    raw = torch.tensor(values, dtype=torch.float64).to(dtype).view(int_view).to(torch.int64) & ((1 << width) - 1)
    return [format(w, f"0{width}b") for w in raw.tolist()]


def js_number(x: float) -> str:
    """x as a string JavaScript's Number() reads back exactly (repr, but Infinity for inf)."""
    return {math.inf: "Infinity", -math.inf: "-Infinity"}.get(x, repr(x))


def torch_values(values: list[float], name: str) -> list[float]:
    return torch.tensor(values, dtype=torch.float64).to(DTYPES[name][0]).double().tolist()


# --- Python side: the emitted data is ftcourse's --------------------------------------------------

@pytest.mark.parametrize("name", calc.MODELS)
def test_emitted_model_is_the_architecture(name):
    config = mem.architecture(name)
    entry = calc.model_entry(name)
    for key in ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "vocab_size",
                "model_type"):
        assert entry[key] == getattr(config, key), key
    assert entry["num_key_value_heads"] == config.num_key_value_heads
    assert entry["tie_word_embeddings"] == config.tie_word_embeddings
    assert entry["kept16_linear_params"] == mem.linear_params_in_16bit(config, mem.skip_modules_for(config))
    assert json.loads(json.dumps(entry)) == entry  # plain JSON values


def test_only_qwen3_4b_keeps_16_bit_layers():
    kept = {name: calc.model_entry(name)["kept16_linear_params"] for name in calc.MODELS}
    assert kept.pop("Qwen3-4B") > 0 and set(kept.values()) == {0}


def test_emitted_constants_are_the_estimators():
    c = calc.calculator_data()["constants"]
    assert c["NF4_BYTES"] == mem.NF4_BYTES == q.bits_per_param(4, 64, double_quant=True) / 8
    assert (c["LORA_BYTES"], c["ADAMW_8BIT_BLOCKSIZE"], c["LOGIT_BYTES"]) == (
        mem.LORA_BYTES, mem.ADAMW_8BIT_BLOCKSIZE, mem.LOGIT_BYTES)
    assert c["MIXED_ADAMW"] == dataclasses.asdict(mem.MIXED_ADAMW)
    assert (c["GIB"], c["GB"]) == (2**30, 10**9)


@pytest.mark.parametrize("model", calc.MODELS)
def test_estimate_is_chapter_3s_estimator(model):
    config = mem.architecture(model)
    n = count_parameters(build_on_meta(config))
    for b, s, r in ((1, 2048, 16), (2, 512, 8)):
        lora = lora_param_count(config, r, PROJECTIONS)
        assert calc.estimate(model, "qlora", r, b, s) == mem.lora_peak_breakdown(config, lora, b, s)
        assert calc.estimate(model, "lora", r, b, s) == mem.lora_peak_breakdown(config, lora, b, s, base_in_4bit=False)
        assert calc.estimate(model, "full", r, b, s) == mem.full_peak_breakdown(config, n, b, s, mem.MIXED_ADAMW)
        kept = calc.estimate(model, "qlora", r, b, s, "standard")
        assert kept == mem.lora_peak_breakdown(config, lora, b, s, offload_checkpoints=False)
        none = calc.estimate(model, "full", r, b, s, "none")
        assert none.activations == mem.activation_bytes(config, b, s, checkpointing=False)
        assert dataclasses.replace(none, activations=0) == dataclasses.replace(
            calc.estimate(model, "full", r, b, s, "standard"), activations=0)


def test_the_default_inputs_are_lab_1_on_a_t4():
    recipe = LABS["lab1_first_qlora"].full
    d = calc.lab1_inputs()
    assert (d["r"], d["batch_size"], d["seq_len"], d["method"], d["gpu"]) == (
        recipe.lora_r, recipe.batch_size, recipe.max_seq_length, "qlora" if recipe.load_in_4bit else "lora", "T4")
    config = mem.architecture(d["model"])
    lora = lora_param_count(config, recipe.lora_r, PROJECTIONS)
    expected = mem.lora_training_peak_bytes(config, lora, recipe.batch_size, recipe.max_seq_length)
    assert calc.estimate(**{k: v for k, v in d.items() if k != "gpu"}).total == expected


def test_gpu_table():
    gpus = {g.key: g for g in calc.GPUS}
    assert {"T4", "L4", "A100-40GB", "A100-80GB", "H100-80GB", "RTX-3090", "RTX-4090"} <= set(gpus)
    assert gpus["T4"].total_gib == 14.741 and gpus["T4"].nominal_gb == 16  # the T4 Colab gives (COURSE.md, lab headers)
    from ftcourse.labtemplate import T4_USABLE_GIB

    assert round(gpus["T4"].total_gib, 2) == T4_USABLE_GIB  # the labs' start check compares with the same card
    for g in calc.GPUS:
        if g.total_gib is None:
            assert g.compared_bytes == g.nominal_gb * mem.GB and not g.source
        else:
            # PyTorch sees less than the card's capacity in binary units, and the value has a source
            assert 0.9 * g.nominal_gb < g.total_gib < g.nominal_gb and g.source
            assert g.compared_bytes == int(g.total_gib * mem.GIB)


def test_verdict_boundaries():
    t4 = calc.GPUS[0]
    room = t4.compared_bytes
    assert calc.verdict(room + 1, t4) == "no"
    assert calc.verdict(room, t4) == "tight"
    assert calc.verdict(math.floor(room / (1 + calc.ESTIMATE_TOLERANCE)) - 1, t4) == "fits"


def test_format_data_is_torchs_and_chapter_3s():
    data = calc.format_data()
    assert [f["name"] for f in data["formats"]] == list(DTYPES)
    for f in data["formats"]:
        dtype = DTYPES[f["name"]][0]
        assert f["max"] == torch.finfo(dtype).max
        assert 1 + f["exp_bits"] + f["man_bits"] == torch.finfo(dtype).bits
        past = torch.tensor([2 * f["max"]], dtype=torch.float64).to(dtype).double().item()
        assert past == (f["max"] if f["overflow"] == "saturate" else math.inf)
    assert data["nf4"] == q.nf4_code().tolist()
    import bitsandbytes.functional as bnbF

    assert (torch.tensor(data["nf4"]) - bnbF.get_4bit_type("nf4", device="cpu")).abs().max() < 1e-6


def test_page_data_cannot_close_its_script_element():
    html = calc.page_data_html("x", {"s": "</script><b>"})
    assert html.count("</script>") == 1 and html.endswith("</script>")


# --- Browser side -----------------------------------------------------------------------------------

CALCULATOR = "book/calculator.html"
EXPLORER = "book/format_explorer.html"


def open_tool(page, site_url, path, root):
    open_page(page, site_url, path)
    page.wait_for_selector(f"{root}[data-ready=true]", timeout=10_000)


def assert_clean(page):
    assert not page.errors, f"console errors {page.errors}"
    assert not page.outside, f"requests outside the site {page.outside[:3]}"


def shown_peak(page) -> dict[str, int]:
    got = {part: int(page.get_attribute(f'#ftc-table tr[data-part="{part}"] td.ft-bytes', "data-bytes"))
           for part in PARTS}
    got["total"] = int(page.get_attribute("#ftc-total", "data-bytes"))
    return got


def set_inputs(page, inputs: dict, gpu: str):
    page.select_option("#ftc-model", inputs["model"])
    page.select_option("#ftc-method", inputs["method"])
    if inputs["method"] != "full":
        page.fill("#ftc-r", str(inputs["r"]))
    page.fill("#ftc-batch", str(inputs["batch_size"]))
    page.fill("#ftc-seq", str(inputs["seq_len"]))
    page.select_option("#ftc-ckpt", inputs["checkpointing"])
    page.select_option("#ftc-gpu", gpu)


@needs_browser
def test_calculator_opens_on_lab_1_with_chapter_3s_answer(page, site_url):
    open_tool(page, site_url, CALCULATOR, "#ftc-app")
    d = calc.lab1_inputs()
    expected = calc.estimate(**{k: v for k, v in d.items() if k != "gpu"})
    assert shown_peak(page) == {**dataclasses.asdict(expected), "total": expected.total}
    assert page.get_attribute("#ftc-verdict", "data-verdict") == "fits"
    # the Python value glued beside the widget, and the widget's own GiB figure, say the same
    glued = page.locator("article .pasted-text").all_inner_texts()
    assert f"{expected.total:,}" in glued, glued
    assert f"{expected.total / mem.GIB:.2f}" in glued
    assert page.inner_text("#ftc-total") == f"{expected.total / mem.GIB:.2f}"
    assert page.input_value("#ftc-gpu") == "T4" and page.input_value("#ftc-model") == d["model"]
    assert_clean(page)


GRID = [inputs_of(**kw) for kw in (
    {}, {"batch_size": 1}, {"batch_size": 4}, {"batch_size": 8}, {"seq_len": 512}, {"seq_len": 1024},
    {"seq_len": 4096}, {"r": 16}, {"r": 64}, {"r": 1}, {"method": "lora"}, {"method": "full"},
    {"checkpointing": "standard"}, {"checkpointing": "none"}, {"model": "Llama-3.2-1B"},
    {"model": "Llama-3-8B", "r": 16}, {"model": "Llama-2-13B", "method": "lora", "batch_size": 1},
    {"model": "Qwen3-32B", "r": 32, "batch_size": 2}, {"model": "Llama-3-70B", "r": 16, "batch_size": 2},
    {"model": "Llama-3-70B", "method": "full", "batch_size": 1, "checkpointing": "standard"},
    {"model": "Llama-3.2-1B", "method": "full", "seq_len": 8192, "checkpointing": "none"},
    {"model": "Qwen3-32B", "method": "lora", "seq_len": 1024, "checkpointing": "standard"},
    {"model": "Llama-3-8B", "method": "qlora", "batch_size": 16, "seq_len": 4096, "checkpointing": "none"},
    {"method": "full", "batch_size": 3, "seq_len": 777},
)]
GPU_CYCLE = [g.key for g in calc.GPUS]


@needs_browser
def test_calculator_form_matches_python_on_a_grid(page, site_url):
    open_tool(page, site_url, CALCULATOR, "#ftc-app")
    gpus = {g.key: g for g in calc.GPUS}
    assert len(GRID) >= 20
    for i, inputs in enumerate(GRID):
        gpu = GPU_CYCLE[i % len(GPU_CYCLE)]
        set_inputs(page, inputs, gpu)
        expected = calc.estimate(**inputs)
        assert shown_peak(page) == {**dataclasses.asdict(expected), "total": expected.total}, (inputs, gpu)
        assert page.get_attribute("#ftc-verdict", "data-verdict") == calc.verdict(expected.total, gpus[gpu]), inputs
        assert page.is_disabled("#ftc-r") == (inputs["method"] == "full")
    page.click("#ftc-reset")  # back to lab 1 on a T4
    lab1 = calc.lab1_inputs()
    assert shown_peak(page)["total"] == calc.estimate(**{k: v for k, v in lab1.items() if k != "gpu"}).total
    assert_clean(page)


@needs_browser
def test_calculator_port_matches_python_everywhere(page, site_url):
    open_tool(page, site_url, CALCULATOR, "#ftc-app")
    grid = [inputs_of(m, meth, r, b, s, ck) for m, meth, ck, r, (b, s) in itertools.product(
        calc.MODELS, calc.METHODS, calc.CHECKPOINTING, (1, 8, 64), ((1, 256), (2, 2048), (4, 4096), (8, 8192)))]
    got = page.evaluate("grid => grid.map(i => window.ftcourseCalculator.estimate(i))", grid)
    for inputs, answer in zip(grid, got):
        expected = calc.estimate(**inputs)
        assert answer == {**dataclasses.asdict(expected), "total": expected.total}, inputs
    for name in calc.MODELS:
        config = mem.architecture(name)
        assert page.evaluate("n => window.ftcourseCalculator.nParams(n)", name) == count_parameters(build_on_meta(config))
        assert page.evaluate("n => window.ftcourseCalculator.loraParamCount(n, 8)", name) == lora_param_count(config, 8)
    assert_clean(page)


def explorer_values() -> list[float]:
    """Ties, subnormals, overflow and random values, both signs: the cases where formats differ."""
    special = [0.0, -0.0, 1.0, 0.1, 1 / 3, 2049.0, 2051.0, 1 + 2**-8, 1 + 3 * 2**-8, 1 + 2**-11, 1 + 2**-11 + 2**-40,
               65504.0, 65519.0, 65520.0, 1e5, 448.0, 464.0, 465.0, 479.0, 480.0, 500.0, 57344.0, 61439.0, 61440.0,
               1e6, 3.4028235e38, 3.4e38, 1e39, 6e-8, 3e-8, 2.9e-8, 1e-7, 2**-24, 2**-25, 2**-25 * 1.0001, 2**-9,
               2**-10 * 1.5, 2**-7, 2**-6 * 0.9, 2**-16, 2**-17, 1e-45, 1e-46, 1.5e-45, 1e-40, 9.2e-41, 0.3, 300.0,
               2.0**127 * 1.9999, math.inf]
    rng = random.Random(0)
    randoms = [rng.choice((-1, 1)) * 10 ** rng.uniform(-12, 8) for _ in range(300)]
    return [s * v for v in special for s in (1, -1)] + randoms


@needs_browser
def test_format_explorer_matches_torch(page, site_url):
    open_tool(page, site_url, EXPLORER, "#fx-app")
    values = explorer_values()
    for name in DTYPES:
        got = page.evaluate("""([name, xs]) => xs.map(x => { const r = window.ftcourseFormats.round(name, Number(x));
                                 return [r.sign + r.exponent + r.mantissa, String(r.value)]; })""",
                            [name, [js_number(v) for v in values]])
        want_bits, want_values = torch_bits(values, name), torch_values(values, name)
        for x, (bits, value), wb, wv in zip(values, got, want_bits, want_values):
            assert bits == wb, f"{name}: {x!r} -> {bits}, torch {wb}"
            assert float(value) == wv or (math.isnan(wv) and value == "NaN"), f"{name}: {x!r} -> {value}, torch {wv}"
    nan = page.evaluate("() => window.ftcourseFormats.data.formats.map(f => "
                        "Number.isNaN(window.ftcourseFormats.round(f.name, NaN).value))")
    assert nan == [True] * len(DTYPES)
    assert_clean(page)


@needs_browser
@pytest.mark.parametrize("typed", ["2049", "65520", "500", "1e-7", "-0.1", "61440", "1e6", "-inf", "6e-8"])
def test_format_explorer_form_shows_torchs_bits(page, site_url, typed):
    open_tool(page, site_url, EXPLORER, "#fx-app")
    page.fill("#fx-input", typed)
    x = float(typed)
    for name in DTYPES:
        row = f'#fx-table tr[data-format="{name}"]'
        assert page.get_attribute(row, "data-bits") == torch_bits([x], name)[0], name
        shown = page.get_attribute(row, "data-value").replace("+∞", "inf").replace("−∞", "-inf")
        assert float(shown) == torch_values([x], name)[0], name
    assert_clean(page)


def nf4_code_python(x: float, absmax: float) -> int:
    """ftcourse.quant's code for x in a block whose absmax is `absmax` (the rest of the block is 0); for an
    x past absmax, which no real block holds, quantize_blocks' own arithmetic with that absmax."""
    if abs(x) > absmax:
        normed = torch.tensor([x], dtype=torch.float32) / torch.tensor(absmax, dtype=torch.float32)
        return int((normed.unsqueeze(-1) - q.nf4_code().float()).abs().argmin(dim=-1))
    block = torch.zeros(64)
    block[0], block[1] = x, absmax
    codes, scale = q.quantize_blocks(block, q.nf4_code())
    assert scale.item() == torch.tensor(absmax).float().item()
    return int(codes[0])


def nf4_code_bitsandbytes(x: float, absmax: float) -> int:
    import bitsandbytes.functional as bnbF

    block = torch.zeros(64)
    block[0], block[1] = x, absmax
    packed, _ = bnbF.quantize_4bit(block, blocksize=64, quant_type="nf4")
    return int(packed.reshape(-1)[0]) >> 4  # the first value sits in the high nibble


@needs_browser
def test_nf4_codes_match_ftcourse_and_bitsandbytes(page, site_url):
    open_tool(page, site_url, EXPLORER, "#fx-app")
    rng = random.Random(1)
    cases = [(rng.uniform(-1, 1) * a, a) for a in (1.0, 0.02, 3.5) for _ in range(40)]
    cases += [(0.0, 1.0), (1.0, 1.0), (-1.0, 1.0), (0.04, 0.1), (2.5, 2.0), (-0.7, 1.0)]
    got = page.evaluate("cs => cs.map(([x, a]) => window.ftcourseFormats.nf4(x, a).code)", cases)
    for (x, a), code in zip(cases, got):
        assert code == nf4_code_python(x, a), (x, a)
        if abs(x) <= a:
            assert code == nf4_code_bitsandbytes(x, a), (x, a)
    for x, a in ((0.3, 1.0), (-0.01, 0.02), (1.2, 3.5)):  # and through the form
        page.fill("#fx-input", repr(x))
        page.fill("#fx-absmax", repr(a))
        assert int(page.get_attribute("#fx-nf4", "data-code")) == nf4_code_python(x, a) == nf4_code_bitsandbytes(x, a)
    assert_clean(page)
