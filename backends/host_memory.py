"""Host memory: keep the big blocks a training step frees for the next step (glibc only).

A training step allocates the same big arrays every time (im2col columns, activations,
gradients: LeNet-5 at batch 128 frees and reallocates about 60 MB a step). With glibc's
default settings many of them come straight from the kernel (``mmap``) and go straight back
(``munmap``), or the top of the heap is handed back (trimmed) when they are freed. Then every
step pays for fresh pages: one page fault and the kernel zeroing each 4 KiB page, on first
touch. On the 2-core machine of FACTS.md that was a third of an eager LeNet-5 step (28 ms with
the defaults, 19 ms with the settings below, one thread).

``keep_freed_blocks`` asks glibc (``mallopt``) to serve blocks under 32 MiB from the heap,
to hand the heap's top back only past 256 MiB of free space, and to grow it 64 MiB at a time:
freed blocks are reused by the next step, whose pages are already mapped. The cost is
memory: the process keeps the heap of its largest step (resident memory stays at that peak
after the step; blocks freed in the middle of the heap are reused, never returned), where
glibc's defaults would hand most big blocks back. For a training loop that is the memory the
next step needs anyway; for a program that has one big burst and then runs small, it is not:
set ``CHALKGRAD_MALLOC=0`` there.

It runs when the CPU backend loads (``import autograd``), for the whole process and its forked
children. It changes nothing when ``CHALKGRAD_MALLOC`` is ``0``, ``false``, ``off`` or ``no``,
when the user set glibc's own ``MALLOC_*_`` variables or preloads another allocator (theirs
win), or on other C libraries (macOS, musl, Windows). PyTorch leaves the allocator as it is;
the same settings for any process are the environment variables
``MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=268435456 MALLOC_TOP_PAD_=67108864``.
"""

from __future__ import annotations

import ctypes
import os

# mallopt's parameter numbers (glibc's malloc.h), and the values set.
M_TRIM_THRESHOLD = -1
M_TOP_PAD = -2
M_MMAP_THRESHOLD = -3
SETTINGS = {
    "MALLOC_MMAP_THRESHOLD_": (M_MMAP_THRESHOLD, 32 << 20),  # glibc's largest allowed value
    "MALLOC_TRIM_THRESHOLD_": (M_TRIM_THRESHOLD, 256 << 20),
    "MALLOC_TOP_PAD_": (M_TOP_PAD, 64 << 20),
}
# glibc variables that mean the user tunes malloc already.
_USER_VARIABLES = (*SETTINGS, "MALLOC_MMAP_MAX_", "GLIBC_TUNABLES", "LD_PRELOAD")

state = "not applied"  # what happened, for the benchmark's header and for users who ask


def keep_freed_blocks() -> str:
    """Apply ``SETTINGS`` through ``mallopt`` where that is safe; returns (and keeps in
    ``state``) what happened: ``"applied"`` or why not."""
    global state
    state = _apply()
    return state


def _apply() -> str:
    setting = os.environ.get("CHALKGRAD_MALLOC", "1")
    if setting.strip().lower() in ("0", "false", "off", "no"):
        return f"off (CHALKGRAD_MALLOC={setting})"
    user = [name for name in _USER_VARIABLES if os.environ.get(name, "").strip()]
    if user:
        return f"left to the user ({', '.join(user)} set)"
    if not _is_glibc():
        return "not glibc"
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return "no mallopt"
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    refused = [name for name, (param, value) in SETTINGS.items() if mallopt(param, value) != 1]
    if refused:  # the others stay applied
        return f"partly applied (mallopt refused {', '.join(refused)})"
    return "applied"


def _is_glibc() -> bool:
    try:
        return (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")
    except (AttributeError, ValueError, OSError):
        return False
