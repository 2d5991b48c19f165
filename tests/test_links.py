"""Links a teacher hands out and presenter mode: the query string read into a setup (unit tests, no server), the
link written back, and in Debian's Chromium a link opening the page as it says, presenter mode, and its QR code
read back by a decoder from PyPI."""

import html
import io
import json
from types import SimpleNamespace
from urllib.parse import parse_qsl, urlsplit
from urllib.parse import urlencode as encode

import pytest

from demo.tabs import links, share
from demo.tabs.corpus_tab import PRESETS
from demo.tabs.generate_tab import DEFAULTS
from tests.helpers import ROOM_URL, watch_page

SHAKESPEARE = next(label for label in PRESETS if "Shakespeare" in label)


def query_of(url: str) -> dict:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


# --- parse: pure, no server ----------------------------------------------------------------------------------


def test_a_full_link_sets_the_tab_preset_seed_text_settings_hidden_controls_and_presenter_mode():
    setup = links.parse(
        {
            "tab": "Generate",
            "preset": "tinyshakespeare",
            "seed_text": "ROMEO:\n",
            "length": "200",
            "temperature": "0.5",
            "top_k": "10",
            "top_p": "0.9",
            "seed": "7",
            "hide": "upload, knobs",
            "present": "1",
        }
    )
    assert setup == links.Setup(
        tab="generate",
        preset=SHAKESPEARE,
        seed_text="ROMEO:\n",
        settings={"length": 200, "temperature": 0.5, "top_k": 10, "top_p": 0.9, "seed": 7},
        hide=("knobs", "upload"),
        present=True,
    )


def test_no_parameters_change_nothing():
    assert links.parse({}) == links.Setup()


def test_unknown_parameters_are_ignored_with_a_note_and_gradios_own_silently():
    setup = links.parse({"tab": "train", "colour": "red", "__theme": "dark", "view": "api"})
    assert setup.tab == "train"
    assert setup.notes == ("Ignored the unknown parameter “colour”.",)


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("tab", "settings", "the tabs are learn, corpus, train, generate, guess, inside"),
        ("preset", "moby-dick", "the presets are"),
        ("temperature", "5", "Temperature must be a number from 0 to 2"),
        ("temperature", "nan", "Temperature must be a number"),
        ("top_k", "3.5", "Top-k must be a whole number"),
        ("length", "many", "Length (characters) must be a whole number"),
        ("seed", "-1", "random seed must be a whole number"),
        ("present", "maybe", "present=1"),
        ("seed_text", "x" * 5000, "the cap is"),
    ],
)
def test_a_bad_value_is_ignored_with_a_note_that_names_it_and_the_rest_still_applies(name, value, says):
    setup = links.parse({name: value, "tab": "corpus"} if name != "tab" else {name: value, "seed_text": "Hi"})
    assert len(setup.notes) == 1
    note = setup.notes[0]
    assert note.startswith(f"Ignored {name}=") and says.lower() in note.lower(), note
    field = name if name in ("tab", "preset", "seed_text", "present") else "settings"
    assert getattr(setup, field) == getattr(links.Setup(), field)
    assert setup.tab == "corpus" or setup.seed_text == "Hi"


def test_a_link_full_of_junk_gets_a_few_notes_and_a_count():
    setup = links.parse({f"p{i}": "1" for i in range(40)} | {"tab": "inside"})
    assert setup.tab == "inside"
    assert len(setup.notes) == links.MAX_NOTES + 1 and setup.notes[-1] == f"Ignored {40 - links.MAX_NOTES} more."


def test_hide_keeps_the_names_it_knows_and_notes_the_others():
    setup = links.parse({"hide": "knobs,sliders,,Upload"})
    assert setup.hide == ("knobs", "upload")
    assert setup.notes == ("Ignored hide=“sliders”: what can be hidden is " + ", ".join(links.HIDEABLE) + ".",)


def test_the_page_always_keeps_a_tab_to_show():
    opened = links.parse({"tab": "generate", "hide": "generate,train"})
    assert opened.hide == ("train",) and "Kept the generate tab visible" in opened.notes[0]
    everything = links.parse({"hide": ",".join(links.TABS) + ",knobs"})
    assert everything.hide == ("knobs",) and "hiding every tab" in everything.notes[0]
    first_hidden = links.parse({"hide": "learn"})
    assert first_hidden.tab == "corpus" and first_hidden.hide == ("learn",) and not first_hidden.notes


