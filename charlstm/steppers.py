"""Fast one-character steps for the GRU and the plain RNN: what :mod:`charlstm.sampling` generates with when a
model has one of those cells (the LSTM's step lives in ``sampling._stepper`` itself).

Each is :func:`charlstm.cell.gru_step` or :func:`~charlstm.cell.rnn_step` arranged for batch 1, as the LSTM's is:
the matrix-vector products in torch, the element-wise work in NumPy, the embedding folded into the first layer's
input weights (one row per character). A step is a function ``(id, h, c) -> logits`` that advances the per-layer
states ``h`` in place; ``c`` is the memory cell these cells do not have (empty arrays) and is left alone, so
generation and scoring carry the same state for all three cells. A clamp holds a hidden unit (kind "hidden");
:meth:`charlstm.clamp.Clamp.check` refuses a "cell" clamp on them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from .clamp import Clamp
from .model import CharLSTM

Step = Callable[[int, list[np.ndarray], list[np.ndarray]], np.ndarray]


def stepper(model: CharLSTM, clamp: Clamp | None = None) -> Step:
    """The step of a GRU or plain-RNN ``model``, holding the hidden unit of ``clamp`` (if any) at its value."""
    recurrent, L = model.recurrent, model.config.num_layers

    def weights(name: str, k: int) -> torch.Tensor:
        return getattr(recurrent, f"{name}_l{k}").detach().cpu().contiguous()

    w_ih = [weights("weight_ih", k) for k in range(L)]
    w_hh = [weights("weight_hh", k) for k in range(L)]
    b_ih = [weights("bias_ih", k).numpy() for k in range(L)]
    b_hh = [weights("bias_hh", k).numpy() for k in range(L)]
    first = (model.embed.weight.detach().cpu() @ w_ih[0].T).numpy() + b_ih[0]  # (V, GH): layer 0's input share
    head_w, head_b = model.head.weight.detach().cpu().contiguous(), model.head.bias.detach().cpu().numpy().copy()
    update = _gru_update if model.config.cell == "gru" else _rnn_update
    clamped, unit, value = (clamp.layer, clamp.unit, clamp.value) if clamp is not None else (-1, 0, 0.0)  # -1: none

    def step(i: int, h: list[np.ndarray], c: list[np.ndarray]) -> np.ndarray:
        for k in range(L):
            # this layer's input share (the character, or the layer below) and its past's share, biases included
            x_part = first[i] if k == 0 else _mv(w_ih[k], h[k - 1]) + b_ih[k]
            h_part = _mv(w_hh[k], h[k]) + b_hh[k]
            h[k] = update(x_part, h_part, h[k])
            if k == clamped:
                h[k][unit] = value  # the layer above, the head and the next step read it
        return _mv(head_w, h[-1]) + head_b  # (V,)

    return step


def _gru_update(x_part: np.ndarray, h_part: np.ndarray, h: np.ndarray) -> np.ndarray:
    H = len(h)
    # reset and update gates together: sigmoid(a) = (1 + tanh(a / 2)) / 2, one call for both
    rz = np.tanh((x_part[: 2 * H] + h_part[: 2 * H]) * 0.5) * 0.5 + 0.5
    r, z = rz[:H], rz[H:]
    # the candidate reads the past through the reset gate, then the update gate mixes old state and candidate
    n = np.tanh(x_part[2 * H :] + r * h_part[2 * H :])
    return n + z * (h - n)  # = (1 - z) * n + z * h


def _rnn_update(x_part: np.ndarray, h_part: np.ndarray, h: np.ndarray) -> np.ndarray:
    return np.tanh(x_part + h_part)  # no gate: the whole state is rewritten every character


def _mv(weight: torch.Tensor, x: np.ndarray) -> np.ndarray:
    return torch.mv(weight, torch.from_numpy(x)).numpy()
