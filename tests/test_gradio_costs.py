"""What Gradio itself spends per session and per event (demo.server.gradio_costs), checked against the installed Gradio:
a new session copies nothing until a deep link asks, then the same as Gradio would; the state of sessions that are
gone is dropped, an open page's kept; no monitoring summary is built after each event."""

import json
import threading
import uuid

import gradio as gr
import httpx
import pytest
from gradio.blocks import Blocks
from gradio.queueing import Queue
from gradio.state_holder import SessionState, StateHolder

from bench.server import AppServer
from demo.app import demo
from demo.server import gradio_costs
from tests.helpers import wait_until


@pytest.fixture
def lazy():
    gradio_costs.install()
    yield
    SessionState.__init__ = gradio_costs._gradio_init  # Gradio's own again for the rest of the process
    SessionState.components = gradio_costs._gradio_components
    Blocks.postprocess_data = gradio_costs._gradio_postprocess


def gradios(blocks) -> SessionState:
    """A session state as Gradio itself builds it (every block's configuration copied)."""
    state = SessionState.__new__(SessionState)
    gradio_costs._gradio_init(state, blocks)
    return state


def test_a_new_session_copies_nothing_and_a_deep_link_gets_what_gradio_gives(lazy):
    state = SessionState(demo)
    assert state.config_values == {} and state.state_data == {}  # no copy of the page's 235 blocks
    assert set(vars(gradios(demo))) <= set(vars(state))  # every attribute Gradio's own constructor sets
    assert list(state.components) == list(gradios(demo).components)
    # a component updated by an event (a dropdown's choices): its copy follows, as in Gradio's own
    updated, theirs = SessionState(demo), gradios(demo)
    key, block = next((k, b) for k, b in demo.blocks.items() if isinstance(b, gr.Dropdown))
    for s in (updated, theirs):
        s[key] = gr.Dropdown(choices=["a", "b"], value="a", label=block.label)
    assert list(updated.components) == list(theirs.components)


def test_a_skipped_output_is_sent_as_gradio_sends_it_without_a_component_rebuilt(lazy, monkeypatch):
    """A streamed step leaves most outputs as they were (``gr.skip()``): Gradio's answer is unchanged, with no
    component built for them (a generation's streamed step: 5 ms of the event loop before, for five skips); the
    outputs that change, updates of properties among them, go through Gradio's own handling."""
    with gr.Blocks() as blocks:
        text, html, button, state = gr.Textbox(), gr.HTML(), gr.Button(), gr.State()
        number = gr.Number()
        text.submit(lambda t: t, text, [text, html, button, state, number])
        text.change(lambda t: t, text, html)
    many, single = blocks.fns[0], blocks.fns[1]
    built: list[str] = []
    constructor = gr.Button.__init__

    def counted(self, *args, **kwargs):
        built.append("Button")
        constructor(self, *args, **kwargs)

    monkeypatch.setattr(gr.Button, "__init__", counted)

    async def answers(predictions, fn=many):
        theirs, ours = SessionState(blocks), SessionState(blocks)
        expected = await gradio_costs._gradio_postprocess(blocks, fn, predictions, theirs)
        built.clear()
        got = await blocks.postprocess_data(fn, predictions, ours)
        return expected, got, ours

    import asyncio

    streamed = ["text so far", gr.skip(), gr.skip(), gr.skip(), 3]
    expected, got, ours = asyncio.run(answers(streamed))
    assert got[0] == expected[0] == "text so far" and got[4] == expected[4] == 3
    for i in (1, 2):  # the same "no change" (Gradio's HTML adds an empty props: nothing to apply)
        assert got[i] == {"__type__": "update"} and {k: v for k, v in expected[i].items() if k != "props"} == got[i]
    assert got[3] is expected[3] is None  # a gr.State's skip: Gradio's own (a state sends nothing)
    assert built == [] and not {html._id, button._id} & set(ours.config_values)  # no button built, nothing copied
    # a change of a property is Gradio's own work, and so is a skip of a gr.State
    expected, got, _ = asyncio.run(answers(["t", gr.skip(), gr.update(interactive=False), gr.skip(), 1]))
    assert got[2] == expected[2] == {"__type__": "update", "interactive": False} and built == ["Button"]
    assert got[1] == {"__type__": "update"} and [got[0], *got[3:]] == [expected[0], *expected[3:]]
    assert asyncio.run(answers(gr.skip()))[1] == [{"__type__": "update"}] * 3 + [None, {"__type__": "update"}]
    expected, got, _ = asyncio.run(answers(gr.skip(), single))  # one output, skipped
    assert got == [{"__type__": "update"}] and {k: v for k, v in expected[0].items() if k != "props"} == got[0]
    expected, got, _ = asyncio.run(answers("<b>drawn</b>", single))  # one output, a value
    assert got == expected
    assert gradio_costs._is_skip({"__type__": "update"}) and not gradio_costs._is_skip(["a"])


