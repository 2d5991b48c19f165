"""A workshop room in one script: N simulated visitors against a launched app, a mix of corpus pastes,
trainings and generations, each visitor with its own gradio_client session.

    python -m bench.load [--visitors 30] [--train-seconds 10] [--hostile 5] [--replicas 2]

Prints completed / failed / rejected ("busy") counts, generation latency while trainings run (p50, p95), how
long Stop took to answer the visitors who pressed it, and the server's memory before, at its peak and after
every session has expired. Asserts nothing.

``--replicas N`` runs the same room through N app replicas behind HAProxy (``python -m demo.replicas``: memory is
then the replicas' and the balancer's together), then on one process, and prints the ratios.

``--hostile N`` adds the room's hostile minority: N more clients, each from its own address, each making one of
the four attacks of issue 19 until the visitors are done: joins of analyses and trainings from one session, never
read (to fill the queue); cheap joins each with a new session, never read (to push the others' sessions out);
fresh sessions each training a 3×512 model for a second (to hold the memory budget); /corpus_stats of a million
distinct characters (a huge reply). Visitors whose trained model is gone when they generate count as sessions lost.

The visitors' and hostile clients' threads run at ``--client-nice`` (10: in a room every client is a device of its
own, and this load generator spent more CPU than the server it measured, on the same 2 cores); ``--client-nice 0``
measures as the benchmark did before.
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
import uuid
from collections import Counter

import httpx
from gradio_client import Client

from bench.server import AppServer, ReplicaServer
from demo.server.scheduling import lower_priority
from demo.tabs.corpus_tab import FIRST_PRESET, preset_text

BUSY_WORDS = ("queue is full", "busy", "try again")


class Tally:
    """Outcomes and latencies, shared by the visitor threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.outcomes: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.generation_during_training: list[float] = []
        self.generation_other: list[float] = []
        self.stop: list[float] = []
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


def visitor(url: str, index: int, tally: Tally, text: str, train_seconds: float, nice: int = 0) -> None:
    lower_priority(nice)
    # each from its own address (trusted from loopback), as in a room: the app budgets trainings per address
    client = Client(
        url, verbose=False, download_files=False, headers={"x-forwarded-for": f"10.1.{index // 250}.{index % 250 + 1}"}
    )
    tally.call("corpus", client.predict, text[:20_000], api_name="/corpus_stats")
    trained = False
    if index % 3 == 0:  # a third of the room trains; every other trainer presses Stop half way
        with tally.lock:
            tally.training_now += 1
        try:
            job = client.submit(text, train_seconds, api_name="/train")
            if index % 6 == 0:
                _press_stop(client, job, train_seconds, tally)
            trained = tally.call("train", job.result) is not None
        finally:
            with tally.lock:
                tally.training_now -= 1
    for round_ in range(3):
        result = tally.call(
            "generate", client.predict, "ROMEO:", 200, 0.8, 0, 1.0, index * 10 + round_, api_name="/generate"
        )
        if trained and result is not None and "your model" not in result[2]:
            with tally.lock:  # this visitor trained: its model must still be there
                tally.outcomes["session lost"] += 1
        time.sleep(0.5)  # a glance at the text, then the next click


def _press_stop(client: Client, job, train_seconds: float, tally: Tally) -> None:
    deadline = time.monotonic() + 120
    while len(job.outputs()) < 2 and not job.done() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(train_seconds / 2)
    start = time.perf_counter()
    if tally.call("stop", client.predict, api_name="/stop") is not None:
        tally.stop.append(time.perf_counter() - start)


ATTACKS = ("fill the queue", "wipe the sessions", "hold the memory", "huge replies")  # issue 19's four High ones


