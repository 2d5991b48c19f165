"""The Share accordion and presenter mode. When the page loads, the link's parameters (read by
:mod:`demo.tabs.links`) select the tab, fill the corpus and Generate's settings, hide what the link hides and turn
presenter mode on; "Copy link to this setup" writes the link of the page as it is now, and both show their
link's QR code, drawn here. Hiding and presenter mode are classes on the page's root element, styled by
``present.css`` and set by ``present.html``: they take effect without a round trip and work in every tab, drawn
or not.

The other tabs' widgets are found by their tab, kind and label or id (:func:`find`), so those modules need not
know about links; one renamed or gone stops the app at start with a message naming it (a test starts it). The
knobs and uploads are found by kind (:func:`mark`), so a knob added to Train or Generate hides with the others."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from urllib.parse import urlsplit

import gradio as gr

from ..server import checks
from . import corpus_tab, links, quickstart
from .generate_tab import SLIDERS

URL_MAX_CHARS = 10_000  # the longest page address taken from a browser (the longest link is about 7,000)
KNOB_TABS = ("train", "generate")  # whose settings hide=knobs hides
KNOB_KINDS = (gr.Slider, gr.Number, gr.Checkbox, gr.Radio)
NOT_KNOBS = ("time-machine",)  # elem_ids of sections whose controls are the lesson itself, never hidden
# Generate's widgets by label (the sliders' labels have one home, generate_tab.SLIDERS)
LABELS = {"seed_text": "Seed text", **{name: spec[0] for name, spec in SLIDERS.items()}, "seed": "Random seed"}


def blocks(root: gr.blocks.Block) -> Iterator[gr.blocks.Block]:
    """``root`` and everything inside it, depth first."""
    yield root
    for child in getattr(root, "children", []):
        yield from blocks(child)


def _one(tabs: gr.Tabs, tab_id: str, kind: type, **attributes) -> gr.components.Component:
    tab = next(b for b in tabs.children if getattr(b, "id", None) == tab_id)
    found = [b for b in blocks(tab) if isinstance(b, kind) and all(getattr(b, k) == v for k, v in attributes.items())]
    if len(found) != 1:
        raise LookupError(
            f"links set the {kind.__name__} with {attributes} of the {tab_id} tab, but found {len(found)}"
        )
    return found[0]


def find(tabs: gr.Tabs, path: quickstart.Path) -> list[gr.components.Component]:
    """The widgets a link sets, in the order :func:`apply` returns their values: the corpus preset, text (the
    path's, at the top of the page), summary and table of characters, then Generate's seed text and settings."""
    corpus = [_one(tabs, "corpus", gr.Dropdown), path.text, path.summary, _one(tabs, "corpus", gr.HTML)]
    return corpus + [_one(tabs, "generate", gr.components.Component, label=label) for label in LABELS.values()]


def mark(tabs: gr.Tabs) -> None:
    """Give the knobs (and the layouts holding nothing else) the classes ``lab-knob`` and ``lab-knob-<tab>``, the
    file uploads ``lab-upload``: present.css hides them under the root's ``lab-hide-knobs`` / ``lab-hide-upload``,
    and Train's in presenter mode (Generate's stay: a presenter shows what temperature does)."""
    for tab in tabs.children:
        knobs = {id(b) for b in blocks(tab) if isinstance(b, KNOB_KINDS)} if tab.id in KNOB_TABS else set()
        kept = [b for b in blocks(tab) if getattr(b, "elem_id", None) in NOT_KNOBS]
        knobs -= {id(b) for section in kept for b in blocks(section)}
        for block in blocks(tab):
            inside = [b for b in blocks(block) if isinstance(b, gr.components.Component)]
            if inside and all(id(b) in knobs for b in inside):
                _add_class(block, "lab-knob", f"lab-knob-{tab.id}")
            if isinstance(block, gr.File) and block.interactive is not False:
                _add_class(block, "lab-upload")


def _add_class(block: gr.blocks.Block, *names: str) -> None:
    classes = block.elem_classes or []
    block.elem_classes = [*([classes] if isinstance(classes, str) else classes), *names]


def _page_url(sent: object, request: gr.Request | None) -> str:
    """The address the visitor used, as the browser sent it; else one from the request's Host header."""
    if isinstance(sent, str) and len(sent) <= URL_MAX_CHARS:
        parts = urlsplit(sent)
        if parts.scheme in ("http", "https") and parts.netloc:
            return sent
    host = request.headers.get("host", "localhost") if request else "localhost"
    return f"http://{host}/"


