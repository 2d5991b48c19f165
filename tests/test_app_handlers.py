"""The app's handlers called directly, without a server: each tab's work, bad input, sessions kept apart."""

import asyncio
import itertools
import json
import math
import os
import threading

import gradio as gr
import pytest

from charlstm.paths import DEFAULT_MODEL_PATH
from demo.app import choose_model
from demo.server import sessions
from demo.tabs import corpus_tab, generate_tab, inside_tab, learn_tab, runs_view, train_tab, uploads
from tests.helpers import FINANCE, Visitor


def run_training(visitor, text=None, seconds=2, **knobs):
    settings = (
        dict(
            auto=True,
            hidden_size=64,
            num_layers=1,
            embedding_size=16,
            seq_len=32,
            batch_size=8,
            learning_rate=1e-2,
            dropout=0.0,
        )
        | knobs
    )
    text = FINANCE.read_text() if text is None else text
    return list(train_tab.train_model(text, seconds, request=visitor, **settings))


def test_learn_shows_the_default_model_at_once(visitor):
    svg, guesses, summary, numbers, slider, layer = learn_tab.cell_values("To be", 3, 1, visitor)
    numbers = json.loads(numbers)  # the numbers as JSON text
    assert "<svg" in svg and "forget" in svg and "mean" in svg
    assert 'aria-label="LSTM cell at character 3 of 5, “␣”' in svg  # the accessible name says where it is
    assert len(guesses) == 5 and math.isclose(
        sum(guesses.values()), sum(p for _, p in numbers["guesses"]), rel_tol=1e-3
    )
    assert "Character 3 of 5. Reading “␣”" in summary and "default model" in summary  # "To be"[2] is the space
    assert len(numbers["values"]["forget"]) == sessions.DEFAULT.model_config.hidden_size
    assert slider["maximum"] == 5 and "value" not in slider  # a slider being dragged is not pulled back
    assert numbers["character"] == 3 and layer["maximum"] == 1


def test_learn_brings_a_stale_position_or_layer_within_range_and_says_so(visitor):
    _svg, _guesses, summary, numbers, slider, layer = learn_tab.cell_values("To be", 40, 3, visitor)
    numbers = json.loads(numbers)
    assert numbers["character"] == 5 and slider["value"] == 5 and layer["value"] == 1
    assert "showing the last" in summary and "has 1 layer" in summary


@pytest.mark.parametrize("text, step", [("", 1), ("abc", float("nan")), ("abc", 0), ("abc", "x"), ("a" * 9999, 1)])
def test_learn_refuses_bad_input_with_a_message(visitor, text, step):
    with pytest.raises(gr.Error):
        learn_tab.cell_values(text, step, 1, visitor)


def test_corpus_stats_describe_and_warn(visitor):
    summary, chars = corpus_tab.corpus_stats("héllo wörld, hello!\n" * 3)
    assert "60 characters" in summary and "too short" in summary
    assert "non-ascii" in chars and "U+00E9" in chars
    summary, _ = corpus_tab.corpus_stats("")
    assert "empty" in summary


def test_upload_refuses_binary_and_non_utf8(tmp_path):
    bad = tmp_path / "latin1.txt"
    bad.write_bytes(b"caf\xe9")
    with pytest.raises(gr.Error, match="byte offset 3"):
        corpus_tab.upload(str(bad))
    binary = tmp_path / "image.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    with pytest.raises(gr.Error):
        corpus_tab.upload(str(binary))
    good = tmp_path / "good.txt"
    good.write_bytes(b"one\r\ntwo\r\n" * 100)
    text, _summary, _ = corpus_tab.upload(str(good))
    assert text.startswith("one\ntwo\n") and "\r" not in text


def test_generate_streams_and_ends_with_bars_and_surprise(visitor):
    updates = list(generate_tab.generate_text("ROMEO:", 400, 0.8, 0, 1.0, 7, visitor))
    text, bars, _note, shaded, summary, copied = updates[-1]
    assert len(text) == 400 and len(updates) >= 1
    assert bars["probability"].is_monotonic_decreasing and bars["probability"].iloc[0] <= 1
    assert "<span" in shaded and "bits per character" in summary
    assert "copied" in copied  # checked against tiny Shakespeare, the default model's training text
    again = list(generate_tab.generate_text("ROMEO:", 400, 0.8, 0, 1.0, 7, visitor))[-1][0]
    assert again == text


