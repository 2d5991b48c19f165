"""Training yields progress within its budget, learns, stops cleanly, continues, and survives divergence."""

import itertools
import math
from types import SimpleNamespace

import torch

from charlstm import training
from charlstm.config import ModelConfig
from charlstm.data import make_corpus
from charlstm.evaluation import evaluate
from charlstm.model import CharLSTM
from charlstm.training import REPORT_INTERVAL, learning_rate, new_train_state, train
from tests.helpers import quick_config


def test_a_tiny_model_overfits_a_200_character_text():
    text = (
        "To be, or not to be, that is the question: whether 'tis nobler in the mind to suffer the slings "
        "and arrows of outrageous fortune, or to take arms against a sea of troubles, and by opposing end them."
    )
    text = text[:200]
    corpus = make_corpus(text, val_text=text)
    torch.manual_seed(0)
    model = CharLSTM(ModelConfig(embedding_size=16, hidden_size=64), corpus.vocab.size)
    # 100 steps reach 0.13-0.16 bits/char (model seeds 0-3; 300 steps: 0.05): learned by heart, with room to spare
    records = list(train(model, corpus, quick_config(batch_size=16, seq_len=32, steps=100, learning_rate=2e-2)))
    assert records[0].val_bpc > 3.5  # a uniform guess over the vocabulary
    assert records[-1].kind == "done" and records[-1].val_bpc < 0.5
    assert evaluate(model, corpus.val).bpc < 0.5


def test_records_carry_the_promised_fields(corpus, small_model):
    # (a step budget evaluates 20 times over the budget: after every step of one under 20)
    records = list(train(small_model, corpus, quick_config(steps=6)))
    steps = [r.step for r in records]
    assert steps == sorted(steps) and records[-1].step == 6
    evals = [r for r in records if r.kind in ("eval", "done")]
    assert len(evals) >= 3
    for r in evals:
        assert r.val_loss > 0 and math.isclose(r.val_bpc, r.val_loss / math.log(2))
        assert isinstance(r.sample, str) and len(r.sample) > 0
    last = records[-1]
    assert last.chars_seen == 6 * 8 * 32 and last.chars_per_s > 0 and last.elapsed > 0
    assert all(r.learning_rate >= 0 for r in records)


STEP_SECONDS = 1 / 64  # a simulated step's duration: a power of two, so sums of it are exact


def test_the_time_budget_is_honoured_and_records_come_often(corpus, small_model, monkeypatch):
    """On a simulated clock that moves only while an optimiser step runs (each takes STEP_SECONDS; evaluations
    and reports take none), what the budget and the report interval mean is exact, whatever the machine's load."""
    clock = [0.0]

    def timed_step(*args, **kwargs):
        clock[0] += STEP_SECONDS
        return real_step(*args, **kwargs)

    real_step = training._step
    monkeypatch.setattr(training, "_step", timed_step)
    monkeypatch.setattr(training, "time", SimpleNamespace(perf_counter=lambda: clock[0], monotonic=lambda: clock[0]))
    budget = 1.5
    records = list(train(small_model, corpus, quick_config(seconds=budget, steps=None)))
    last = records[-1]
    # it stops at the first check after the budget: the step that reaches 1.5 s is the last one
    assert last.kind == "done" and last.step == budget / STEP_SECONDS and last.elapsed == budget
    assert all(r.elapsed == r.step * STEP_SECONDS for r in records), "elapsed is the time spent in steps"
    assert all(r.elapsed < budget for r in records if r.step < last.step)
    # a record at least every report interval of training: never more steps apart than fit in one
    most_apart = math.ceil(REPORT_INTERVAL / STEP_SECONDS)
    gaps = [b.step - a.step for a, b in itertools.pairwise(records)]
    assert max(gaps) <= most_apart, gaps
    assert len(records) >= last.step / most_apart


def test_a_real_time_budget_ends_at_the_first_check_after_it(corpus, small_model):
    """The same on the real clock, with no upper bound (a loaded machine may take any time per step): the last
    record reaches the budget, and nothing is trained after the step that reached it."""
    budget = 1.0
    records = list(train(small_model, corpus, quick_config(seconds=budget, steps=None)))
    last = records[-1]
    assert last.kind == "done" and last.elapsed >= budget and last.step > 0
    assert all(r.elapsed < budget for r in records if r.step < last.step)
    assert [r.elapsed for r in records] == sorted(r.elapsed for r in records)


