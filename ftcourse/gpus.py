"""Peak dense 16-bit tensor-core throughput of common GPUs, for model-FLOPs-utilisation estimates.

Figures are NVIDIA's datasheet numbers without structured sparsity: fp16 for the T4 and the RTX
cards (the T4 has no bf16), bf16 for the others. A key matches a device name when its words appear
in the name as whole words, in order ("L4" does not match "NVIDIA L40"); the first match wins, so
the more specific key comes first ("H100 PCIe" before "H100").
"""
from __future__ import annotations

import re

PEAK_TFLOPS = (
    ("T4", 65.0),          # Tesla T4 datasheet: 65 TFLOPS mixed precision (fp16)
    ("A10", 125.0),        # A10 datasheet: 125 dense bf16 (250 with sparsity)
    ("A100", 312.0),       # A100 datasheet: 312 dense bf16
    ("L4", 121.0),         # L4 datasheet: 242 with sparsity -> 121 dense
    ("L40", 181.0),        # L40 datasheet: 181.05 dense bf16 (362.1 with sparsity)
    ("L40S", 362.0),       # L40S datasheet: 733 with sparsity -> 362 dense
    ("H100 PCIe", 756.0),  # H100 datasheet (PCIe): 1,513 with sparsity -> 756 dense
    ("H100", 989.0),       # H100 datasheet (SXM): 1,979 with sparsity -> 989 dense
    ("H200", 989.0),       # H200 datasheet: same tensor cores as H100 SXM
    ("RTX 3090", 71.0),    # GA102 whitepaper: 71 dense fp16 with fp32 accumulate
    ("RTX 4090", 165.0),   # AD102 whitepaper: 165 dense fp16 with fp32 accumulate
)


def _words(name: str) -> list[str]:
    return [w.lower() for w in re.split(r"[^A-Za-z0-9]+", name) if w]


def peak_tflops(device_name: str) -> float | None:
    """The table's figure for `torch.cuda.get_device_name()`; None for a GPU not in the table
    (the lab then skips the utilisation figure)."""
    words = _words(device_name)
    for key, tflops in PEAK_TFLOPS:
        want = _words(key)
        if any(words[i:i + len(want)] == want for i in range(len(words) - len(want) + 1)):
            return tflops
    return None


def model_flops_per_token(matmul_params: int) -> int:
    """A frozen-base LoRA step: forward (2N) plus the backward pass to the activations (2N).

    The recomputation of gradient checkpointing (another 2N) is hardware work, not model work, so it
    is left out, as in the usual definition of MFU. Attention-score FLOPs are ignored (short sequences).
    """
    return 4 * matmul_params
