"""The recurrent cells written out equation by equation, run with a trained model's own weights.

Start with :func:`lstm_step` (one LSTM step: the four gates, the new memory ``c`` and the new output ``h``), then
:func:`trace` (a whole text through it, every gate recorded). ``gru_step`` and ``rnn_step`` are the other two cells.

``nn.LSTM``, ``nn.GRU`` and ``nn.RNN`` hide their gates inside fused kernels. :func:`trace` recomputes the same
numbers step by step, so the app can show each gate's activations and the states at every character, and the
tests can check that the readable equations reproduce PyTorch's exactly. The three cells answer "why gates?":
the plain RNN rewrites its whole state at every character, so what it read a few dozen characters ago fades
(see :mod:`charlstm.lab.reach`); the GRU's update gate lets it keep part of its state unchanged; the LSTM keeps a
separate memory cell that gates write to and read from.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .model import CharLSTM, State


@dataclass(frozen=True)
class Trace:
    """Every gate and state of every LSTM layer at every step; each tensor is (B, T, num_layers, H)."""

    forget: torch.Tensor  # f_t: how much of the old cell state to keep
    input: torch.Tensor  # i_t: how much of the candidate to write
    candidate: torch.Tensor  # g_t: the new content that could be written
    output: torch.Tensor  # o_t: how much of the squashed cell state to show
    cell: torch.Tensor  # c_t
    hidden: torch.Tensor  # h_t
    logits: torch.Tensor  # (B, T, V): the next-character scores after each step


@dataclass(frozen=True)
class GRUTrace:
    """Every gate and state of every GRU layer at every step; each tensor is (B, T, num_layers, H)."""

    reset: torch.Tensor  # r_t: how much of the old state the candidate may read
    update: torch.Tensor  # z_t: how much of the old state to keep (the rest comes from the candidate)
    candidate: torch.Tensor  # n_t: the new content
    hidden: torch.Tensor  # h_t
    logits: torch.Tensor  # (B, T, V)


@dataclass(frozen=True)
class RNNTrace:
    """The state of every plain-RNN layer at every step: (B, T, num_layers, H); it has no gates."""

    hidden: torch.Tensor  # h_t
    logits: torch.Tensor  # (B, T, V)


# What a trace records for each cell, in the order its step returns them (the new h always last).
PARTS = {
    "lstm": ("forget", "input", "candidate", "output", "cell", "hidden"),
    "gru": ("reset", "update", "candidate", "hidden"),
    "rnn": ("hidden",),
}
TRACES = {"lstm": Trace, "gru": GRUTrace, "rnn": RNNTrace}


def lstm_step(
    x: torch.Tensor, h: torch.Tensor, c: torch.Tensor, weights: tuple[torch.Tensor, ...]
) -> tuple[torch.Tensor, ...]:
    """One LSTM step for one layer; returns (f, i, g, o, c, h). ``weights`` are ``nn.LSTM``'s for that layer."""
    w_ih, w_hh, b_ih, b_hh = weights
    # every gate looks at the same two things, the new input and the last output: one product for all four
    z = x @ w_ih.T + b_ih + h @ w_hh.T + b_hh  # (B, 4H)
    return gates(z, c)


