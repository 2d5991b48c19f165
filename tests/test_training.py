"""Training yields progress within its budget, learns, stops cleanly, continues, and survives divergence."""

import itertools
import math

import torch

from charlstm.config import ModelConfig
from charlstm.data import make_corpus
from charlstm.evaluation import evaluate
from charlstm.model import CharLSTM
from charlstm.training import REPORT_INTERVAL, learning_rate, new_state, train
from tests.conftest import quick_config


def test_a_tiny_model_overfits_a_200_character_text():
    text = (
        "To be, or not to be, that is the question: whether 'tis nobler in the mind to suffer the slings "
        "and arrows of outrageous fortune, or to take arms against a sea of troubles, and by opposing end them."
    )
    text = text[:200]
    corpus = make_corpus(text, val_text=text)
    torch.manual_seed(0)
    model = CharLSTM(ModelConfig(embedding_size=16, hidden_size=64), corpus.vocab.size)
    records = list(train(model, corpus, quick_config(batch_size=16, seq_len=32, steps=300, learning_rate=2e-2)))
    assert records[0].val_bpc > 3.5  # a uniform guess over the vocabulary
    assert records[-1].kind == "done" and records[-1].val_bpc < 0.5
    assert evaluate(model, corpus.val).bpc < 0.5


def test_records_carry_the_promised_fields(corpus, small_model):
    records = list(train(small_model, corpus, quick_config(steps=40)))
    steps = [r.step for r in records]
    assert steps == sorted(steps) and records[-1].step == 40
    evals = [r for r in records if r.kind in ("eval", "done")]
    assert len(evals) >= 3
    for r in evals:
        assert r.val_loss > 0 and math.isclose(r.val_bpc, r.val_loss / math.log(2))
        assert isinstance(r.sample, str) and len(r.sample) > 0
    last = records[-1]
    assert last.chars_seen == 40 * 8 * 32 and last.chars_per_s > 0 and last.elapsed > 0
    assert all(r.learning_rate >= 0 for r in records)


def test_the_time_budget_is_honoured_and_records_come_often(corpus, small_model):
    config = quick_config(seconds=1.5, steps=None)
    gaps, last_time, records = [], None, []
    import time

    for record in train(small_model, corpus, config):
        now = time.perf_counter()
        if last_time is not None:
            gaps.append(now - last_time)
        last_time = now
        records.append(record)
    assert 1.5 <= records[-1].elapsed < 1.5 + 0.5
    # Each record follows the previous one after at most a report interval plus one step or evaluation.
    assert len(records) >= 1.5 / (REPORT_INTERVAL + 0.1)


def test_stopping_early_leaves_a_usable_model_and_continuing_resumes(corpus, small_model):
    state = new_state(small_model)
    runner = train(small_model, corpus, quick_config(steps=10_000, seconds=None), state)
    first = list(itertools.islice(runner, 3))
    runner.close()
    assert first and state.step > 0
    steps_before = state.step
    assert math.isfinite(evaluate(small_model, corpus.val).loss)
    before = evaluate(small_model, corpus.val).loss
    records = list(train(small_model, corpus, quick_config(steps=60), state))
    # no fresh start: the run opens by measuring where it stands, at the step it stopped at
    assert records[0].kind == "eval" and records[0].step == steps_before and records[0].elapsed > 0
    assert state.step == steps_before + 60
    assert evaluate(small_model, corpus.val).loss < before


def test_divergence_rolls_back_and_lowers_the_learning_rate(corpus):
    torch.manual_seed(0)
    model = CharLSTM(ModelConfig(embedding_size=16, hidden_size=32), corpus.vocab.size)
    records = list(train(model, corpus, quick_config(learning_rate=100.0, steps=80, warmup_fraction=0.0)))
    rollbacks = [r for r in records if r.kind == "rollback"]
    assert rollbacks and "rolled back" in rollbacks[0].message
    assert all(p.isfinite().all() for p in model.parameters())
    assert records[-1].kind == "done" and math.isfinite(records[-1].val_loss)


def test_schedule_warms_up_then_decays_to_the_final_fraction():
    config = quick_config(learning_rate=1e-2, warmup_fraction=0.1, final_lr_fraction=0.1)
    assert learning_rate(config, 0.0) < learning_rate(config, 0.05) < learning_rate(config, 0.1)
    assert math.isclose(learning_rate(config, 0.1), 1e-2)
    assert math.isclose(learning_rate(config, 1.0), 1e-3)


def test_evaluation_covers_every_character_with_state_carried(small_model):
    vocab_size = small_model.vocab_size
    ids = torch.randint(0, vocab_size, (1237,), dtype=torch.int16)
    result = evaluate(small_model, ids, streams=1, chunk=100)
    with torch.no_grad():
        logits, _ = small_model(ids[None, :-1].long())
        expected = torch.nn.functional.cross_entropy(logits[0], ids[1:].long()).item()
    assert result.chars == 1236 and math.isclose(result.loss, expected, rel_tol=1e-5)
    streamed = evaluate(small_model, ids, streams=8, chunk=64)
    assert streamed.chars == 1236 and abs(streamed.loss - expected) < 0.05
