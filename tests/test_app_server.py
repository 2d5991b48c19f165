"""End to end over HTTP: the app launched on a loopback port, driven by gradio_client as a script would."""

import json

import pytest
from gradio_client import Client

from tests.helpers import FINANCE, wait_until

pytestmark = pytest.mark.server
CORPUS = FINANCE.read_text()


def train(client: Client, seconds: float = 3, text: str = CORPUS, init: str = "auto", keep_best: bool = True):
    """Submit /train with the automatic settings, from ``init`` ("auto": the base model; "scratch")."""
    return client.submit(text, seconds, True, 256, 1, 64, 64, 16, 0.01, 0.0, init, keep_best, api_name="/train")


def test_generate_works_at_once_with_the_default_model(client):
    text, _bars, note, shaded, _summary, _copied = client.predict("ROMEO:", 120, 0.8, 0, 1.0, 3, api_name="/generate")
    assert len(text) == 120 and "default model" in note and "<span" in shaded
    again = client.predict("ROMEO:", 120, 0.8, 0, 1.0, 3, api_name="/generate")[0]
    assert again == text
    short = client.predict(api_name="/generate")[0]  # every parameter has a default
    assert len(short) == 300


def test_training_streams_updates_then_generation_uses_the_trained_model(client):
    job = train(client, seconds=3)
    updates = []
    for update in job:
        updates.append(update)
    final = job.outputs()[-1]
    assert len(job.outputs()) >= 5, "the plot should stream several updates"
    _plot, status, samples, download = final[:4]
    assert "best validation" in status and samples.count("validation") >= 2
    assert download and str(download).endswith(".safetensors")
    text, _, note, *_ = client.predict("A ", 60, 0.8, 0, 1.0, 0, api_name="/generate")
    assert "your model" in note and len(text) == 60


def test_two_clients_keep_separate_models(app_server):
    first = Client(app_server.url, verbose=False)
    second = Client(app_server.url, verbose=False)
    # from random weights: a model that already reads English would still know other letters after 2 s
    first_job = train(first, seconds=2, text="abcabcabcabc " * 300, init="scratch")
    second_job = train(second, seconds=2, text="xyz xyz xyz! " * 300, init="scratch")
    first_job.result()
    second_job.result()
    first_text = first.predict("abc", 200, 0, 0, 1.0, 0, api_name="/generate")[0]
    second_text = second.predict("xyz", 200, 0, 0, 1.0, 0, api_name="/generate")[0]
    assert set(first_text) <= set("abc ") and set(second_text) <= set("xyz! ")
    third = Client(app_server.url, verbose=False)
    assert "default model" in third.predict("ROMEO:", 20, api_name="/generate")[2]


def test_a_cancelled_training_stops_and_keeps_its_weights(client):
    # a run that only memorises ends by itself, but not within its first three updates
    job = train(client, seconds=120, keep_best=False)
    wait_until(lambda: len(job.outputs()) >= 3, "three updates from the training")
    job.cancel()
    # Cancelling ends the handler, which keeps the weights: Generate switches to them.
    wait_until(lambda: "your model" in generate_note(client), "Generate to use the cancelled run's weights", 60)
    # The session is free again (its model is kept before it is marked idle; asking Stop now cannot stop
    # anything, the training having ended): a new training starts, and is stopped through the API.
    wait_until(lambda: client.predict(api_name="/stop").startswith("Nothing"), "the session to be idle")
    again = train(client, seconds=60)
    wait_until(lambda: len(again.outputs()) >= 2, "the second training to stream")
    assert client.predict(api_name="/stop") == "Stopping…"
    final_status = again.result()[1]
    assert "Stopped" in final_status


def generate_note(client: Client) -> str:
    return client.predict("The ", 40, 0.8, 0, 1.0, 0, api_name="/generate")[2]


def test_stop_before_train_is_harmless(client):
    assert client.predict(api_name="/stop").startswith("Nothing")


def test_cell_values_and_corpus_stats_endpoints(client):
    svg, _guesses, summary, numbers, step, _layer = client.predict("hello", 5, 1, api_name="/cell_values")
    numbers = json.loads(numbers)
    assert "<svg" in svg and numbers["char"] == "o" and numbers["character"] == 5 and step["maximum"] == 5
    summary, _chars = client.predict("some text to look at\n" * 10, api_name="/corpus_stats")
    assert "210 characters" in summary
