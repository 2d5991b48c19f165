"""The network: character embedding, a recurrent layer stack (``nn.LSTM``, ``nn.GRU`` or a plain ``nn.RNN``),
linear head over the vocabulary.

Start with :class:`CharLSTM`: ``model(ids, state) -> (logits, state)``, the scores of every next character at
every position of ``ids``. Training (:mod:`charlstm.training`) compares them with the real next characters;
sampling (:mod:`charlstm.sampling`) draws from them; :mod:`charlstm.cell` writes the same step out gate by gate.

The recurrent state is a value passed in and returned, never kept on the module, so one model can serve many
callers at once and a sequence can be run in pieces with the state carried. It is always a pair ``(h, c)``: the
LSTM's hidden and cell states; a GRU or plain RNN has no memory cell, and its ``c`` is an empty (L, B, 0) tensor,
so every caller that carries, slices or checks the state works the same for the three cells.
"""

from __future__ import annotations

import torch
from torch import nn

from .config import ModelConfig

State = tuple[torch.Tensor, torch.Tensor]  # (h, c), each (num_layers, B, hidden_size); c is (L, B, 0) with no cell
_MODULES = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}  # nn.RNN's default non-linearity is tanh


class CharLSTM(nn.Module):
    """``forward(ids, state) -> (logits, state)``; ids (B, T) int64, logits (B, T, V).

    The name is the library's main subject; ``config.cell`` picks the cell. The recurrent module is registered
    under the cell's name (``model.lstm``, ``model.gru`` or ``model.rnn``), so an LSTM's weights keep the keys of
    every checkpoint written before the other cells existed, and :attr:`recurrent` reaches it whatever it is.
    """

    def __init__(self, config: ModelConfig, vocab_size: int) -> None:
        super().__init__()
        self.config = config
        self.vocab_size = vocab_size
        # each character id -> a learned vector: characters that behave alike end up with alike vectors
        # (the tutorial fed the id itself as one number, which says "b" is halfway between "a" and "c")
        self.embed = nn.Embedding(vocab_size, config.embedding_size)
        self.is_lstm = config.cell == "lstm"
        recurrent = _MODULES[config.cell](
            config.embedding_size,
            config.hidden_size,
            num_layers=config.num_layers,
            dropout=config.dropout if config.num_layers > 1 else 0.0,
            batch_first=True,
        )
        self.add_module(config.cell, recurrent)
        # dropout on the last layer's output (nn.LSTM's own dropout acts only between layers)
        self.drop = nn.Dropout(config.dropout)
        # the head: the hidden state -> one score (logit) per character of the vocabulary
        self.head = nn.Linear(config.hidden_size, vocab_size)
        # PyTorch's default initialisation is kept on purpose: a forget-gate bias of 1, often recommended,
        # scored 0.05 bits/char worse after a 20-second budget here (python -m charlstm bench).

    @property
    def recurrent(self) -> nn.LSTM | nn.GRU | nn.RNN:
        return getattr(self, self.config.cell)

    def forward(self, ids: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        # ids (B, T) -> embedded (B, T, E) -> the recurrent stack and the head: logits (B, T, V)
        return self.read(self.embed(ids), state)

    def read(self, x: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        """The network after the embedding: ``x`` (B, T, E) embedded characters -> (logits, state). Memory reach
        (:mod:`charlstm.lab.reach`) differentiates with respect to ``x``."""
        if self.is_lstm:
            # the whole sequence in one fused call; the state carries on from ``state`` (zeros when None)
            out, state = self.recurrent(x, state)  # out (B, T, H)
            return self.head(self.drop(out)), state  # (B, T, V)
        # a GRU or plain RNN keeps only h: pass h in, and give back an empty c so the state keeps its shape
        out, h = self.recurrent(x, None if state is None else state[0])  # h (L, B, H)
        return self.head(self.drop(out)), (h, h.new_empty(*h.shape[:2], 0))  # no memory cell: c is (L, B, 0)

    @property
    def device(self) -> torch.device:
        return self.head.weight.device


@torch.no_grad()
def start_from_frequencies(model: CharLSTM, ids: torch.Tensor) -> None:
    """Make a fresh model's first guess the corpus's character frequencies instead of a uniform one.

    The head's bias becomes the log frequencies and its weights shrink, which skips the first few dozen
    updates of every run (0.02 bits/char better after one minute on tiny Shakespeare).
    """
    # + 1: a character absent from the training text keeps a small probability rather than none (log 0)
    counts = torch.bincount(ids.long(), minlength=model.vocab_size).float() + 1.0  # (V,) smoothed
    # with small weights the logits are about the bias, so softmax(logits) is about the frequencies
    model.head.bias.copy_((counts / counts.sum()).log().to(model.device))
    model.head.weight.mul_(0.1)
