"""The models the app ships, loaded once at import and shared read-only by every session: the default model
(tiny Shakespeare: Generate, Learn and Inside work with it before anyone trains) and the base models (Train
starts from the one that reads the text's script), with the default model's training text indexed for the
copying check."""

from __future__ import annotations

import functools

from charlstm import checkpoint, transfer
from charlstm.data import val_size
from charlstm.lab.copying import CopyIndex
from charlstm.paths import ASSETS, DEFAULT_MODEL_PATH

DEFAULT = checkpoint.load(DEFAULT_MODEL_PATH)
for _base in transfer.BASES:
    if _base.path.exists():
        transfer.base_model(_base.name)  # loaded now, so the first Train from it does not wait for the file
DEFAULT_LABEL = "the default model (tiny Shakespeare)"


@functools.cache
def default_copy_index() -> CopyIndex:
    """The default model's training text (tiny Shakespeare's first 90%), indexed once and shared."""
    text = (ASSETS / "corpora" / "tinyshakespeare.txt").read_text(encoding="utf-8")
    return CopyIndex(DEFAULT.vocab.encode(text[: len(text) - val_size(len(text))]))
