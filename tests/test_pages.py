"""The page, /config and /gradio_api/info made once (demo.server.pages): served again byte for byte as Gradio made
them, per address the app is reached at, never for Gradio's own parameters, with the boot cookie still on every
answer; the store bounded."""

import asyncio
import json

import httpx
import pytest

from demo.server import pages


def test_an_answer_is_made_once_per_address_and_never_for_gradios_parameters():
    made: list[tuple[str, bytes]] = []

    async def app(scope, receive, send):  # the answer names the host it was made for, as Gradio's root does
        host = dict(scope["headers"]).get(b"host", b"")
        made.append((scope["path"], host))
        await send({"type": "http.response.start", "status": 200, "headers": [(b"set-cookie", b"a=1")]})
        await send({"type": "http.response.body", "body": b"for " + host, "more_body": True})
        await send({"type": "http.response.body", "body": b"!"})

    middleware = pages.Pages(app)

    def get(path: str, host: bytes = b"room", query: bytes = b"", method: str = "GET") -> tuple[int, list, bytes]:
        sent: list[dict] = []

        async def send(message):
            sent.append(message)

        scope = {"type": "http", "method": method, "path": path, "query_string": query, "headers": [(b"host", host)]}
        asyncio.run(middleware(scope, None, send))
        return sent[0]["status"], sent[0]["headers"], b"".join(m.get("body", b"") for m in sent[1:])

    first = get("/config")
    assert first == (200, [(b"set-cookie", b"a=1")], b"for room!")  # the first answer passes through whole
    assert get("/config") == (200, [], b"for room!")  # then the same body, without the cookie Gradio set
    assert get("/config", query=b"tab=generate&seed=3") == (200, [], b"for room!")  # a share link's parameters
    assert get("/config", host=b"other")[2] == b"for other!"  # another address: made for it
    assert made == [("/config", b"room"), ("/config", b"other")]
    for query in (b"deep_link=abc", b"page=x", b"all_endpoints=True"):  # Gradio's own: made every time
        get("/gradio_api/info", query=query)
    get("/queue/status")  # not one of the three
    get("/", method="HEAD")
    assert len(made) == 2 + 3 + 1 + 1
    for i in range(pages.KEPT + 10):  # a client inventing hosts cannot grow the store
        get("/", host=f"h{i}".encode())
    assert len(middleware.kept) == pages.KEPT


@pytest.mark.server
def test_the_launched_apps_page_and_configuration_are_gradios_for_each_address(app_server):
    with httpx.Client(base_url=app_server.url) as http:
        for path in ("/", "/config", "/gradio_api/info?serialize=False"):
            first, again = http.get(path), http.get(path)
            assert first.status_code == again.status_code == 200
            assert again.content == first.content and again.headers["content-type"] == first.headers["content-type"]
            if path != "/gradio_api/info?serialize=False":  # the page and a client's start carry the boot cookie
                assert "charlstm_boot" in again.headers.get("set-cookie", "")
        # the address Gradio names for a room reached through a proxy, and then the server's own again
        proxied = http.get("/config", headers={"x-forwarded-host": "room.example", "x-forwarded-proto": "https"})
        assert json.loads(proxied.content)["root"] == "https://room.example"
        assert json.loads(http.get("/config").content)["root"] == app_server.url.rstrip("/")
        # Gradio's own parameter gives its own answer, not the one kept for the plain request
        every = http.get("/gradio_api/info?all_endpoints=True").json()
        assert every != http.get("/gradio_api/info").json()
