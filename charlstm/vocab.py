"""Character vocabulary: every character of a corpus gets an id, and any text can be encoded.

Start with :meth:`Vocab.from_text` (the characters of a text), then :meth:`Vocab.encode` (text -> ids, what the
model reads) and :meth:`Vocab.decode` (ids -> text, what it writes). A model's vocabulary travels with its
weights (:meth:`Vocab.to_json`), so a checkpoint always decodes with the characters it was trained on.

Characters are Unicode code points in full case, sorted by code point. Id 0 is reserved for characters the
vocabulary never saw (an emoji in a seed, a rare symbol in a validation text), so encoding never fails; it
decodes to U+FFFD. Ids are stored compactly (one byte each for up to 255 characters, two beyond), so a 100 MB
corpus costs 100–200 MB, not gigabytes.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch

UNKNOWN_ID = 0
UNKNOWN_CHAR = "\ufffd"
# Characters a vocabulary may hold, most frequent first; the rest encode as unknown. Large enough for a Chinese or
# Japanese text (about 3,000 distinct characters cover 99.7% of the multilingual base's Han text): each character
# costs a model (embedding + hidden) + 1 weights, 577 for the base's 1×512 (2.3 MB in float32 for 4,096), and the
# session memory budget counts them (``Run.memory_bytes``).
MAX_VOCAB = 4096
_CHUNK = 1 << 20  # characters converted at a time, to bound temporary memory


# The alphabet of the shipped base model: printable ASCII with tab and newline, the accented letters of the
# common Latin-script languages, and typographic punctuation that pasted text is full of.
LATIN_CHARS = (
    "\t\n"
    + "".join(chr(c) for c in range(32, 127))
    + "\u00a0¡¢£¥§©«®°±¶·»¿×÷€‚„‘’“”‹›–—…•™"
    + "ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÑÒÓÔÕÖØÙÚÛÜÝßàáâãäåæçèéêëìíîïñòóôõöøùúûüýÿŒœŸ"
)


# Characters no text is learned with: control characters other than tab and newline (NUL, ESC, …), the
# bidirectional overrides that make a page display text in another order than it is (U+202E), and lone
# surrogates (not characters at all). The corpus path drops them (``data.normalize_text``) and a vocabulary
# holding one is refused, so a generated text can never contain them.
CONTROL_CHARS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def is_control(char: str) -> bool:
    """Whether ``char`` is one that no vocabulary may hold (see above)."""
    return CONTROL_CHARS.match(char) is not None


class VocabError(ValueError):
    """A vocabulary description that cannot be used."""


def _code_points(text: str) -> np.ndarray:
    # surrogatepass: text from a browser may hold a lone surrogate; it must still encode.
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


@dataclass(frozen=True)
class Vocab:
    """An ordered set of characters; id i + 1 is ``chars[i]``, id 0 is unknown."""

    chars: tuple[str, ...]

    def __post_init__(self) -> None:
        # every way a vocabulary (from a text, or from a file someone uploaded) could be unusable, refused here
        if any(not isinstance(c, str) or len(c) != 1 for c in self.chars):
            raise VocabError("vocabulary entries must be single characters")
        bad = next((c for c in self.chars if is_control(c)), None)
        if bad is not None:
            raise VocabError(f"vocabulary holds the control character U+{ord(bad):04X}; no vocabulary may")
        if len(set(self.chars)) != len(self.chars):
            raise VocabError("vocabulary has repeated characters")
        if len(self.chars) > MAX_VOCAB:
            raise VocabError(f"vocabulary has {len(self.chars)} characters; the cap is {MAX_VOCAB}")
        if list(self.chars) != sorted(self.chars):
            raise VocabError("vocabulary characters must be sorted by code point")

    @classmethod
    def from_text(cls, text: str, max_size: int = MAX_VOCAB) -> Vocab:
        """The characters of ``text``; beyond ``max_size`` only the most frequent are kept."""
        # count each code point, a chunk at a time (numpy's unique is fast; a Python loop over 100 MB is not)
        counts: Counter[int] = Counter()
        for start in range(0, len(text), _CHUNK):
            values, freq = np.unique(_code_points(text[start : start + _CHUNK]), return_counts=True)
            counts.update(dict(zip(values.tolist(), freq.tolist())))
        # keep the most frequent (a rare character left out costs little: it reads as "unknown")
        kept = [cp for cp, _ in counts.most_common(min(max_size, MAX_VOCAB))]
        # sorted by code point: the same characters always get the same ids, whatever their counts
        return cls(tuple(chr(cp) for cp in sorted(kept)))

    @classmethod
    def latin(cls) -> Vocab:
        """The base model's alphabet (:data:`LATIN_CHARS`), whatever the text."""
        return cls(tuple(sorted(set(LATIN_CHARS))))

    @property
    def size(self) -> int:
        """Number of ids, the unknown id included."""
        return len(self.chars) + 1

    @cached_property
    def _codes(self) -> np.ndarray:
        return np.array([ord(c) for c in self.chars], dtype=np.uint32)

    @cached_property
    def _table(self) -> list[str]:
        return [UNKNOWN_CHAR, *self.chars]

    @property
    def dtype(self) -> torch.dtype:
        """The smallest integer dtype that holds every id."""
        # a training text is kept as ids the whole run: one byte a character where the vocabulary allows it
        return torch.uint8 if self.size <= 256 else torch.int16

    def encode(self, text: str) -> torch.Tensor:
        """Ids of ``text`` as a 1-D tensor of :attr:`dtype`; unseen characters become ``UNKNOWN_ID``."""
        out = torch.empty(len(text), dtype=self.dtype)
        for start in range(0, len(text), _CHUNK):
            cps = _code_points(text[start : start + _CHUNK])  # (n,) code points
            # the characters are sorted, so a binary search finds where each code point would stand
            pos = np.searchsorted(self._codes, cps)  # (n,)
            pos_clipped = np.minimum(pos, max(len(self._codes) - 1, 0))  # past the end: look at the last one
            # a character is known when the one standing there is the same character
            known = (self._codes[pos_clipped] == cps) if len(self._codes) else np.zeros(len(cps), bool)
            ids = np.where(known, pos + 1, UNKNOWN_ID)  # + 1: id 0 is the unknown character
            out[start : start + len(cps)] = torch.from_numpy(ids.astype(np.int64))
        return out

    def decode(self, ids: torch.Tensor | list[int]) -> str:
        """The text of ``ids``; the unknown id decodes to U+FFFD."""
        table = self._table  # id -> character, the unknown id first
        values = ids.tolist() if isinstance(ids, torch.Tensor) else ids  # Python ints index a list fastest
        return "".join(table[i] for i in values)

    def char(self, i: int) -> str:
        """The character of one id."""
        return self._table[i]

    def unknown_in(self, text: str) -> set[str]:
        """Characters of ``text`` that this vocabulary does not hold."""
        return set(text) - set(self.chars)  # what the model would read as "unknown"

    def to_json(self) -> str:
        return json.dumps({"chars": list(self.chars)})

    @classmethod
    def from_json(cls, data: str) -> Vocab:
        """Parse :meth:`to_json` output; anything malformed raises :class:`VocabError`."""
        try:
            chars = json.loads(data)["chars"]
        except (ValueError, TypeError, KeyError) as e:
            raise VocabError(f"vocabulary is not valid JSON with a 'chars' list ({e})") from None
        if not isinstance(chars, list):
            raise VocabError("vocabulary 'chars' must be a list")
        return cls(tuple(chars))  # __post_init__ checks every entry: a file may come from anyone
