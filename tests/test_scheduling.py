"""The app's order of work (demo.server.scheduling): the interpreter lock handed back quickly, so a generation beside
other threads' Python is not made to wait Python's 5 ms at each of its torch calls (``python -m
bench.interference`` measures the effect: ×178 → ×5.4 beside a pure-Python loop)."""

import ast
import inspect
import sys

import pytest

from demo import app
from demo.server import scheduling


def test_the_app_hands_the_interpreter_back_within_its_switch_interval():
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
