"""One claim on "this session is training", shared by every training kind (a run, the cells' race): one at a time,
and however a training ends, the session counts as seen and the memory it used goes back."""

import gradio as gr
import pytest

from demo.server import allocator, sessions
from demo.tabs import cells_view


def test_a_session_trains_one_thing_at_a_time_and_its_end_counts_as_activity(visitor):
    session = sessions.get(visitor)
    session.last_seen, ended = 0.0, allocator.runs_ended()
    session.stop.set()  # a Stop left over from the last run
    with sessions.training(session):
        assert session.running and not session.stop.is_set()
        with pytest.raises(gr.Error, match="already training"), sessions.training(session):
            pass
        assert session.running  # the refused one took nothing away
    assert not session.running and session.last_seen > 0 and allocator.runs_ended() == ended + 1


def test_a_race_ended_midway_releases_the_session_as_a_run_does(visitor):
    session = sessions.get(visitor)
    race = cells_view.race_cells(cells_view.MEMORY_TEXT, cells_view.RACE_MIN_SECONDS, visitor)
    next(race)  # the first point of the first curve: the race is on
    assert session.running
    session.last_seen, ended = 0.0, allocator.runs_ended()
    race.close()  # the page went away mid-race
    assert not session.running and session.last_seen > 0 and allocator.runs_ended() == ended + 1
