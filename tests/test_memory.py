"""Memory: sessions that train and leave are freed, and the server shrinks back near where it started."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from gradio_client import Client

from bench.server import AppServer
from tests.helpers import FINANCE, wait_until

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


def test_idle_sessions_with_their_moments_stay_within_the_documented_cap():
    """The cap the README documents for an idle visitor: the trained model (TRAINED_COPIES float32 copies of its
    weights), the earlier moment in use (one more copy) and the time machine's moments (at most
    limits.MOMENTS_MEMORY_MB) — measured as the server's resident memory over several such sessions."""
    from charlstm.run import TRAINED_COPIES
    from charlstm.transfer import base_model
    from demo.server import limits

    weights_mb = sum(p.numel() for p in base_model().model.parameters()) * 4 / 2**20  # the app's runs start here
    cap = (TRAINED_COPIES + 1) * weights_mb + limits.MOMENTS_MEMORY_MB
    # a short grace period only to sweep often (it frees pages, and these visitors are API clients): once no
    # training runs, the sweeper returns the memory the runs freed to the system, and logs it
    server = AppServer(CHARLSTM_SESSION_GRACE_SECONDS="4")
    returned = "memory returned to the system"
    try:
        visit(server.url)  # warm up: thread pools and caches that stay for the server's life
        wait_until(lambda: f"{returned} (1 runs" in server.log_tail(100_000), "the warm-up's memory returned")
        start = server.rss_mb()
        clients = [Client(server.url, verbose=False) for _ in range(6)]
        for client in clients:  # one after another: each run keeps its moments, then waits idle
            assert "best validation" in client.submit(FINANCE.read_text(), 3, api_name="/train").result()[1]
            assert "at **0.0 s**" in client.predict(0, api_name="/choose_moment")[0]  # an earlier moment in use
        ended = f"{returned} ({len(clients) + 1} runs"
        wait_until(lambda: ended in server.log_tail(100_000), "the runs' memory returned")
        per_session = (server.rss_mb() - start) / len(clients)
        print(f"resident memory per idle session with moments: {per_session:.1f} MB (cap {cap:.0f} MB)")
        assert per_session < cap
    finally:
        server.stop()
