"""Large buffers go back to the operating system when they are freed.

glibc serves an allocation of 128 KiB or more from its own mapping, and frees that mapping when
the buffer is freed, but each time it frees one it raises that threshold to the buffer's size.
After the first Bulk result page (megabytes of CSV text) every later page is carved from the
heap instead, between small objects that outlive it, and the heap only grows: reading 200,000
leads through Bulk API 2.0 took a sync process from 134 to 182 MB, freed only when the object's
read ended. A fixed threshold keeps every buffer of a megabyte or more in a mapping of its own.
"""

import ctypes
import ctypes.util
import sys

M_MMAP_THRESHOLD = -3  # mallopt's parameter number, from glibc's malloc.h
MAPPED_FROM_BYTES = 1 << 20


def return_large_buffers_to_the_os() -> bool:
    """Fix glibc's mapping threshold for this process and the processes it forks; False where
    the C library is not glibc (no `mallopt`), which leaves the allocator as it is."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return False
    mallopt = getattr(libc, "mallopt", None)
    if mallopt is None:
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return bool(mallopt(M_MMAP_THRESHOLD, MAPPED_FROM_BYTES))
