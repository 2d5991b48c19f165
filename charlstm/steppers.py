"""Fast one-character steps, one per cell: what :mod:`charlstm.sampling` generates with and
:mod:`charlstm.lab.steering` scores with.

Start with :func:`stepper`: ``step = stepper(model)``, then ``logits = step(id, h, c)`` for each character, from
``h, c = zero_state(model)``; the step updates ``h`` and ``c`` for the next one. The rest of this file is how
that step is made fast without changing what it computes.

Each is the readable equation of :mod:`charlstm.cell` (``lstm_step``, ``gru_step``, ``rnn_step``) arranged for
batch 1, where per-call overhead dominates: the matrix-vector products in torch (its threads are the ones training
uses; NumPy's BLAS threads would spin beside them and slow training by a third), the element-wise work in NumPy
(several times cheaper per call than torch for vectors this small), and the embedding folded into the first
layer's input weights, so the character's share of every gate is one row of a table. A step is a function
``(id, h, c) -> logits`` that advances the per-layer states ``h``, ``c`` (lists of NumPy vectors) by one
character; ``c`` is empty for the GRU and the plain RNN, which have no memory cell, and left alone. A clamp holds
one unit at its value in every step.

A large model's matrices are read in 8 or 16 bits. At batch 1 a step reads every weight once and does two flops with
it, so its time is the time to read the weights: the 1×512 base's recurrent matrix is 4 MiB in float32, and reading
it took over half of a step (4.4-5.6k characters/s), more with a CJK text's wide head (a 3,000-character vocabulary
adds 6 MiB). Where the CPU multiplies 8-bit integers natively (AVX-512 VNNI: a check at first use,
:func:`_has_int8`) they are stored as int8, one scale per row (fbgemm's dynamic linear: each step's input is scaled
to 8 bits too, products summed in 32-bit integers); elsewhere as float16 (fbgemm's packed format, widened to float32
as it is read, products summed in float32), and on a CPU without fbgemm as float32. Each reads in a quarter or half
of float32's time, and bits/char move by at most ~0.007 (int8; one character's surprise by up to 0.3 bits) or ~1e-4
(float16), within the 0.01 allowed (``python -m bench.stepper``, ``python -m bench.own_texts``). A model whose
matrices all have fewer than :data:`HALF_FROM` elements (the 1×256 default's largest: 1 MiB) stays float32: its
weights sit in the cache, and it keeps writing exactly what it wrote. Every format gives the same result for the
same input every time, so a seed still gives the same text on the same machine (a machine with another format writes
another text for it).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable

import numpy as np
import torch

from .clamp import Clamp
from .model import CharLSTM

Stepper = Callable[[int, list[np.ndarray], list[np.ndarray]], np.ndarray]
MatVec = Callable[[np.ndarray], np.ndarray]
# (layer, input share, past share, h, c) -> the layer's new (h, c)
Update = Callable[[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
PRECISIONS = ("auto", "fp32", "fp16", "int8")  # auto: 8 or 16 bits for a model with a matrix of HALF_FROM elements
HALF_FROM = 2**19  # elements (2 MiB in float32): the 1×512 base's recurrent matrix (1M) or a 3,000-character head


def stepper(model: CharLSTM, clamp: Clamp | None = None, precision: str = "auto") -> Stepper:
    """The step of ``model``'s cell, holding the unit of ``clamp`` (if any) at its value; its matrices stored in
    :func:`weight_format` for ``precision``."""
    # each cell's own update, inside the same layer loop (:func:`_layer_loop`)
    if model.config.cell == "lstm":
        return lstm_step(model, clamp, precision)
    return gru_step(model, clamp, precision) if model.config.cell == "gru" else rnn_step(model, clamp, precision)


def weight_format(model: CharLSTM, precision: str = "auto") -> str:
    """The format ("fp32", "fp16" or "int8") a stepper for ``model`` stores its matrices in, for ``precision``:
    "auto" is the narrowest this machine reads fast for a large model, float32 for a small one; a format this
    machine lacks falls back to the next wider one (int8 -> fp16 -> fp32)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    if precision == "auto":
        precision = "int8" if _largest_matrix(model) >= HALF_FROM else "fp32"
    if precision == "int8" and not _has_int8():
        precision = "fp16"  # no native 8-bit products: emulated, they would be slower than float16
    if precision == "fp16" and not _has_fbgemm():
        precision = "fp32"  # this torch build lacks fbgemm (an ARM one, say)
    return precision


