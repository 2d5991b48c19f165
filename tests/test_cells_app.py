"""The cell race and the memory reach: the library's sizing and verdict, the app's handlers, its endpoints over
gradio_client, and the plots in a real browser."""

import gradio as gr
import pytest

from charlstm.config import ModelConfig
from charlstm.lab.race import (
    CELLS,
    MATCH_TOLERANCE,
    MEMORY_GAP,
    TIE_BPC,
    Entry,
    matched_configs,
    memory_floors,
    memory_text,
    verdict,
)
from demo.server import limits
from demo.tabs import cells_view
from tests.helpers import FINANCE


@pytest.mark.parametrize("hidden_size", [64, 256, 512])
def test_the_racers_have_the_lstms_number_of_parameters(hidden_size):
    configs = matched_configs(ModelConfig(hidden_size=hidden_size), vocab_size=80)
    target = configs["lstm"].parameters(80)
    assert set(configs) == set(CELLS) and configs["lstm"].hidden_size == hidden_size
    for cell, config in configs.items():
        assert config.cell == cell and abs(config.parameters(80) - target) <= MATCH_TOLERANCE * target
    assert configs["rnn"].hidden_size > configs["gru"].hidden_size > hidden_size  # fewer blocks: wider layers


def test_the_text_made_to_need_memory_repeats_each_lines_letter_after_the_gap():
    text = memory_text(2_000, gap=MEMORY_GAP, seed=3)
    assert len(text) == 2_000 and text == memory_text(2_000, gap=MEMORY_GAP, seed=3) != memory_text(2_000, seed=4)
    lines = text.split("\n")[:-1]  # the last one is cut at 2,000 characters
    assert len(set(line[1] for line in lines)) > 10
    for line in lines:
        assert line == f"({line[1]} {'.' * MEMORY_GAP} {line[1]})"
    remembers, forgets = memory_floors()
    assert 0 < remembers < forgets == 2 * remembers
    for gap in (0, 201, 2.5, True):
        with pytest.raises(ValueError, match="gap must be a whole number from 1 to 200"):
            memory_text(100, gap=gap)


def _entry(cell: str, bpc: float) -> Entry:
    return Entry(cell, ModelConfig(cell=cell), 1000, bpc, run=None)


def test_a_tie_within_noise_is_called_a_tie_and_explained():
    tie = verdict([_entry("rnn", 2.50), _entry("gru", 2.49), _entry("lstm", 2.50 - TIE_BPC / 2)])
    assert tie.startswith("A tie") and "memory does not pay yet" in tie and "won" not in tie
    won = verdict([_entry("rnn", 1.2), _entry("gru", 0.4), _entry("lstm", 0.45)])
    assert won.startswith("The GRU won with 0.40 bits/char, 0.05 ahead of the LSTM and 0.80 ahead of the plain RNN")


def test_the_race_runs_on_the_text_made_to_need_memory_unless_told_otherwise():
    assert cells_view.raced_text(cells_view.MADE, "my text") == memory_text() == cells_view.MEMORY_TEXT
    assert cells_view.raced_text(cells_view.YOURS, "my text") == "my text"
    about = cells_view._about(cells_view.MEMORY_TEXT, [_entry("rnn", 1.3), _entry("gru", 0.4), _entry("lstm", 0.2)])
    assert "forgets each line's opening letter" in about and "the LSTM must be carrying it" in about
    assert "the GRU" not in about  # 0.4 bits/char: above what a model that forgets the letter can reach
    none = cells_view._about(cells_view.MEMORY_TEXT, [_entry("rnn", 1.3), _entry("lstm", 0.4)])
    assert "none carries it yet" in none
    assert cells_view._about("my text", [_entry("rnn", 1.3)]) == ""


