"""The phone layout (390×844, dark): the runs table shows its essential columns whole, the loss plot's legend is
not cut, the six tabs stay in the tab bar, both model choices are in view once there are two, and Learn's wide
equations say that they scroll. Measured from the page in Debian's Chromium."""

import pytest

from tests.helpers import watch_page


@pytest.mark.browser
def test_a_phone_reads_the_runs_table_the_plot_legend_and_knows_the_equations_scroll(browser, app_server):
    context = browser.new_context(viewport={"width": 390, "height": 844}, color_scheme="dark")
    page = watch_page(context.new_page())
    page.goto(app_server.url + "?tab=learn", wait_until="load")
    page.locator("#learn-explanation .katex-display").first.wait_for(timeout=60_000)
    wide = page.evaluate(
        """() => [...document.querySelectorAll('#learn-explanation .katex-display')]
            .filter(e => e.scrollWidth > e.clientWidth)
            .map(e => getComputedStyle(e.closest('p'), '::after').content)"""
    )
    assert wide and all("scroll sideways" in cue for cue in wide), wide  # a cut equation says it scrolls

    page.goto(app_server.url + "?tab=train", wait_until="load")
    page.get_by_role("tab", name="Train", selected=True).wait_for(timeout=60_000)
    page.locator("#train-settings").get_by_text("Settings").first.click()  # a closed section
    budget = page.get_by_label("Time budget (seconds)").first
    budget.fill("2")
    budget.press("Enter")
    page.locator("#train-button").click()
    page.locator("#runs").get_by_text("Compare runs").first.click()  # a closed section
    table = page.locator("#runs-table")
    table.locator(".body-cell", has_text="first run").first.wait_for(timeout=120_000)
    table.scroll_into_view_if_needed()
    cells = table.evaluate(
        """t => [...t.querySelector('.virtual-row').children].filter(c => c.getBoundingClientRect().width > 0)
            .map(c => { const r = c.getBoundingClientRect(), s = c.querySelector('span');
                        return [r.left, r.right, s.scrollWidth <= s.clientWidth + 1, s.textContent]; })"""
    )
    assert len(cells) >= 4, cells  # run, what changed, seconds trained, best validation: not 2 of 11
    assert all(left >= 0 and right <= 390 and whole for left, right, whole, _ in cells), cells  # whole, in view
    page.locator("#train-status").get_by_text("Done").wait_for(timeout=120_000)
    page.locator("#loss-plot .role-legend").wait_for(timeout=30_000)  # drawn with the chart's last rebuild
    legend = page.evaluate(
        """() => { const svg = document.querySelector('#loss-plot svg.marks').getBoundingClientRect();
                   const legend = document.querySelector('#loss-plot .role-legend').getBoundingClientRect();
                   const block = document.querySelector('#loss-plot').getBoundingClientRect();
                   return [legend.left, legend.right, svg.left, svg.right, legend.bottom, block.bottom]; }"""
    )
    assert legend[2] <= legend[0] and legend[1] <= legend[3], legend  # the legend inside the plot: not cut
    assert legend[4] <= legend[5], legend  # nor below the block's edge, which clips (under a two-line label)
    # every tab in the tab bar after a run, none behind a "…" menu (Gradio's menu had hidden Guess and Inside)
    shown = page.locator("[role=tablist] [role=tab]").all_inner_texts()
    assert shown == ["Learn", "Corpus", "Train", "Generate", "Guess", "Inside"], shown
    choices = page.locator("#model-choice label").evaluate_all(
        "ls => ls.map(l => { const r = l.getBoundingClientRect(); return [r.left, r.right, l.textContent.trim()]; })"
    )
    assert len(choices) == 2 and all(left >= 0 and right <= 390 for left, right, _ in choices), choices  # both in view
    assert page.external == []
    context.close()
