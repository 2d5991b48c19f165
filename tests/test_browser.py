"""In a real browser: Playwright driving Debian's Chromium against the launched app, with every request that
leaves the machine blocked (and recorded: the page must not even try)."""

import re

import pytest

from tests.helpers import watch_page

pytestmark = pytest.mark.browser


@pytest.fixture
def page(browser, app_server):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = watch_page(context.new_page())
    page.goto(app_server.url, wait_until="load")
    page.get_by_role("tab", name="Learn").wait_for()
    yield page
    context.close()


def open_tab(page, name: str) -> None:
    """Click a tab and wait until it is selected and its panel (rendered on first opening) shows its controls."""
    page.get_by_role("tab", name=name).click()
    page.get_by_role("tab", name=name, selected=True).wait_for()
    page.get_by_role("tabpanel").locator("button, textarea, input").first.wait_for()


def test_page_loads_offline_without_errors_and_every_tab_opens(page):
    page.locator("#learn-summary").get_by_text("Next-character guesses").wait_for(timeout=20_000)
    assert page.locator("svg[aria-label^='LSTM cell at character 1 of']:visible").count() == 1  # wide or compact
    for name in ("Corpus", "Train", "Generate", "Inside", "Learn"):
        open_tab(page, name)
    open_tab(page, "Corpus")
    page.locator("#corpus-summary").get_by_text("distinct characters").wait_for()
    # every tab has been drawn: wait until the fonts and images it asked for have loaded (or failed)
    page.wait_for_function(
        "() => document.fonts.status === 'loaded' && Array.from(document.images).every(image => image.complete)",
        timeout=20_000,
    )
    assert page.external == [], f"the page tried to reach the internet: {page.external}"
    assert page.errors == [], f"console errors: {page.errors}"


def test_learn_steps_through_the_text(page):
    summary = page.locator("#learn-summary")
    summary.get_by_text("Character 1 of").wait_for(timeout=20_000)
    page.get_by_role("button", name="Next ▶").click()
    summary.get_by_text("Character 2 of").wait_for(timeout=20_000)


def test_train_streams_points_then_stop_keeps_the_model(page):
    open_tab(page, "Train")
    page.locator("#train-button").click()
    status = page.locator("#train-status")
    status.get_by_text("best validation").wait_for(timeout=30_000)
    first, lines = _step(status.inner_text()), _plotted(page)
    # wait for the next updates: a later step in the status, and a plot line grown longer than any before
    page.wait_for_function(
        r"""([first, longest]) => {
            const match = (document.querySelector('#train-status')?.innerText || '').match(/Step ([\d,]+)/);
            const step = match ? Number(match[1].replaceAll(',', '')) : -1;
            const paths = Array.from(document.querySelectorAll('#loss-plot .mark-line path'));  // (empty: a free slot)
            return step > first && paths.some(p => (p.getAttribute('d') || '').length > longest);
        }""",
        arg=[first, max(lines, default=0)],
        timeout=60_000,
    )
    assert _step(status.inner_text()) > first, "the status should advance while training"
    later = _plotted(page)
    assert len(later) == 3, "a train line, a validation line and the best-validation marker"
    assert max(later) > max(lines, default=0), f"the plot should gain points: {lines} → {later}"
    page.locator("#stop-button").click()
    status.get_by_text("Stopped").wait_for(timeout=10_000)
    assert page.locator("#model-choice input[value='your model']").is_checked()
    assert page.errors == []


def test_generate_streams_text(page):
    open_tab(page, "Generate")
    page.get_by_label("Length (characters)").first.fill("3000")
    page.locator("#generate-button").click()
    # the text box's length at every frame the page draws, until the whole text has arrived
    lengths = page.wait_for_function(
        """() => {
            const n = document.querySelector('#generated textarea').value.length;
            (window.seenLengths ||= new Set()).add(n);
            return n === 3000 && Array.from(window.seenLengths);
        }""",
        timeout=60_000,
    ).json_value()
    partial = {n for n in lengths if 0 < n < 3000}
    assert 3000 in lengths and partial, f"text should arrive in pieces, saw lengths {sorted(lengths)}"
    page.locator("#surprise span").first.wait_for()
    page.locator("#next-chars .mark-rect path").first.wait_for()  # the next-character bars are drawn
    assert page.errors == []


def _plotted(page) -> list[int]:
    """The length of each drawn line's path: it grows as points are added (the empty paths of the colour slots no
    run holds are left out: see runs_view.plot_rows)."""
    paths = "document.querySelectorAll('#loss-plot .mark-line path')"
    lengths = page.evaluate(f"() => Array.from({paths}).map(p => (p.getAttribute('d') || '').length)")
    return [n for n in lengths if n]


def _step(status: str) -> int:
    match = re.search(r"Step ([\d,]+)", status)
    return int(match.group(1).replace(",", "")) if match else -1


def test_after_generate_the_loss_plot_still_draws_both_lines_and_their_legend(page):
    """Generate's bar chart loads the charting library first; the loss plot must still get every series."""
    open_tab(page, "Generate")
    page.get_by_label("Length (characters)").first.fill("50")
    page.locator("#generate-button").click()
    page.locator("#next-chars .mark-rect path").first.wait_for(timeout=30_000)
    open_tab(page, "Train")
    page.locator("#train-button").click()
    status = page.locator("#train-status")
    status.get_by_text("best validation").wait_for(timeout=30_000)
    drawn = "Array.from(document.querySelectorAll('#loss-plot .mark-line path')).filter(p => p.getAttribute('d'))"
    page.wait_for_function(f"() => {drawn}.length >= 3", timeout=20_000)
    legend = page.evaluate(
        "() => Array.from(document.querySelectorAll('#loss-plot .role-legend-label text')).map(t => t.textContent)"
    )
    assert {"train", "validation"} <= set(legend), f"legend shows {legend}"
    page.locator("#stop-button").click()
    status.get_by_text("Stopped").wait_for(timeout=20_000)
    assert page.errors == []
