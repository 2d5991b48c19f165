"""Resident memory per trained session against what the app counts for it (``Run.memory_bytes``).

    python -m bench.session_memory [--sessions 6] [--hidden 512] [--layers 3] [--embedding 64]

Launches the app, then trains that many sessions one after another (1 s each from scratch, each from its own
address) and prints the server's resident growth after each, once its sweeper has returned freed memory to the
system, beside the count: the model's float32 copies (``TRAINED_COPIES``) and, at most, its moments.
"""

from __future__ import annotations

import argparse
import time

from gradio_client import Client

from bench.server import AppServer
from charlstm.config import ModelConfig
from charlstm.model import CharLSTM
from charlstm.run import TRAINED_COPIES
from demo.server import limits
from demo.tabs.corpus_tab import FIRST_PRESET, preset_text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=6)
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--embedding", type=int, default=64)
    args = parser.parse_args()
    text = preset_text(FIRST_PRESET)
    # a short grace period only to sweep (and trim) every second; the caps out of the way of the measurement
    server = AppServer(
        CHARLSTM_SESSION_GRACE_SECONDS="4", CHARLSTM_CLIENT_SESSIONS="1000", CHARLSTM_CLIENT_MEMORY_MB="100000"
    )
    try:
        Client(server.url, verbose=False).predict("warm", 2, 1, api_name="/cell_values")
        time.sleep(1)  # the warm-up's memory settles
        start = server.rss_mb()
        knobs = [args.hidden, args.layers, args.embedding, 32, 8, 0.01, 0.0, "scratch", False, "lstm"]
        for i in range(1, args.sessions + 1):
            client = Client(server.url, verbose=False, download_files=False, headers={"x-forwarded-for": f"10.3.0.{i}"})
            client.submit(text, 1, False, *knobs, api_name="/train").result()
            time.sleep(4)  # the sweeper trims once no training runs
            print(f"{i} sessions: +{server.rss_mb() - start:.0f} MB resident")
    finally:
        server.stop()
    config = ModelConfig(embedding_size=args.embedding, hidden_size=args.hidden, num_layers=args.layers)
    model = CharLSTM(config, len(set(text)) + 1)  # the text's characters and the "unknown" id
    weights = sum(p.numel() for p in model.parameters()) * 4 / 2**20
    print(
        f"counted per session: {TRAINED_COPIES} × {weights:.1f} MB of weights = {TRAINED_COPIES * weights:.1f} MB, "
        f"plus its moments (at most {limits.MOMENTS_MEMORY_MB:.0f} MB)"
    )


if __name__ == "__main__":
    main()