def test_a_link_reads_back_as_the_same_setup_and_keeps_the_page_address():
    setup = links.parse(
        {"tab": "generate", "preset": "tinyshakespeare", "seed_text": "Once: “là” & 50%\n", "temperature": "0.35"}
        | {"seed": str(2**53), "hide": "knobs,train"}
    )
    url = links.link("https://example.org:8443/lab/?old=1#top", setup)
    assert url.startswith("https://example.org:8443/lab/?tab=generate&preset=tinyshakespeare&seed_text=")
    assert "old=" not in url and "#" not in url and "hide=knobs,train" in url
    assert links.parse(query_of(url)) == setup
    assert links.link("http://127.0.0.1:7860/", links.Setup()) == "http://127.0.0.1:7860/"


def test_the_tab_ids_are_the_apps():
    from demo.app import demo

    ids = [block.id for block in share.blocks(demo) if block.__class__.__name__ == "Tab"]
    assert tuple(ids) == links.TABS


def test_the_knobs_and_uploads_are_marked_for_hiding_and_nothing_else():
    from demo.app import demo

    marked = {
        name: {getattr(b, "label", None) for b in share.blocks(demo) if name in (b.elem_classes or [])}
        for name in ("lab-knob", "lab-upload")
    }
    generate = {spec[0] for spec in share.SLIDERS.values()} | {"Random seed"}
    assert generate | {"Time budget (seconds)", "Automatic size", "learning_rate"} <= marked["lab-knob"]
    assert not {"Seed text", "Layer", "Corpus text", "Text to step through"} & marked["lab-knob"]
    assert all(label and "upload" in label.lower() for label in marked["lab-upload"]) and len(marked["lab-upload"]) == 2
    train = {getattr(b, "label", None) for b in share.blocks(demo) if "lab-knob-train" in (b.elem_classes or [])}
    assert "Time budget (seconds)" in train and not generate & train  # presenter mode hides Train's alone


def test_qr_code_is_inline_svg_with_its_link_and_a_note_when_too_long():
    svg = links.qr_svg("http://192.168.1.20:7860/?tab=learn")
    assert svg.startswith(
        '<figure class="qr"><svg role="img" aria-label="QR code of http://192.168.1.20:7860/?tab=learn"'
    )
    caption = svg.split("<figcaption>")[1]
    assert caption.startswith('<span class="qr-address">192.168.1.20:7860/</span><span class="qr-query">?tab=learn')
    assert "too long for a QR code" in links.qr_svg("http://h/?seed_text=" + "x" * 5000)


def test_the_load_handler_fills_the_page_and_gives_the_room_a_link_without_presenter_mode():
    request = SimpleNamespace(
        query_params={"tab": "generate", "temperature": "0.5", "present": "1", "hide": "knobs", "oops": "1"},
        headers={"host": "10.0.0.5:7860"},
    )
    with pytest.warns(UserWarning, match="unknown parameter “oops”"):  # gr.Warning outside a request warns
        values = share.apply("http://10.0.0.5:7860/?present=1&tab=generate", request)
    tabs, temperature = values[0], values[7]  # the tab, then the preset, corpus (3), seed text and length
    assert tabs.selected == "generate" and temperature == 0.5
    present, hidden, room, qr, qr_again, note = values[-6:]
    assert (present, hidden) == (True, "knobs")
    assert room == "http://10.0.0.5:7860/?tab=generate&temperature=0.5&hide=knobs"
    assert qr_again == links.join_html(room, qr) and "QR code of " + html.escape(room) in qr and "oops" in note
    assert "Join: 10.0.0.5:7860/" in qr_again  # the presenter's chip: the address to type, the code behind it
    # an address the browser did not send (or a strange one) falls back on the Host header
    with pytest.warns(UserWarning):
        assert share.apply("javascript:alert(1)", request)[-4].startswith("http://10.0.0.5:7860/?")


