"""The time machine's moments (compact snapshots, bounded and spread over a run) and the labels of compared runs."""

import itertools
import math

import pytest
import torch

from charlstm.config import ModelConfig, TrainConfig
from charlstm.evaluation import evaluate
from charlstm.lab.run_changes import changes, label, summarize
from charlstm.lab.time_machine import Timeline, pack, unpack
from charlstm.model import CharLSTM
from charlstm.sampling import sample
from charlstm.training import train
from charlstm.vocab import Vocab
from tests.helpers import quick_config


def test_packed_weights_are_a_quarter_of_float32_and_score_the_same(small_model, corpus):
    packed = pack(small_model.state_dict())
    matrices = [name for name, (_, scale) in packed.items() if scale is not None]
    assert matrices and all(packed[name][0].dtype == torch.int8 for name in matrices)
    weights = unpack(packed)
    for name, original in small_model.state_dict().items():
        # each row within half a step of its own scale (the row's largest magnitude / 127)
        limit = original.abs().amax(dim=-1, keepdim=True) / 254 + 1e-7 if original.dim() == 2 else 0
        assert (weights[name] - original).abs().le(limit).all(), name
    copy = CharLSTM(small_model.config, small_model.vocab_size)
    copy.load_state_dict(weights)
    before = evaluate(small_model, corpus.val, streams=4).bpc
    after = evaluate(copy.eval(), corpus.val, streams=4).bpc
    assert abs(before - after) < 0.01


def test_a_trained_model_comes_back_from_its_moment(corpus):
    model = CharLSTM(ModelConfig(embedding_size=16, hidden_size=64), corpus.vocab.size)
    timeline = Timeline(max_bytes=10**7)
    for p in train(model, corpus, quick_config(steps=40)):
        if p.kind == "eval":
            timeline.add(model, corpus.vocab, p.elapsed, p.step, p.val_bpc, p.sample)
    assert len(timeline) >= 3
    first, last = timeline.moments[0], timeline.moments[-1]
    assert first.step == 0 and first.val_bpc > last.val_bpc  # the run learned something between them
    again, vocab, moment = timeline.model_at(last.elapsed)
    assert moment is last and vocab is corpus.vocab
    assert abs(evaluate(again, corpus.val, streams=4).bpc - last.val_bpc) < 0.02
    # the same random seed from two moments: two different texts, each reproducible
    early = sample(first.model(), vocab, "", 60, generator=torch.Generator().manual_seed(3))
    late = sample(last.model(), vocab, "", 60, generator=torch.Generator().manual_seed(3))
    assert early != late and early == sample(first.model(), vocab, "", 60, generator=torch.Generator().manual_seed(3))


def _moments(count: int, max_count: int, max_bytes: int = 10**9, gap=lambda i: 1.0) -> Timeline:
    model = CharLSTM(ModelConfig(embedding_size=4, hidden_size=8), 10)
    timeline, elapsed = Timeline(max_bytes, max_count), 0.0
    vocab = Vocab.from_text("abcdefghi")
    for i in range(count):
        timeline.add(model, vocab, elapsed, i)
        elapsed += gap(i)
    return timeline


def test_a_full_timeline_keeps_the_first_and_latest_and_stays_evenly_spread():
    timeline = _moments(200, max_count=20, gap=lambda i: 0.1 if i < 100 else 1.0)  # slow start, then fast
    times = [m.elapsed for m in timeline.moments]
    assert len(times) == 20 and times[0] == 0.0 and times[-1] == pytest.approx(10 + 99 * 1.0, abs=1e-6)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert max(gaps) < 3 * (times[-1] - times[0]) / 19  # no hole: spread over the whole run


def test_a_timeline_stays_within_its_bytes():
    one = _moments(1, max_count=20).nbytes
    timeline = _moments(50, max_count=20, max_bytes=5 * one)
    assert len(timeline) == 5 and timeline.nbytes <= 5 * one
    assert _moments(3, max_count=20, max_bytes=one).moments == []  # not even two fit: no moments at all


def test_nearest_moment_and_a_moment_at_the_same_time_replaces_the_latest():
    timeline = _moments(5, max_count=20, gap=lambda i: 2.0)  # 0, 2, 4, 6, 8
    assert [timeline.nearest(s).elapsed for s in (-1, 0.9, 1.0, 1.1, 7.5, 100)] == [0, 0, 0, 2, 8, 8]
    model = CharLSTM(ModelConfig(embedding_size=4, hidden_size=8), 10)
    timeline.add(model, timeline.moments[0].vocab, 8.0, 99)
    assert len(timeline) == 5 and timeline.moments[-1].step == 99
    with pytest.raises(LookupError):
        Timeline(10**6).nearest(1.0)


def test_run_labels_say_what_changed():
    text = "some text " * 100
    first = summarize("scratch", ModelConfig(hidden_size=256), TrainConfig(seconds=60), text)
    assert label(None, first) == "first run, from random weights"
    assert label(first, first) == "the same settings again"
    bigger = summarize("scratch", ModelConfig(hidden_size=512, dropout=0.3), TrainConfig(seconds=60), text)
    assert changes(first, bigger) == ["hidden_size 256 → 512", "dropout 0 → 0.3"]
    based = summarize("base", ModelConfig(hidden_size=512), TrainConfig(seconds=120, keep_best=False), text + "!")
    assert label(bigger, based) == (
        "from the base model, another corpus (1,001 characters), dropout 0.3 → 0, budget 60 s → 120 s, "
        "keep the last weights"
    )
    assert math.isclose(bigger.settings["dropout"], 0.3)