def gates(z: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """The gate equations, from the pre-activations ``z`` (B, 4H) and the previous cell state ``c``."""
    z_i, z_f, z_g, z_o = z.chunk(4, dim=-1)  # PyTorch's order: input, forget, candidate, output
    # the gates are sigmoids, 0 (shut) to 1 (open); the candidate is a tanh, -1 to 1, like the memory it adds to
    i = torch.sigmoid(z_i)
    f = torch.sigmoid(z_f)
    g = torch.tanh(z_g)
    o = torch.sigmoid(z_o)
    c = f * c + i * g  # keep part of the old memory, write part of the candidate
    h = o * torch.tanh(c)  # show part of the memory
    return f, i, g, o, c, h


def gru_step(x: torch.Tensor, h: torch.Tensor, weights: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
    """One GRU step for one layer; returns (r, z, n, h). ``weights`` are ``nn.GRU``'s for that layer."""
    w_ih, w_hh, b_ih, b_hh = weights
    x_r, x_z, x_n = (x @ w_ih.T + b_ih).chunk(3, dim=-1)  # PyTorch's order: reset, update, candidate
    h_r, h_z, h_n = (h @ w_hh.T + b_hh).chunk(3, dim=-1)  # the past's share of each, biases included
    r = torch.sigmoid(x_r + h_r)
    z = torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)  # the reset gate scales the past's share (b_hn too: PyTorch's convention)
    h = (1 - z) * n + z * h  # keep part of the old state, take the rest from the candidate
    return r, z, n, h


def rnn_step(x: torch.Tensor, h: torch.Tensor, weights: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor]:
    """One plain-RNN step for one layer; returns (h,). ``weights`` are ``nn.RNN``'s (tanh) for that layer."""
    w_ih, w_hh, b_ih, b_hh = weights
    return (torch.tanh(x @ w_ih.T + b_ih + h @ w_hh.T + b_hh),)  # no gate: the whole state is rewritten


cell_step = lstm_step  # old name, kept as an alias (the LSTM's step, named as gru_step and rnn_step are)


# Each cell's step with one signature: (x, h, c, weights) -> the parts of PARTS[cell]; only the LSTM reads c.
STEPS = {
    "lstm": lstm_step,
    "gru": lambda x, h, c, weights: gru_step(x, h, weights),
    "rnn": lambda x, h, c, weights: rnn_step(x, h, weights),
}


def layer_weights(model: CharLSTM, layer: int) -> tuple[torch.Tensor, ...]:
    recurrent = model.recurrent
    return tuple(getattr(recurrent, f"{name}_l{layer}") for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))


@torch.no_grad()
def trace(model: CharLSTM, ids: torch.Tensor, state: State | None = None) -> Trace | GRUTrace | RNNTrace:
    """Run ``ids`` (B, T) through the readable cell, recording everything; from a zero state, or from ``state``
    (the model's (h, c), each (L, B, H); c is empty without a memory cell), e.g. after the fused model has read
    the text before. An LSTM gives a :class:`Trace`, a GRU a :class:`GRUTrace`, a plain RNN an :class:`RNNTrace`."""
    B, T = ids.shape
    cell, L, H = model.config.cell, model.config.num_layers, model.config.hidden_size
    step, parts = STEPS[cell], PARTS[cell]
    weights = [layer_weights(model, layer) for layer in range(L)]
    # the state to start from, one (B, H) tensor per layer (c is (B, 0) for a cell without memory)
    if state is None:
        h = [torch.zeros(B, H, device=ids.device) for _ in range(L)]
        c = [torch.zeros(B, H if cell == "lstm" else 0, device=ids.device) for _ in range(L)]
    else:
        h, c = list(state[0].unbind(0)), list(state[1].unbind(0))
    record = torch.empty(len(parts), B, T, L, H, device=ids.device)  # the parts, in PARTS[cell]'s order
    x_all = model.embed(ids)  # (B, T, E)
    # one character at a time, and within it one layer at a time: each layer reads the output of the one below
    for t in range(T):
        x = x_all[:, t]  # (B, E)
        for layer in range(L):
            values = step(x, h[layer], c[layer], weights[layer])  # the parts of PARTS[cell], h last
            h[layer] = values[-1]
            if cell == "lstm":
                c[layer] = values[4]
            for k, value in enumerate(values):
                record[k, :, t, layer] = value
            x = h[layer]  # the next layer reads this layer's hidden state (no dropout at inference)
    logits = model.head(record[-1, :, :, -1])  # (B, T, V)
    return TRACES[cell](*record, logits=logits)
