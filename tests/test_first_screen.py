"""The first five minutes, in Debian's Chromium as a newcomer meets the page: the path ① your text → ② train →
③ it writes on the first screen, every way of changing a text heard, training in view without a jump, and a room
that can read presenter mode. Actions are counted as a person would (a click, a paste); waits are for what the page
shows, never for the clock."""

import pytest

from tests.helpers import FINANCE, watch_page

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1366, "height": 768}
PROJECTOR = {"width": 1280, "height": 720}
# a text of the learner's own (not the preset), pasted: short, so runs stay short
OWN_TEXT = (FINANCE.read_text(encoding="utf-8")[:1500] + "\n") * 2


@pytest.fixture
def open_page(browser, app_server):
    contexts = []

    def visit(viewport=LAPTOP, query="", **options):
        context = browser.new_context(viewport=viewport, permissions=["clipboard-read", "clipboard-write"], **options)
        contexts.append(context)
        page = watch_page(context.new_page())
        page.goto(app_server.url + query, wait_until="load")
        page.locator("#learn-summary").get_by_text("Character 1 of").first.wait_for(timeout=30_000)
        return page

    yield visit
    for context in contexts:
        context.close()


def box(page, selector: str) -> dict:
    return page.locator(selector).first.bounding_box()


def in_view(page, selector: str, viewport: dict) -> bool:
    """Whether the element is wholly inside the window as it is (no scrolling by hand)."""
    b = box(page, selector)
    return b is not None and b["y"] >= 0 and b["y"] + b["height"] <= viewport["height"] + 0.5


def paste(page, selector: str, text: str) -> None:
    """Put ``text`` on the clipboard and press Ctrl+V in the focused box, as a person pastes."""
    page.evaluate("text => navigator.clipboard.writeText(text)", text)
    page.locator(selector).press("Control+V")


def end_run(page) -> None:
    """Stop a run once it has written a sample after some training, and wait for its end."""
    page.locator("#it-writes .writes-text").wait_for(timeout=60_000)
    page.locator("#stop-button").click()
    status = page.locator("#train-status")
    status.get_by_text("Stopped").or_(status.get_by_text("Done")).first.wait_for(timeout=60_000)


def test_the_path_is_on_the_first_screen_and_reaches_your_model_writing_in_three_actions(open_page, app_server):
    page = open_page()
    assert page.evaluate("() => window.scrollY") == 0
    for part in ("#corpus-text", "#train-button", "#it-writes", "#learn-diagram svg.wide", "#learn-guesses"):
        assert in_view(page, part, LAPTOP), f"{part} should be on the first screen: {box(page, part)}"
    assert not page.locator("#model-choice").is_visible(), "no 'your model' to offer before there is one"
    assert page.locator("#continue-button").is_disabled(), "nothing to continue before a run"

    page.locator("#corpus-text textarea").click()  # 1: the preset's text is selected, so a paste replaces it
    paste(page, "#corpus-text textarea", OWN_TEXT)  # 2
    page.locator("#corpus-summary").get_by_text(f"{len(OWN_TEXT):,} characters").wait_for(timeout=10_000)
    assert page.locator("#corpus-text textarea").input_value() == OWN_TEXT
    page.locator("#train-button").click()  # 3: the Train tab opens with the run's status and plot
    page.get_by_role("tab", name="Train", selected=True).wait_for()
    page.locator("#train-status").get_by_text(f"Learning your text: {len(OWN_TEXT):,} characters").wait_for()
    end_run(page)  # (only to keep the test short: a run ends by itself after its budget)
    page.locator("#it-writes .copied-text").wait_for(timeout=60_000)  # ③: a longer text, its copies marked
    assert page.locator("#it-writes").get_by_text("from your text").count() == 1  # the copying, said beside it
    assert page.locator("#it-writes").get_by_text("It goes on from where your text ends").count() == 1
    assert page.locator("#model-choice input[value='your model']").is_checked()
    assert page.locator("#continue-button").is_enabled() and page.locator("#write-again").is_enabled()
    assert page.errors == [] and page.external == []
    assert "must be less than maximum" not in app_server.log_tail(2000), "no slider error in the server's log"


def test_every_way_of_changing_a_text_updates_what_follows_it(open_page):
    page = open_page()
    corpus, summary = page.locator("#corpus-text textarea"), page.locator("#corpus-summary")

    def shows(count: int) -> None:
        summary.get_by_text(f"Your text: {count:,} characters").wait_for(timeout=10_000)

    corpus.click()
    paste(page, "#corpus-text textarea", "Paste me, please. " * 20)  # paste
    shows(360)
    corpus.press("Control+A")
    corpus.press("Control+X")  # cut everything
    shows(0)
    corpus.press("Control+Z")  # undo brings it back
    shows(360)
    corpus.press("End")
    corpus.press("Backspace")  # one key that sends no keypress
    shows(359)
    corpus.press("Control+A")
    corpus.press("Delete")  # select all + delete
    shows(0)
    corpus.press_sequentially("abc")  # typing, as before
    shows(3)
    # Learn's box: the diagram and the summary follow a paste
    learn = page.locator("#learn-text textarea")
    learn.click()
    learn.press("Control+A")
    paste(page, "#learn-text textarea", "Hello there")
    page.locator("#learn-summary").get_by_text("of 11.").wait_for(timeout=10_000)
    assert page.errors == []


