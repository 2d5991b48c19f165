"""What the tests share besides fixtures (those live in ``conftest.py``): the corpora's paths, a quick training
configuration, a stand-in for Gradio's request, waiting for an event, a raw HTTP call, a watched browser page."""

import shutil
from pathlib import Path

import torch

from bench.server import AppServer
from charlstm.config import ModelConfig, TrainConfig
from charlstm.model import CharLSTM

__all__ = [
    "CHROMIUM",
    "CORPORA",
    "FINANCE",
    "LOCAL_HOSTS",
    "ROOM_URL",
    "ROOT",
    "SHAKESPEARE",
    "AppServer",
    "Visitor",
    "call_raw",
    "quick_config",
    "small_lstm",
    "wait_until",
    "watch_page",
]

ROOT = Path(__file__).resolve().parent.parent
CORPORA = ROOT / "assets" / "corpora"
SHAKESPEARE = CORPORA / "tinyshakespeare.txt"
FINANCE = CORPORA / "tutorial-financial-transactions.txt"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
ROOM_URL = "http://lab.example:7860/"  # never opened: only written into links and QR codes


def quick_config(**overrides) -> TrainConfig:
    settings = dict(batch_size=8, seq_len=32, learning_rate=1e-2, seconds=None, steps=30)
    settings.update(overrides)
    return TrainConfig(**settings)


def small_lstm(vocab_size: int) -> CharLSTM:
    """The small model the library tests train (seeded: the same weights every time), in evaluation mode."""
    torch.manual_seed(0)
    return CharLSTM(ModelConfig(embedding_size=16, hidden_size=32, num_layers=2), vocab_size).eval()


def watch_page(page):
    """Block every request that would leave the machine (recording it in ``page.external``: the page must not
    even try) and record console and page errors in ``page.errors``."""
    from urllib.parse import urlsplit

    page.external, page.errors = [], []

    def route(route):
        if route.request.url.startswith(("data:", "blob:")) or urlsplit(route.request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            page.external.append(route.request.url)
            route.abort()

    page.route("**/*", route)
    page.on("console", lambda msg: page.errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    return page


class Visitor:
    """Stands in for gr.Request in handler tests: the handlers only need the session hash."""

    def __init__(self):
        import uuid

        self.session_hash = uuid.uuid4().hex


def wait_until(condition, what: str, timeout: float = 120, poll: float = 0.05):
    """Poll ``condition`` until it holds and return its value: waiting for an event. The deadline only fails a
    test that would hang; nothing here asserts how long anything took."""
    import time

    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what} after {timeout:g} s")
        time.sleep(poll)  # the poll interval, not a wait for something to happen
    return result


def call_raw(url: str, api_name: str, data: list) -> dict:
    """Call an endpoint the way any HTTP client could, with values gradio_client refuses to encode (NaN,
    infinity): join the queue, then read the event stream to the final message, which is returned."""
    import json
    import uuid

    import httpx

    config = httpx.get(url + "config").json()
    fn_index = next(d["id"] for d in config["dependencies"] if d.get("api_name") == api_name.lstrip("/"))
    session = uuid.uuid4().hex
    body = json.dumps({"data": data, "fn_index": fn_index, "session_hash": session}, allow_nan=True)
    joined = httpx.post(url + "gradio_api/queue/join", content=body, headers={"content-type": "application/json"})
    if joined.status_code != 200:
        return {"msg": "refused", "status": joined.status_code, "output": joined.json()}
    with httpx.stream("GET", url + "gradio_api/queue/data", params={"session_hash": session}, timeout=60) as r:
        for line in r.iter_lines():
            if line.startswith("data:"):
                message = json.loads(line[5:])
                if message.get("msg") == "process_completed":
                    return message
    raise AssertionError("the stream ended without a result")
