"""The API as the README and the API page document it: the README's "Use it from Python" blocks run as written,
every output is labelled, and the cURL route (POST, then GET the event stream) works for the long endpoints."""

import json
import re
import shutil
import subprocess
import sys

import httpx
import pytest

from tests.helpers import FINANCE, ROOT

pytestmark = pytest.mark.server
README_URL = "http://127.0.0.1:7860/"


def section_blocks(language: str) -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Use it from Python\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(rf"```{language}\n(.*?)```", section, re.S)


def test_the_readmes_python_blocks_run_against_the_app(app_server, tmp_path):
    blocks = section_blocks("python")
    assert blocks and all(README_URL in block for block in blocks)
    shutil.copy(FINANCE, tmp_path / "my-text.txt")  # the text the example trains on
    for block in blocks:
        script = tmp_path / "example.py"
        script.write_text(block.replace(README_URL, app_server.url))
        done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-2000:]
        assert "Once upon a time" not in done.stdout.splitlines()[-1]  # the continuation is printed, not the seed
        assert "best validation" in done.stdout  # the training's status lines


def test_the_readmes_curl_block_streams_a_generation(app_server, tmp_path):
    (block,) = section_blocks("bash")
    done = subprocess.run(
        ["bash", "-c", block.replace(README_URL, app_server.url)], cwd=tmp_path, capture_output=True, text=True
    )
    events = parse(done.stdout)
    assert [kind for kind, _ in events][-1] == "complete", done.stdout[-2000:] + done.stderr[-2000:]
    assert events[-1][1][0].strip()  # the generated text


def test_every_output_on_the_api_page_has_a_label(app_server):
    info = httpx.get(app_server.url + "gradio_api/info").json()
    unlabelled = [
        (name, out.get("label"))
        for name, endpoint in info["named_endpoints"].items()
        for out in endpoint["returns"]
        if not out.get("label") or re.fullmatch(r"value_\d+", out["label"])
    ]
    assert unlabelled == []


def parse(stream: str) -> list[tuple[str, object]]:
    """The server-sent events of a cURL-route stream: (event, data) pairs."""
    events = []
    for chunk in stream.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in chunk.splitlines() if ": " in line)
        if "event" in fields:
            events.append((fields["event"], json.loads(fields.get("data", "null"))))
    return events


def call(url: str, api_name: str, data: list, session: str | None = None) -> list[tuple[str, object]]:
    """The cURL route as the API page shows it: POST the inputs, then GET the stream named by the event id."""
    body = {"data": data} | ({"session_hash": session} if session else {})
    with httpx.Client(base_url=url + "gradio_api/call/", timeout=120) as http:
        posted = http.post(api_name, json=body)
        assert posted.status_code == 200, posted.text
        with http.stream("GET", f"{api_name}/{posted.json()['event_id']}") as stream:
            return parse(stream.read().decode())


def test_the_curl_route_generates(app_server):
    events = call(app_server.url, "generate", ["ROMEO:", 40, 0.8, 0, 1.0, 0])
    assert [kind for kind, _ in events][-1] == "complete", events
    text, *_ = events[-1][1]
    assert text.strip()


def test_the_curl_route_reads_a_session_named_in_the_post(app_server):
    events = call(app_server.url, "generate", ["ROMEO:", 20, 0.8, 0, 1.0, 0], session="curl-session-of-its-own")
    assert [kind for kind, _ in events][-1] == "complete", events


def test_the_curl_route_trains_streaming_updates(app_server):
    text = FINANCE.read_text(encoding="utf-8")
    # corpus, seconds, automatic size, hidden_size, num_layers, embedding_size, seq_len, batch_size,
    # learning_rate, dropout, start from, keep the best weights, cell
    events = call(app_server.url, "train", [text, 2, True, 256, 1, 64, 64, 16, 0.01, 0.0, "auto", True, "lstm"])
    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "complete" and "generating" in kinds, events[-1]
    assert "best validation" in events[-1][1][1]  # the status


def test_the_curl_route_races_the_cells(app_server):
    events = call(app_server.url, "race_cells", [FINANCE.read_text(encoding="utf-8"), 6])
    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "complete" and "generating" in kinds, events[-1]
