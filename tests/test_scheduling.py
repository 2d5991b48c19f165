"""The app's order of work (demo.server.scheduling): the interpreter lock handed back quickly, so a generation beside
other threads' Python is not made to wait Python's 5 ms at each of its torch calls (``python -m
bench.interference`` measures the effect: ×178 → ×5.4 beside a pure-Python loop)."""

import ast
import inspect
import sys

import pytest

from demo import app
from demo.server import scheduling


def test_the_app_hands_the_interpreter_back_within_its_switch_interval(monkeypatch):
    monkeypatch.setattr(scheduling, "_switch_outside", scheduling._switch_outside)  # as it was, after the test
    before = sys.getswitchinterval()
    try:
        scheduling.share_the_interpreter()
        assert sys.getswitchinterval() == pytest.approx(scheduling.SWITCH_SECONDS)
        assert before > scheduling.SWITCH_SECONDS
    finally:
        sys.setswitchinterval(before)
    # and launching the app sets it, before the server starts
    calls = [
        n.func.attr
        for n in ast.walk(ast.parse(inspect.getsource(app.launch)))
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
    ]
    assert calls.index("share_the_interpreter") < calls.index("launch")


def test_a_trainings_updates_run_at_a_lower_priority_and_closing_it_closes_them():
    """Each item of a training's progress is made on a thread of lower scheduling priority (a generation's thread
    is given the core first); closing the progress closes the training, which then runs its clean-up; an error
    reaches the caller."""
    import os
    import threading

    made: list[tuple[int, int]] = []
    cleaned = threading.Event()

    def training():
        try:
            for step in range(100):
                me = threading.get_native_id()
                made.append((me, os.getpriority(os.PRIO_PROCESS, me) if hasattr(os, "getpriority") else 0))
                yield step
        finally:
            cleaned.set()

    caller = threading.get_native_id()
    own = os.getpriority(os.PRIO_PROCESS, caller) if sys.platform == "linux" else 0
    progress = scheduling.in_background(training())
    assert [next(progress) for _ in range(3)] == [0, 1, 2]
    assert all(thread != caller for thread, _ in made)
    if sys.platform == "linux":
        assert {nice for _, nice in made} == {min(19, own + scheduling.BACKGROUND_NICE)}
        assert os.getpriority(os.PRIO_PROCESS, caller) == own  # the caller's own priority is untouched
    progress.close()
    assert cleaned.is_set() and len(made) == 3

    def failing():
        yield 1
        raise ValueError("the corpus is too short")

    with pytest.raises(ValueError, match="too short"):
        list(scheduling.in_background(failing()))
    assert list(scheduling.in_background(iter([]))) == []


def test_while_interactive_work_runs_the_interpreter_is_handed_back_sooner_still(monkeypatch):
    monkeypatch.setattr(scheduling, "_switch_outside", scheduling._switch_outside)  # as it was, after the test
    before = sys.getswitchinterval()
    try:
        scheduling.share_the_interpreter()
        with scheduling.interactive():
            assert sys.getswitchinterval() == pytest.approx(scheduling.INTERACTIVE_SWITCH_SECONDS)
            with scheduling.interactive():  # two generations at once: the last one out sets it back
                pass
            assert sys.getswitchinterval() == pytest.approx(scheduling.INTERACTIVE_SWITCH_SECONDS)
        assert sys.getswitchinterval() == pytest.approx(scheduling.SWITCH_SECONDS)
    finally:
        sys.setswitchinterval(before)
