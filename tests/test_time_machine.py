"""The training time machine and compared runs in the app: handlers, the launched server (gradio_client) and a
real browser."""

import gradio as gr
import pytest
from playwright.sync_api import expect

from demo.server import limits, sessions
from demo.tabs import generate_tab, learn_tab, runs_view, time_machine, train_tab
from tests.helpers import FINANCE
from tests.test_app_handlers import run_training

# for a run that only needs to exist: run_training's small model (64 units) from random weights, not the English
# base's 512 (what the time machine and the runs' table do with a run depends on neither; each base-sized run
# loads, evaluates and saves a 15 MB model)
SMALL = dict(auto=False, init="scratch")


def test_a_run_keeps_moments_and_the_other_tabs_follow_the_chosen_one(visitor):
    run_training(visitor, seconds=3, init="scratch")
    session = sessions.get(visitor)
    moments = session.timeline.moments
    assert len(moments) >= 2 and moments[0].elapsed == 0 < moments[-1].elapsed
    assert session.timeline.nbytes <= limits.MOMENTS_MEMORY_MB * 1024 * 1024
    now_text = list(generate_tab.generate_text("", 80, 0.8, 0, 1.0, 1, visitor))[-1][0]

    note, choice, slider = time_machine.choose_moment(0, visitor)
    assert "at **0.0 s**" in note and choice == sessions.OWN_LABEL and slider == 0.0
    summary = learn_tab.cell_values("To be", 2, 1, visitor)[2]
    assert "your model at 0.0 s of training" in summary
    early = list(generate_tab.generate_text("", 80, 0.8, 0, 1.0, 1, visitor))
    assert early[-1][0] != now_text and "at 0.0 s of training" in early[-1][2]

    end = time_machine.end_of(session)
    note, *_ = time_machine.choose_moment(end, visitor)  # the slider's right end: the model as it is now
    assert "as it is now" in note and session.moment is None
    assert list(generate_tab.generate_text("", 80, 0.8, 0, 1.0, 1, visitor))[-1][0] == now_text


def test_two_moments_side_by_side_write_from_the_same_seed(visitor):
    run_training(visitor, seconds=1, **SMALL)
    end = time_machine.end_of(sessions.get(visitor))
    left, right, note = time_machine.compare_moments(0, end, "The ", 60, 5, visitor)
    assert left != right and len(left) == len(right) == 60
    assert "First: your model at 0.0 s" in note and "Second: your model as it is now" in note
    assert "same random seed (5)" in note
    assert time_machine.compare_moments(0, end, "The ", 60, 5, visitor) == (left, right, note)


@pytest.mark.parametrize(
    "args, words",
    [
        ((0, 1, "x", 0, 0), "The length"),
        ((0, 1, "x", 10**6, 0), "The length"),
        ((float("nan"), 1, "x", 10, 0), "The first moment"),
        ((0, -1, "x", 10, 0), "The second moment"),
    ],
)
def test_bad_moments_are_refused_with_the_setting_named(visitor, args, words):
    run_training(visitor, seconds=1, **SMALL)
    with pytest.raises(gr.Error, match=words):
        time_machine.compare_moments(*args, visitor)


def test_without_a_run_the_time_machine_says_to_train_first(visitor):
    with pytest.raises(gr.Error, match="train a model first"):
        time_machine.choose_moment(3, visitor)


def plot_data(plot):
    """The loss plot's drawn rows, sent alone or in an update with the chart's title and lines (without the empty
    rows that fix the colours' order)."""
    rows = plot["value"] if isinstance(plot, dict) else plot
    return None if rows is None else rows.dropna(subset=["bpc"])


def colour_order(plot) -> list[str]:
    """The lines in the order the chart gives them colours: the order of first appearance in the data."""
    rows = plot["value"] if isinstance(plot, dict) else plot
    return list(dict.fromkeys(rows["series"]))


def test_runs_are_compared_with_labels_and_can_be_hidden(visitor):
    first = run_training(visitor, seconds=1, auto=False, hidden_size=32, init="scratch")
    run_training(visitor, seconds=1, auto=False, hidden_size=64, init="scratch")
    updates = run_training(visitor, seconds=1, auto=False, hidden_size=64, dropout=0.2, init="scratch")
    plot, *_, table, shown = updates[-1][:14]
    # a run keeps its colour: run 1's validation line has the colour its line "validation" had while it trained
    assert colour_order(first[-1][0]).index("validation") == colour_order(plot).index(
        "run 1: first run, from random weights"
    )
    assert colour_order(plot).index("validation") == 2 and colour_order(plot)[5:] == ["train", runs_view.BEST_SERIES]
    series = set(plot_data(plot)["series"])
    assert {"run 1: first run, from random weights", "run 2: hidden_size 32 → 64", "train", "validation"} <= series
    # the chart is rebuilt (its title and lines sent) when they change, and only then
    rebuilt = [u[0] for u in updates if isinstance(u[0], dict)]
    assert 1 <= len(rebuilt) < len(updates) and "run 3: dropout 0 → 0.2" in rebuilt[0]["label"]
    assert rebuilt[0]["colors_in_legend"][:2] == ["train", "validation"]  # the current run's colours come first
    assert any(name.startswith("run 2") for name in rebuilt[0]["colors_in_legend"])
    assert [row[:2] for row in table] == [
        [1, "first run, from random weights"],
        [2, "hidden_size 32 → 64"],
        [3, "dropout 0 → 0.2"],
    ]
    assert shown["value"] == [1, 2, 3] and shown["visible"]
    hidden = train_tab.show_runs([2], visitor)  # run 1 and the current run off the plot
    assert set(plot_data(hidden)["series"]) == {"run 2: hidden_size 32 → 64"}
    assert plot_data(train_tab.show_runs([], visitor)) is None  # nothing shown: an empty plot


