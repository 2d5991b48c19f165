"""The Guess game, Shannon's (1951, "Prediction and Entropy of Printed English"): a text is revealed one character
at a time and a guesser names the next character until right; the number of guesses each character took, pooled
over a text, bounds the entropy of the text *as that guesser knows it*. Here a person plays beside the model:
the model's guess count for a character is its rank in the model's distribution (1 = its top guess), read off
one forward pass over the text, so both players are scored on the same characters with Shannon's two bounds.

Conventions, one place for each: ranks count the model's known characters only (the "unknown" placeholder is no
guess it can say), ties broken by vocabulary order; a character the vocabulary lacks has no rank (the model can
never name it) and is shown for free, in neither tally; a character given up on (:meth:`Game.reveal`) is left
out of both tallies too, and counted, so the page can say that this flatters the person.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from ..data import val_size
from ..model import CharLSTM
from ..sampling import MAX_SEED_TEXT, seed_ids
from ..vocab import UNKNOWN_ID, Vocab

MAX_CHARS = MAX_SEED_TEXT  # longest text ranked at once (seed_ids keeps no more)
TOP = 5  # the model's guesses kept per character, for the page to show
REVEAL = ""  # the move that gives up on a character, in :attr:`Game.moves`


@dataclass(frozen=True)
class Prediction:
    """How the model saw one character of the text, given the ones before it."""

    char: str
    rank: int | None  # 1 = its top guess; None: the vocabulary lacks the character
    prob: float  # its probability (for a character it lacks: the "unknown" id's)
    top: tuple[tuple[str, float], ...]  # its first guesses, most likely first


@torch.no_grad()
def predictions(model: CharLSTM, vocab: Vocab, text: str, top: int = TOP) -> list[Prediction]:
    """The model's rank and probability of each character of ``text`` given the ones before it (the first after
    a line start), from one fused forward pass."""
    if len(text) > MAX_CHARS:
        raise ValueError(f"the text has {len(text):,} characters; at most {MAX_CHARS:,} are ranked at once")
    if not text:
        return []
    ids = seed_ids(vocab, text, model.device)[0]  # (T + 1,): the start character first
    logits, _ = model(ids[None, :-1])  # (1, T, V)
    probs = torch.softmax(logits[0].float(), -1).cpu()  # (T, V)
    target = ids[1:].cpu()  # (T,)
    p_true = probs.gather(1, target[:, None])  # (T, 1)
    known = probs.clone()
    known[:, UNKNOWN_ID] = -1.0  # the placeholder is never one of the model's guesses
    # rank = 1 + the known characters the model prefers (more likely, or as likely and earlier in the vocabulary)
    order = torch.arange(probs.shape[1])[None]  # (1, V)
    ahead = (known > p_true) | ((known == p_true) & (order < target[:, None]))  # (T, V)
    ranks = (1 + ahead.sum(1)).tolist()
    values, guesses = torch.topk(known, min(top, known.shape[1] - 1), dim=1)  # (T, top): the model's first guesses
    firsts = [
        tuple((vocab.char(g), p) for g, p in zip(row_ids, row_p))
        for row_ids, row_p in zip(guesses.tolist(), values.tolist())
    ]
    return [
        Prediction(ch, None if i == UNKNOWN_ID else rank, p, first)
        for ch, i, rank, p, first in zip(text, target.tolist(), ranks, p_true[:, 0].tolist(), firsts)
    ]


def bounds(counts: Sequence[int]) -> tuple[float, float]:
    """Shannon's lower and upper bounds on the entropy, in bits per character, from how many guesses each
    character took: with q_i the share that took exactly i guesses, upper = −Σ q_i log2 q_i and
    lower = Σ i (q_i − q_{i+1}) log2 i. The lower bound reads the shares sorted from most to least common, as
    an ideal guesser's are (Shannon's derivation assumes it): over a few characters a person's shares need not be
    (every character taking two guesses would put the lower bound at 2 bits and the upper at 0). Sorting leaves
    them as they are when they already fall, and can only lower the bound otherwise, so it never passes the
    upper one."""
    if not counts:
        return 0.0, 0.0
    if any(isinstance(c, bool) or not isinstance(c, int) or c < 1 for c in counts):
        raise ValueError("guess counts are whole numbers of 1 or more")
    shares = [n / len(counts) for n in Counter(counts).values()]
    upper = -sum(q * math.log2(q) for q in shares)
    q = [*sorted(shares, reverse=True), 0.0]
    lower = sum(i * (q[i - 1] - q[i]) * math.log2(i) for i in range(1, len(q)))
    return max(0.0, lower), max(0.0, upper)  # −0.0 and rounding dust read as 0


@dataclass(frozen=True)
class Scores:
    """One player's guesses per character and Shannon's bounds from them (bits per character)."""

    mean: float
    lower: float
    upper: float

    @classmethod
    def of(cls, counts: Sequence[int]) -> Scores:
        lower, upper = bounds(counts)
        return cls(sum(counts) / len(counts) if counts else 0.0, lower, upper)


@dataclass(frozen=True)
class Tally:
    """The game so far, over the characters played (solved by the person): indices into the text."""

    played: tuple[int, ...]
    human: Scores
    model: Scores
    cross_entropy: float  # the model's, in bits per character, on the played characters
    human_better: tuple[int, ...]  # the person needed fewer guesses
    model_better: tuple[int, ...]
    revealed: tuple[int, ...]  # given up on: in neither tally
    unknown: tuple[int, ...]  # not in the model's vocabulary: shown for free, in neither tally


@dataclass(frozen=True)
class Move:
    """What one guess (or a reveal) did. ``kind``: "wrong", "repeat" (tried before: not counted), "right",
    "revealed", or "over" (the text is done). ``index`` is the character it was about."""

    kind: str
    guess: str
    index: int
    tried: tuple[str, ...] = ()  # distinct guesses for this character so far (the right one last)
    prediction: Prediction | None = None  # the model's view, once the character is solved or revealed


@dataclass
class Game:
    """A text, the model's predictions for it, and the person's play. The first ``shown`` characters are given
    as context; characters the model cannot name are skipped over (shown). Repeating a wrong guess is not
    counted; case matters (the model's distribution is over exact characters)."""

    text: str
    predictions: list[Prediction]
    shown: int = 0
    label: str = ""  # which model made the predictions, for messages
    position: int = field(init=False)  # the character being guessed; len(text) when done
    tried: list[str] = field(default_factory=list, init=False)
    guesses: dict[int, int] = field(default_factory=dict, init=False)  # index -> guesses it took the person
    revealed: list[int] = field(default_factory=list, init=False)
    unknown: list[int] = field(default_factory=list, init=False)
    moves: list[str] = field(default_factory=list, init=False)  # every counted guess, REVEAL for a reveal
    # the character each move was made on: a game replayed with another model (which skips other characters as
    # unknown) puts each guess back on its own character
    at: list[int] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        if len(self.predictions) != len(self.text):
            raise ValueError("one prediction per character of the text")
        if not 0 <= self.shown < len(self.text):
            raise ValueError(f"shown must be from 0 to {len(self.text) - 1} (the text's length less one)")
        self.position = self.shown
        self._skip_unknown()

    @classmethod
    def replay(
        cls,
        text: str,
        predictions: list[Prediction],
        shown: int,
        moves: Sequence[str],
        label: str = "",
        at: Sequence[int] | None = None,
    ) -> Game:
        """The game after ``moves`` (a saved :attr:`moves`), each on its character when ``at`` (a saved
        :attr:`at`) says which: a move on a character these predictions skip is dropped, and a character they
        know but the saved game skipped is revealed."""
        game = cls(text, predictions, shown, label)
        for i, move in enumerate(moves):
            if at is not None:
                if at[i] < game.position:  # these predictions skip the character it was made on
                    continue
                while not game.done and game.position < at[i]:
                    game.reveal()
            game.reveal() if move == REVEAL else game.guess(move)
        return game

    @property
    def done(self) -> bool:
        return self.position >= len(self.text)

    def guess(self, char: str) -> Move:
        """Guess that the current character is ``char`` (one character)."""
        if not isinstance(char, str) or len(char) != 1:
            raise ValueError("a guess is one character")
        if self.done:
            return Move("over", char, self.position)
        index = self.position
        if char in self.tried:
            return Move("repeat", char, index, tuple(self.tried))
        self.tried.append(char)
        self.moves.append(char)
        self.at.append(index)
        if char != self.text[index]:
            return Move("wrong", char, index, tuple(self.tried))
        self.guesses[index] = len(self.tried)
        return Move("right", char, index, tuple(self.tried), self._advance())

    def reveal(self) -> Move:
        """Give up on the current character: it is shown, and left out of both tallies."""
        if self.done:
            return Move("over", REVEAL, self.position)
        index, tried = self.position, tuple(self.tried)
        self.revealed.append(index)
        self.moves.append(REVEAL)
        self.at.append(index)
        return Move("revealed", REVEAL, index, tried, self._advance())

    def _advance(self) -> Prediction:
        solved = self.predictions[self.position]
        self.position += 1
        self.tried = []
        self._skip_unknown()
        return solved

    def _skip_unknown(self) -> None:
        while not self.done and self.predictions[self.position].rank is None:
            self.unknown.append(self.position)
            self.position += 1

    def tally(self) -> Tally:
        played = tuple(sorted(self.guesses))
        human = [self.guesses[i] for i in played]
        # a played character always has a rank: one the vocabulary lacks is skipped, never guessed
        model = [rank for i in played if (rank := self.predictions[i].rank) is not None]
        bits = [-math.log2(max(self.predictions[i].prob, 1e-12)) for i in played]
        return Tally(
            played=played,
            human=Scores.of(human),
            model=Scores.of(model),
            cross_entropy=sum(bits) / len(bits) if bits else 0.0,
            human_better=tuple(i for i, h, m in zip(played, human, model) if h < m),
            model_better=tuple(i for i, h, m in zip(played, human, model) if m < h),
            revealed=tuple(self.revealed),
            unknown=tuple(i for i in self.unknown if i < self.position),
        )


def passage(text: str, length: int, rng: random.Random) -> str:
    """About ``length`` characters of ``text`` to play, from its held-out last part (the part a model trained on
    ``text`` never read), starting at a paragraph or line where one is near, ending at a word's end."""
    if len(text) <= length:
        return text
    tail = max(0, len(text) - max(val_size(len(text)), length))
    start = rng.randrange(tail, len(text) - length + 1)
    for mark in ("\n\n", "\n"):
        found = text.find(mark, start, start + length // 2)
        if found >= 0 and found + len(mark) < len(text) - length // 2:
            start = found + len(mark)
            break
    piece = text[start : start + length]
    cut = max(piece.rfind(" "), piece.rfind("\n"))
    return piece[:cut] if cut > length // 2 else piece