def test_a_race_streams_three_curves_then_reach_compares_the_cells(visitor):
    updates = list(cells_view.race_cells(FINANCE.read_text(), cells_view.RACE_MIN_SECONDS, visitor))
    curves, verdict, samples, sizes = updates[-1]
    curves = curves["value"] if isinstance(curves, dict) else curves  # with its lines when a new one appeared
    assert set(curves["series"]) == {"the plain RNN", "the GRU", "the LSTM"}
    rebuilt = [u[0]["colors_in_legend"] for u in updates if isinstance(u[0], dict)]
    assert rebuilt[-1] == ["the plain RNN", "the GRU", "the LSTM"]  # the chart rebuilt with all three lines
    if not verdict.startswith("A tie"):  # two seconds each on a shared CPU: a tie is possible, and said
        assert verdict.startswith("The ") and " won with " in verdict and "same number of parameters" in verdict
        assert "GRU" in verdict or "LSTM" in verdict or "RNN" in verdict  # the names keep their capitals
    assert samples.count("[the ") == 3 and [row[0] for row in sizes] == ["the plain RNN", "the GRU", "the LSTM"]
    reach, half_lives, brackets = cells_view.measure_reach(FINANCE.read_text()[:3000], visitor)
    assert set(reach["cell"]) == {"the plain RNN", "the GRU", "the LSTM"}
    assert reach["characters back"].max() > 50 and reach["log10 strength"].notna().all()
    assert half_lives.count("signal halves every") + half_lives.count("too little to measure") == 3
    assert len(brackets) == 3 and all(0 <= p <= 1 for row in brackets for p in row[1:])


def test_reach_before_a_race_and_a_too_short_race_are_refused(visitor):
    with pytest.raises(gr.Error, match="Race the cells first"):
        cells_view.measure_reach("some text", visitor)
    with pytest.raises(gr.Error, match=f"from {cells_view.RACE_MIN_SECONDS} to {limits.TRAIN_MAX_SECONDS}"):
        list(cells_view.race_cells(FINANCE.read_text(), 1, visitor))


@pytest.mark.server
def test_race_and_reach_endpoints(client):
    _curves, verdict, _samples, sizes = client.submit(FINANCE.read_text(), 6, api_name="/race_cells").result()
    assert (" won with " in verdict or verdict.startswith("A tie")) and len(sizes["data"]) == 3
    _reach, half_lives, brackets = client.predict(FINANCE.read_text()[:2000], api_name="/memory_reach")
    assert "signal halves every" in half_lives or "too little" in half_lives
    assert len(brackets["data"]) == 3


@pytest.mark.browser
def test_the_race_and_the_reach_plot_in_the_browser(wide_page):
    page = wide_page
    page.get_by_role("tab", name="Train").click()
    page.locator("#cells").get_by_text("Why gates?").click()  # open the accordion
    page.get_by_label("The race's time budget (seconds)").first.fill("6")
    page.get_by_label("The race's time budget (seconds)").first.press("Enter")
    page.locator("#race-button").click()
    race_status = page.locator("#race-status")  # the race runs on the text made to need memory by default
    race_status.get_by_text("forgets each line's opening letter").wait_for(timeout=120_000)
    page.locator("#reach-button").click()
    page.locator("#half-lives").get_by_text("halves every").or_(
        page.locator("#half-lives").get_by_text("too little")
    ).first.wait_for(timeout=120_000)
    for plot in ("#race-plot", "#reach-plot"):  # every cell's line in both plots' legends
        for name in ("the plain RNN", "the GRU", "the LSTM"):
            page.locator(plot).get_by_text(name).first.wait_for(timeout=20_000)
    assert page.external == [] and page.errors == [], (page.external, page.errors)


@pytest.mark.parametrize("cell", ["gru", "rnn"])
def test_a_gru_or_rnn_trained_in_the_app_works_in_every_tab(visitor, cell):
    from demo.tabs import generate_tab, inside_tab, learn_tab, time_machine
    from tests.test_app_handlers import run_training

    status = run_training(visitor, seconds=2, cell=cell)[-1][1]
    assert "random weights" in status and "best validation" in status  # the base model is an LSTM
    svg, _guesses, summary, *_ = learn_tab.cell_values("To be", 2, 1, visitor)
    name = {"gru": "GRU", "rnn": "plain RNN"}[cell]
    assert f'aria-label="{name} cell at character 2 of 5' in svg and f"{name})" in summary
    assert ("update σ" in svg) == (cell == "gru")
    text = list(generate_tab.generate_text("The ", 30, 0.8, 0, 1.0, 0, visitor))[-1][0]
    assert len(text) == 30
    heat, words = inside_tab.show_unit("To be or not", "hidden", 1, 3, visitor)
    assert "Hidden unit 3" in words and heat
    note, *_ = time_machine.choose_moment(0, visitor)  # its moments come back as the same cell
    assert "at **0.0 s**" in note
    assert name in learn_tab.cell_values("To be", 2, 1, visitor)[0]
    assert "--cell " + cell in train_tab_command(cell)


def train_tab_command(cell: str) -> str:
    from charlstm.cli import train_command

    return train_command(60, True, {}, "auto", True, cell)
