"""ftcourse.gpus: device names as torch reports them map to their own row of the table."""
import pytest

from ftcourse.gpus import PEAK_TFLOPS, model_flops_per_token, peak_tflops

TABLE = dict(PEAK_TFLOPS)
# names as torch.cuda.get_device_name() prints them, and the row each must use
DEVICE_NAMES = [
    ("Tesla T4", "T4"), ("NVIDIA A10", "A10"), ("NVIDIA A100-SXM4-40GB", "A100"),
    ("NVIDIA A100 80GB PCIe", "A100"), ("NVIDIA L4", "L4"), ("NVIDIA L40", "L40"), ("NVIDIA L40S", "L40S"),
    ("NVIDIA H100 PCIe", "H100 PCIe"), ("NVIDIA H100 80GB HBM3", "H100"), ("NVIDIA H200", "H200"),
    ("NVIDIA GeForce RTX 3090", "RTX 3090"), ("NVIDIA GeForce RTX 4090", "RTX 4090"),
]


@pytest.mark.parametrize("device, key", DEVICE_NAMES)
def test_each_device_gets_its_own_row(device, key):
    assert peak_tflops(device) == TABLE[key]


def test_every_row_is_reachable_and_prefixes_do_not_capture_longer_names():
    # each key, used as a device name, finds its own row (an earlier, shorter key would shadow it)
    for key, tflops in PEAK_TFLOPS:
        assert peak_tflops(f"NVIDIA {key}") == tflops, key
    assert peak_tflops("NVIDIA A10G") is None  # not in the table: no datasheet figure for the AWS variant
    assert peak_tflops("NVIDIA GeForce RTX 30900") is None
    assert peak_tflops("Some Future GPU") is None


def test_lora_model_flops():
    assert model_flops_per_token(1_000) == 4_000
