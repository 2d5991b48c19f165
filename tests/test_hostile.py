"""Hostile and broken input through the launched app: each gets a clear message, and the server and the
visitor's work survive. Plus the API surface: every endpoint validates what it is sent."""

import io
import json
import pickle
import re
import struct
import zipfile

import httpx
import pytest
import torch
from gradio_client import Client, handle_file

from charlstm.checkpoint import to_bytes
from demo.server import limits
from tests.helpers import FINANCE, call_raw, wait_until

pytestmark = pytest.mark.server
CORPUS = FINANCE.read_text()
NAN, INF = float("nan"), float("inf")
ENDPOINTS = {
    "/generate",
    "/game_start",
    "/game_guess",
    "/game_reveal",
    "/choose_moment",
    "/compare_moments",
    "/race_cells",
    "/memory_reach",
    "/train",
    "/continue",
    "/stop",
    "/corpus_stats",
    "/cell_values",
    "/activations",
    "/find_units",
    "/surprise",
    "/choose_model",
    "/upload_model",
    "/report",
    "/generate_clamped",
}


def refused(call, *args, match: str = "", **kwargs) -> str:
    """Run a client call that must fail; return its message (which must be a clear one, not a traceback)."""
    with pytest.raises(Exception) as info:
        call(*args, **kwargs)
    message = str(info.value)
    if isinstance(info.value, httpx.HTTPStatusError):  # refused before the queue: the reason is in the body
        message = str(info.value.response.json().get("detail"))
    assert "Traceback" not in message and "/work/" not in message and "site-packages" not in message
    assert re.search(match, message, re.IGNORECASE), message
    return message


@pytest.fixture
def trained_client(app_server):
    client = Client(app_server.url, verbose=False)
    client.submit(CORPUS, 2, api_name="/train").result()
    assert "your model" in client.predict("The ", 20, api_name="/generate")[2]
    return client


@pytest.mark.parametrize("text, match", [("", "empty"), ("   \n\t  ", "empty"), ("x", "at least")])
def test_unusable_corpora_are_refused_and_the_model_survives(trained_client, text, match):
    refused(trained_client.predict, text, 2, api_name="/train", match=match)
    assert "your model" in trained_client.predict("The ", 20, api_name="/generate")[2]


def test_a_10_mb_corpus_is_refused_before_the_queue_naming_the_cap(trained_client):
    huge = "abcdefghij" * 1_000_000
    refused(trained_client.predict, huge, 2, api_name="/train", match=f"{limits.CORPUS_MAX_CHARS:,}")
    refused(trained_client.predict, huge, api_name="/corpus_stats", match="cap")


# Every refusal of a number names the setting and its range, whether the widget's own check refuses it (before
# the queue, for /train) or the handler's: "Length (characters) must be a whole number from 1 to 5000, not -5."
RANGE = r"must be a (whole )?number (from -?[\d.e+-]+ to [\d.e+-]+|of -?[\d.e+-]+ or more), not "
NOT_A_NUMBER = RANGE


@pytest.mark.parametrize(
    "args, match",
    [
        (("x", -5), RANGE),
        (("x", 10**12), RANGE),
        (("x", "lots"), NOT_A_NUMBER),
        (("x", 2.5), "length"),
        (("x", 10, -1.0), RANGE),
        (("x", 10, 0.8, -1), RANGE),
        (("x", 10, 4.0), RANGE),
        (("x", 10, 0.8, 0, 7.0), RANGE),
        (("x", 10, 0.8, 0, 1.0, -1), RANGE),
        (("x" * 10_000,), "cap"),
    ],
)
def test_bad_generation_settings_get_a_message(client, args, match):
    refused(client.predict, *args, api_name="/generate", match=match)


@pytest.mark.parametrize("seconds, match", [(-1, RANGE), (10**9, RANGE), ("soon", NOT_A_NUMBER)])
def test_bad_training_budgets_get_a_message(client, seconds, match):
    refused(client.predict, CORPUS, seconds, api_name="/train", match=match)


@pytest.mark.parametrize(
    "api_name, data, match",
    [
        ("/generate", ["x", NAN, 0.8, 0, 1.0, 0], "length"),
        ("/generate", ["x", 10, NAN, 0, 1.0, 0], "temperature"),
        ("/generate", ["x", 10, 0.8, 0, INF, 0], "top-p"),
        ("/train", [CORPUS, NAN, True, 64, 1, 16, 32, 8, 0.01, 0.0, "auto", True, "lstm"], "time budget"),
        ("/train", [CORPUS, 2, False, NAN, 1, 16, 32, 8, 0.01, 0.0, "auto", True, "lstm"], "hidden_size"),
        ("/cell_values", ["hello", NAN, 1], "step"),
        ("/activations", ["hello", "cell", 1, INF], "unit"),
    ],
)
def test_nan_and_infinity_sent_over_http_get_a_message(app_server, api_name, data, match):
    result = call_raw(app_server.url, api_name, data)
    if result["msg"] == "refused":  # Gradio's range check, before the queue
        assert re.search(RANGE, result["output"]["detail"]), result
    else:
        error = result["output"]["error"]
        assert result["success"] is False and re.search(f"{match}|{RANGE}", error, re.IGNORECASE), result