def _largest_matrix(model: CharLSTM) -> int:
    # one format for the whole model: 8 or 16 bits where its largest matrix is too big to sit in the cache
    return max(w.numel() for w in [*model.recurrent.parameters(), model.head.weight])


def zero_state(model: CharLSTM) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The stepper's state before the first character: h and c per layer, zeros (H,) each (c is empty, (0,),
    for a cell without memory, as in the model's state)."""
    L, H = model.config.num_layers, model.config.hidden_size
    C = H if model.config.cell == "lstm" else 0
    return [np.zeros(H, np.float32) for _ in range(L)], [np.zeros(C, np.float32) for _ in range(L)]


def lstm_step(model: CharLSTM, clamp: Clamp | None = None, precision: str = "auto") -> Stepper:
    """:func:`charlstm.cell.lstm_step` at batch 1. The gate rows are reordered (input, forget, output, candidate)
    and the sigmoid rows halved, so one ``tanh`` computes every gate: sigmoid(x) = (1 + tanh(x/2)) / 2."""
    recurrent, L, H = model.recurrent, model.config.num_layers, model.config.hidden_size
    # PyTorch's rows (input, forget, candidate, output) -> (input, forget, output, candidate): the three sigmoid
    # gates side by side, so they are one slice
    order = torch.cat([torch.arange(0, 2 * H), torch.arange(3 * H, 4 * H), torch.arange(2 * H, 3 * H)])
    # the sigmoid rows' weights halved in advance: tanh of them is then tanh(x / 2), what sigmoid(x) needs
    scale = torch.cat([torch.full((3 * H,), 0.5), torch.ones(H)])  # (4H,)

    def prepared(name: str, k: int) -> torch.Tensor:
        weight = getattr(recurrent, f"{name}_l{k}").detach().cpu()[order]
        return (weight * (scale[:, None] if weight.dim() == 2 else scale)).contiguous()

    # both biases go into the input share; the memory of a clamped layer is held before h reads it
    biases = [(prepared("bias_ih", k) + prepared("bias_hh", k)).numpy() for k in range(L)]
    held = clamp.layer if clamp is not None and clamp.kind == "cell" else -1
    unit, value = (clamp.unit, clamp.value) if clamp is not None else (0, 0.0)

    def update(k: int, x_part: np.ndarray, h_part: np.ndarray, h: np.ndarray, c: np.ndarray) -> tuple:
        # pre-activations of every gate: this layer's input share and its past's, then one tanh for all
        t = x_part + h_part  # (4H,), a new array
        np.tanh(t, out=t)
        sig = t[: 3 * H]  # input, forget and output gates: sigmoid from tanh, in place
        sig *= 0.5
        sig += 0.5
        # memory: keep part of the old, write part of the candidate
        c = sig[H : 2 * H] * c + sig[:H] * t[3 * H :]
        if k == held:
            c[unit] = value  # before h reads it; the next step reads it too
        # output: show part of the memory
        return sig[2 * H :] * np.tanh(c), c

    return _layer_loop(model, clamp, precision, prepared, biases, update)


def gru_step(model: CharLSTM, clamp: Clamp | None = None, precision: str = "auto") -> Stepper:
    """:func:`charlstm.cell.gru_step` at batch 1."""
    b_hh = [_weight(model, "bias_hh", k).numpy() for k in range(model.config.num_layers)]

    def update(k: int, x_part: np.ndarray, h_part: np.ndarray, h: np.ndarray, c: np.ndarray) -> tuple:
        H, h_part = len(h), h_part + b_hh[k]
        # reset and update gates together: sigmoid(a) = (1 + tanh(a / 2)) / 2, one call for both
        rz = np.tanh((x_part[: 2 * H] + h_part[: 2 * H]) * 0.5) * 0.5 + 0.5
        r, z = rz[:H], rz[H:]
        # the candidate reads the past through the reset gate, then the update gate mixes old state and candidate
        n = np.tanh(x_part[2 * H :] + r * h_part[2 * H :])
        return n + z * (h - n), c  # = (1 - z) * n + z * h; no memory cell

    return _plain_layer_loop(model, clamp, precision, update)