def hostile(
    url: str, index: int, text: str, until: threading.Event, attacks: tuple[str, ...] = ATTACKS, nice: int = 0
) -> None:
    """One of the room's hostile minority (see the module's docstring), from its own address, until ``until``."""
    lower_priority(nice)
    attack = attacks[index % len(attacks)]
    address = f"10.66.0.{index + 1}"
    headers = {"content-type": "application/json", "x-forwarded-for": address}
    fn = {d.get("api_name"): d["id"] for d in httpx.get(url + "config").json()["dependencies"]}

    def join(api_name: str, data: list, session: str) -> int:
        body = json.dumps({"data": data, "fn_index": fn[api_name], "session_hash": session})
        try:
            return httpx.post(url + "gradio_api/queue/join", content=body, headers=headers, timeout=60).status_code
        except httpx.HTTPError:
            return 0

    heavy = (text * 2)[:2000]
    # a million distinct characters (every code point from U+0100 on, but the surrogates): 4 MB of UTF-8
    distinct = "".join(chr(c) for c in range(0x100, 0x10FFFF) if not 0xD800 <= c <= 0xDFFF)[:1_000_000]
    session = f"hostile{index}"
    client = Client(url, verbose=False, download_files=False, headers={"x-forwarded-for": address})
    while not until.is_set():
        if attack == "fill the queue":  # analyses and trainings joined from one session, never read
            join("find_units", [heavy], session)
            join("train", [text, 300], session)
            time.sleep(0.25)  # about 4 joins a second kept the queue full before
        elif attack == "wipe the sessions":  # cheap joins, each with a new session, never read
            join("choose_model", ["the default model (tiny Shakespeare)"], uuid.uuid4().hex)
            time.sleep(0.05)
        elif attack == "hold the memory":  # fresh sessions, each training a 3×512 model for a second
            client.session_hash = uuid.uuid4().hex
            try:
                client.predict(
                    text, 1, False, 512, 3, 64, 32, 8, 0.01, 0.0, "scratch", False, "lstm", api_name="/train"
                )
            except Exception:  # refused at its share: try again a little later
                until.wait(2)
        else:  # the character table of a million distinct characters, and its reply read
            try:
                client.predict(distinct, api_name="/corpus_stats")
            except Exception:
                until.wait(1)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def room(server: AppServer, args: argparse.Namespace) -> dict:
    """Run the room against ``server`` and return its figures (see the module's docstring)."""
    text = preset_text(FIRST_PRESET)
    Client(server.url, verbose=False, download_files=False).predict("warm", 2, 1, api_name="/cell_values")
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
        threading.Thread(target=visitor, args=(server.url, i, tally, text, args.train_seconds, args.client_nice))
        for i in range(args.visitors)
    ]
    visitors_done = threading.Event()
    attacks = tuple(a.strip() for a in args.attacks.split(","))
    unknown = set(attacks) - set(ATTACKS)
    if unknown:
        raise SystemExit(f"--attacks: unknown {', '.join(sorted(unknown))}; choose from {', '.join(ATTACKS)}")
    minority = [
        threading.Thread(
            target=hostile, args=(server.url, i, text, visitors_done, attacks, args.client_nice), daemon=True
        )
        for i in range(args.hostile)
    ]
    for t in minority:
        t.start()
    for t in threads:
        t.start()
        time.sleep(args.arrival / args.visitors)  # a room fills up over a few seconds
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    visitors_done.set()
    for t in minority:
        t.join(timeout=120)
    done.set()
    time.sleep(args.idle_seconds + max(0.5, min(30.0, args.idle_seconds / 4)) + 2)  # every session expires
    during = tally.generation_during_training
    return {
        "wall": wall,
        "outcomes": dict(tally.outcomes),
        "errors": dict(tally.errors),
        "generation_p50": percentile(during, 0.5),
        "generation_p95": percentile(during, 0.95),
        "generations": len(during),
        "generation_other_p50": statistics.median(tally.generation_other) if tally.generation_other else float("nan"),
        "stop_p50": percentile(tally.stop, 0.5),
        "stop_max": max(tally.stop, default=float("nan")),
        "stops": len(tally.stop),
        "memory": (before, peak[0], server.rss_mb()),
    }


def report(name: str, figures: dict, args: argparse.Namespace) -> None:
    print(
        f"{name} (the load generator at nice +{args.client_nice}): "
        f"{args.visitors} visitors in {figures['wall']:.0f} s: ",
        end="",
    )
    print(", ".join(f"{k} {v}" for k, v in figures["outcomes"].items()))
    for error, count in figures["errors"].items():
        print(f"  failure ×{count}: {error}")
    print(
        f"  generation (200 chars) while trainings ran: p50 {figures['generation_p50']:.2f} s, "
        f"p95 {figures['generation_p95']:.2f} s over {figures['generations']} requests; otherwise p50 "
        f"{figures['generation_other_p50']:.2f} s"
    )
    print(
        f"  Stop answered in p50 {figures['stop_p50']:.2f} s, max {figures['stop_max']:.2f} s over "
        f"{figures['stops']} presses" + (f"; beside {args.hostile} hostile clients" if args.hostile else "")
    )
    before, peak, after = figures["memory"]
    print(
        f"  server memory: {before:.0f} MB before, {peak:.0f} MB at peak, {after:.0f} MB after every session "
        f"expired ({after - before:+.0f} MB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visitors", type=int, default=30)
    parser.add_argument("--train-seconds", type=float, default=10)
    parser.add_argument("--idle-seconds", type=float, default=15, help="session expiry for this run")
    parser.add_argument("--arrival", type=float, default=15, help="seconds over which the visitors arrive")
    parser.add_argument("--hostile", type=int, default=0, help="hostile clients beside the visitors (try 5)")
    parser.add_argument(
        "--attacks", default=",".join(ATTACKS), help="what the hostile clients take turns at: " + ", ".join(ATTACKS)
    )
    parser.add_argument(
        "--client-nice", type=int, default=10, help="the load generator's threads this far below the server (Linux)"
    )
    parser.add_argument("--replicas", type=int, default=0, help="also the room through N replicas behind HAProxy")
    args = parser.parse_args()
    env = {"CHARLSTM_SESSION_IDLE_SECONDS": str(args.idle_seconds)}
    env["CHARLSTM_SESSION_GRACE_SECONDS"] = str(args.idle_seconds)
    setups = [("one process", lambda: AppServer(**env))]
    if args.replicas:  # the replicas first, then the one process, on the same machine in the same run
        setups.insert(0, (f"{args.replicas} replicas", lambda: ReplicaServer(args.replicas, **env)))
    results = {}
    for name, launch in setups:
        server = launch()
        try:
            results[name] = room(server, args)
        finally:
            server.stop()
        report(name, results[name], args)
    if args.replicas:
        many, one = results[setups[0][0]], results["one process"]
        print(
            f"{setups[0][0]} ÷ one process: generation p95 ×{many['generation_p95'] / one['generation_p95']:.2f}, "
            f"Stop max ×{many['stop_max'] / one['stop_max']:.2f}, "
            f"peak memory ×{many['memory'][1] / one['memory'][1]:.2f}"
        )


if __name__ == "__main__":
    main()