def apply(sent_url: str, request: gr.Request) -> tuple:
    """The page as its link sets it (a load handler; ``sent_url`` is the address in the browser): the tab, the
    corpus preset and its statistics, Generate's seed text and settings, presenter mode, what is hidden, the
    room's link, its QR code twice and the notes on what was ignored."""
    setup = links.parse(request.query_params)
    room, qr = links.room_qr(_page_url(sent_url, request), replace(setup, present=False))
    corpus = [gr.skip()] * 4
    if setup.preset:
        text = corpus_tab.preset_text(setup.preset)
        corpus = [setup.preset, text, *corpus_tab.corpus_stats(text)]
    given = {"seed_text": setup.seed_text, **setup.settings}
    generate = [gr.skip() if given.get(name) is None else given[name] for name in LABELS]
    notes = checks.escaped(" ".join(setup.notes))  # they quote the link's names and values: anyone's markup
    if notes:
        gr.Warning("This link: " + notes)
    tab = gr.Tabs(selected=setup.tab) if setup.tab else gr.skip()
    joined = links.join_html(room, qr)
    return tab, *corpus, *generate, setup.present, ",".join(setup.hide), room, qr, joined, notes


def setup_link(where: str, hide: str, preset: str, seed_text: str, *settings: float) -> tuple[str, str, str, str]:
    """The link to the page as it is now, its QR code twice and notes (``where`` is the browser's address and
    selected tab, as JSON): the tab, the preset, Generate's seed text and settings, what is hidden. The values are
    read back through :func:`links.parse`, so what a browser sends is checked like any link."""
    try:
        sent = json.loads(where)
        url, tab = sent.get("url"), sent.get("tab")
    except (TypeError, ValueError, AttributeError):
        url, tab = None, None
    values = {"tab": tab, "preset": preset, "seed_text": seed_text, "hide": hide, **dict(zip(links.SETTINGS, settings))}
    setup = links.parse({name: str(value) for name, value in values.items() if value is not None})
    result, qr = links.room_qr(_page_url(url, None), setup)
    return result, qr, links.join_html(result, qr), checks.escaped(" ".join(setup.notes))


def build(tabs: gr.Tabs, path: quickstart.Path) -> tuple[dict, dict]:
    """The Share accordion and the presenter's QR code; the events of the page's load that apply its link."""
    mark(tabs)
    targets = find(tabs, path)
    presenter_qr = gr.HTML(elem_id="present-qr", padding=False)
    with gr.Accordion("Share this setup", open=False, elem_id="share"):
        with gr.Row():
            with gr.Column(scale=3):
                address = gr.Textbox(
                    label="Link to this setup",
                    info="The tab, the corpus preset (not pasted text), Generate's seed text and settings, and what "
                    "is hidden. Hand it out, or open it on the projector with &present=1.",
                    buttons=["copy"],
                    elem_id="share-link",
                )
                copy = gr.Button("Copy link to this setup", elem_id="share-copy")
                present = gr.Checkbox(
                    label="Presenter mode",
                    info="Large type, light colours, Train's knobs hidden, the QR code of this page.",
                    elem_id="share-present",
                )
                note = gr.Markdown(elem_id="share-note")
            qr = gr.HTML(elem_id="share-qr", padding=False)
        hidden = gr.Textbox(visible=False, elem_id="share-hidden")  # what the link hides: for the page script
    show = {"fn": None, "inputs": [present, hidden], "js": "(on, hide) => charlstmLinks.show(on, hide)"}
    present.input(**show)
    copied = {"fn": None, "inputs": address, "outputs": note, "js": "(link) => charlstmLinks.copy(link)"}
    where = f"(...values) => [charlstmLinks.where(), ...values.slice(1, {4 + len(links.SETTINGS)})]"
    copy.click(
        setup_link,
        [address, hidden, *targets[:1], *targets[4:]],
        [address, qr, presenter_qr, note],
        js=where,
        api_visibility="private",
        concurrency_id="light",
    ).then(**copied)
    load = {
        "fn": apply,
        "inputs": address,
        "outputs": [tabs, *targets, present, hidden, address, qr, presenter_qr, note],
        "js": "() => [window.location.href]",
        "api_visibility": "private",
        "concurrency_id": "light",
    }
    return load, show
