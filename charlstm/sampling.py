"""Text generation and per-character probabilities.

The seed text primes the recurrent state in one ``nn.LSTM`` pass; each new character then costs one cell
step with the state carried (the window is never re-run). That step uses the readable equations of
:mod:`charlstm.cell` on weights prepared once per call (the embedding folded into the first layer's input
weights), which is about three times faster than calling ``nn.LSTM`` for a single character.
Randomness comes only from the ``torch.Generator`` passed in: the same seed gives the same text, and
concurrent callers never disturb each other. With a :class:`~charlstm.clamp.Clamp`, one unit is held at a value
in every step, the seed's included (it is then read by the same stepper, not the fused pass). A GRU or plain-RNN
model steps with the same kind of function from :mod:`charlstm.steppers`; everything else here is shared.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from .clamp import Clamp
from .config import SampleConfig
from .model import CharLSTM, State
from .steppers import stepper as other_stepper
from .vocab import UNKNOWN_ID, Vocab

MAX_LENGTH = 100_000  # characters generated per call
MAX_PROMPT = 10_000  # characters of seed text used; older context barely changes the state
DEFAULTS = SampleConfig()
START = "\n"  # every text is read as if it began a line, so an empty seed works too


class SamplingError(ValueError):
    """A generation setting outside its range; the message says which and why."""


@dataclass(frozen=True)
class Step:
    """One generated character, its probability under the model, and the distribution over the next one."""

    char: str
    id: int
    prob: float
    next_probs: torch.Tensor  # (V,)


def check_settings(length: int, temperature: float, top_k: int, top_p: float) -> None:
    """Raise :class:`SamplingError` for any setting outside its range."""
    if isinstance(length, bool) or not isinstance(length, int) or not 0 <= length <= MAX_LENGTH:
        raise SamplingError(f"length must be a whole number from 0 to {MAX_LENGTH:,}, not {length!r}")
    if not isinstance(temperature, (int, float)) or not math.isfinite(temperature) or not 0 <= temperature <= 10:
        raise SamplingError(f"temperature must be from 0 (greedy) to 10, not {temperature!r}")
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 0:
        raise SamplingError(f"top_k must be a whole number, 0 to keep every character, not {top_k!r}")
    if not isinstance(top_p, (int, float)) or not math.isfinite(top_p) or not 0 < top_p <= 1:
        raise SamplingError(f"top_p must be above 0 and at most 1, not {top_p!r}")


def prompt_ids(vocab: Vocab, prompt: str, device: torch.device) -> torch.Tensor:
    """The ids that prime the state: the start character and the last :data:`MAX_PROMPT` characters."""
    return vocab.encode(START + prompt[-MAX_PROMPT:]).long().to(device)[None]  # (1, T)


@torch.no_grad()
def prime(model: CharLSTM, vocab: Vocab, prompt: str) -> tuple[torch.Tensor, State]:
    """Run the seed through the model: next-character logits (V,) and the state after it."""
    logits, state = model(prompt_ids(vocab, prompt, model.device))
    return logits[0, -1], state


@torch.no_grad()
def generate(
    model: CharLSTM,
    vocab: Vocab,
    prompt: str = "",
    length: int = DEFAULTS.length,
    temperature: float = DEFAULTS.temperature,
    top_k: int = DEFAULTS.top_k,
    top_p: float = DEFAULTS.top_p,
    generator: torch.Generator | None = None,
    clamp: Clamp | None = None,
) -> Iterator[Step]:
    """Yield ``length`` characters continuing ``prompt``. Temperature 0 is greedy; top_k 0 keeps every character.
    With ``clamp``, one unit is held at its value from the seed's first character to the last one written."""
    check_settings(length, temperature, top_k, top_p)
    if clamp is not None:
        clamp.check(model)
    if length == 0:
        return
    generator = generator or torch.Generator().manual_seed(DEFAULTS.seed)
    was_training = model.training
    model.eval()
    try:
        step = _stepper(model, clamp)
        if clamp is None:
            # prime: the whole seed in one fused nn.LSTM pass
            primed, (h_all, c_all) = prime(model, vocab, prompt)
            h, c = [s.cpu().numpy() for s in h_all[:, 0]], [s.cpu().numpy() for s in c_all[:, 0]]  # per layer, (H,)
            logits = primed.cpu().numpy()
        else:
            # prime through the clamped steps, so the state the text continues from was clamped all along
            h, c = zero_state(model)
            for i in prompt_ids(vocab, prompt, torch.device("cpu"))[0].tolist():
                logits = step(i, h, c)
        probs = _softmax(logits)
        for _ in range(length):
            # pick the next character from the reshaped distribution
            i = _pick(logits, temperature, top_k, top_p, generator)
            prob = float(probs[i])
            # advance the state by that character: the distribution over the one after
            logits = step(i, h, c)
            probs = _softmax(logits)
            yield Step(vocab.char(i), i, prob, torch.from_numpy(probs))
    finally:
        model.train(was_training)


