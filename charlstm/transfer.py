"""Starting from a model that already reads: the shipped base models, and fitting a model's vocabulary to a text.

Transfer learning in one sentence: a model pretrained on megabytes of English has already learned spelling,
words and punctuation, so a few seconds on a small text only teach it that text's style; a model from random
weights must learn all of it from the small text and memorises it instead.

A text often holds characters the model has never seen (ä, ß, Cyrillic, emoji). :func:`grow_vocab` gives the
model a row for each of them in its embedding and its head. The new rows start as copies of the unknown
character's rows, with the unknown's share of probability split among the new characters by how often each
appears, so the grown model predicts exactly what the old one did (it read these characters as "unknown"
before) and the first loss does not jump. Old rows keep their values.

There are two base models (:data:`BASES`): the English one, and a multilingual one that read the world's common
scripts (Latin, Cyrillic, Greek, Arabic, Hangul, Chinese and Japanese; ``assets/multilingual-model.md``). The
multilingual base's vocabulary is large (2,048 characters); :func:`narrow_vocab` keeps only the rows a text needs,
so fine-tuning and generation cost what a small vocabulary costs.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import torch

from .checkpoint import Checkpoint, load
from .model import CharLSTM
from .paths import BASE_MODEL_PATH, MULTILINGUAL_MODEL_PATH
from .vocab import LATIN_CHARS, MAX_VOCAB, UNKNOWN_ID, Vocab

BASE_COVERAGE = 0.95  # the automatic choice starts from a base when it knows this share of a text's characters


@dataclass(frozen=True)
class Base:
    """A shipped base model: its ``--init`` name, its file, how a sentence names it, and what it read: for each
    script (:func:`charlstm.scripts.script_of`), the languages in the learner's words."""

    name: str
    path: Path
    title: str
    reads: dict[str, str] = field(default_factory=dict)

    def reading(self, script: str | None) -> str:
        """ "English", "Greek", "Russian and Ukrainian": what it reads in ``script`` (its first script otherwise)."""
        return self.reads.get(script or "", next(iter(self.reads.values())))


BASES = (
    Base("base", BASE_MODEL_PATH, "the base model", {"Latin letters": "English"}),  # and 0.3 MB each of de, fr, es
    Base(
        "multilingual",
        MULTILINGUAL_MODEL_PATH,
        "the multilingual base model",
        {
            "Latin letters": "English, German, French, Spanish and 15 more languages in Latin letters",
            "Cyrillic": "Russian and Ukrainian",
            "Greek": "Greek",
            "Arabic script": "Arabic and Persian",
            "Korean (Hangul)": "Korean",
            "Chinese characters": "Chinese",
            "Japanese kana": "Japanese",
        },
    ),
)
BASE_NAMES = tuple(b.name for b in BASES)


def find_base(name: str) -> Base:
    return next(b for b in BASES if b.name == name)


@cache
def base_model(name: str = "base") -> Checkpoint:
    """A shipped base model ("base" or "multilingual"), loaded once and shared read-only (copy it before training)."""
    return load(find_base(name).path)


def coverage(vocab: Vocab, text: str) -> float:
    """The share of ``text``'s characters (counting repeats) that ``vocab`` holds."""
    if not text:
        return 1.0
    known = set(vocab.chars)
    counts = Counter(text)
    return sum(n for ch, n in counts.items() if ch in known) / len(text)


@torch.no_grad()
def grow_vocab(
    model: CharLSTM, vocab: Vocab, text: str, max_size: int = MAX_VOCAB
) -> tuple[CharLSTM, Vocab, list[str]]:
    """A copy of ``model`` whose vocabulary also holds the characters of ``text`` it lacked.

    Returns the grown model, its vocabulary and the added characters (most frequent first). When the
    vocabulary would pass ``max_size`` (at most :data:`~charlstm.vocab.MAX_VOCAB`), only the most frequent new
    characters are added; the rest stay "unknown". With nothing to add, the model itself is returned, not a copy.
    """
    known = set(vocab.chars)
    counts = Counter({ch: n for ch, n in Counter(text).items() if ch not in known})
    room = min(max_size, MAX_VOCAB) - len(vocab.chars)
    added = [ch for ch, _ in counts.most_common(max(0, room))]
    if not added:
        return model, vocab, []
    grown_vocab = Vocab(tuple(sorted((*vocab.chars, *added))))
    new_id = {ch: i + 1 for i, ch in enumerate(grown_vocab.chars)}  # id 0 stays the unknown character
    old_ids = torch.tensor([new_id[ch] for ch in vocab.chars], dtype=torch.long)  # (V-1,)
    new_ids = torch.tensor([new_id[ch] for ch in added], dtype=torch.long)  # (K,)
    grown = CharLSTM(model.config, grown_vocab.size).to(model.device)
    grown.load_state_dict(
        {k: v for k, v in model.state_dict().items() if not k.startswith(("embed.", "head."))}, strict=False
    )
    for name in ("embed.weight", "head.weight", "head.bias"):
        old, new = model.get_parameter(name), grown.get_parameter(name)
        new[UNKNOWN_ID] = old[UNKNOWN_ID]
        new[old_ids] = old[1:]  # every known character keeps its row, at its new id
        new[new_ids] = old[UNKNOWN_ID]  # new characters start as the unknown one
    # Split the unknown character's probability: logit_new = logit_unknown + log(share). The unknown id keeps a
    # small share too (one count), so characters still missing afterwards remain possible.
    total = sum(counts[ch] for ch in added) + 1
    shares = torch.tensor([math.log(counts[ch] / total) for ch in added])
    grown.head.bias[new_ids] += shares.to(grown.device)
    grown.head.bias[UNKNOWN_ID] += math.log(1 / total)
    grown.train(model.training)
    return grown, grown_vocab, added


KEPT_CHARS = frozenset(LATIN_CHARS[: 2 + 95])  # tab, newline and printable ASCII: every narrowed model keeps them


@torch.no_grad()
def narrow_vocab(model: CharLSTM, vocab: Vocab, text: str) -> tuple[CharLSTM, Vocab]:
    """A copy of ``model`` that keeps only the characters ``text`` uses, and tab, newline and printable ASCII.

    A prompt in ASCII still works, and the model predicts what it did, renormalised over the characters kept (a
    character dropped would have been "unknown" in this text anyway). With nothing to drop, ``model`` itself.
    """
    keep = set(text) | KEPT_CHARS
    kept = tuple(ch for ch in vocab.chars if ch in keep)
    if len(kept) == len(vocab.chars):
        return model, vocab
    old_id = {ch: i + 1 for i, ch in enumerate(vocab.chars)}
    rows = torch.tensor([UNKNOWN_ID, *(old_id[ch] for ch in kept)], dtype=torch.long, device=model.device)
    narrowed = CharLSTM(model.config, len(kept) + 1).to(model.device)
    narrowed.load_state_dict(
        {k: v for k, v in model.state_dict().items() if not k.startswith(("embed.", "head."))}, strict=False
    )
    for name in ("embed.weight", "head.weight", "head.bias"):
        narrowed.get_parameter(name).copy_(model.get_parameter(name)[rows])
    narrowed.train(model.training)
    return narrowed, Vocab(kept)