def test_generate_sends_its_first_update_only_after_the_stream_interval(visitor, monkeypatch):
    # each update is a trip through Gradio's event loop and a thread: a text written within the interval arrives
    # whole, in the last update (the first character used to be sent on its own, at once)
    monkeypatch.setattr(generate_tab, "STREAM_INTERVAL", 1000.0)
    updates = list(generate_tab.generate_text("ROMEO:", 30, 0.8, 0, 1.0, 7, visitor))
    assert len(updates) == 1 and len(updates[0][0]) == 30
    monkeypatch.setattr(generate_tab, "STREAM_INTERVAL", 0.0)  # every character past the interval: streamed
    updates = list(generate_tab.generate_text("ROMEO:", 30, 0.8, 0, 1.0, 7, visitor))
    assert len(updates) == 31 and [len(u[0]) for u in updates[:3]] == [1, 2, 3]


@pytest.mark.parametrize(
    "args",
    [
        ("x", 0, 0.8, 0, 1, 0),
        ("x", 10, -1, 0, 1, 0),
        ("x", 10, float("nan"), 0, 1, 0),
        ("x", 10**9, 0.8, 0, 1, 0),
        ("x", 10, 0.8, -3, 1, 0),
        ("x", 10, 0.8, 0, 0, 0),
        ("x", "many", 0.8, 0, 1, 0),
    ],
)
def test_generate_refuses_bad_settings(visitor, args):
    with pytest.raises(gr.Error):
        list(generate_tab.generate_text(*args, request=visitor))


def test_a_seed_of_unknown_characters_still_generates_and_says_so(visitor):
    text, _, note, *_ = list(generate_tab.generate_text("😀🚀", 50, 0.8, 0, 1.0, 0, visitor))[-1]
    assert (len(text) == 50 and "never seen" in note) or "knows none" in note


def test_training_streams_then_generation_uses_the_new_model(visitor):
    updates = run_training(visitor, seconds=2)
    plot, status, samples, download, _start, _more, _halt, choice, *_time_machine_and_runs = updates[-1]
    plot = plot["value"] if isinstance(plot, dict) else plot  # rows alone, or with the chart's title and lines
    plot = plot.dropna(subset=["bpc"])  # (the empty rows that fix the colours' order: see runs_view.plot_rows)
    assert len(updates) >= 4
    assert set(plot["series"]) == {"train", "validation", runs_view.BEST_SERIES} and len(plot) >= 3
    assert "best validation" in status and samples.count("validation") >= 2
    shown = {"__type__": "update", "value": sessions.OWN_LABEL, "visible": True}  # the choice appears, on "your model"
    assert download.endswith(".safetensors") and choice == shown
    session = sessions.get(visitor)
    assert session.use_own and not session.running
    text = list(generate_tab.generate_text("The ", 30, 0, 0, 1.0, 0, visitor))[-1][2]
    assert "your model" in text


def test_stop_keeps_the_weights_and_continue_resumes(visitor):
    runner = train_tab.train_model(FINANCE.read_text(), 120, True, 64, 1, 16, 32, 8, 1e-2, 0.0, request=visitor)
    list(itertools.islice(runner, 3))
    assert asyncio.run(train_tab.stop(visitor)) == "Stopping…"
    rest = list(runner)
    assert "Stopped" in rest[-1][1]
    session = sessions.get(visitor)
    steps = session.run.train_state.step
    assert steps > 0 and session.model is not None
    assert asyncio.run(train_tab.stop(visitor)).startswith("Nothing")
    list(train_tab.continue_model(FINANCE.read_text(), 1, visitor))
    assert session.run.train_state.step > steps


def test_a_second_train_in_the_same_session_is_refused(visitor):
    runner = train_tab.train_model(FINANCE.read_text(), 60, True, 64, 1, 16, 32, 8, 1e-2, 0.0, request=visitor)
    next(runner)
    with pytest.raises(gr.Error, match="already training"):
        run_training(visitor)
    runner.close()
    assert not sessions.get(visitor).running


@pytest.mark.parametrize("text", ["", "   \n  ", "a"])
def test_training_refuses_unusable_corpora(visitor, text):
    with pytest.raises(gr.Error):
        run_training(visitor, text=text)
    assert not sessions.get(visitor).running


def test_divergence_is_reported_and_the_model_survives(visitor):
    updates = list(train_tab.train_model(FINANCE.read_text(), 2, False, 32, 1, 16, 32, 8, 100.0, 0.0, request=visitor))
    assert "rolled back" in updates[-1][1] and "of at most" in updates[-1][1]
    text = list(generate_tab.generate_text("The ", 20, 0.8, 0, 1.0, 0, visitor))[-1][0]
    assert len(text) == 20


