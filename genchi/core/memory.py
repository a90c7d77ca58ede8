"""Large buffers go back to the operating system when they are freed.

glibc serves an allocation of 128 KiB or more with its own memory mapping, returned to
the system when freed, but raises that threshold (up to 32 MiB) each time such a block
is freed. After the first file-sized buffer is freed, every later one (the decrypted
upload, the decompressed file, the next job's copies) comes from the heap and stays in
the process's resident memory after it is freed: an import's peak grew with the file
by a copy or two of it. Fixing the threshold at 1 MiB keeps large buffers mapped, so a
freed copy of a file is given back at once.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

M_MMAP_THRESHOLD = -3  # mallopt parameter of glibc's <malloc.h>
THRESHOLD = 1024 * 1024


@functools.cache
def return_large_buffers() -> bool:
    """Fix glibc's mmap threshold (once per process); False where there is no glibc."""
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        return bool(libc.mallopt(M_MMAP_THRESHOLD, THRESHOLD))
    except (OSError, AttributeError):
        return False
