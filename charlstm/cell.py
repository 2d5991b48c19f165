"""The LSTM cell written out equation by equation, run with a trained model's own weights.

``nn.LSTM`` hides its gates inside one fused kernel. :func:`trace` recomputes the same numbers step by step,
so the app can show each gate's activations, the cell state and the hidden state at every character, and the
tests can check that the readable equations reproduce ``nn.LSTM`` exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .model import CharLSTM


@dataclass(frozen=True)
class Trace:
    """Every gate and state of every layer at every step; each tensor is (B, T, num_layers, H)."""

    forget: torch.Tensor  # f_t: how much of the old cell state to keep
    input: torch.Tensor  # i_t: how much of the candidate to write
    candidate: torch.Tensor  # g_t: the new content that could be written
    output: torch.Tensor  # o_t: how much of the squashed cell state to show
    cell: torch.Tensor  # c_t
    hidden: torch.Tensor  # h_t
    logits: torch.Tensor  # (B, T, V): the next-character scores after each step


def cell_step(
    x: torch.Tensor, h: torch.Tensor, c: torch.Tensor, weights: tuple[torch.Tensor, ...]
) -> tuple[torch.Tensor, ...]:
    """One LSTM step for one layer; returns (f, i, g, o, c, h). ``weights`` are ``nn.LSTM``'s for that layer."""
    w_ih, w_hh, b_ih, b_hh = weights
    z = x @ w_ih.T + b_ih + h @ w_hh.T + b_hh  # (B, 4H)
    return gates(z, c)


def gates(z: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """The gate equations, from the pre-activations ``z`` (B, 4H) and the previous cell state ``c``."""
    z_i, z_f, z_g, z_o = z.chunk(4, dim=-1)  # PyTorch's order: input, forget, candidate, output
    i = torch.sigmoid(z_i)
    f = torch.sigmoid(z_f)
    g = torch.tanh(z_g)
    o = torch.sigmoid(z_o)
    c = f * c + i * g  # keep part of the old memory, write part of the candidate
    h = o * torch.tanh(c)  # show part of the memory
    return f, i, g, o, c, h


def layer_weights(model: CharLSTM, layer: int) -> tuple[torch.Tensor, ...]:
    lstm = model.lstm
    return tuple(getattr(lstm, f"{name}_l{layer}") for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))


@torch.no_grad()
def trace(model: CharLSTM, ids: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None) -> Trace:
    """Run ``ids`` (B, T) through the readable cell, recording everything; from a zero state, or from ``state``
    (``nn.LSTM``'s (h, c), each (L, B, H)), e.g. after the fused model has read the text before."""
    B, T = ids.shape
    L, H = model.config.num_layers, model.config.hidden_size
    weights = [layer_weights(model, layer) for layer in range(L)]
    if state is None:
        h = [torch.zeros(B, H, device=ids.device) for _ in range(L)]
        c = [torch.zeros(B, H, device=ids.device) for _ in range(L)]
    else:
        h, c = list(state[0].unbind(0)), list(state[1].unbind(0))
    record = torch.empty(6, B, T, L, H, device=ids.device)  # f, i, g, o, c, h
    x_all = model.embed(ids)  # (B, T, E)
    for t in range(T):
        x = x_all[:, t]
        for layer in range(L):
            f, i, g, o, c[layer], h[layer] = cell_step(x, h[layer], c[layer], weights[layer])
            for k, value in enumerate((f, i, g, o, c[layer], h[layer])):
                record[k, :, t, layer] = value
            x = h[layer]  # the next layer reads this layer's hidden state (no dropout at inference)
    logits = model.head(record[5, :, :, -1])  # (B, T, V)
    return Trace(*record, logits=logits)