def test_seeds_of_unseen_characters_emoji_and_combining_marks_generate(client):
    text, _, note, *_ = client.predict("😀🚀🎉", 50, api_name="/generate")
    assert len(text) == 50 and "knows none" in note
    text, *_ = client.predict("cafe\u0301 👋 ", 50, api_name="/generate")
    assert len(text) == 50


def test_a_corpus_with_emoji_and_combining_marks_trains(client):
    text = "naïve café 😀 — e\u0301t\u00e9! " * 60
    final = client.submit(text, 1, api_name="/train").result()
    assert "best validation" in final[1]


def test_a_learning_rate_of_100_diverges_and_the_page_says_so(client):
    final_status = client.submit(CORPUS, 3, False, 64, 1, 16, 32, 8, 100.0, 0.0, api_name="/train").result()[1]
    assert "rolled back" in final_status  # the guard's note outlives the end-of-run message
    text = client.predict("The ", 30, api_name="/generate")[0]
    assert len(text) == 30  # the rolled-back model still works


def test_train_pressed_twice_is_refused_and_the_first_run_goes_on(client):
    first = client.submit(CORPUS, 30, api_name="/train")
    wait_until(first.outputs, "the first training streams")
    refused(client.predict, CORPUS, 2, api_name="/train", match="already training")
    assert client.predict(api_name="/stop") == "Stopping…"
    assert "Stopped" in first.result()[1]


def _checkpoint_bytes() -> bytes:
    from demo.server.sessions import DEFAULT

    return to_bytes(DEFAULT.model, DEFAULT.vocab)


def _with_header(data: bytes, change) -> bytes:
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    change(header)
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + data[8 + n :]


def _zip_bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("data.pkl", b"\0" * 50_000_000)  # 50 MB of zeros compress to about 50 KB
    return buffer.getvalue()


def _bad_models() -> dict[str, bytes]:
    good = _checkpoint_bytes()
    buffer = io.BytesIO()
    torch.save({"weights": torch.zeros(3)}, buffer)
    return {
        "pickle renamed": pickle.dumps({"a": 1}),
        "torch.save renamed": buffer.getvalue(),
        "truncated": good[: len(good) // 3],
        "absurd tensor": _with_header(good, lambda h: h["model.head.bias"].update(shape=[10**13])),
        "wrong shapes": _with_header(
            good,
            lambda h: h["__metadata__"].update(
                model_config=json.dumps({"embedding_size": 64, "hidden_size": 128, "num_layers": 1, "dropout": 0.0})
            ),
        ),
        "metadata not json": _with_header(good, lambda h: h["__metadata__"].update(vocab="{{{")),
        "bad vocabulary": _with_header(good, lambda h: h["__metadata__"].update(vocab='{"chars": ["z", "a"]}')),
        "zip bomb": _zip_bomb(),
    }


@pytest.mark.parametrize("name", list(_bad_models()))
def test_bad_model_files_are_refused_without_executing_or_allocating(trained_client, app_server, tmp_path, name):
    path = tmp_path / "model.safetensors"
    path.write_bytes(_bad_models()[name])
    before = app_server.rss_mb()
    refused(trained_client.predict, handle_file(str(path)), api_name="/upload_model", match="cannot be used")
    assert app_server.rss_mb() - before < 100, "the server must not allocate what a header declares"
    assert "your model" in trained_client.predict("The ", 20, api_name="/generate")[2]


def test_the_api_lists_only_the_documented_endpoints(client):
    assert set(client.view_api(return_format="dict", print_info=False)["named_endpoints"]) == ENDPOINTS


def _garbage_for(parameter: dict):
    kind = json.dumps(parameter.get("python_type", {})).lower()
    if "float" in kind or "int" in kind:
        return [float("nan"), -1e18, 1e18, "not a number"]
    if "str" in kind:
        return ["x" * 100_000, None]
    return [None]


def test_every_endpoint_validates_its_inputs(client, app_server):
    api = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    for name, info in api.items():
        parameters = info["parameters"]
        # Defaults, with short training budgets so that accepted calls stay quick.
        defaults = [1 if p["parameter_name"] == "seconds" else p.get("parameter_default") for p in parameters]
        for i, parameter in enumerate(parameters):
            for garbage in _garbage_for(parameter):
                args = list(defaults)
                args[i] = garbage
                try:
                    result = client.predict(*args, api_name=name)
                except Exception as e:
                    message = str(e)
                    assert "Traceback" not in message and "site-packages" not in message, (name, message)
                    continue
                # Accepted: the value was usable (a None text is empty text, for instance).
                assert result is not None or name in ("/stop",), (name, parameter, garbage)
    assert app_server.process.poll() is None
    assert len(client.predict("ROMEO:", 10, api_name="/generate")[0]) == 10
