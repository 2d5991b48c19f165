"""Clamping a unit: the stepper holds it exactly as the readable cell would, the unclamped path is untouched, the
same seed gives the same clamped text, a unit the model ignores changes nothing, and bad clamps are refused."""

import math

import pytest
import torch

from charlstm import checkpoint
from charlstm.cell import layer_weights, lstm_step
from charlstm.clamp import MAX_VALUE, Clamp, ClampError
from charlstm.lab.steering import MATTERS, TRY_VALUES, bits_per_char, char_bits, compare_clamped, find_clamp
from charlstm.sampling import char_probabilities, generate, sample, seed_ids
from tests.helpers import ROOT

TEXT = "Paid 42.50 to the grocer; received 1,200 from the bank.\n"


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@torch.no_grad()
def reference_bits(model, vocab, text: str, clamp: Clamp | None) -> torch.Tensor:
    """Bits of each character of ``text`` from :func:`charlstm.cell.lstm_step`, the clamp applied by hand."""
    L, H = model.config.num_layers, model.config.hidden_size
    weights = [layer_weights(model, k) for k in range(L)]
    ids = seed_ids(vocab, text, torch.device("cpu"))[0]
    h, c = [torch.zeros(1, H) for _ in range(L)], [torch.zeros(1, H) for _ in range(L)]
    bits = []
    for t in range(len(ids) - 1):
        x = model.embed(ids[t : t + 1])  # (1, E)
        for k in range(L):
            _f, _i, _g, o, c[k], h[k] = lstm_step(x, h[k], c[k], weights[k])
            if clamp and clamp.layer == k and clamp.kind == "cell":  # the memory, then the output read from it
                c[k][0, clamp.unit] = clamp.value
                h[k][0, clamp.unit] = o[0, clamp.unit] * math.tanh(clamp.value)
            if clamp and clamp.layer == k and clamp.kind == "hidden":
                h[k][0, clamp.unit] = clamp.value
            x = h[k]
        log_probs = torch.log_softmax(model.head(h[-1])[0], -1)
        bits.append(-log_probs[ids[t + 1]] / math.log(2))
    return torch.stack(bits)


def _fused_bits(model, corpus) -> torch.Tensor:
    return -torch.log2(char_probabilities(model, corpus.vocab, TEXT).double()).float()


def test_without_a_clamp_the_reference_loop_and_the_stepper_agree_with_the_fused_model(small_model, corpus):
    fused = _fused_bits(small_model, corpus)
    assert torch.allclose(reference_bits(small_model, corpus.vocab, TEXT, None), fused, atol=1e-4)
    assert torch.allclose(torch.from_numpy(char_bits(small_model, corpus.vocab, TEXT)).float(), fused, atol=1e-4)


@pytest.mark.parametrize(
    "clamp",
    [Clamp("cell", 0, 3, 0.0), Clamp("cell", 1, 7, 2.5), Clamp("hidden", 0, 5, -0.8), Clamp("hidden", 1, 0, 1.0)],
)
def test_the_clamped_stepper_matches_the_readable_cell_with_the_clamp_applied_by_hand(small_model, corpus, clamp):
    expected = reference_bits(small_model, corpus.vocab, TEXT, clamp)
    got = torch.from_numpy(char_bits(small_model, corpus.vocab, TEXT, clamp)).float()
    assert torch.allclose(got, expected, atol=1e-4)
    assert not torch.allclose(got, _fused_bits(small_model, corpus), atol=1e-3), "the clamp should change something"
    # Generation with the clamp: the seed is read clamped too, so the last distribution is the reference's.
    steps = list(generate(small_model, corpus.vocab, TEXT[:20], 15, temperature=1.0, generator=gen(2), clamp=clamp))
    written = TEXT[:20] + "".join(s.char for s in steps)
    assert torch.allclose(
        torch.tensor([-math.log2(s.prob) for s in steps]),
        reference_bits(small_model, corpus.vocab, written, clamp)[20:],
        atol=1e-4,
    )


def test_without_a_clamp_generation_writes_what_it_wrote_before_clamps_existed():
    default = checkpoint.load(ROOT / "assets" / "default-model.safetensors")
    model, vocab = default.model.eval(), default.vocab
    text = sample(model, vocab, "ROMEO:\n", 120, temperature=0.8, generator=gen(7))
    assert text == (  # written by the stepper before it took a clamp
        "Here, for I cannot your strokel, sir,\nThat made rich uskerous thing of peace no truth.\n\n"
        "CAMILLO:\nWhat steel! love to the"
    )
    assert sample(model, vocab, "ROMEO:\n", 120, temperature=0.8, generator=gen(7), clamp=None) == text


def test_the_same_seed_gives_the_same_clamped_text(small_model, corpus):
    clamp = Clamp("hidden", 1, 4, 1.0)
    a = sample(small_model, corpus.vocab, "Paid ", 80, temperature=1.0, generator=gen(3), clamp=clamp)
    b = sample(small_model, corpus.vocab, "Paid ", 80, temperature=1.0, generator=gen(3), clamp=clamp)
    c = sample(small_model, corpus.vocab, "Paid ", 80, temperature=1.0, generator=gen(4), clamp=clamp)
    assert a == b and a != c and len(a) == 80


