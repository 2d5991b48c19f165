"""Text generation and per-character probabilities.

Start with :func:`generate`: the seed text primes the recurrent state in one fused pass of the model; each new
character is then drawn from the next-character distribution and costs one cell step with the state carried
(the window is never re-run). The step is one of :mod:`charlstm.steppers` (the readable equations of
:mod:`charlstm.cell` arranged for batch 1), several times faster than calling ``nn.LSTM`` for one character.
Randomness comes only from the ``torch.Generator`` passed in: the same seed gives the same text, and concurrent
callers never disturb each other. With a :class:`~charlstm.clamp.Clamp`, one unit is held at a value in every
step, the seed's included (it is then read by the stepper too, not the fused pass). A model trained on a text
writes on from that text's end (:func:`lead_in`), as the app's samples and the training's do.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator

import numpy as np
import torch

from .clamp import Clamp
from .config import SampleConfig
from .model import CharLSTM, State
from .renamed import renamed
from .steppers import stepper, zero_state
from .vocab import UNKNOWN_ID, Vocab

MAX_LENGTH = 100_000  # characters generated per call
MAX_SEED_TEXT = 10_000  # characters of seed text used; older context barely changes the state
DEFAULTS = SampleConfig()
START = "\n"  # every text is read as if it began a line, so an empty seed works too
LEAD_IN = 200  # characters of a learner's text that prime the writing of a model trained on it
# where a lead-in may end, best first: after a line break (the writing opens a line, as the text's lines do), after a
# sentence's end (Latin, Greek, Arabic and CJK punctuation), after a space (the writing starts a word)
_LEAD_IN_ENDS = (re.compile(r"\n+"), re.compile(r"[.!?;:…。！？؟]+[\s\"'”»)]*"), re.compile(r"\s+"))


class SamplingError(ValueError):
    """A generation setting outside its range; the message says which and why."""


class Step:
    """One generated character, its probability under the model, and the distribution over the next one.

    The two probabilities are computed from the logits when first read, not at every character: most callers keep
    only the character (the Generate tab reads ``next_probs`` once, at the end), and a softmax and a tensor per
    character cost a tenth of a step. Read or not, they are the same numbers."""

    __slots__ = ("_logits", "_next_logits", "char", "id")

    def __init__(self, char: str, id: int, logits: np.ndarray, next_logits: np.ndarray) -> None:
        # the logits this character was drawn from, and those after it (the stepper's arrays, never changed)
        self.char, self.id, self._logits, self._next_logits = char, id, logits, next_logits

    @property
    def prob(self) -> float:
        """The probability the model gave this character (at temperature 1, before any cut)."""
        return float(_softmax(self._logits)[self.id])

    @property
    def next_probs(self) -> torch.Tensor:
        """(V,): the model's distribution over the next character."""
        return torch.from_numpy(_softmax(self._next_logits))

    def __repr__(self) -> str:
        return f"Step(char={self.char!r}, id={self.id}, prob={self.prob:.4f})"


def check_settings(length: int, temperature: float, top_k: int, top_p: float) -> None:
    """Raise :class:`SamplingError` for any setting outside its range."""
    # bool is a subclass of int in Python: True must not pass as a length of 1
    if isinstance(length, bool) or not isinstance(length, int) or not 0 <= length <= MAX_LENGTH:
        raise SamplingError(f"length must be a whole number from 0 to {MAX_LENGTH:,}, not {length!r}")
    if not isinstance(temperature, (int, float)) or not math.isfinite(temperature) or not 0 <= temperature <= 10:
        raise SamplingError(f"temperature must be from 0 (greedy) to 10, not {temperature!r}")
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 0:
        raise SamplingError(f"top_k must be a whole number, 0 to keep every character, not {top_k!r}")
    if not isinstance(top_p, (int, float)) or not math.isfinite(top_p) or not 0 < top_p <= 1:
        raise SamplingError(f"top_p must be above 0 and at most 1, not {top_p!r}")


def seed_ids(vocab: Vocab, seed_text: str, device: torch.device) -> torch.Tensor:
    """The ids that prime the state (of a seed text, or of any text scored): the start character and the last
    :data:`MAX_SEED_TEXT` characters."""
    return vocab.encode(START + seed_text[-MAX_SEED_TEXT:]).long().to(device)[None]  # (1, T)