def test_copy_link_writes_the_current_widgets_and_checks_them_like_any_link():
    where = json.dumps({"url": "http://10.0.0.5:7860/?present=1", "tab": "generate"})
    link, qr, _, note = share.setup_link(where, "knobs", SHAKESPEARE, "JULIET:", 300, 0.7, 0, 1, DEFAULTS.seed)
    assert query_of(link) == {
        "tab": "generate",
        "preset": "tinyshakespeare",
        "seed_text": "JULIET:",
        "length": "300",
        "temperature": "0.7",
        "top_k": "0",
        "top_p": "1",
        "seed": str(DEFAULTS.seed),
        "hide": "knobs",
    }
    assert not note and html.escape(link) in qr
    bad, _, _, note = share.setup_link("not json", "", SHAKESPEARE, "x", 300, 9, 0, 1, 0)
    assert bad.startswith("http://localhost/?") and "temperature" not in bad and "Temperature" in note


# --- in the browser ------------------------------------------------------------------------------------------


@pytest.fixture
def visit(browser, app_server):
    """Open the app at a query string, blocking (and recording) every request that leaves the machine; the page
    is returned once its link has been applied (the room's QR code is drawn)."""
    contexts = []

    def open_page(query: dict, **context):
        context = browser.new_context(**{"viewport": {"width": 1400, "height": 900}, **context})
        contexts.append(context)
        page = watch_page(context.new_page())
        page.goto(app_server.url + ("?" + encode(query) if query else ""), wait_until="load")
        page.wait_for_function("() => document.querySelector('#present-qr svg, #present-qr .qr-note')", timeout=30_000)
        return page

    yield open_page
    for context in contexts:
        context.close()


def decode_qr(locator) -> str:
    """The text of the QR code drawn in ``locator``, read from a screenshot of it."""
    import zxingcpp
    from PIL import Image

    image = Image.open(io.BytesIO(locator.screenshot()))
    found = zxingcpp.read_barcodes(image)
    assert len(found) == 1, f"{len(found)} codes found"
    return found[0].text


@pytest.mark.browser
def test_a_link_opens_its_tab_with_its_settings_and_hides_the_knobs(visit):
    page = visit({"tab": "generate", "seed_text": "ROMEO", "temperature": "0.5", "hide": "knobs,train", "x": "1"})
    page.get_by_role("tab", name="Generate", selected=True).wait_for()
    page.get_by_text("Ignored the unknown parameter “x”.").wait_for()
    page.locator("html.lab-hide-knobs.lab-hide-train").wait_for(state="attached")
    assert page.get_by_label("Seed text").input_value() == "ROMEO"
    temperature = page.locator(".lab-knob").filter(has_text="Temperature").locator("input[type=number]")
    assert temperature.input_value() == "0.5"
    assert not temperature.is_visible() and not page.get_by_role("tab", name="Train").is_visible()
    assert page.locator("#generate-button").is_visible() and page.get_by_role("tab", name="Learn").is_visible()
    assert not page.locator("html.lab-present").count()
    assert page.external == [] and page.errors == []


@pytest.mark.browser
def test_a_preset_link_fills_the_corpus_and_its_statistics(visit):
    page = visit({"tab": "corpus", "preset": "tinyshakespeare", "hide": "upload"})
    page.get_by_role("tab", name="Corpus", selected=True).wait_for()
    page.locator("#corpus-text textarea").wait_for()
    page.wait_for_function("() => document.querySelector('#corpus-text textarea').value.startsWith('First Citizen')")
    page.locator("#corpus-summary").get_by_text("1,115,394 characters").wait_for()
    page.locator("html.lab-hide-upload").wait_for(state="attached")
    assert not page.locator(".lab-upload").first.is_visible()
    assert page.errors == []


@pytest.mark.browser
def test_presenter_mode_is_large_and_light_hides_the_knobs_and_shows_the_learn_diagram_above_the_fold(visit):
    page = visit({"present": "1"}, color_scheme="dark")
    page.locator("html.lab-present").wait_for(state="attached")
    assert page.evaluate("() => document.body.classList.contains('dark')") is False, "presenter mode is light"
    size = page.evaluate("() => parseFloat(getComputedStyle(document.querySelector('#learn-summary')).fontSize)")
    assert size >= 20, f"the type should be large, is {size}px"
    diagram = page.locator("#learn-diagram svg[role=img]:visible")
    diagram.wait_for()
    box = diagram.bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= 900, f"the diagram should fit above the fold: {box}"
    page.get_by_role("tab", name="Train").click()
    page.locator("#train-button").wait_for()
    assert not page.get_by_text("Time budget (seconds)").is_visible(), "Train's knobs are hidden"
    page.get_by_role("tab", name="Generate").click()
    page.locator(".lab-knob-generate").filter(has_text="Temperature").wait_for()  # Generate's stay: to show
    assert page.external == [] and page.errors == []


