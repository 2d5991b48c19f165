"""Giving freed model memory back to the system. glibc keeps what a session's models freed in its allocation
arenas, so without help the server's process only ever grows: the arenas are shared between threads, and once a
run ended (or sessions were freed) and no training runs, the sweeper trims them. Trimming locks the allocator,
which would stall every other thread (generations, Stop) while the room is busy: hence "when quiet"."""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import threading

_trim_due = threading.Event()
_runs_ended = itertools.count(1)
_ended = 0  # runs ended so far (the log says up to which one memory was returned)


def _libc():
    with contextlib.suppress(OSError):
        return ctypes.CDLL("libc.so.6")
    return None  # not glibc: nothing to tune


def limit_malloc_arenas(arenas: int = 2) -> None:
    """Share glibc's allocation arenas between threads: with one arena per worker thread, memory freed by
    one session stays reserved in that thread's arena and the process never shrinks back."""
    libc = _libc()
    if libc is not None:
        libc.mallopt(-8, arenas)  # M_ARENA_MAX


def return_memory() -> None:
    """Hand the memory glibc keeps in its arenas back to the system, so the process shrinks."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


def trim_when_quiet() -> None:
    """Ask for the memory a finished run freed to go back to the system once no training runs (the sweeper,
    :func:`demo.server.sessions.sweep`, does it)."""
    global _ended
    _ended = next(_runs_ended)
    _trim_due.set()


def sessions_freed() -> None:
    """Sessions were freed: their memory goes back once no training runs (a flood of cheap sessions freed one
    by one had the room waiting on the allocator when each trimmed at once)."""
    _trim_due.set()


def take_trim() -> int | None:
    """For the sweeper, when no training runs: whether a trim is due (the runs ended so far, for the log), and
    the request taken; None when none is due."""
    if not _trim_due.is_set():
        return None
    _trim_due.clear()
    return _ended


def runs_ended() -> int:
    """How many runs asked for their memory back so far (for tests)."""
    return _ended
