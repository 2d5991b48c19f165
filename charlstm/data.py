"""Corpus text in, model-ready ids out: reading and cleaning text, the train/validation split, training batches.

Start with :func:`make_corpus` (a text -> a :class:`Corpus`: its vocabulary, the training ids and the held-out
validation ids at its end), then :func:`random_batch` (the windows one training step learns from: inputs ``x``
and targets ``y``, the same characters shifted by one) and :func:`eval_streams` (the validation text in rows the
state is carried along). :func:`read_text` reads a file; :func:`describe` says what a model would learn from.

Text is normalised once on the way in (line endings to ``\\n``, a byte-order mark dropped, lone surrogates
replaced), so every later step sees the same characters. A file that is not UTF-8 is refused with the byte
offset of the first bad byte; a file with NUL bytes is refused as binary.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .vocab import CONTROL_CHARS, MAX_VOCAB, Vocab

MIN_CHARS = 10  # fewer characters leave nothing to learn from and nothing to validate on
VAL_FRACTION = 0.1
MIN_VAL_CHARS = 2  # one input and one target


class CorpusError(ValueError):
    """Text that cannot be used as a corpus; the message says why, for the user."""


def normalize_text(text: str) -> str:
    """Unify line endings, drop a leading byte-order mark, replace lone surrogates with U+FFFD and drop control
    characters (:data:`charlstm.vocab.CONTROL_CHARS`: no vocabulary may hold them)."""
    # one line ending: a Windows file and a Unix file of the same text must give the model the same characters
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return CONTROL_CHARS.sub("", replace_surrogates(text))


def replace_surrogates(text: str) -> str:
    """``text`` with each lone surrogate (half of a UTF-16 pair, which no UTF-8 text can hold; a browser can send
    one) replaced by U+FFFD, keeping every other character where it was."""
    return re.sub("[\ud800-\udfff]", "\ufffd", text) if _has_surrogates(text) else text


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def decode_text(data: bytes, name: str = "the file") -> str:
    """UTF-8 bytes to normalised text; binary or non-UTF-8 data raises :class:`CorpusError`."""
    # strict UTF-8: guessing another encoding would silently teach the model wrong characters
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise CorpusError(
            f"{name} is not UTF-8 text: byte 0x{data[e.start]:02x} at byte offset {e.start} cannot be decoded"
        ) from None
    # valid UTF-8 can still be a binary file (zeros decode fine): a NUL never appears in a real text
    nul = text.find("\0")
    if nul >= 0:
        raise CorpusError(f"{name} looks binary: it holds a NUL character at character offset {nul}")
    return normalize_text(text)


def read_text(path: str | Path, max_bytes: int | None = None) -> str:
    """Read a UTF-8 text file; unreadable, oversized, binary or non-UTF-8 files raise :class:`CorpusError`."""
    path = Path(path)
    try:
        # the size first: an oversized file is refused before a byte of it is read into memory
        size = path.stat().st_size
        if max_bytes is not None and size > max_bytes:
            raise CorpusError(f"{path.name} is {size:,} bytes; the cap is {max_bytes:,} bytes")
        data = path.read_bytes()
    except OSError as e:
        raise CorpusError(f"cannot read {path}: {e.strerror or e}") from None
    return decode_text(data, path.name)


@dataclass(frozen=True)
class Corpus:
    """A vocabulary and the encoded training and validation ids."""

    vocab: Vocab
    train: torch.Tensor  # (N,) compact integer ids
    val: torch.Tensor  # (M,)
    unknown_cost: float = 0.0  # nats an "unknown" prediction is charged on top (see :func:`unknown_cost`)


def val_size(chars: int, val_fraction: float = VAL_FRACTION) -> int:
    """Characters held out for validation at the end of a text of ``chars`` characters."""
    return max(MIN_VAL_CHARS, round(chars * val_fraction))


def make_corpus(
    text: str,
    *,
    val_text: str | None = None,
    val_fraction: float = VAL_FRACTION,
    vocab: Vocab | None = None,
    max_vocab: int = MAX_VOCAB,
) -> Corpus:
    """Split ``text`` (the last ``val_fraction`` held out, unless ``val_text`` is given) and encode it.

    The vocabulary comes from the training part (its ``max_vocab`` most frequent characters) unless ``vocab`` is
    given (continuing a trained model).
    """
    text = normalize_text(text)
    # refuse what cannot be learned from, with a message for the user
    if len(text.strip()) == 0:
        raise CorpusError("the corpus is empty: paste or upload some text")
    if len(text) < MIN_CHARS:
        raise CorpusError(f"the corpus has {len(text)} characters; at least {MIN_CHARS} are needed to learn anything")
    if val_text is None:
        if not 0 < val_fraction < 1:
            raise CorpusError(f"val_fraction must be between 0 and 1, not {val_fraction}")
        # the split: the end of the text is held out, never trained on, so validation measures what generalises
        # (a contiguous end, not random characters: a random pick would leak its neighbours into training)
        n_val = val_size(len(text), val_fraction)
        train_text, val_text = text[:-n_val], text[-n_val:]
    else:
        train_text, val_text = text, normalize_text(val_text)
        if len(val_text) < MIN_VAL_CHARS:
            raise CorpusError(f"the validation text needs at least {MIN_VAL_CHARS} characters")
    # the vocabulary from the training part only: a character seen only in validation is "unknown", as it would
    # be for any new text
    vocab = vocab or Vocab.from_text(train_text, max_vocab)
    return Corpus(vocab, vocab.encode(train_text), vocab.encode(val_text), unknown_cost(train_text + val_text, vocab))


def unknown_cost(text: str, vocab: Vocab) -> float:
    """Nats to charge each correct "unknown" prediction, so bits per character stay honest: all characters a
    vocabulary lacks share one id, and predicting that id says nothing about which of them comes. Naming one of
    the K characters of ``text`` it lacks costs log K more (a uniform guess among them); 0 when K is 0 or 1."""
    # K characters share the unknown id, so naming the right one is a further guess among K: log K nats
    lacking = len(vocab.unknown_in(text))
    return math.log(lacking) if lacking > 1 else 0.0


def random_batch(
    ids: torch.Tensor, batch_size: int, seq_len: int, generator: torch.Generator, device: torch.device | str = "cpu"
) -> tuple[torch.Tensor, torch.Tensor]:
    """``batch_size`` random windows of ``ids``: inputs and next-character targets at every position.

    Windows shrink to fit a corpus shorter than ``seq_len + 1``.
    """
    T = min(seq_len, len(ids) - 1)
    # B random starting points, each far enough from the end for a window of T + 1 characters
    starts = torch.randint(0, len(ids) - T, (batch_size,), generator=generator)  # (B,)
    # gather the windows in one indexing operation: row b holds ids[starts[b] : starts[b] + T + 1]
    windows = ids[starts[:, None] + torch.arange(T + 1)].long()  # (B, T + 1)
    windows = windows.to(device, non_blocking=True)
    # inputs and targets overlap: the target at each position is the next character, so every position teaches
    return windows[:, :-1], windows[:, 1:]  # (B, T) each


def eval_streams(ids: torch.Tensor, streams: int, max_chars: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs and targets in ``streams`` rows, for evaluation with the state carried along each row.

    The rows cut ``ids`` into contiguous pieces (all but the last ``len(ids) % streams`` characters), or, with
    ``max_chars`` below the text's length, are that many characters in windows spread evenly over it, so a
    quick evaluation still samples the whole text.
    """
    # S rows evaluated side by side (a batch): far faster than one long row, and each row still carries its state
    S = max(1, min(streams, (len(ids) - 1) // 64 or 1))  # few long rows beat many very short ones
    if max_chars is not None and max_chars < len(ids) - 1:
        # a quick look: S windows of L characters spread evenly from the start to the end of the text
        L = max(1, max_chars // S)
        starts = torch.linspace(0, len(ids) - L - 1, S).long()  # (S,)
        windows = ids[starts[:, None] + torch.arange(L + 1)].long()  # (S, L + 1)
        return windows[:, :-1], windows[:, 1:]
    # the whole text: cut into S contiguous rows, each read from its start with the state carried along
    L = (len(ids) - 1) // S
    x = ids[: S * L].view(S, L).long()  # (S, L)
    y = ids[1 : S * L + 1].view(S, L).long()  # (S, L)
    return x, y


SHORT_CORPUS = 2_000  # below this, a model mostly memorises


@dataclass(frozen=True)
class CorpusStats:
    """What a model would learn from: sizes, the split, and its characters with their counts (most common first, up
    to the vocabulary's cap: what a model can keep) out of ``distinct``."""

    chars: int
    lines: int
    train_chars: int
    val_chars: int
    counts: list[tuple[str, int]]
    warnings: list[str]
    distinct: int


def char_counts(text: str, most: int | None = None) -> tuple[list[tuple[str, int]], int]:
    """The ``most`` most common characters of ``text`` (all when None) with their counts, ties in order of first
    appearance (as ``Counter(text).most_common(most)``), and the number of distinct characters.

    Counted in numpy, and only ``most`` made into Python objects: ``Counter`` held the interpreter's lock for the
    whole count (0.6 s on a million distinct characters) and every other visitor's generation waited on it
    (``python -m bench.interference``)."""
    # UTF-32: one 4-byte number per character, so numpy can count characters as integers
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    distinct, first, n = np.unique(codes, return_index=True, return_counts=True)
    order = np.lexsort((first, -n))[:most]  # by count, descending; ties by first appearance
    return [(chr(code), count) for code, count in zip(distinct[order].tolist(), n[order].tolist())], len(distinct)


def describe(text: str, val_fraction: float = VAL_FRACTION, max_vocab: int = MAX_VOCAB) -> CorpusStats:
    """Statistics and warnings for a (normalised) corpus; never raises, so a bad text can still be shown.
    ``max_vocab``: the most characters the model will keep (a run's ``--max-vocab``; never above the cap)."""
    max_vocab = min(max_vocab, MAX_VOCAB)
    counts, distinct = char_counts(text, max_vocab)  # a model keeps no more: nor does anything shown
    n_val = val_size(len(text), val_fraction) if len(text) >= MIN_CHARS else 0
    # the warnings, from the one that stops training to the ones that only explain a result
    warnings = []
    if not text.strip():
        warnings.append("The corpus is empty: paste, upload or pick some text.")
    elif len(text) < MIN_CHARS:
        warnings.append(f"Only {len(text)} characters: at least {MIN_CHARS} are needed to train.")
    elif len(text) < SHORT_CORPUS:
        warnings.append(f"Only {len(text):,} characters: too short to learn much; the model will mostly memorise it.")
    if distinct > max_vocab:
        dropped = len(text) - sum(n for _, n in counts)
        warnings.append(
            f"{distinct:,} distinct characters: a model keeps the {max_vocab:,} most frequent. The other "
            f"{distinct - max_vocab:,} ({dropped / len(text):.1%} of the text) all become one “unknown” "
            "character; bits per character charge each as a guess among them."
        )
    if distinct == 1 and len(text) >= MIN_CHARS:
        warnings.append(
            f"The whole text is the character {counts[0][0]!r} repeated: the model can learn nothing but to repeat it."
        )
    elif distinct > 1 and counts[0][1] > 0.5 * len(text):
        warnings.append(f"{counts[0][1] / len(text):.0%} of the text is the character {counts[0][0]!r}.")
    return CorpusStats(
        len(text),
        text.count("\n") + (1 if text and not text.endswith("\n") else 0),
        len(text) - n_val,
        n_val,
        counts,
        warnings,
        distinct,
    )