@renamed(prompt="seed_text")
@torch.no_grad()
def prime(model: CharLSTM, vocab: Vocab, seed_text: str) -> tuple[torch.Tensor, State]:
    """Run the seed text through the model: next-character logits (V,) and the state after it."""
    logits, state = model(seed_ids(vocab, seed_text, model.device))  # logits (1, T, V)
    return logits[0, -1], state


@renamed(prompt="seed_text")
def generate(
    model: CharLSTM,
    vocab: Vocab,
    seed_text: str = "",
    length: int = DEFAULTS.length,
    temperature: float = DEFAULTS.temperature,
    top_k: int = DEFAULTS.top_k,
    top_p: float = DEFAULTS.top_p,
    generator: torch.Generator | None = None,
    clamp: Clamp | None = None,
    precision: str = "auto",
) -> Iterator[Step]:
    """Yield ``length`` characters continuing ``seed_text``. Temperature 0 is greedy; top_k 0 keeps every character.
    With ``clamp``, one unit is held at its value from the seed's first character to the last one written.
    ``precision`` is the stepper's weight format (:data:`charlstm.steppers.PRECISIONS`; "fp32" to compare)."""
    # refuse bad settings before any work (no torch.no_grad here: the stepper's weights are detached copies, and
    # a decorator on a generator would enter and leave it at every character, which cost more than a pick)
    check_settings(length, temperature, top_k, top_p)
    if clamp is not None:
        clamp.check(model)
    if length == 0:
        return
    # the caller's random numbers, or the default seed's: never the global generator other callers share
    generator = generator or torch.Generator().manual_seed(DEFAULTS.seed)
    # dropout off while writing, and the mode put back after (the model may be between training steps)
    was_training = model.training
    model.eval()
    try:
        # the one-character step, its weights prepared once for this call
        step = stepper(model, clamp, precision)
        if clamp is None:
            # prime: the whole seed in one fused pass
            primed, (h_all, c_all) = prime(model, vocab, seed_text)
            h, c = [s.cpu().numpy() for s in h_all[:, 0]], [s.cpu().numpy() for s in c_all[:, 0]]  # per layer, (H,)
            logits = primed.cpu().numpy().copy()  # (a view would keep every position's logits alive)
        else:
            # prime through the clamped steps, so the state the text continues from was clamped all along
            h, c = zero_state(model)
            for i in seed_ids(vocab, seed_text, torch.device("cpu"))[0].tolist():
                logits = step(i, h, c)
        uniforms = Uniforms(generator, length)  # one random number per character drawn, taken in blocks
        for _ in range(length):
            # pick the next character from the reshaped distribution
            i = _pick(logits, temperature, top_k, top_p, uniforms)
            # advance the state by that character: the scores of the one after
            drawn_from, logits = logits, step(i, h, c)
            yield Step(vocab.char(i), i, drawn_from, logits)
    finally:
        model.train(was_training)


@renamed(prompt="seed_text")
def sample(model: CharLSTM, vocab: Vocab, seed_text: str = "", length: int = DEFAULTS.length, **settings) -> str:
    """The text :func:`generate` yields, as one string."""
    return "".join(step.char for step in generate(model, vocab, seed_text, length, **settings))


def lead_in(text: str, chars: int = LEAD_IN) -> str:
    """What writing from a model trained on ``text`` starts from, unseen: the text's last characters (at most
    ``chars``), ended where a new line, sentence or word of it would begin.

    A model fine-tuned for a minute from a base still writes in the base's language from an empty seed (the first
    characters decide the language, and the base's is the likelier); primed on the end of the text, it writes on in
    the text's own language and style, as it would continue it."""
    window = text[-2 * chars :]  # room to move the end back and still keep ``chars``
    for end in _LEAD_IN_ENDS:
        found = [m.end() for m in end.finditer(window)]
        if found and found[-1] >= len(window) - chars:  # an end within the last ``chars`` characters
            return window[: found[-1]][-chars:]
    return window[-chars:]


# Old names, kept as aliases (``prompt=`` still works where ``seed_text=`` is taken: :mod:`charlstm.renamed`).
prompt_ids = seed_ids
MAX_PROMPT = MAX_SEED_TEXT


