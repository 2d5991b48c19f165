"""Shared fixtures: small corpora and small models, so the library tests run in seconds on a CPU; a launched app,
a browser and its pages for the server and browser tests. What tests import lives in :mod:`tests.helpers`."""

import os
import shutil
import tempfile

import pytest
import torch

from charlstm.data import make_corpus
from tests.helpers import CHROMIUM, FINANCE, ROOM_URL, AppServer, Visitor, small_lstm, watch_page

# The files Gradio and gradio_client write while the tests run (every trained model a client downloads: 15 MB
# each) go to a folder of their own, removed at the end; set before any test module imports them.
TEST_FILES = tempfile.mkdtemp(prefix="charlstm-tests-")
os.environ["GRADIO_TEMP_DIR"] = TEST_FILES


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
    return small_lstm(corpus.vocab.size)


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


@pytest.fixture
def visitor():
    """A fresh visitor of the app (its session is freed afterwards)."""
    from demo.server import sessions

    v = Visitor()
    yield v
    sessions.drop(v)
