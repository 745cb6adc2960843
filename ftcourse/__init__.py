"""Shared, tested helpers for the course: chapters import them at build time, labs at run time.

Keep this package small and free of GPU-only imports (Unsloth, bitsandbytes kernels): every module
here must import on a CPU-only machine.
"""
