"""The run card ("Download a report" on the Train tab): one HTML file with every section, every text escaped,
nothing fetched from anywhere; the command in it plans the very run it describes; it opens in a browser, light or
dark, on a desktop or a phone, without a single request leaving the file."""

import html
import re
import shlex
import uuid
from pathlib import Path

import gradio as gr
import pytest

from charlstm import cli
from charlstm.lab.report import loss_curve_svg
from charlstm.run import plan
from demo.server import sessions
from demo.tabs import report, train_tab
from demo.tabs.train_view import samples_text
from tests.helpers import FINANCE

# The held-out end of the corpus carries markup, so escaping is tested where the report quotes the text.
CORPUS = FINANCE.read_text() + '\n<script>alert("x")</script> & <b>bold</b> 5 < 6 > 4\n' * 12
HEADINGS = [title for _, title in report.SECTIONS]


class Visitor:
    """Stands in for gr.Request: the handlers only need the session hash."""

    def __init__(self):
        self.session_hash = uuid.uuid4().hex


@pytest.fixture(scope="module")
def trained():
    """A session with a short training on :data:`CORPUS`, through the Train tab's own handler."""
    visitor = Visitor()
    list(train_tab.train_model(CORPUS, 2, True, 64, 1, 16, 32, 8, 1e-2, 0.0, request=visitor))
    yield visitor
    sessions.drop(visitor)


@pytest.fixture(scope="module")
def report_path(trained) -> Path:
    return Path(report.report(CORPUS, trained))


def test_a_report_is_refused_until_this_session_has_trained():
    visitor = Visitor()
    try:
        with pytest.raises(gr.Error, match="Train a model first"):
            report.report(CORPUS, visitor)
    finally:
        sessions.drop(visitor)


def test_a_report_is_refused_for_a_corpus_the_model_did_not_learn_from(trained):
    with pytest.raises(gr.Error, match="corpus has changed"):
        report.report("a different text, not the one trained on\n" * 20, trained)


def test_the_report_has_every_section_and_reaches_for_nothing_outside(trained, report_path):
    session = sessions.get(trained)
    page = report_path.read_text(encoding="utf-8")
    assert report_path.name == "charlstm-report.html" and report_path.parent == session.download_path().parent
    for title in HEADINGS:
        assert f"<h2>{title}</h2>" in page
    assert f"{len(CORPUS):,}" in page and "distinct characters" in page  # corpus stats
    assert f"init = {session.run.init}" in page and "hidden_size" in page and "learning_rate" in page  # settings
    assert 'class="lc-train"' in page and 'class="lc-validation"' in page  # the loss curve's two lines
    assert html.escape(samples_text(session)) in page  # the samples at each evaluation, newest first
    assert "surprise" in page and page.count("<span style=") > 500  # two shaded passages
    assert "correlation" in page  # the interpretable units' table
    assert "python -m charlstm train --corpus corpus.txt" in page
    assert 'name="viewport"' in page and "prefers-color-scheme:dark" in page
    assert "default-src 'none'" in page  # and the page may not fetch anything, should anything ask
    # nothing external: no address at all, and nothing that would load a resource
    assert not re.search(r"https?:|//[a-z]|\b(src|href|srcset|action)\s*=|url\(|@import", page, re.IGNORECASE)


def test_every_text_in_the_report_is_escaped(report_path):
    page = report_path.read_text(encoding="utf-8")
    assert "&lt;" in page and "&amp;" in page  # the corpus's markup is quoted as text...
    assert not re.search(r"<(script|b)\b", page)  # ...and never becomes markup


def test_the_command_in_the_report_plans_the_very_run_it_describes(trained, report_path):
    """Parse the command as the CLI does and plan from it: the same start and the same settings."""
    page = report_path.read_text(encoding="utf-8")
    line = html.unescape(re.search(r"<pre><code>(python -m charlstm train .*?)</code></pre>", page).group(1))
    args = cli.build_parser().parse_args(shlex.split(line)[3:])
    knobs = {f.name: getattr(args, f.name) for f in cli.KNOBS}
    the_plan = plan(CORPUS, args.init, args.seconds, args.steps, args.preset, **knobs)
    run = sessions.get(trained).run
    assert the_plan.init == run.init
    assert the_plan.model_config == run.model.config
    assert the_plan.train_config == run.train_config


def test_the_loss_curve_draws_a_flat_line_and_says_when_there_is_nothing_to_draw():
    flat = loss_curve_svg([{"seconds": 0.0, "bpc": 2.0, "series": "train"}])
    assert flat.startswith("<svg") and 'class="lc-train"' in flat and "xmlns" not in flat
    nothing = loss_curve_svg([{"seconds": 1.0, "bpc": float("nan"), "series": "validation"}])
    assert "No finite loss" in nothing


@pytest.mark.server
def test_the_report_endpoint_through_the_launched_app(client):
    with pytest.raises(Exception, match="Train a model first"):
        client.predict(CORPUS, api_name="/report")
    client.submit(CORPUS, 1, api_name="/train").result()
    page = Path(client.predict(CORPUS, api_name="/report")).read_text(encoding="utf-8")
    assert all(f"<h2>{title}</h2>" in page for title in HEADINGS)


@pytest.mark.browser
@pytest.mark.parametrize("scheme, width, height", [("light", 1280, 900), ("dark", 375, 740)])
def test_the_report_opens_offline_in_a_browser_light_or_dark_on_a_desktop_or_a_phone(
    browser, report_path, scheme, width, height
):
    context = browser.new_context(viewport={"width": width, "height": height}, color_scheme=scheme)
    page = context.new_page()
    requests, outside, errors = [], [], []
    page.on("request", lambda request: requests.append(request.url))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def route(route):  # anything but the file itself is recorded and refused
        if route.request.url != report_path.as_uri():
            outside.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    page.route("**/*", route)
    try:
        page.goto(report_path.as_uri(), wait_until="load")
        for title in HEADINGS:
            page.get_by_role("heading", name=title, exact=True).wait_for(state="visible")
        page.locator("svg.lc polyline.lc-validation").wait_for(state="visible")
        background = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
        scroll, inner = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    finally:
        context.close()
    assert requests == [report_path.as_uri()] and outside == [], f"the report reached out: {requests}"
    assert errors == [], f"console errors: {errors}"
    red, green, blue = map(int, re.findall(r"\d+", background)[:3])
    assert (red + green + blue < 150) == (scheme == "dark"), f"{scheme} page drawn on {background}"
    assert scroll <= inner, f"the page is wider ({scroll} px) than the screen ({inner} px)"
