"""Shared, tested helpers for the course: chapters import them at build time, labs at run time.

Keep this package small and free of GPU-only imports (Unsloth, bitsandbytes kernels): every module
here must import on a CPU-only machine.
"""

import warnings

# In a kernel without ipywidgets, `tqdm.auto` (imported by transformers and datasets) warns on stderr,
# and the strict build treats any stderr in a chapter as an error. Plain-text progress bars are fine.
warnings.filterwarnings("ignore", message="IProgress not found")