def rnn_step(model: CharLSTM, clamp: Clamp | None = None, precision: str = "auto") -> Stepper:
    """:func:`charlstm.cell.rnn_step` at batch 1."""
    b_hh = [_weight(model, "bias_hh", k).numpy() for k in range(model.config.num_layers)]

    def update(k: int, x_part: np.ndarray, h_part: np.ndarray, h: np.ndarray, c: np.ndarray) -> tuple:
        return np.tanh(x_part + (h_part + b_hh[k])), c  # no gate: the whole state is rewritten every character

    return _plain_layer_loop(model, clamp, precision, update)


def _plain_layer_loop(model: CharLSTM, clamp: Clamp | None, precision: str, update: Update) -> Stepper:
    """The loop of a cell whose weights are used as stored (the GRU, the plain RNN): the input bias in the input
    share, the recurrent one added by ``update``."""
    biases = [_weight(model, "bias_ih", k).numpy() for k in range(model.config.num_layers)]
    return _layer_loop(model, clamp, precision, functools.partial(_weight, model), biases, update)


def _layer_loop(
    model: CharLSTM,
    clamp: Clamp | None,
    precision: str,
    weight: Callable[[str, int], torch.Tensor],
    biases: list[np.ndarray],
    update: Update,
) -> Stepper:
    """The step every cell shares: each layer reads its input share and its past share, ``update`` turns them
    into the new state, and the new h is multiplied once by everything that reads it.

    That one product holds the layer's next past share (its recurrent weights) and the layer above's input share
    (or the head's logits): one call per layer and character instead of two. The past share is kept for the next
    step and used if that step starts from the h this one wrote (the state is a value: a caller that wants
    another state passes other arrays, never the same ones changed in place); otherwise it is computed.
    """
    L, G = model.config.num_layers, len(biases[0])  # G: gate rows (4H for the LSTM, 3H for the GRU, H for the RNN)
    precision = weight_format(model, precision)  # "fp32", "fp16" or "int8"
    # what reads layer k's h besides itself: the layer above's input weights, or, for the top layer, the head
    readers = [weight("weight_ih", k + 1) for k in range(L - 1)] + [model.head.weight.detach().cpu()]
    # one stacked matrix per layer, [its recurrent weights; its reader's], so one product serves both
    products = [_matvec(torch.cat([weight("weight_hh", k), readers[k]]), precision) for k in range(L)]
    outputs = [*biases[1:], model.head.bias.detach().cpu().numpy().copy()]  # the biases of what reads h: a copy
    first = _first_layer_table(model, weight("weight_ih", 0), biases[0])  # (V, G): layer 0's input share
    clamped = clamp.layer if clamp is not None and clamp.kind == "hidden" else -1  # -1: none (the check: 14 ns)
    unit, value = (clamp.unit, clamp.value) if clamp is not None else (0, 0.0)
    written: list[np.ndarray | None] = [None] * L  # the h each layer wrote last, and its next past share
    pending: list[np.ndarray] = [np.empty(0)] * L

    def step(i: int, h: list[np.ndarray], c: list[np.ndarray]) -> np.ndarray:
        x_part = first[i]  # the character's share of layer 0's pre-activations, biases included
        for k in range(L):
            # the past's share: kept from the last step when it wrote this h, else computed now
            h_part = pending[k] if h[k] is written[k] else products[k](h[k])[:G]
            h[k], c[k] = update(k, x_part, h_part, h[k], c[k])
            if k == clamped:
                h[k][unit] = value  # the layer above, the head and the next step read it
            # everything that reads the new h, at once: the next step's past share, then the input share of
            # the layer above (or the logits)
            out = products[k](h[k])
            written[k], pending[k], x_part = h[k], out[:G], out[G:] + outputs[k]
        return x_part  # (V,): the logits

    return step


