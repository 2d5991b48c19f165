"""Every screen and every learner, in Debian's Chromium: a phone in dark mode, keyboard only, and axe-core.

axe-core comes from npm (installed once into a cache folder by :func:`axe_script`, as the test setup); the tests
wait for what they need on the page, never for the clock.
"""

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.test_browser import open_tab

pytestmark = pytest.mark.browser
AXE_VERSION = "4.10.3"
AXE_CACHE = Path(os.environ.get("CHARLSTM_AXE_CACHE", Path.home() / ".cache" / "charlstm-axe"))
TABS = ("Learn", "Corpus", "Train", "Generate", "Guess", "Inside")

# Contrast of a diagram label against what is behind it, as the browser computed them (WCAG's formula).
CONTRAST = """(el) => {
  const rgb = (c) => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  let back = el.closest('.cell-diagram');
  let bg = 'rgba(0, 0, 0, 0)';
  while (back && /rgba\\(.*, 0\\)$/.test(bg)) {
    bg = getComputedStyle(back).backgroundColor;
    back = back.parentElement;
  }
  const a = lum(rgb(getComputedStyle(el).fill)), b = lum(rgb(bg));
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


@pytest.fixture(scope="module")
def axe_script() -> str:
    """axe-core's browser script, installed from npm on first use."""
    script = AXE_CACHE / "node_modules" / "axe-core" / "axe.min.js"
    if not script.exists():
        AXE_CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(AXE_CACHE), f"axe-core@{AXE_VERSION}"],
            check=True,
            capture_output=True,
            timeout=300,
        )
    return script.read_text(encoding="utf-8")


def new_page(browser, app_server, **context):
    page = browser.new_context(**context).new_page()
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.goto(app_server.url, wait_until="load")
    page.locator("#learn-summary").get_by_text("Character 1 of").wait_for(timeout=30_000)
    return page


def test_a_phone_in_dark_mode_reads_the_diagram_and_reaches_every_tab(browser, app_server):
    page = new_page(browser, app_server, viewport={"width": 390, "height": 844}, color_scheme="dark")
    diagram = page.locator(".cell-diagram svg.compact")
    diagram.wait_for()
    panel = page.locator("#learn-panel").bounding_box()["width"]
    assert diagram.bounding_box()["width"] >= 0.85 * panel, "the diagram uses the phone's width"
    labels = diagram.locator("text")
    ratios = [labels.nth(i).evaluate(CONTRAST) for i in range(labels.count())]
    assert min(ratios) >= 4.5, f"diagram labels' contrast: {sorted(ratios)[:5]}"
    for tab in TABS:
        page.get_by_role("tab", name=tab).wait_for()  # every tab in the bar, none behind a "more" menu
        open_tab(page, tab)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the {tab} tab scrolls sideways by {overflow} px"
    assert page.errors == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_wide_diagram_keeps_its_contrast(browser, app_server, scheme):
    page = new_page(browser, app_server, viewport={"width": 1400, "height": 900}, color_scheme=scheme)
    labels = page.locator(".cell-diagram svg.wide text")
    ratios = [labels.nth(i).evaluate(CONTRAST) for i in range(labels.count())]
    assert ratios and min(ratios) >= 4.5, f"{scheme}: {sorted(ratios)[:5]}"


def focus_is_somewhere(page) -> None:
    assert page.evaluate("document.activeElement && document.activeElement !== document.body"), "focus fell"


def test_keyboard_only_steps_learn_trains_stops_and_generates(browser, app_server):
    page = new_page(browser, app_server, viewport={"width": 1280, "height": 900})
    summary = page.locator("#learn-summary")
    page.keyboard.press("ArrowRight")
    summary.get_by_text("Character 2 of").wait_for()
    page.keyboard.press("End")
    summary.get_by_text("Character 42 of 42").wait_for()
    page.keyboard.press("Home")
    summary.get_by_text("Character 1 of").wait_for()
    # Train: reach the tab and the button by keyboard focus, press them with Enter.
    page.get_by_role("tab", name="Train").focus()
    page.keyboard.press("Enter")
    page.locator("#train-button").focus()
    page.keyboard.press("Enter")
    status = page.locator("#train-status")
    status.get_by_text("best validation").wait_for(timeout=60_000)
    focus_is_somewhere(page)  # Train became disabled: focus moved on, not to the page
    page.locator("#stop-button").focus()
    page.keyboard.press("Enter")
    status.get_by_text("Stopped").or_(status.get_by_text("Done")).first.wait_for(timeout=60_000)
    focus_is_somewhere(page)
    page.get_by_role("tab", name="Generate").focus()
    page.keyboard.press("Enter")
    page.locator("#generate-button").focus()
    page.keyboard.press("Enter")
    page.locator("#surprise span").first.wait_for(timeout=60_000)
    focus_is_somewhere(page)
    # The heatmap's values are reachable without a mouse: a disclosure with a table.
    page.locator("#surprise summary").focus()
    page.keyboard.press("Enter")
    page.locator("#surprise table td").first.wait_for()
    assert page.errors == []


# What the app draws itself (the rest is Gradio's widgets).
OWN_CONTENT = (
    ".cell-diagram, #learn-summary, #learn-explanation, #corpus-summary, .chips, #train-status, #generate-note, "
    "#surprise, #copied, #unit-heatmap, details.values, #game-help, #game-board, #game-tally"
)
# Left in Gradio's own widgets (README, "Accessibility"): an empty File or plot shows a <div aria-label="Empty
# value"> with no role, which ARIA does not allow.
GRADIO_KNOWN = {"aria-prohibited-attr"}


def test_axe_finds_no_serious_violation_in_the_apps_own_content(browser, app_server, axe_script):
    page = new_page(browser, app_server, viewport={"width": 1280, "height": 900})
    own, gradio = {}, {}
    for tab in TABS:
        open_tab(page, tab)
        if tab == "Guess":  # a game under way: the text so far, a guess tried, and the tally
            page.locator("#game-start").click()
            page.locator("#game-board .cursor").wait_for(timeout=60_000)
            page.locator("#game-guess textarea, #game-guess input").first.press("~")
            page.locator("#game-board .game-tried").wait_for()
        if tab == "Inside":  # opening it finds units: check the page once that has been drawn, not half-way
            page.locator("#unit-heatmap .shaded").wait_for(timeout=60_000)
        page.wait_for_function("() => !document.querySelector('.pending, .generating')", timeout=60_000)
        page.add_script_tag(content=axe_script)
        violations = page.evaluate(
            """async (own) => {
                const r = await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa'], resultTypes: ['violations']});
                return r.violations.filter(v => ['serious', 'critical'].includes(v.impact)).flatMap(v =>
                  v.nodes.map(n => ({id: v.id, node: n.target.join(' '),
                                     own: !!document.querySelector(n.target[0])?.closest(own)})));
            }""",
            OWN_CONTENT,
        )
        for v in violations:
            (own if v["own"] else gradio).setdefault(tab, []).append(f"{v['id']}: {v['node']}")
    assert not own, json.dumps(own, indent=1)
    unknown = {tab: [v for v in vs if v.split(":")[0] not in GRADIO_KNOWN] for tab, vs in gradio.items()}
    assert not any(unknown.values()), f"new violations in Gradio's widgets: {json.dumps(unknown, indent=1)}"