def test_continue_extends_its_run_and_only_five_runs_are_kept(visitor):
    for _ in range(runs_view.KEPT_RUNS + 1):
        run_training(visitor, seconds=1, **SMALL)
    session = sessions.get(visitor)
    assert [p.number for p in session.compared.past] == [2, 3, 4, 5] and session.compared.number == 6
    before = len(session.rows)
    list(train_tab.continue_model(FINANCE.read_text(), 1, visitor))
    assert session.compared.number == 6 and len(session.rows) > before  # the same run, a longer line
    assert session.rows[-1]["seconds"] > session.rows[before - 1]["seconds"]


@pytest.mark.server
def test_time_machine_and_compare_endpoints(client):
    client.submit(FINANCE.read_text(), 2, api_name="/train").result()
    note, choice, at = client.predict(0, api_name="/choose_moment")
    assert "at **0.0 s**" in note and choice == sessions.OWN_LABEL and at == 0
    left, right, note = client.predict(0, 100, "The ", 50, 1, api_name="/compare_moments")
    assert len(left) == len(right) == 50 and left != right and "same random seed" in note
    summary = client.predict("To be", 2, 1, api_name="/cell_values")[2]
    assert "at 0.0 s of training" in summary


@pytest.mark.browser
def test_the_slider_moves_learn_and_two_runs_show_on_the_plot(wide_page):
    page = wide_page
    page.get_by_role("tab", name="Train").click()
    page.locator("#train-settings").get_by_text("Settings").first.click()  # a closed section: a short budget
    page.get_by_label("Time budget (seconds)").first.fill("3")
    page.get_by_label("Time budget (seconds)").first.press("Enter")
    page.locator("#path-plan").get_by_text("3 s from").wait_for()
    for _ in range(2):  # two runs: the plot keeps the first beside the second
        page.locator("#train-button").click()
        # the first run's "Done" stays on screen until the second run's first frame: wait for the run to start
        expect(page.locator("#train-button")).to_be_disabled(timeout=60_000)
        page.locator("#train-status").get_by_text("Done").wait_for(timeout=120_000)
    legend = page.locator("#loss-plot")
    legend.get_by_text("run 1: first run").wait_for(timeout=20_000)
    page.locator("#runs").get_by_text("Compare runs").first.click()
    # (the table is drawn once its section opens: its rows come a moment after its frame)
    page.locator("#runs-table").get_by_text("the same settings again").first.wait_for(timeout=20_000)
    # the time machine's slider (its section on the Train tab): its left end re-draws Learn at 0 s
    page.locator("#time-machine").get_by_text("Time machine").first.click()
    slider = page.locator("#moment input[type=range]")
    slider.focus()
    page.keyboard.press("Home")  # the keyboard path: a range's Home key, let go
    page.locator("#moment-note").get_by_text("at 0.0 s").wait_for(timeout=20_000)
    page.get_by_role("tab", name="Learn").click()
    summary = page.locator("#learn-summary")
    summary.get_by_text("your model at 0.0 s of training").wait_for(timeout=20_000)
    page.locator("#learn-diagram svg:visible").first.wait_for()
    assert page.external == [] and page.errors == [], (page.external, page.errors)


def test_now_names_the_kept_moment_and_the_blend_back_toward_the_start(visitor):
    """The time machine's last entry says what "now" is: the run's end, the moment keep-best kept, and how far the
    blend moved those weights back toward the pretrained start (set here as a keep-best run from a base sets them)."""
    run_training(visitor, seconds=3, **SMALL)
    session = sessions.get(visitor)
    end = time_machine.end_of(session)

    def now() -> tuple[str, float]:
        return time_machine.updates(session)[1]["choices"][-1]

    assert now() == (f"{end:.1f} s · now", end)
    session.kept_from = 1.5
    assert now() == ("now: the weights kept from 1.5 s", end)
    session.blend = 0.7  # the share of the kept weights: 30% of the way back toward the start
    assert now() == ("now: the weights kept from 1.5 s, moved 30% of the way back toward the start", end)
