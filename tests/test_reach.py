"""Memory reach: the curve has one finite value per distance, equals a brute-force gradient, is the same every time;
the half-life fit; closing a bracket; and the lesson itself, on a copy task: an LSTM reaches 30 characters back
where a plain RNN of the same size does not."""

import math
import random

import pytest
import torch

from charlstm.checkpoint import load
from charlstm.config import ModelConfig, TrainConfig
from charlstm.data import make_corpus
from charlstm.lab.reach import WARMUP, ReachError, closing_probability, half_life, memory_reach
from charlstm.model import CharLSTM
from charlstm.training import train
from tests.helpers import ROOT

GAP = 30


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_the_curve_has_a_finite_value_per_distance_and_is_repeatable(cell, corpus, finance_text):
    torch.manual_seed(0)
    model = CharLSTM(ModelConfig(embedding_size=16, hidden_size=32, num_layers=2, cell=cell), corpus.vocab.size)
    model.train()
    result = memory_reach(model, corpus.vocab, finance_text, max_distance=40, positions=70)
    assert result.cell == cell and result.positions == 70
    assert result.distances == list(range(1, 41)) and len(result.strength) == 40
    assert all(math.isfinite(s) and s >= 0 for s in result.strength) and result.strength[0] > 0
    assert result.half_life is None or result.half_life > 0
    assert model.training  # left as it was
    assert memory_reach(model, corpus.vocab, finance_text, max_distance=40, positions=70) == result


def test_the_curve_equals_a_brute_force_gradient(small_model, corpus, finance_text):
    """A text of K + WARMUP + 1 characters has one position to predict: its last character."""
    K = 12
    text = finance_text[: K + WARMUP + 1]
    result = memory_reach(small_model, corpus.vocab, text, max_distance=K, positions=5)
    assert result.positions == 1
    ids = corpus.vocab.encode(text).long()
    x = small_model.embed(ids[None, :-1]).detach().requires_grad_(True)  # every character, from a zero state
    logits, _ = small_model.read(x)
    torch.log_softmax(logits[0, -1], -1)[ids[-1]].backward()
    expected = x.grad[0, -K:].norm(dim=-1).flip(0)  # distance 1 first
    assert torch.allclose(torch.tensor(result.strength, dtype=torch.float64), expected.double(), rtol=1e-4, atol=1e-9)


def test_half_life_fits_an_exponential_and_refuses_what_it_cannot_fit():
    ks = list(range(1, 101))
    assert half_life(ks, [2 ** (-k / 5) for k in ks]) == pytest.approx(5.0)
    # below the noise floor (2^-20 of the largest) the fit stops: the rounding tail does not bend it
    assert half_life(ks, [2 ** (-k / 2) if k < 40 else 1e-30 for k in ks]) == pytest.approx(2.0)
    assert half_life(ks, [1.0] * 100) is None  # no fall: longer than the distances can show
    assert half_life(ks, [0.0] * 100) is None
    assert half_life(ks, [1.0, 1e-9, 1e-9, *[0.0] * 97]) is None  # too few points above the floor


def test_bad_requests_are_refused_with_a_message(small_model, corpus):
    for kwargs, message in [
        (dict(max_distance=0), "max_distance"),
        (dict(max_distance=10_000), "max_distance"),
        (dict(positions=0), "positions"),
        (dict(max_distance=True), "max_distance"),
    ]:
        with pytest.raises(ReachError, match=message):
            memory_reach(small_model, corpus.vocab, "Paid 42.50 " * 100, **kwargs)
    with pytest.raises(ReachError, match="at least 201"):
        memory_reach(small_model, corpus.vocab, "too short")


def test_closing_probability_gives_numbers_per_distance():
    shipped = load(ROOT / "assets" / "default-model.safetensors")
    model, vocab = shipped.model, shipped.vocab
    shakespeare = (ROOT / "assets" / "corpora" / "tinyshakespeare.txt").read_text()[:5000]
    result = closing_probability(model, vocab, "'", "'", [1, 5, 20, 60], shakespeare)
    assert result.distances == [1, 5, 20, 60]
    for values in (result.with_opener, result.without_opener):
        assert len(values) == 4 and all(0 <= p <= 1 for p in values)
    with pytest.raises(ReachError, match="the opener must be one character the model knows"):
        closing_probability(model, vocab, "«", "»", [3], shakespeare)
    with pytest.raises(ReachError, match="filler text needs at least"):
        closing_probability(model, vocab, "'", "'", [100], "short")
    with pytest.raises(ReachError, match="each distance"):
        closing_probability(model, vocab, "'", "'", [0], shakespeare)


def copy_text(blocks: int, seed: int) -> str:
    """Blocks of a key (A-H), 30 filler characters (29 random ones from abcd, then "=") and the key again: the
    last character can only be predicted by remembering one read 31 characters before."""
    rng = random.Random(seed)
    return "".join(
        key + "".join(rng.choice("abcd") for _ in range(GAP - 1)) + "=" + key
        for key in (rng.choice("ABCDEFGH") for _ in range(blocks))
    )


def test_on_a_copy_task_an_lstm_reaches_further_than_a_plain_rnn(seed: int = 0):
    """The same size, data and steps; an LSTM learns to carry the key across the gap, a plain RNN's gradient
    vanishes. Tried with seeds 0-8 (the ``seed`` argument): the LSTM's half-life was 20-53 characters, the RNN's
    0.5-11 (ratios 3.2 to 80); the share of the strongest dependence left 30 characters back was 0.39-0.84
    against at most 0.13."""
    corpus = make_corpus(copy_text(1500, seed))
    reference = copy_text(100, seed=999)
    settings = dict(batch_size=32, seq_len=96, learning_rate=1e-2, steps=1500, seconds=None, keep_best=False)
    config = TrainConfig(**settings, seed=seed)
    reach = {}
    for cell in ("lstm", "rnn"):
        torch.manual_seed(seed)
        model = CharLSTM(ModelConfig(embedding_size=8, hidden_size=32, cell=cell), corpus.vocab.size)
        for _ in train(model, corpus, config):
            pass
        reach[cell] = memory_reach(model, corpus.vocab, reference, max_distance=40, positions=256)
    lstm, rnn = reach["lstm"], reach["rnn"]
    assert lstm.half_life is not None and rnn.half_life is not None
    assert lstm.half_life > 2 * rnn.half_life, (lstm.half_life, rnn.half_life)
    share = {cell: r.strength[GAP - 1] / max(r.strength) for cell, r in reach.items()}
    assert share["lstm"] > 2 * share["rnn"], share
