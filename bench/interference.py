"""``python -m bench.interference``: how much one visitor's heavy request slows another visitor's generation.

The app serves every visitor from one process. Work that holds Python's interpreter lock for long stretches
(one C call over a huge input) stops every other thread, a generation's included, for as long as it runs — on two
cores or twenty. This measures a 200-character generation with the default model (the room's most common request),
alone and while another thread runs one heavy handler in a loop, and prints the slowdown as a ratio against the
generation alone in the same process (the machine is shared and noisy):

- ``/corpus_stats`` of a million distinct characters (issue 19's "huge replies" visitor);
- ``/corpus_stats`` of two million characters of English (the corpus cap);
- a loop of pure Python (what any request's parsing, any handler's bookkeeping is), at Python's default switch
  interval (5 ms), at the app's (``demo.server.scheduling.SWITCH_SECONDS``) and at the app's while a generation
  runs (``INTERACTIVE_SWITCH_SECONDS``): a generation gives the interpreter lock up at each torch call and waits
  up to that long to take it back.

Each row runs at the app's switch interval unless it says Python's default.

    python -m bench.interference [--rounds 8] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from collections.abc import Callable

import torch

from charlstm.sampling import generate
from demo.server import scheduling, sessions
from demo.tabs import corpus_tab
from demo.tabs.corpus_tab import FIRST_PRESET, preset_text


def one_generation() -> float:
    """Seconds for 200 characters from the default model at batch 1 (Generate's defaults)."""
    start = time.perf_counter()
    for _ in generate(
        sessions.DEFAULT.model, sessions.DEFAULT.vocab, "ROMEO:", 200, 0.8, 0, 1.0, torch.Generator().manual_seed(1)
    ):
        pass
    return time.perf_counter() - start


def beside(work: Callable[[], object] | None, rounds: int) -> list[float]:
    """Generation times while ``work`` runs in a loop on another thread (None: alone)."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            work()

    thread = threading.Thread(target=loop, daemon=True) if work else None
    if thread:
        thread.start()
        time.sleep(0.5)  # the loop is under way
    try:
        return [one_generation() for _ in range(rounds)]
    finally:
        stop.set()
        if thread:
            thread.join()


def _python() -> None:
    """A stretch of pure Python: no call that gives the interpreter lock up."""
    sum(i * i for i in range(10_000))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.interference", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=8, help="generations per measurement")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    distinct = "".join(chr(c) for c in range(0x100, 0x10FFFF) if not 0xD800 <= c <= 0xDFFF)[:1_000_000]
    english = (preset_text(FIRST_PRESET) * 500)[:2_000_000]
    scheduling.share_the_interpreter()  # as the app runs
    one_generation()  # warm
    alone = statistics.median(beside(None, args.rounds))
    rows = {"alone": {"median_s": alone, "ratio": 1.0}}
    for name, work, interval in (
        ("corpus_stats, 1,000,000 distinct characters", lambda: corpus_tab.corpus_stats(distinct), None),
        (
            "corpus_stats, 1,000,000 distinct, Python's default switch interval",
            lambda: corpus_tab.corpus_stats(distinct),
            0.005,
        ),
        ("corpus_stats, 2,000,000 characters of English", lambda: corpus_tab.corpus_stats(english), None),
        ("pure Python", _python, None),
        (
            "pure Python, the app's switch interval while a generation runs",
            _python,
            scheduling.INTERACTIVE_SWITCH_SECONDS,
        ),
        ("pure Python, Python's default switch interval", _python, 0.005),
    ):
        sys.setswitchinterval(interval or scheduling.SWITCH_SECONDS)
        times = beside(work, args.rounds)
        rows[name] = {"median_s": statistics.median(times), "max_s": max(times)}
        rows[name]["ratio"] = rows[name]["median_s"] / alone
    if args.json:
        print(json.dumps(rows))
    else:
        for name, row in rows.items():
            print(f"{name:68} median {row['median_s']:.3f} s  ×{row['ratio']:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