def _softmax(logits: np.ndarray) -> np.ndarray:
    # probabilities from scores: exponentiate (all positive), then divide by the total (they sum to 1)
    e = np.exp(logits - logits[logits.argmax()])  # the largest becomes exp(0) = 1: no overflow, never all zero
    return e / e.sum()


class Uniforms:
    """Uniform random numbers in [0, 1) from ``generator``, one per call, drawn ``BLOCK`` at a time but never more
    than ``count`` in all. They are the numbers one draw per call gives, in the same order (a CPU generator
    fills a block in sequence), at a fraction of the cost: a draw from torch costs microseconds, as much as the
    rest of a pick."""

    BLOCK = 256

    def __init__(self, generator: torch.Generator, count: int) -> None:
        self.generator, self.left, self.next = generator, count, 0
        self.block: list[float] = []

    def __call__(self) -> float:
        # the block is used up: draw the next one (the first call always lands here)
        if self.next == len(self.block):
            # the next block; at the end of the text, only as many as may still be needed
            n = max(1, min(self.BLOCK, self.left))
            self.block, self.next = torch.rand(n, generator=self.generator, dtype=torch.float64).tolist(), 0
            self.left -= n
        self.next += 1
        return self.block[self.next - 1]


def _pick(
    logits: np.ndarray, temperature: float, top_k: int, top_p: float, uniforms: Uniforms | torch.Generator
) -> int:
    """Draw an id from ``softmax(logits / temperature)`` cut by top-k and top-p, by inverting the cumulative sum.

    The temperature divides the logits (log-space), never powers the probabilities: ``probs ** (1 / T)``
    underflows to zero for every character at low temperatures, and the draw then degenerates.
    """
    # float64: at low temperatures float32 logits / T overflow long before float64's do
    logits = logits.astype(np.float64)
    logits[UNKNOWN_ID] = -np.inf  # never write the placeholder for unseen characters
    if temperature == 0:
        return int(logits.argmax())  # greedy
    if temperature > 1e-200:
        scaled = logits / temperature
    else:
        with np.errstate(over="ignore"):  # (costs as much as the division: only where it can overflow)
            scaled = logits / temperature
    top = scaled[scaled.argmax()]  # the largest (argmax costs a tenth of max here)
    if top == np.inf:
        # a temperature so small (1e-308) that the logits overflow is greedy too (inf - inf gave NaNs: "zzzz")
        return int(logits.argmax())
    # softmax's numerators, from the largest scaled logit (the largest is 1); every cut below and the draw read
    # shares of the total, so dividing by it would change only the last bit of rounding, and the time
    weights = np.exp(scaled - top)
    if 0 < top_k < len(weights):
        # top-k: drop everything below the k-th largest
        weights[weights < np.partition(weights, -top_k)[-top_k]] = 0.0
    if top_p < 1.0:
        # top-p: keep the most likely characters until they hold top_p of the probability
        order = np.argsort(-weights)
        sorted_w = weights[order]
        drop = np.cumsum(sorted_w) - sorted_w >= top_p * sorted_w.sum()  # the most likely character always stays
        weights[order[drop]] = 0.0
    # invert the cumulative sum at a uniform random point
    cdf = weights.cumsum()
    u = uniforms() if isinstance(uniforms, Uniforms) else Uniforms(uniforms, 1)()
    return int(min(cdf.searchsorted(u * cdf[-1], side="right"), len(cdf) - 1))


@torch.no_grad()
def char_probabilities(model: CharLSTM, vocab: Vocab, text: str) -> torch.Tensor:
    """The model's probability of each character of ``text`` given the ones before it (the first after START)."""
    ids = seed_ids(vocab, text[:MAX_SEED_TEXT], model.device)[0]  # (T + 1,)
    # one pass over the text: the logits at position t score the character at t + 1
    logits, _ = model(ids[None, :-1])  # (1, T, V)
    return torch.softmax(logits[0], -1).gather(1, ids[1:, None])[:, 0].cpu()  # (T,)


def top_chars(probs: torch.Tensor, vocab: Vocab, k: int = 5) -> list[tuple[str, float]]:
    """The ``k`` most likely characters of a distribution, most likely first."""
    values, ids = torch.topk(probs, min(k, len(probs)))
    return [(vocab.char(i), float(p)) for p, i in zip(values.tolist(), ids.tolist())]