def test_closing_the_tab_mid_training_stops_it_and_frees_the_session(visitor):
    runner = train_tab.train_model(FINANCE.read_text(), 120, True, 64, 1, 16, 32, 8, 1e-2, 0.0, request=visitor)
    list(itertools.islice(runner, 3))
    session = sessions.get(visitor)
    folder = session.download_path().parent
    sessions.drop(visitor)  # what the page's unload event does
    rest = list(runner)
    assert rest  # it stops (how fast is measured by python -m bench.app_bench, not asserted here)
    assert session.closed and session.run is None and not folder.exists()
    assert not session.running


def test_sessions_are_separate(visitor):
    other = Visitor()
    try:
        run_training(visitor, seconds=1)
        assert sessions.get(visitor).use_own and not sessions.get(other).use_own
        assert sessions.get(other).active()[0] is sessions.DEFAULT.model
    finally:
        sessions.drop(other)


def test_choosing_your_model_before_training_falls_back(visitor):
    assert choose_model(sessions.OWN_LABEL, visitor) == sessions.DEFAULT_LABEL


def test_inside_finds_units_and_shows_one(visitor):
    _update, kind, layer, unit, rows = inside_tab.suggest_units(inside_tab.EXAMPLE, visitor)
    assert rows and kind in ("hidden", "cell") and layer == 1
    html, summary = inside_tab.show_unit(inside_tab.EXAMPLE, kind, layer, unit, visitor)
    assert html.count("<span") == len(inside_tab.EXAMPLE) and "unit" in summary
    with pytest.raises(gr.Error):
        inside_tab.show_unit(inside_tab.EXAMPLE, "hidden", 1, 10**6, visitor)


def test_upload_model_refuses_garbage_and_accepts_a_real_checkpoint(visitor, tmp_path):
    fake = tmp_path / "evil.safetensors"
    fake.write_bytes(b"\x80\x04\x95" + b"\x00" * 100)
    with pytest.raises(gr.Error, match="cannot be used"):
        uploads.upload_model(str(fake), visitor)
    note, choice = uploads.upload_model(str(DEFAULT_MODEL_PATH), visitor)
    assert "Loaded" in note and choice == sessions.OWN_LABEL
    assert sessions.get(visitor).use_own


def test_opening_inside_finds_units_once_and_coming_back_keeps_the_chosen_unit(visitor):
    found = inside_tab.first_visit(inside_tab.EXAMPLE, "", visitor)
    assert found[3] is not None and len(found) == 5  # the best unit, picked on the first visit
    kept = inside_tab.first_visit(inside_tab.EXAMPLE, "<div>the unit the learner chose</div>", visitor)
    assert all(isinstance(x, type(gr.skip())) for x in kept)


@pytest.mark.parametrize("keep_best", [False, True])
def test_the_app_stops_a_run_that_only_memorises_whichever_weights_it_keeps(keep_best):
    from charlstm.cli import train_command

    text = corpus_tab.preset_text(corpus_tab.FIRST_PRESET)
    config = train_tab._plan(text, 60, "auto", True, keep_best, {}).train_config
    assert config.stop_when_memorising and config.keep_best == keep_best
    shown = train_command(60, True, {}, "auto", keep_best)
    assert "--no-stop-when-memorising" not in shown and ("--no-keep-best" in shown) != keep_best
    assert "--stop-when-memorising" in train_command(60, True, {}, "scratch", keep_best)


@pytest.mark.skipif(not hasattr(os, "getpriority"), reason="thread priorities are Linux's")
def test_a_runs_end_saves_and_writes_at_the_trainings_priority_not_the_generations(visitor, monkeypatch):
    """Saving the model and writing from it end every training (a 3×512 model's save is 100 MB): at the app's own
    priority they took a third of a core from the room's generations when one address trained again and again."""
    from charlstm.run import Run
    from demo.server import scheduling
    from demo.tabs import writes

    seen: dict[str, int] = {}

    def noting(name, real):
        def call(*args, **kwargs):
            seen[name] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
            return real(*args, **kwargs)

        return call

    monkeypatch.setattr(Run, "save", noting("save", Run.save))
    monkeypatch.setattr(writes, "after_run", noting("writing", writes.after_run))
    own = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    updates = run_training(visitor, seconds=1)
    assert sessions.get(visitor).download_path().exists() and updates  # saved, and the run ended as before
    assert seen == {
        "save": min(19, own + scheduling.BACKGROUND_NICE),
        "writing": min(19, own + scheduling.BACKGROUND_NICE),
    }
