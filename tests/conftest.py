"""Shared fixtures: small corpora and small models, so the library tests run in seconds on a CPU."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest
import torch

from bench.server import AppServer
from charlstm.config import ModelConfig, TrainConfig
from charlstm.data import make_corpus
from charlstm.model import CharLSTM

# The files Gradio and gradio_client write while the tests run (every trained model a client downloads: 15 MB
# each) go to a folder of their own, removed at the end; set before any test module imports them.
TEST_FILES = tempfile.mkdtemp(prefix="charlstm-tests-")
os.environ["GRADIO_TEMP_DIR"] = TEST_FILES

ROOT = Path(__file__).resolve().parent.parent
CORPORA = ROOT / "assets" / "corpora"
SHAKESPEARE = CORPORA / "tinyshakespeare.txt"
FINANCE = CORPORA / "tutorial-financial-transactions.txt"


@pytest.fixture(autouse=True, scope="session")
def _threads():
    torch.set_num_threads(2)


@pytest.fixture(autouse=True, scope="session")
def _test_files():
    yield
    shutil.rmtree(TEST_FILES, ignore_errors=True)


@pytest.fixture
def finance_text() -> str:
    return FINANCE.read_text(encoding="utf-8")


@pytest.fixture
def corpus(finance_text):
    return make_corpus(finance_text)


@pytest.fixture
def small_model(corpus):
    torch.manual_seed(0)
    return CharLSTM(ModelConfig(embedding_size=16, hidden_size=32, num_layers=2), corpus.vocab.size).eval()


def quick_config(**overrides) -> TrainConfig:
    settings = dict(batch_size=8, seq_len=32, learning_rate=1e-2, seconds=None, steps=30)
    settings.update(overrides)
    return TrainConfig(**settings)


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright, shared by a test module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


LOCAL_HOSTS = {"127.0.0.1", "localhost"}
ROOM_URL = "http://lab.example:7860/"  # never opened: only written into links and QR codes


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


@pytest.fixture
def wide_page(browser, app_server):
    """A fresh page of the launched app at 1280×900, watched (see :func:`watch_page`)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = watch_page(context.new_page())
    page.goto(app_server.url, wait_until="load")
    yield page
    context.close()


@pytest.fixture(scope="session")
def app_server():
    # The address a room would use (links and QR codes carry it; with loopback alone they would say why not). Every
    # test connects from 127.0.0.1, so one address's shares of sessions and memory would be the whole suite's: here
    # they are the room's (tests/test_fair_share.py starts servers with the real shares).
    server = AppServer(CHARLSTM_PUBLIC_URL=ROOM_URL, CHARLSTM_CLIENT_SESSIONS="200", CHARLSTM_CLIENT_MEMORY_MB="4096")
    yield server
    server.stop()


@pytest.fixture
def client(app_server):
    from gradio_client import Client

    return Client(app_server.url, verbose=False)


class Visitor:
    """Stands in for gr.Request in handler tests: the handlers only need the session hash."""

    def __init__(self):
        import uuid

        self.session_hash = uuid.uuid4().hex


@pytest.fixture
def visitor():
    """A fresh visitor of the app (its session is freed afterwards)."""
    from demo import sessions

    v = Visitor()
    yield v
    sessions.drop(v)


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