def test_stopping_early_leaves_a_usable_model_and_continuing_resumes(corpus, small_model):
    train_state = new_train_state(small_model)
    runner = train(small_model, corpus, quick_config(steps=10_000, seconds=None), train_state)
    first = list(itertools.islice(runner, 3))
    runner.close()
    assert first and train_state.step > 0
    steps_before = train_state.step
    assert math.isfinite(evaluate(small_model, corpus.val).loss)
    before = evaluate(small_model, corpus.val).loss
    records = list(train(small_model, corpus, quick_config(steps=60), train_state))
    # no fresh start: the run opens by measuring where it stands, at the step it stopped at
    assert records[0].kind == "eval" and records[0].step == steps_before and records[0].elapsed > 0
    assert train_state.step == steps_before + 60
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


def _trained(model, corpus, steps: int = 40) -> dict:
    """``model`` trained ``steps`` steps on ``corpus`` (keep-best off: no blend), and a copy of its weights."""
    list(train(model, corpus, quick_config(steps=steps, keep_best=False)))
    return training._weights(model)


def _done(model, corpus) -> training.Progress:
    """A last record as the final evaluation of ``model`` would make it (keep-best kept its latest weights)."""
    loss = training._val_loss(model, corpus)
    return training.Progress("done", 1, 1.0, 1, loss, 1e-3, 1.0, val_loss=loss, val_bpc=loss / math.log(2))


def test_keep_best_blends_fine_tuned_weights_back_toward_a_better_start(corpus, small_model):
    # a start that reads the text, and "fine-tuned" weights far from it that read it worse: every share tried
    # nearer the start predicts better, so the blend goes the whole grid, to its last share
    start = _trained(small_model, corpus)
    torch.manual_seed(0)
    with torch.no_grad():
        for p in small_model.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    kept = training._weights(small_model)
    final = _done(small_model, corpus)
    ending = training._blend_back(small_model, corpus, start, {}, final, training.SINGLE)
    share = training.BLEND_SHARES[-1]
    assert ending["blend"] == share and ending["val_loss"] < final.val_loss - training.BLEND_MARGIN
    # the model ends at the blend it scored, and the record's figure is the model's
    for name, p in small_model.named_parameters():
        assert torch.allclose(p, start[name] + share * (kept[name] - start[name]), atol=1e-6)
    assert math.isclose(ending["val_loss"], training._val_loss(small_model, corpus), rel_tol=1e-6)
    assert f"{1 - share:.0%} of the way back toward the model it started from" in ending["message"]
    assert ending["kept_from"] == final.elapsed


def test_keep_best_keeps_the_fine_tuned_weights_where_blending_predicts_worse(corpus, small_model):
    # the other way round: a start far worse than the fine-tuned weights, so the first share tried is worse
    torch.manual_seed(0)
    with torch.no_grad():
        start = {name: p + torch.randn_like(p) * 0.3 for name, p in small_model.named_parameters()}
    kept = _trained(small_model, corpus)
    ending = {"message": "kept the weights from 1 s", "kept_from": 1.0}
    assert (
        training._blend_back(small_model, corpus, start, ending, _done(small_model, corpus), training.SINGLE) == ending
    )
    assert all(torch.equal(p, kept[name]) for name, p in small_model.named_parameters())


def test_only_a_pretrained_first_run_with_keep_best_blends_and_its_record_is_the_models(corpus, small_model):
    # from scratch (start_head): never a blend
    fresh = list(train(small_model, corpus, quick_config(steps=20)))[-1]
    assert fresh.blend is None
    # from pretrained weights: the last record's validation is what the model now scores, blended or not
    torch.manual_seed(1)
    pretrained = CharLSTM(small_model.config, corpus.vocab.size)
    _trained(pretrained, corpus, steps=60)
    last = list(train(pretrained, corpus, quick_config(steps=20, learning_rate=5e-2), start_head=False))[-1]
    assert last.kind == "done" and last.blend in (None, *training.BLEND_SHARES)
    assert math.isclose(last.val_loss, training._val_loss(pretrained, corpus), rel_tol=1e-6)