def test_clamping_a_cell_to_zero_is_clamping_its_output_to_zero(small_model, corpus):
    """c[unit] reaches the rest of the network only through h[unit] = o * tanh(c[unit]): both are 0 then."""
    for layer in (0, 1):
        as_cell = char_bits(small_model, corpus.vocab, TEXT, Clamp("cell", layer, 9, 0.0))
        as_hidden = char_bits(small_model, corpus.vocab, TEXT, Clamp("hidden", layer, 9, 0.0))
        assert as_cell == pytest.approx(as_hidden, abs=1e-6)


def test_clamping_a_unit_the_model_ignores_changes_nothing(small_model, corpus):
    unit = 11
    with torch.no_grad():  # the last layer's unit 11 reaches neither the head nor the next step
        small_model.head.weight[:, unit] = 0
        small_model.lstm.weight_hh_l1[:, unit] = 0
    for clamp in (Clamp("hidden", 1, unit, 0.9), Clamp("cell", 1, unit, -MAX_VALUE)):
        result = compare_clamped(small_model, corpus.vocab, clamp, "Paid ", 150, 1.0, 0, 1.0, 5, TEXT)
        assert result.clamped == result.normal and result.differ == []
        assert result.change == pytest.approx(0, abs=1e-6) and result.effect == "nothing"


def test_a_comparison_marks_where_the_texts_differ_and_scores_the_reference_both_ways(small_model, corpus):
    clamp = Clamp("hidden", 1, 2, -1.0)
    result = compare_clamped(small_model, corpus.vocab, clamp, "Paid ", 120, 1.0, 0, 1.0, 1, TEXT)
    assert len(result.normal) == len(result.clamped) == 120
    assert result.differ == [k for k in range(120) if result.normal[k] != result.clamped[k]]
    assert result.bpc_normal == pytest.approx(float(_fused_bits(small_model, corpus).mean()), abs=1e-4)
    assert result.bpc_clamped == pytest.approx(bits_per_char(small_model, corpus.vocab, TEXT, clamp))
    assert result.change == pytest.approx(result.bpc_clamped - result.bpc_normal)
    assert result.reference_chars == len(TEXT)


@pytest.mark.parametrize(
    "fields, match",
    [
        (("memory", 0, 0, 0.0), "kind"),
        (("cell", -1, 0, 0.0), "layer"),
        (("cell", 0, 1.5, 0.0), "unit"),
        (("hidden", True, 0, 0.0), "layer"),
        (("cell", 0, 0, float("nan")), "finite"),
        (("cell", 0, 0, float("inf")), "finite"),
        (("cell", 0, 0, MAX_VALUE + 1), "from -10 to 10"),
        (("hidden", 0, 0, "1"), "finite number"),
    ],
)
def test_malformed_clamps_are_refused(fields, match):
    with pytest.raises(ClampError, match=match):
        Clamp(*fields)


@pytest.mark.parametrize(
    "clamp, match",
    [(Clamp("cell", 2, 0), "layer must be from 0 to 1"), (Clamp("hidden", 0, 32), "unit must be from 0 to 31")],
)
def test_clamps_outside_the_model_are_refused(small_model, corpus, clamp, match):
    with pytest.raises(ClampError, match=match):
        list(generate(small_model, corpus.vocab, "x", 5, clamp=clamp))
    with pytest.raises(ClampError, match=match):
        char_bits(small_model, corpus.vocab, TEXT, clamp)
    with pytest.raises(ClampError, match=match):
        compare_clamped(small_model, corpus.vocab, clamp, "x", 5, 1.0, 0, 1.0, 0, TEXT)


def test_find_clamp_returns_the_first_unit_and_value_that_costs_enough_or_else_the_largest(small_model, corpus):
    units = [("hidden", 0, u) for u in range(6)] + [("cell", 1, 3)]
    plain = bits_per_char(small_model, corpus.vocab, TEXT)
    every = {
        (k, layer, u, v): bits_per_char(small_model, corpus.vocab, TEXT, Clamp(k, layer, u, v)) - plain
        for k, layer, u in units
        for v in TRY_VALUES[k]
    }
    found = find_clamp(small_model, corpus.vocab, TEXT, units)
    first = next((key for key, change in every.items() if change >= MATTERS), None)
    if first is not None:
        assert (found.clamp.kind, found.clamp.layer, found.clamp.unit, found.clamp.value) == first
    else:
        assert abs(found.change) == pytest.approx(max(abs(c) for c in every.values()))
    assert found.change == pytest.approx(
        every[(found.clamp.kind, found.clamp.layer, found.clamp.unit, found.clamp.value)]
    )
    assert find_clamp(small_model, corpus.vocab, TEXT, units, max_tries=2).tried <= 2
    assert find_clamp(small_model, corpus.vocab, TEXT, []) is None
    with pytest.raises(ValueError, match="at least one character"):
        find_clamp(small_model, corpus.vocab, "", units)
