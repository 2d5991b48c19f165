"""Memory: sessions that train and leave are freed, and the server shrinks back near where it started."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from gradio_client import Client

from bench.server import AppServer
from tests.conftest import FINANCE, wait_until

pytestmark = pytest.mark.server
IDLE_SECONDS = 3


@pytest.fixture(scope="module")
def short_lived_server():
    server = AppServer(CHARLSTM_SESSION_IDLE_SECONDS=str(IDLE_SECONDS))
    yield server
    server.stop()


def wait_for_freed(server: AppServer, sessions: int) -> None:
    """Wait until the server's log says it has freed ``sessions`` sessions in all."""
    wait_until(lambda: server.log_tail(100_000).count("… freed") >= sessions, f"{sessions} sessions freed")


def visit(url: str) -> str:
    client = Client(url, verbose=False)
    status = client.submit(FINANCE.read_text(), 1, api_name="/train").result()[1]
    client.predict("The ", 50, api_name="/generate")
    return status


def test_fifty_sessions_that_train_and_leave_give_their_memory_back(short_lived_server):
    server = short_lived_server
    with ThreadPoolExecutor(4) as pool:  # warm up: thread pools and caches that stay for the server's life
        list(pool.map(visit, [server.url] * 8))
    wait_for_freed(server, 8)
    start = server.rss_mb()
    with ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(visit, [server.url] * 50))
    assert all("best validation" in s for s in statuses)
    peak = server.rss_mb()
    wait_for_freed(server, 58)  # every session expired (the server logs each one it frees)
    end = server.rss_mb()
    print(f"RSS: start {start:.0f} MB, after 50 sessions {peak:.0f} MB, after expiry {end:.0f} MB")
    assert end - start < 100, f"memory did not come back: {start:.0f} → {peak:.0f} → {end:.0f} MB"
