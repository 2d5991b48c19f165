"""The fast steps: a large model reads its weights in int8 (where the CPU multiplies 8-bit integers natively) or
float16 and still writes the same text for the same seed and scores a real text within 0.01 bits/char of float32;
a small one stays float32; the random numbers drawn in blocks are the ones drawn one at a time."""

import numpy as np
import pytest
import torch

from charlstm import checkpoint, steppers
from charlstm.config import ModelConfig
from charlstm.lab.steering import char_bits
from charlstm.model import CharLSTM
from charlstm.sampling import Uniforms, sample
from charlstm.steppers import HALF_FROM, _has_fbgemm, _has_int8, stepper, weight_format, zero_state
from tests.helpers import FINANCE, ROOT


@pytest.fixture(scope="module")
def base():
    loaded = checkpoint.load(ROOT / "assets" / "base-model.safetensors")
    return loaded.model.eval(), loaded.vocab


FAST = ["fp16", "int8"]


def test_a_model_trained_from_the_base_steps_in_8_or_16_bits_and_a_small_one_in_float32(base, small_model):
    model, _ = base
    assert 4 * model.config.hidden_size**2 >= HALF_FROM
    narrowest = "int8" if _has_int8() else "fp16" if _has_fbgemm() else "fp32"  # fbgemm: every x86 build of torch
    assert weight_format(model) == narrowest
    assert weight_format(small_model) == "fp32" and weight_format(model, "fp32") == "fp32"
    with pytest.raises(ValueError, match="precision"):
        weight_format(model, "int4")


def test_a_machine_without_native_8_bit_products_reads_int8_as_float16(base, monkeypatch):
    model, _ = base
    monkeypatch.setattr(steppers, "_has_int8", lambda: False)
    assert weight_format(model) == weight_format(model, "int8") == ("fp16" if _has_fbgemm() else "fp32")


def test_int8_is_used_exactly_where_the_cpu_multiplies_8_bit_integers_natively():
    # the check computes 255 × 127 in pairs, which a kernel that saturates at 16 bits gets wrong (AVX-512 VNNI here)
    native = "AVX512" in torch.backends.cpu.get_cpu_capability() and torch.cpu._is_vnni_supported()
    assert _has_int8() == (native and _has_fbgemm())


@pytest.mark.parametrize("precision", FAST)
def test_the_fast_step_writes_the_same_text_for_the_same_seed(base, precision):
    model, vocab = base
    texts = [
        sample(
            model, vocab, "The ", 300, temperature=1.0, generator=torch.Generator().manual_seed(4), precision=precision
        )
        for _ in range(2)
    ]
    assert texts[0] == texts[1] and len(texts[0]) == 300


# the most one character's surprise may move: float16 rounds only the weights; int8 rounds each step's input to
# 8 bits too (measured on this text: 0.31 bits at most, 0.14 for the 99th percentile, 0.0003 on average)
WORST_CHAR = {"fp16": 0.05, "int8": 0.5}


@pytest.mark.parametrize("precision", FAST)
def test_the_fast_step_scores_a_real_text_within_a_hundredth_of_a_bit_of_float32(base, precision):
    model, vocab = base
    text = FINANCE.read_text(encoding="utf-8")[-2000:]
    fast, exact = (char_bits(model, vocab, text, precision=p) for p in (precision, "fp32"))
    assert abs(fast.mean() - exact.mean()) < 0.01
    assert abs(fast - exact).max() < WORST_CHAR[precision]  # every character, not only on average


@pytest.mark.parametrize("precision,atol", [("fp16", 2e-3), ("int8", 2e-2)])
@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_every_cell_steps_alike_in_every_format_and_from_a_state_it_did_not_write(cell, precision, atol):
    torch.manual_seed(0)
    model = CharLSTM(ModelConfig(embedding_size=8, hidden_size=24, num_layers=2, cell=cell), 30).eval()
    fast, exact = stepper(model, precision=precision), stepper(model, precision="fp32")
    (h1, c1), (h2, c2) = zero_state(model), zero_state(model)
    for i in [3, 7, 1, 0, 29, 5]:
        assert np.allclose(fast(i, h1, c1), exact(i, h2, c2), atol=atol)
    # the past share kept from the last step equals the one computed afresh for a state from elsewhere
    h3, c3 = [x.copy() for x in h2], [x.copy() for x in c2]
    kept = exact(4, h2, c2)
    assert np.array_equal(exact(4, h3, c3), kept)


def test_uniforms_drawn_in_blocks_are_the_ones_drawn_one_at_a_time():
    one_by_one = torch.Generator().manual_seed(9)
    expected = [torch.rand((), generator=one_by_one, dtype=torch.float64).item() for _ in range(600)]
    blocks = torch.Generator().manual_seed(9)
    uniforms = Uniforms(blocks, 600)
    assert [uniforms() for _ in range(600)] == expected
    assert torch.equal(blocks.get_state(), one_by_one.get_state())  # no more drawn than needed


def test_a_refused_precision_names_the_choices(small_model):
    with pytest.raises(ValueError, match="auto, fp32, fp16, int8"):
        stepper(small_model, precision="bf16")
