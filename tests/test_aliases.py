"""Old names kept as aliases when a concept got one name everywhere (issue 21): code written against them runs
unchanged. Each alias is the new thing itself, not a copy that could drift."""

import importlib

import pytest

from charlstm.lab import copying, guess, run_changes, time_machine


@pytest.mark.parametrize(
    ("old", "new"),
    [("shannon", guess), ("moments", time_machine), ("memorisation", copying), ("runs", run_changes)],
)
def test_an_old_lab_module_name_imports_the_renamed_module_itself(old, new):
    assert importlib.import_module(f"charlstm.lab.{old}") is new
    # its names, the private ones too, come with it
    name = {"shannon": "Game", "moments": "Timeline", "memorisation": "_window_hashes", "runs": "label"}[old]
    assert getattr(importlib.import_module(f"charlstm.lab.{old}"), name) is getattr(new, name)


def test_from_an_old_lab_module_name_import_works():
    from charlstm.lab.memorisation import MIN_COPY, CopyIndex
    from charlstm.lab.moments import Moment
    from charlstm.lab.runs import summarize
    from charlstm.lab.shannon import Game

    assert (CopyIndex, MIN_COPY, Moment, summarize, Game) == (
        copying.CopyIndex,
        copying.MIN_COPY,
        time_machine.Moment,
        run_changes.summarize,
        guess.Game,
    )


def test_cell_step_is_the_lstm_step():
    from charlstm.cell import STEPS, cell_step, lstm_step

    assert cell_step is lstm_step is STEPS["lstm"]
