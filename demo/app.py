"""Assembles the app: a model chooser, one tab per module, the queue and launch settings. The Blocks is ``demo``."""

from __future__ import annotations

import logging
from pathlib import Path

import gradio as gr
import torch
from starlette.middleware import Middleware

from .drawing import widgets
from .server import admission, allocator, gradio_costs, identity, limits, pages, presence, scheduling, sessions
from .tabs import (
    corpus_tab,
    generate_tab,
    guess_tab,
    inside_tab,
    learn_tab,
    quickstart,
    share,
    time_machine,
    train_tab,
    writes,
)

STATIC = Path(__file__).parent / "static"
# Styles and scripts the page loads, all served by this app (nothing from outside): one file per concern.
CSS_FILES = [STATIC / "style.css", STATIC / "present.css"]
# <script> elements added to the page's <head>
HEAD_FILES = [STATIC / "keys.html", STATIC / "edits.html", STATIC / "present.html", STATIC / "guess.html"]
# Gradio's default greys and oranges fall below 4.5:1 for help texts (1.9:1) and white on the primary button
# (2.8:1): darker shades, the same hues, in light and dark.
THEME = gr.themes.Default(
    font=["system-ui", "Segoe UI", "Roboto", "sans-serif"],
    font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "monospace"],
).set(
    body_text_color_subdued="*neutral_600",
    body_text_color_subdued_dark="*neutral_300",
    block_label_text_color="*neutral_600",
    block_label_text_color_dark="*neutral_200",
    input_placeholder_color="*neutral_500",
    input_placeholder_color_dark="*neutral_400",
    color_accent="*primary_600",
    button_primary_background_fill="*primary_700",
    button_primary_background_fill_dark="*primary_700",
    button_primary_background_fill_hover="*primary_800",
    button_primary_background_fill_hover_dark="*primary_800",
    button_cancel_background_fill="#b91c1c",
    button_cancel_background_fill_dark="#b91c1c",
    button_cancel_background_fill_hover="#991b1b",
    button_cancel_background_fill_hover_dark="#991b1b",
)


def choose_model(choice: str, request: gr.Request) -> str:
    """Switch Learn, Generate, Guess and Inside between the default model and this session's own."""
    if choice not in (sessions.DEFAULT_LABEL, sessions.OWN_LABEL):
        raise gr.Error(f"Choose {sessions.DEFAULT_LABEL!r} or {sessions.OWN_LABEL!r}.")
    session = sessions.get(request)
    if choice == sessions.OWN_LABEL:
        session.check_lost()
    if choice == sessions.OWN_LABEL and session.model is None:
        gr.Warning("You have no model of your own yet: train one (Train tab) or upload one.")
        return sessions.DEFAULT_LABEL
    session.use_own = choice == sessions.OWN_LABEL
    return choice


with widgets.Blocks(title="charlstm: a character-level LSTM lab", delete_cache=(600, 1800)) as demo:
    # One line of title; the model choice beside it appears once the visitor has a model of their own (before
    # that, offering "your model" only confuses), in a row whose height does not change when it does.
    with gr.Row(elem_id="top", equal_height=True):
        gr.Markdown("# charlstm · a character-level LSTM lab", elem_id="title")
        choice = widgets.Radio(
            [sessions.DEFAULT_LABEL, sessions.OWN_LABEL],
            value=sessions.DEFAULT_LABEL,
            label="Model used by Learn, Generate, Guess and Inside",
            show_label=False,
            container=False,
            visible=False,
            elem_id="model-choice",
        )
    # ① your text → ② train → ③ it writes, above every tab
    path = quickstart.build(*corpus_tab.first(), train_tab.plan_note(**train_tab.FIRST_PLAN))
    with gr.Tabs(overflow_behavior="wrap") as tabs:  # never behind a "…" menu (demo/static/style.css)
        learn = learn_tab.build()
        corpus_tab.build(path)
        jump, moment, moment_note = train_tab.build(path, choice)
        generate_tab.build()
        game = guess_tab.build(path.text)
        inside = inside_tab.build()
    choice.input(choose_model, choice, choice, api_name="choose_model", concurrency_id="light")
    choice.change(api_visibility="private", **learn)
    # the time machine: a moment chosen on the slider (let go), from the Train tab's list or with ③'s pick
    # re-draws Learn and Inside, when a heatmap is drawn there
    chosen = {"fn": time_machine.choose_moment, "outputs": [moment_note, choice, moment], "concurrency_id": "light"}
    heat = {**inside, "fn": inside_tab.redraw, "inputs": [*inside["inputs"], inside["outputs"][0]]}
    picked = path.pick.input(
        writes.write_with,
        path.pick,
        [path.writes, moment_note, choice, moment],
        api_visibility="private",
        concurrency_id="generate",
        concurrency_limit=limits.CONCURRENT_GENERATIONS,
    )
    for event in (
        moment.release(inputs=moment, api_name="choose_moment", **chosen),
        jump.input(inputs=jump, api_visibility="private", **chosen),
    ):
        event.then(api_visibility="private", **learn).then(api_visibility="private", **heat)
    picked.then(api_visibility="private", **learn).then(api_visibility="private", **heat)
    demo.load(api_visibility="private", **learn)
    demo.load(api_visibility="private", show_progress="hidden", **game)  # a reloaded page resumes its game
    link, show = share.build(tabs, path)  # the Share accordion; a link's parameters, applied on load
    demo.load(**link).then(**show)
    # no demo.unload: Gradio fires it on any dropped heartbeat; sessions ends a session after a grace period


def launch(**kwargs) -> None:
    """Serve ``demo`` with the workshop settings (caps and queue sizes in :mod:`demo.server.limits`)."""
    logging.basicConfig(format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger(__package__).setLevel(logging.INFO)
    torch.set_num_threads(limits.torch_threads())
    scheduling.share_the_interpreter()  # a generation waits at most 0.1 ms, not 5, for Python's lock
    presence.watch(demo)
    gradio_costs.install()  # a new session costs no copy of the page's configuration
    allocator.limit_malloc_arenas()
    sessions.start_sweeper()
    # no max_size: the door (demo.server.admission.Door) applies limits.QUEUE_MAX to every event but Stop
    demo.queue(max_size=None, api_open=False, default_concurrency_limit=4)
    gradio_costs.quiet_analytics(demo)  # (monitoring is off, below)
    demo.launch(
        theme=THEME,
        css_paths=CSS_FILES,
        head_paths=HEAD_FILES,
        show_error=False,
        footer_links=["api"],
        max_file_size=limits.UPLOAD_MAX_BYTES,
        state_session_capacity=limits.SESSIONS_MAX,
        enable_monitoring=False,
        app_kwargs={"middleware": middleware()},
        **kwargs,
    )


def middleware() -> list[Middleware]:
    """The ASGI middleware around the app, outermost first: the balancer's forwarded address (a replica behind
    HAProxy only), the stream counter, the boot cookie, the page and its configuration made once, then the door
    that admits or refuses queue joins."""
    outermost = [Middleware(presence.Balancer)] if presence.BALANCER_SECRET else []
    return [
        *outermost,
        Middleware(presence.Watch),
        Middleware(identity.Boot),
        Middleware(pages.Pages),
        Middleware(admission.Door),
    ]