def sample(model: CharLSTM, vocab: Vocab, prompt: str = "", length: int = DEFAULTS.length, **settings) -> str:
    """The text :func:`generate` yields, as one string."""
    return "".join(step.char for step in generate(model, vocab, prompt, length, **settings))


def zero_state(model: CharLSTM) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The stepper's state before the first character: h and c per layer, zeros (H,) each (c is empty, (0,),
    for a cell without memory, as in the model's state)."""
    L, H = model.config.num_layers, model.config.hidden_size
    C = H if model.config.cell == "lstm" else 0
    return [np.zeros(H, np.float32) for _ in range(L)], [np.zeros(C, np.float32) for _ in range(L)]


def _stepper(model: CharLSTM, clamp: Clamp | None = None):
    """A function (id, h, c) -> logits that advances the per-layer states ``h``, ``c`` in place by one character,
    holding the unit of ``clamp`` (if any) at its value.

    The equations of :func:`charlstm.cell.cell_step`, arranged for speed at batch 1, where per-call overhead
    dominates: the products run in torch (its threads are the ones training uses; NumPy's BLAS threads would
    spin beside them and slow training by a third), the element-wise work in NumPy (several times cheaper per
    call than torch for vectors this small). The embedding is folded into the first layer's input weights,
    the gate rows are reordered (input, forget, output, candidate) and the sigmoid rows halved, so one
    ``tanh`` computes every gate: sigmoid(x) = (1 + tanh(x/2)) / 2.
    """
    if model.config.cell != "lstm":
        return other_stepper(model, clamp)  # the GRU's or plain RNN's step, same signature
    lstm, L, H = model.lstm, model.config.num_layers, model.config.hidden_size
    order = torch.cat([torch.arange(0, 2 * H), torch.arange(3 * H, 4 * H), torch.arange(2 * H, 3 * H)])
    scale = torch.cat([torch.full((3 * H,), 0.5), torch.ones(H)])  # (4H,)

    def prepared(name: str, k: int) -> torch.Tensor:
        weight = getattr(lstm, f"{name}_l{k}").detach().cpu()[order]
        return (weight * (scale[:, None] if weight.dim() == 2 else scale)).contiguous()

    w_ih = [prepared("weight_ih", k) for k in range(L)]
    w_hh = [prepared("weight_hh", k) for k in range(L)]
    bias = [prepared("bias_ih", k) + prepared("bias_hh", k) for k in range(L)]
    first = (model.embed.weight.detach().cpu() @ w_ih[0].T + bias[0]).numpy()  # (V, 4H): layer 0's input share
    bias_np = [b.numpy() for b in bias]
    head_w, head_b = model.head.weight.detach().cpu().contiguous(), model.head.bias.detach().cpu().numpy().copy()

    def mv(weight: torch.Tensor, x: np.ndarray) -> np.ndarray:
        return torch.mv(weight, torch.from_numpy(x)).numpy()

    # the clamped layer (-1: none; the checks cost 14 ns), and what it holds
    clamped, kind, unit, value = (
        (clamp.layer, clamp.kind, clamp.unit, clamp.value) if clamp is not None else (-1, "", 0, 0.0)
    )

    def step(i: int, h: list[np.ndarray], c: list[np.ndarray]) -> np.ndarray:
        for k in range(L):
            # pre-activations of every gate: this layer's input (the character, or the layer below) and its past
            z_in = first[i] if k == 0 else mv(w_ih[k], h[k - 1]) + bias_np[k]
            t = np.tanh(z_in + mv(w_hh[k], h[k]))  # (4H,)
            sig = t[: 3 * H] * 0.5 + 0.5  # input, forget and output gates
            # memory: keep part of the old, write part of the candidate
            c[k] = sig[H : 2 * H] * c[k] + sig[:H] * t[3 * H :]
            if k == clamped and kind == "cell":
                c[k][unit] = value  # before h reads it; the next step reads it too
            # output: show part of the memory
            h[k] = sig[2 * H :] * np.tanh(c[k])
            if k == clamped and kind == "hidden":
                h[k][unit] = value  # the layer above, the head and the next step read it
        return mv(head_w, h[-1]) + head_b  # (V,)

    return step


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max())  # the largest becomes exp(0) = 1: no overflow, and never all zero
    return e / e.sum()


