"""The app's own figures: time from pressing Train to the first plotted point, the server's cost of one loss-plot
update, and the memory an idle session costs.

    python -m bench.app_bench [--sessions 50]

Prints numbers; asserts nothing. Each figure is measured against the launched app or, for the plot update,
in-process on the same code the server runs.
"""

from __future__ import annotations

import argparse
import statistics
import time

import gradio as gr
import pandas as pd
from gradio.utils import diff
from gradio_client import Client

from bench.server import AppServer
from demo.tabs.corpus_tab import PRESETS, preset_text


def first_point_and_stop_seconds(url: str, text: str, runs: int = 3) -> tuple[list[float], list[float]]:
    """Seconds from submitting /train to the first streamed plot point, and from /stop to the run's last update."""
    first, stop = [], []
    for _ in range(runs):
        client = Client(url, verbose=False, download_files=False)
        start = time.perf_counter()
        job = client.submit(text, 60, api_name="/train")
        while not job.outputs():
            time.sleep(0.005)
        first.append(time.perf_counter() - start)
        time.sleep(2)
        start = time.perf_counter()
        client.predict(api_name="/stop")
        job.result()
        stop.append(time.perf_counter() - start)
    return first, stop


def plot_update_ms(rows: int = 600) -> dict:
    """Server cost of one plot update late in a run: build the frame, postprocess it, diff against the last."""
    plot = gr.LinePlot(x="seconds", y="bpc", color="series")
    data = [{"seconds": i * 0.2, "bpc": 2 + 1 / (i + 1), "series": "train"} for i in range(rows)]
    previous = plot.postprocess(pd.DataFrame(data[:-1])).model_dump()
    times = []
    for _ in range(50):
        start = time.perf_counter()
        current = plot.postprocess(pd.DataFrame(data)).model_dump()
        diff(previous, current)
        times.append((time.perf_counter() - start) * 1000)
    return {"rows": rows, "median_ms": statistics.median(times), "max_ms": max(times)}


def idle_session_mb(server: AppServer, sessions: int) -> tuple[float, float]:
    """Server memory growth (total, per session) for sessions that asked for one small thing, then sat idle."""
    clients = [Client(server.url, verbose=False, download_files=False) for _ in range(3)]
    for c in clients:
        c.predict("warm up", 2, 1, api_name="/cell_values")
    before = server.rss_mb()
    for _ in range(sessions):
        Client(server.url, verbose=False, download_files=False).predict("hello", 2, 1, api_name="/cell_values")
    time.sleep(1)
    grown = server.rss_mb() - before
    return grown, grown / sessions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=100)
    args = parser.parse_args()
    server = AppServer()
    try:
        for name in PRESETS:
            first, stop = first_point_and_stop_seconds(server.url, preset_text(name))
            print(
                f"{name}: Train pressed → first plot point: median {statistics.median(first):.2f} s "
                f"(runs: {', '.join(f'{t:.2f}' for t in first)}); Stop pressed → training over: median "
                f"{statistics.median(stop):.2f} s (runs: {', '.join(f'{t:.2f}' for t in stop)}); over HTTP"
            )
        update = plot_update_ms()
        print(
            f"one loss-plot update with {update['rows']} points: median {update['median_ms']:.1f} ms of server "
            f"time (max {update['max_ms']:.1f}); only the new rows travel (Gradio streams diffs)"
        )
        grown, per = idle_session_mb(server, args.sessions)
        print(
            f"idle sessions: the server grew {grown:+.1f} MB for {args.sessions} of them ({per:+.2f} MB each; "
            f"RSS now {server.rss_mb():.0f} MB)"
        )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
