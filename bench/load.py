"""A workshop room in one script: N simulated visitors against a launched app, a mix of corpus pastes,
trainings and generations, each visitor with its own gradio_client session.

    python -m bench.load [--visitors 30] [--train-seconds 10]

Prints completed / failed / rejected ("busy") counts, generation latency while trainings run (p50, p95), and
the server's memory before, at its peak and after every session has expired. Asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from collections import Counter

from gradio_client import Client

from bench.server import AppServer
from demo.corpus_tab import FIRST_PRESET, preset_text

BUSY_WORDS = ("queue is full", "busy", "try again")


class Tally:
    """Outcomes and latencies, shared by the visitor threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.outcomes: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.generation_during_training: list[float] = []
        self.generation_other: list[float] = []
        self.training_now = 0

    def call(self, kind: str, fn, *args, **kwargs):
        start = time.perf_counter()
        training = self.training_now > 0
        try:
            result = fn(*args, **kwargs)
        except Exception as e:  # the client raises its own error types; each is classified by its message
            message = str(e)
            busy = any(w in message.lower() for w in BUSY_WORDS)
            with self.lock:
                self.outcomes["rejected (busy)" if busy else "failed"] += 1
                if not busy:
                    self.errors[f"{kind}: {message[:120]}"] += 1
            return None
        elapsed = time.perf_counter() - start
        with self.lock:
            self.outcomes["completed"] += 1
            if kind == "generate":
                (self.generation_during_training if training else self.generation_other).append(elapsed)
        return result


def visitor(url: str, index: int, tally: Tally, text: str, train_seconds: float) -> None:
    client = Client(url, verbose=False)
    tally.call("corpus", client.predict, text[:20_000], api_name="/corpus_stats")
    if index % 3 == 0:  # a third of the room trains
        with tally.lock:
            tally.training_now += 1
        try:
            tally.call("train", lambda: client.submit(text, train_seconds, api_name="/train").result())
        finally:
            with tally.lock:
                tally.training_now -= 1
    for round_ in range(3):
        tally.call("generate", client.predict, "ROMEO:", 200, 0.8, 0, 1.0, index * 10 + round_, api_name="/generate")
        time.sleep(0.5)  # a glance at the text, then the next click


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visitors", type=int, default=30)
    parser.add_argument("--train-seconds", type=float, default=10)
    parser.add_argument("--idle-seconds", type=float, default=15, help="session expiry for this run")
    parser.add_argument("--arrival", type=float, default=15, help="seconds over which the visitors arrive")
    args = parser.parse_args()
    server = AppServer(CHARLSTM_SESSION_IDLE_SECONDS=str(args.idle_seconds))
    text = preset_text(FIRST_PRESET)
    try:
        Client(server.url, verbose=False).predict("warm", 2, 1, api_name="/cell_values")
        before, peak, done = server.rss_mb(), [0.0], threading.Event()

        def watch() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], server.rss_mb())
                time.sleep(0.2)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        tally = Tally()
        start = time.perf_counter()
        threads = [
            threading.Thread(target=visitor, args=(server.url, i, tally, text, args.train_seconds))
            for i in range(args.visitors)
        ]
        for t in threads:
            t.start()
            time.sleep(args.arrival / args.visitors)  # a room fills up over a few seconds
        for t in threads:
            t.join()
        wall = time.perf_counter() - start
        done.set()
        time.sleep(args.idle_seconds + max(0.5, min(30.0, args.idle_seconds / 4)) + 2)
        after = server.rss_mb()
        during = tally.generation_during_training
        print(f"{args.visitors} visitors in {wall:.0f} s: " + ", ".join(f"{k} {v}" for k, v in tally.outcomes.items()))
        for error, count in tally.errors.items():
            print(f"  failure ×{count}: {error}")
        print(
            f"generation (200 chars) while trainings ran: p50 {percentile(during, 0.5):.2f} s, "
            f"p95 {percentile(during, 0.95):.2f} s over {len(during)} requests; otherwise p50 "
            f"{statistics.median(tally.generation_other) if tally.generation_other else float('nan'):.2f} s"
        )
        print(
            f"server memory: {before:.0f} MB before, {peak[0]:.0f} MB at peak, {after:.0f} MB after every session "
            f"expired ({after - before:+.0f} MB)"
        )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
