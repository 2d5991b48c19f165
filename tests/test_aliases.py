"""Old names kept as aliases when a concept got one name everywhere (issue 21): code written against them runs
unchanged. Each alias is the new thing itself, not a copy that could drift."""

import importlib

import pytest
import torch

from charlstm.clamp import Clamp
from charlstm.lab import copying, guess, run_changes, time_machine
from charlstm.lab.steering import compare_clamped
from charlstm.sampling import MAX_PROMPT, MAX_SEED_TEXT, generate, prime, prompt_ids, sample, seed_ids


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


def test_prompt_is_the_old_name_of_seed_text(small_model, corpus):
    assert (prompt_ids, MAX_PROMPT) == (seed_ids, MAX_SEED_TEXT)
    vocab = corpus.vocab
    with pytest.warns(DeprecationWarning, match="prompt= is the old name of seed_text="):
        old = sample(small_model, vocab, prompt="Paid ", length=30)
    assert old == sample(small_model, vocab, seed_text="Paid ", length=30) == sample(small_model, vocab, "Paid ", 30)
    with pytest.warns(DeprecationWarning):
        assert "".join(s.char for s in generate(small_model, vocab, prompt="Paid ", length=30)) == old
    with pytest.warns(DeprecationWarning):
        logits, _ = prime(small_model, vocab, prompt="Paid ")
    assert torch.equal(logits, prime(small_model, vocab, "Paid ")[0])
    clamp = Clamp("hidden", 0, 0, 0.0)
    with pytest.warns(DeprecationWarning):
        result = compare_clamped(small_model, vocab, clamp, prompt="x", length=5, temperature=1.0, top_k=0,
                                 top_p=1.0, seed=0, reference_text="abc")  # fmt: skip
    assert result == compare_clamped(small_model, vocab, clamp, "x", 5, 1.0, 0, 1.0, 0, "abc")
    with pytest.raises(TypeError, match="both seed_text= and its old name prompt="):
        sample(small_model, vocab, seed_text="a", prompt="b", length=3)


def test_state_is_the_old_name_of_train_state(small_model, corpus, tmp_path):
    from charlstm.checkpoint import load, save, to_bytes
    from charlstm.run import Run
    from charlstm.training import new_state, new_train_state, train
    from tests.helpers import quick_config

    assert new_state is new_train_state
    train_state = new_train_state(small_model)
    with pytest.warns(DeprecationWarning, match="state= is the old name of train_state="):
        records = list(train(small_model, corpus, quick_config(steps=3), state=train_state))
    assert records[-1].step == train_state.step == 3  # the keyword reached train: its optimiser stepped
    with pytest.warns(DeprecationWarning):
        data = to_bytes(small_model, corpus.vocab, state=train_state)
    loaded = load(data)
    assert loaded.state is loaded.train_state and loaded.state.step == 3
    with pytest.warns(DeprecationWarning):
        save(tmp_path / "m.safetensors", small_model, corpus.vocab, state=train_state)
    assert load(tmp_path / "m.safetensors").train_state.step == 3
    run = Run(small_model, corpus.vocab, train_state)
    assert run.state is run.train_state
    run.state = fresh = new_train_state(small_model)  # the old name sets it too
    assert run.train_state is fresh