def test_the_state_of_sessions_gone_is_dropped_and_the_others_kept():
    import datetime

    with gr.Blocks() as blocks:
        gr.Textbox()
    blocks.queue()
    holder = StateHolder()
    holder.set_blocks(blocks)
    queue = blocks._queue
    for key in ("gone", "kept", "recent"):
        holder[key]
        queue.pending_event_ids_session[key] = {f"{key}'s event"}  # an event's result nobody came to read
        queue.pending_messages_per_session[key] = [f"{key}'s result"]
    long_ago = datetime.datetime.now() - datetime.timedelta(seconds=60)
    holder.time_last_used["gone"] = holder.time_last_used["kept"] = long_ago
    assert gradio_costs.prune(blocks, keep={"kept"}, unused_seconds=30) == 1
    assert set(holder.session_data) == set(holder.time_last_used) == {"kept", "recent"}
    assert set(queue.pending_event_ids_session) == set(queue.pending_messages_per_session) == {"kept", "recent"}
    assert gradio_costs.prune(None, keep=set(), unused_seconds=0) == 0  # not launched: nothing to drop


def test_no_monitoring_summary_is_built_after_each_event(monkeypatch):
    queue = Queue(live_updates=True, concurrency_count=1, update_intervals=1, max_size=None, blocks=gr.Blocks())
    gradio_costs.quiet_analytics(type("Queued", (), {"_queue": queue})())

    def table(records):
        raise AssertionError("the monitoring summary was built (a pandas table of the last events)")

    monkeypatch.setattr(Queue, "_get_df", staticmethod(table))
    record = {"time": 0.0, "status": "success", "process_time": 0.1, "function": "generate", "session_hash": "s"}
    for _ in range(50):
        queue.events_recorded += 1
        queue.compute_analytics_summary([record])


@pytest.mark.server
def test_the_app_drops_the_state_of_a_session_gone_and_keeps_an_open_pages():
    """Against the launched app (a short grace period): a join nobody reads leaves a session state in Gradio that
    the sweeper drops; a page whose heartbeat is open keeps its own. Gradio's deep-link route answers "" for a
    session it holds no state of."""
    server = AppServer(CHARLSTM_SESSION_GRACE_SECONDS="2")
    url = server.url
    fn = {d.get("api_name"): d["id"] for d in httpx.get(url + "config").json()["dependencies"]}
    gone, page = uuid.uuid4().hex, uuid.uuid4().hex
    opened, leave = threading.Event(), threading.Event()

    def hold_page() -> None:  # a page: its heartbeat open until the test ends
        try:
            with httpx.stream("GET", f"{url}gradio_api/heartbeat/{page}", timeout=None) as stream:
                opened.set()
                for _ in stream.iter_bytes():
                    if leave.is_set():
                        return
        except httpx.HTTPError:  # the server stopped at the test's end
            pass

    def held(session: str) -> bool:
        return httpx.get(url + "gradio_api/deep_link", params={"session_hash": session}).json() != ""

    def join(session: str) -> None:
        body = json.dumps({"data": ["the default model (tiny Shakespeare)"], "fn_index": fn["choose_model"]})
        body = body[:-1] + f', "session_hash": "{session}"}}'
        answer = httpx.post(url + "gradio_api/queue/join", content=body, headers={"content-type": "application/json"})
        assert answer.status_code == 200, answer.text

    heartbeat = threading.Thread(target=hold_page, daemon=True)
    try:
        heartbeat.start()
        opened.wait(30)
        for session in (gone, page):
            join(session)
            assert held(session)  # (asking marks the state as used: asked once here, then once it was dropped)
        wait_until(lambda: "Gradio's state of 1 sessions gone dropped" in server.log_tail(100_000), "the sweeper")
        assert not held(gone)
        assert held(page)  # the open page keeps its own
    finally:
        leave.set()
        server.stop()
