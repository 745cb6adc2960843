from ftcourse.gpus import model_flops_per_token, peak_tflops


def test_known_gpus():
    assert peak_tflops("Tesla T4") == 65.0
    assert peak_tflops("NVIDIA H100 80GB HBM3") == 989.0
    assert peak_tflops("NVIDIA H100 PCIe") == 756.0
    assert peak_tflops("NVIDIA GeForce RTX 3090") == 71.0
    assert peak_tflops("NVIDIA L40S") == 362.0 and peak_tflops("NVIDIA L4") == 121.0
    assert peak_tflops("Some Future GPU") is None


def test_lora_model_flops():
    assert model_flops_per_token(1_000) == 4_000