@pytest.mark.parametrize("viewport, query", [(LAPTOP, ""), (PROJECTOR, "?present=1")], ids=["laptop", "projector"])
def test_training_stays_in_view_and_nothing_above_it_moves(open_page, viewport, query):
    page = open_page(viewport, query)
    if query:  # presenter mode shows the path on the Train and Corpus tabs, its other tabs their own result
        page.get_by_role("tab", name="Train").click()
    page.locator("#corpus-text textarea").click()
    paste(page, "#corpus-text textarea", OWN_TEXT)
    heard = page.locator("#corpus-summary").get_by_text(f"{len(OWN_TEXT):,} characters")
    heard.wait_for(state="attached", timeout=10_000)  # (presenter mode leaves the summary out of the path)
    tabs_before = box(page, "[role=tablist]")["y"]
    page.locator("#train-button").click()
    page.locator("#train-status").get_by_text("best validation").wait_for(timeout=60_000)
    page.locator("#loss-plot .mark-line path").first.wait_for(timeout=30_000)
    during = {part: in_view(page, part, viewport) for part in ("#train-status", "#loss-plot", "#it-writes")}
    assert all(during.values()), f"in view while training: {during}"
    plot_during, tabs_during = box(page, "#loss-plot")["y"], box(page, "[role=tablist]")["y"]
    end_run(page)
    page.locator("#it-writes .copied-text").wait_for(timeout=60_000)
    after = {part: in_view(page, part, viewport) for part in ("#train-status", "#loss-plot", "#it-writes")}
    assert all(after.values()), f"in view after the run: {after}"
    legend = page.evaluate(  # the legend that names the lines, inside the plot's block (which clips)
        """() => [document.querySelector('#loss-plot .role-legend').getBoundingClientRect().bottom,
                  document.querySelector('#loss-plot').getBoundingClientRect().bottom]"""
    )
    assert legend[0] <= legend[1], f"the legend's bottom, the plot's: {legend}"
    assert page.evaluate("() => window.scrollY") == 0, "nothing scrolled the page"
    tabs_after, plot_after = box(page, "[role=tablist]")["y"], box(page, "#loss-plot")["y"]
    moved = {"tabs at the start": tabs_during - tabs_before, "tabs at the end": tabs_after - tabs_during}
    moved["plot at the end"] = plot_after - plot_during
    assert all(abs(dy) <= 20 for dy in moved.values()), f"what moved (px): {moved}"
    assert page.errors == []


def test_the_train_tab_before_any_run_is_short_and_says_what_it_learns(open_page):
    page = open_page()
    page.get_by_role("tab", name="Train").click()
    page.locator("#train-status").get_by_text("Press").wait_for()
    height = page.evaluate("() => document.documentElement.scrollHeight")
    assert height <= 1.5 * LAPTOP["height"], f"the Train tab is {height} px tall before any run"
    assert not page.locator("#loss-plot").is_visible(), "an empty plot stays hidden"
    assert not page.get_by_text("Time budget (seconds)").is_visible(), "settings wait in a closed section"


# what a room must read: every label of the diagram and the guesses, the summary, and the loss plot's ticks
FONT_SIZES = """(selector) => Array.from(document.querySelectorAll(selector)).filter(e => e.getClientRects().length)
    .map(e => {
        const size = parseFloat(getComputedStyle(e).fontSize);
        const scale = e instanceof SVGElement && e.getScreenCTM() ? e.getScreenCTM().a : 1;  // SVG units on screen
        return size * scale;
    })"""


def test_presenter_mode_reads_from_the_back_of_the_room(open_page):
    page = open_page(PROJECTOR, "?present=1")
    page.locator("html.lab-present").wait_for(state="attached")
    diagram = page.locator("#learn-diagram svg.wide")
    assert in_view(page, "#learn-diagram svg.wide", PROJECTOR) and in_view(page, "#learn-guesses", PROJECTOR)
    width = page.evaluate("() => document.querySelector('#learn-panel').getBoundingClientRect().width")
    assert diagram.bounding_box()["width"] >= 0.7 * width, "the diagram fills the width beside the guesses"
    sizes = {
        "diagram labels": page.evaluate(FONT_SIZES, "#learn-diagram svg.wide text"),
        "guesses": page.evaluate(FONT_SIZES, "#learn-guesses .output-class, #learn-guesses dd, #learn-guesses dt"),
        "summary": page.evaluate(FONT_SIZES, "#learn-summary p"),
    }
    page.get_by_role("tab", name="Train").click()
    page.locator("#train-button").click()
    page.locator("#loss-plot .mark-line path").first.wait_for(timeout=60_000)
    sizes["plot ticks"] = page.evaluate(FONT_SIZES, "#loss-plot .role-axis-label text")
    sizes["status"] = page.evaluate(FONT_SIZES, "#train-status p")
    end_run(page)
    small = {part: min(found) for part, found in sizes.items() if not found or min(found) < 20}
    assert not small, f"under 20 px (or not found): {small}"
    assert page.errors == []
