"""Peak dense 16-bit tensor-core throughput of common GPUs, for model-FLOPs-utilisation estimates.

Figures are NVIDIA's datasheet numbers without structured sparsity: fp16 for the T4 and RTX 3090
(no bf16 on the T4), bf16 for the others. Order matters: the first matching name wins.
"""
from __future__ import annotations

PEAK_TFLOPS = (
    ("T4", 65.0),          # Tesla T4 datasheet: 65 TFLOPS mixed precision (fp16)
    ("A10G", 125.0),       # A10 datasheet: 125 dense bf16 (A10G is the AWS variant)
    ("A100", 312.0),       # A100 datasheet: 312 dense bf16
    ("L40S", 362.0),       # L40S datasheet: 733 with sparsity -> 362 dense
    ("L4", 121.0),         # L4 datasheet: 242 with sparsity -> 121 dense
    ("H100 PCIe", 756.0),  # H100 datasheet (PCIe): 1,513 with sparsity -> 756 dense
    ("H100", 989.0),       # H100 datasheet (SXM): 1,979 with sparsity -> 989 dense
    ("H200", 989.0),       # H200 datasheet: same tensor cores as H100 SXM
    ("RTX 3090", 71.0),    # GA102 whitepaper: 71 dense fp16 with fp32 accumulate
    ("RTX 4090", 165.0),   # AD102 whitepaper: 165 dense fp16 with fp32 accumulate
)


def peak_tflops(device_name: str) -> float | None:
    """None for a GPU not in the table: the lab then skips the utilisation figure."""
    for key, tflops in PEAK_TFLOPS:
        if key in device_name:
            return tflops
    return None


def model_flops_per_token(matmul_params: int) -> int:
    """A frozen-base LoRA step: forward (2N) plus the backward pass to the activations (2N).

    The recomputation of gradient checkpointing (another 2N) is hardware work, not model work, so it
    is left out, as in the usual definition of MFU. Attention-score FLOPs are ignored (short sequences).
    """
    return 4 * matmul_params
