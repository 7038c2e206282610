"""Process-level performance settings."""
import ctypes
import ctypes.util
import os
import platform
from typing import Optional

# glibc's mallopt parameter numbers (malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
ENV_VAR = 'MSCLR_TUNE_MALLOC'


def tune_allocator(enable: Optional[bool] = None) -> bool:
    """Keep freed memory in the process instead of returning it to the OS.

    glibc serves each large activation buffer with a fresh ``mmap`` and
    unmaps it on free, so every training step faults all its activation
    pages in again: 20-30% of a CPU step (PERF_NOTES). This sets what
    ``MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=<huge>`` would, at run time:
    no ``mmap`` for large blocks and no trimming of the heap, so the pages of
    one step are reused by the next. Peak memory is unchanged; the process
    keeps its peak until it exits. Call it once, early (before the model
    and data are built). A no-op off glibc.

    Args:
        enable (bool, optional): Apply the settings. None reads the
            environment variable ``MSCLR_TUNE_MALLOC`` (``1``/``true``/``yes``
            apply). Defaults to None.

    Returns:
        bool: Whether the settings are now in effect.
    """
    if enable is None:
        enable = os.environ.get(ENV_VAR, '').lower() in ('1', 'true', 'yes')
    if not enable or platform.libc_ver()[0] != 'glibc':
        return False
    libc = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6')
    # mallopt returns 1 on success; -1 as the trim threshold disables trimming
    return bool(libc.mallopt(M_MMAP_MAX, 0)) and bool(
        libc.mallopt(M_TRIM_THRESHOLD, -1))