@pytest.mark.browser
def test_the_presenters_qr_code_reads_as_the_rooms_link_without_presenter_mode(visit):
    page = visit({"present": "1"})
    chip = page.locator("#present-qr summary")
    chip.wait_for()  # shown once presenter mode is on: "Join: the address"
    assert "lab.example:7860" in chip.inner_text()
    chip.click()  # the code opens large, to scan from the back of the room
    qr = page.locator("#present-qr svg")
    qr.wait_for()
    assert qr.bounding_box()["width"] >= 300
    assert decode_qr(qr) == ROOM_URL
    page = visit({"present": "1", "tab": "generate", "temperature": "0.5"})
    page.locator("#present-qr summary").click()
    assert decode_qr(page.locator("#present-qr svg")) == ROOM_URL + "?tab=generate&temperature=0.5"


def test_with_only_loopback_known_the_page_says_so_instead_of_drawing_a_code(monkeypatch):
    for name in (links.PUBLIC_URL_VARIABLE, "SPACE_HOST", "GRADIO_SERVER_NAME"):
        monkeypatch.delenv(name, raising=False)
    request = SimpleNamespace(query_params={"present": "1"}, headers={"host": "127.0.0.1:7860"})
    *_, room, qr, joined, _note = share.apply("http://127.0.0.1:7860/?present=1", request)
    assert room == "http://127.0.0.1:7860/" and "<svg" not in qr and joined == qr
    assert "cannot open" in qr and "127.0.0.1:7860" in qr and "CHARLSTM_PUBLIC_URL" in qr
    monkeypatch.setenv("GRADIO_SERVER_NAME", "0.0.0.0")  # listening on the network: its address is the room's
    if links.network_address():
        *_, room, qr, _joined, _note = share.apply("http://127.0.0.1:7860/?present=1", request)
        assert room.startswith(f"http://{links.network_address()}:7860/") and "<svg" in qr
    monkeypatch.setenv("SPACE_HOST", "someone-charlstm.hf.space")  # on a Space: the Space's own address
    assert links.reachable("http://127.0.0.1:7860/?tab=learn") == "https://someone-charlstm.hf.space/?tab=learn"
    monkeypatch.setenv(links.PUBLIC_URL_VARIABLE, "http://10.1.2.3:8080")  # configured: wins over everything
    assert links.reachable("http://192.168.1.20:7860/?tab=learn") == "http://10.1.2.3:8080/?tab=learn"


@pytest.mark.browser
def test_copy_link_writes_the_setup_to_the_clipboard_and_the_link_opens_it_again(visit, app_server):
    page = visit({"tab": "generate", "hide": "knobs"}, permissions=["clipboard-read", "clipboard-write"])
    page.get_by_label("Seed text").fill("JULIET:")
    page.get_by_text("Share this setup").click()
    page.get_by_role("button", name="Copy link to this setup").click()
    page.locator("#share-note").get_by_text("Copied to the clipboard.").wait_for()
    link = page.locator("#share-link textarea").input_value()
    assert page.evaluate("() => navigator.clipboard.readText()") == link
    assert query_of(link)["seed_text"] == "JULIET:" and query_of(link)["hide"] == "knobs"
    assert decode_qr(page.locator("#share-qr svg")) == link
    again = visit(query_of(link))
    again.get_by_role("tab", name="Generate", selected=True).wait_for()
    assert again.get_by_label("Seed text").input_value() == "JULIET:"
    assert page.errors == [] and again.errors == []


@pytest.mark.browser
def test_the_presenter_mode_toggle_turns_it_on_and_off(visit):
    page = visit({})
    page.get_by_text("Share this setup").click()
    toggle = page.get_by_label("Presenter mode")
    toggle.check()
    page.locator("html.lab-present").wait_for(state="attached")
    page.locator("#present-qr summary").wait_for()
    toggle.uncheck()
    page.locator("#present-qr").wait_for(state="hidden")
    assert not page.locator("html.lab-present").count()
