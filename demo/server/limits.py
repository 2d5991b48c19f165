"""The app's caps and queue settings, each overridable by an environment variable for a private machine.

Defaults fit a 2-core machine shared by a workshop room. Every cap is enforced on the server (a validator
runs before an event is queued, and handlers check again), whatever the browser sends.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path


def _env(name: str, default: float, kind: type = int) -> float:
    raw = os.environ.get(f"CHARLSTM_{name}")
    if raw is None:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise SystemExit(f"CHARLSTM_{name} must be a number, not {raw!r}") from None
    if value <= 0:
        raise SystemExit(f"CHARLSTM_{name} must be positive, not {raw!r}")
    return value


CORPUS_MAX_CHARS = int(_env("CORPUS_MAX_CHARS", 2_000_000))  # pasted or uploaded text
# any uploaded file: text, or a model with its optimiser state (a fine-tuned base model downloads at 15 MB)
UPLOAD_MAX_BYTES = int(_env("UPLOAD_MAX_BYTES", 32 * 1024 * 1024))
TRAIN_MAX_SECONDS = int(_env("TRAIN_MAX_SECONDS", 300))  # one Train or Continue run
GENERATE_MAX_LENGTH = int(_env("GENERATE_MAX_LENGTH", 5000))  # characters per Generate
SEED_MAX_CHARS = int(_env("SEED_MAX_CHARS", 2000))  # seed text, Learn text and Inside text
MODEL_MAX_HIDDEN = int(_env("MODEL_MAX_HIDDEN", 512))
MODEL_MAX_LAYERS = int(_env("MODEL_MAX_LAYERS", 3))
SESSIONS_MAX = int(_env("SESSIONS_MAX", 200))  # sessions kept; the least recently used idle one goes first
# Sessions one address may hold (a room behind one NAT shares an address): past it, that address's new ones are
# refused, so one client cannot crowd the others out of SESSIONS_MAX.
CLIENT_SESSIONS = int(_env("CLIENT_SESSIONS", 40))
SESSION_IDLE_SECONDS = _env("SESSION_IDLE_SECONDS", 1800.0, float)  # an API script's untouched session is freed
# A page that went away (its heartbeat closed: the tab closed, or the Wi-Fi dropped) keeps its work this long;
# a page that comes back within it finds everything as it was. Also how long a session nobody ever read lives.
SESSION_GRACE_SECONDS = _env("SESSION_GRACE_SECONDS", 300.0, float)
# A training or generation nobody reads is refused this long after it joined the queue (at once, if it waited)
LISTEN_WAIT_SECONDS = _env("LISTEN_WAIT_SECONDS", 10.0, float)
# Trainings one network address may have queued or running: all of them (a room behind one NAT shares an
# address, so this is generous), and those nobody reads (a page or script reads its own at once).
CLIENT_TRAININGS = int(_env("CLIENT_TRAININGS", 8))
CLIENT_UNREAD_TRAININGS = int(_env("CLIENT_UNREAD_TRAININGS", 4))
# Memory for models: each session's (weights, Adam moments, the copy Generate reads, the download) and all of them
# together. A training that would pass either is refused with a message, before it starts.
SESSION_MEMORY_MB = _env("SESSION_MEMORY_MB", 128.0, float)
# The time machine's moments of a visitor's current run (8 bits a weight): 20 moments of the default-sized model
# (0.35 MB each) or 12 of the base model's size (1.3 MB each). Counted in the memory budget with the models.
MOMENTS_MEMORY_MB = _env("MOMENTS_MEMORY_MB", 16.0, float)
MEMORY_BUDGET_MB = _env("MEMORY_BUDGET_MB", 4096.0, float)
# What all the sessions of one address may hold together: a quarter of the budget, so one client cannot hold the
# whole budget (for the half hour an API session lives) and refuse everyone else's Train.
CLIENT_MEMORY_MB = _env("CLIENT_MEMORY_MB", 1024.0, float)
CONCURRENT_TRAININGS = int(_env("CONCURRENT_TRAININGS", 2))
CONCURRENT_GENERATIONS = int(_env("CONCURRENT_GENERATIONS", 2))  # more only thrash 2 cores: they queue instead
# Text analyses (Find units, a unit's heatmap, Score any text) take a fraction of a second each but can be
# flooded: one at a time, in their own queue, pausing while a generation runs.
CONCURRENT_ANALYSES = int(_env("CONCURRENT_ANALYSES", 1))
# Events waiting (not running); beyond this a visitor is told the app is busy. Stop is never refused. Room for
# five greedy addresses' full shares (CLIENT_EVENTS each) and a room of 30 waiting for one thing each.
QUEUE_MAX = int(_env("QUEUE_MAX", 200))
# One network address's share of the queue: events waiting or running, of every kind (a room behind one NAT shares
# an address, so this is generous), and of them text analyses (one slot serves the whole room: 5 s each at worst).
CLIENT_EVENTS = int(_env("CLIENT_EVENTS", 16))
CLIENT_ANALYSES = int(_env("CLIENT_ANALYSES", 2))
# The text one address may send the queue in a minute, in requests of more than LARGE_REQUEST_BYTES (a corpus: each
# such request costs the server about 70 ms of the interpreter per 4 MB, reading and checking it, which no other
# visitor's thread can use meanwhile). A room's pastes, trainings and analyses of 2-million-character texts fit.
CLIENT_TEXT_MB_PER_MINUTE = _env("CLIENT_TEXT_MB_PER_MINUTE", 40.0, float)
LARGE_REQUEST_BYTES = 65_536
CGROUP = Path("/sys/fs/cgroup")


def usable_cores(environ: Mapping[str, str] = os.environ, cgroup: Path = CGROUP) -> int:
    """The cores this process may use: the fewest of the CPUs it may run on (affinity), its cgroup's CPU quota
    (rounded up) and, on a Hugging Face Space, ``CPU_CORES``. ``os.cpu_count()`` counts the host's: 16 have been
    reported on a 2-core Space, and 8 threads on 2 cores trained 2.4x slower than 2."""
    counts = [len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1]
    if (quota := _cgroup_quota(cgroup)) is not None:
        counts.append(quota)
    if (space := environ.get("CPU_CORES")) is not None:
        try:
            counts.append(int(space))
        except ValueError:
            raise SystemExit(f"CPU_CORES must be a whole number of cores from 1 up, not {space!r}") from None
        if counts[-1] < 1:
            raise SystemExit(f"CPU_CORES must be a whole number of cores from 1 up, not {space!r}")
    return max(1, min(counts))


def _cgroup_quota(cgroup: Path) -> int | None:
    """The cgroup's CPU quota in whole cores, rounded up (a quota of 1.5 cores lets 2 threads make progress);
    None when there is none. cgroup v2 writes "max 100000" or "200000 100000" in ``cpu.max``; v1 writes the
    quota (-1 for none) and the period in microseconds in two files."""
    try:
        quota, period = (cgroup / "cpu.max").read_text().split()[:2]
    except (OSError, ValueError):
        for v1 in (cgroup / "cpu", cgroup / "cpu,cpuacct", cgroup / "cpuacct,cpu"):
            try:
                quota, period = ((v1 / f"cpu.cfs_{n}_us").read_text().strip() for n in ("quota", "period"))
                break
            except OSError:
                continue
        else:
            return None
    try:
        quota_us, period_us = int(quota), int(period)
    except ValueError:  # "max": no quota
        return None
    if quota_us <= 0 or period_us <= 0:  # v1's -1: no quota
        return None
    return max(1, math.ceil(quota_us / period_us))


# Cores this process's trainings share: those it may use, or a replica's part of them (demo.replicas sets it).
CORES = int(_env("CORES", usable_cores()))


def torch_threads(cores: int | None = None) -> int:
    """Threads per training so that the concurrent trainings together fill the machine's cores."""
    cores = cores or CORES
    return max(1, cores // CONCURRENT_TRAININGS)