def _weight(model: CharLSTM, name: str, k: int) -> torch.Tensor:
    return getattr(model.recurrent, f"{name}_l{k}").detach().cpu().contiguous()


def _first_layer_table(model: CharLSTM, w_ih: torch.Tensor, bias: np.ndarray) -> np.ndarray:
    """Layer 0's input share for every character, biases included: embedding @ w_ih.T + bias, (V, gates × H).
    Reading a row replaces the embedding lookup and the input product (float32 always: it is read, not
    multiplied)."""
    return (model.embed.weight.detach().cpu() @ w_ih.T).numpy() + bias


def _matvec(weight: torch.Tensor, precision: str) -> MatVec:
    """x (in,) -> weight @ x (out,), both float32 NumPy vectors; the weights stored in ``precision``, a
    :func:`weight_format`."""
    if precision == "int8":
        packed, linear = _int8_packed(weight), torch.ops.quantized.linear_dynamic.default  # the op itself: 2 µs less
        # reduce_range False: all 8 bits of the input (VNNI sums u8 × s8 pairs in 32 bits, with no 16-bit
        # saturation to leave room for, :func:`_has_int8`)
        return lambda x: linear(torch.from_numpy(x[None]), packed, False).numpy()[0]
    if precision == "fp16":
        with warnings.catch_warnings():  # torch marks these deprecated; 2.13 has them, and fp32 is the fallback
            warnings.simplefilter("ignore")
            packed = torch.fbgemm_pack_gemm_matrix_fp16(weight)
            zero = torch.zeros(len(weight))  # the bias it requires: adding 0 keeps the product exact
            torch.fbgemm_linear_fp16_weight(torch.zeros(1, weight.shape[1]), packed, zero)  # it warns here, once
        return lambda x: torch.fbgemm_linear_fp16_weight(torch.from_numpy(x[None]), packed, zero).numpy()[0]
    weight = weight.contiguous()
    return lambda x: torch.mv(weight, torch.from_numpy(x)).numpy()


def _int8_packed(weight: torch.Tensor) -> torch.Tensor:
    """``weight`` as fbgemm's packed int8: each row scaled so its largest weight is ±127 (symmetric, zero point 0),
    so a row of small weights keeps its precision whatever the other rows hold."""
    scales = weight.abs().amax(1).clamp_min(1e-12) / 127  # (out,); a row of zeros gets any scale: it stays 0
    zero_points = torch.zeros(len(weight), dtype=torch.long)
    with warnings.catch_warnings():  # torch marks quantized tensors deprecated; 2.13 has them, and fp16 is the fallback
        warnings.simplefilter("ignore")
        quantized = torch.quantize_per_channel(weight.float(), scales.double(), zero_points, 0, torch.qint8)
        return torch.ops.quantized.linear_prepack(quantized, None)


@functools.cache
def _has_int8() -> bool:
    """Whether this CPU multiplies 8-bit integers natively, so int8 weights read faster than float16: fbgemm with
    AVX-512 VNNI. The check is the product itself: 255 × 127 summed in pairs overflows 16 bits, which fbgemm's
    kernels for a CPU without VNNI would saturate (and int8 products there cost more than float16's)."""
    try:
        if "AVX512" not in torch.backends.cpu.get_cpu_capability() or not torch.cpu._is_vnni_supported():
            return False
        packed = _int8_packed(torch.ones(16, 256))  # every weight 127 once scaled
        x = torch.ones(1, 256)  # every input 255 once scaled
        return bool(torch.allclose(torch.ops.quantized.linear_dynamic(x, packed, False), torch.full((1, 16), 256.0)))
    except (AttributeError, RuntimeError):
        return False


@functools.cache
def _has_fbgemm() -> bool:
    """Whether this torch build stores matrices as float16 with fbgemm (x86 builds do; ARM ones may not)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            packed = torch.fbgemm_pack_gemm_matrix_fp16(torch.ones(8, 8))
            return bool(torch.fbgemm_linear_fp16_weight(torch.ones(1, 8), packed, torch.zeros(8))[0, 0] == 8)
    except (AttributeError, RuntimeError):
        return False