def _pick(logits: np.ndarray, temperature: float, top_k: int, top_p: float, generator: torch.Generator) -> int:
    """Draw an id from ``softmax(logits / temperature)`` cut by top-k and top-p, by inverting the cumulative sum.

    The temperature divides the logits (log-space), never powers the probabilities: ``probs ** (1 / T)``
    underflows to zero for every character at low temperatures, and the draw then degenerates.
    """
    logits = logits.astype(np.float64)
    logits[UNKNOWN_ID] = -np.inf  # never write the placeholder for unseen characters
    with np.errstate(over="ignore"):
        scaled = logits / temperature if temperature > 0 else logits
    if temperature == 0 or np.isinf(scaled.max()):
        # greedy; a temperature so small (1e-308) that the logits overflow is greedy too (inf - inf gave NaNs: "zzzz")
        return int(logits.argmax())
    weights = _softmax(scaled)
    if 0 < top_k < len(weights):
        weights[weights < np.partition(weights, -top_k)[-top_k]] = 0.0
    if top_p < 1.0:
        order = np.argsort(-weights)
        sorted_w = weights[order]
        drop = np.cumsum(sorted_w) - sorted_w >= top_p * sorted_w.sum()  # the most likely character always stays
        weights[order[drop]] = 0.0
    cdf = np.cumsum(weights)
    u = torch.rand((), generator=generator, dtype=torch.float64).item()
    return int(min(np.searchsorted(cdf, u * cdf[-1], side="right"), len(cdf) - 1))


@torch.no_grad()
def char_probabilities(model: CharLSTM, vocab: Vocab, text: str) -> torch.Tensor:
    """The model's probability of each character of ``text`` given the ones before it (the first after START)."""
    ids = prompt_ids(vocab, text[:MAX_PROMPT], model.device)[0]  # (T + 1,)
    logits, _ = model(ids[None, :-1])  # (1, T, V)
    return torch.softmax(logits[0], -1).gather(1, ids[1:, None])[:, 0].cpu()  # (T,)


def top_chars(probs: torch.Tensor, vocab: Vocab, k: int = 5) -> list[tuple[str, float]]:
    """The ``k`` most likely characters of a distribution, most likely first."""
    values, ids = torch.topk(probs, min(k, len(probs)))
    return [(vocab.char(i), float(p)) for p, i in zip(values.tolist(), ids.tolist())]
