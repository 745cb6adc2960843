"""Shared, tested helpers for the course: chapters import them at build time, labs at run time.

Keep this package small and free of GPU-only imports (Unsloth, bitsandbytes kernels): every module
here must import on a CPU-only machine.
"""

import logging
import warnings

# In a kernel without ipywidgets, `tqdm.auto` (imported by transformers and datasets) warns on stderr,
# and the strict build treats any stderr in a chapter as an error. Plain-text progress bars are fine.
warnings.filterwarnings("ignore", message="IProgress not found")
# bitsandbytes (imported by peft when installed) logs a missing optional CPU kernel package to
# stderr on machines without it; the CPU path it falls back to is the one the course uses.
logging.getLogger("bitsandbytes").setLevel(logging.ERROR)
