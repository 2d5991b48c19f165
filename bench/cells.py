"""``python -m bench.cells``: the plain RNN, the GRU and the LSTM raced on the same text (the same time in all,
split in three, and the same number of parameters), then each one's memory reach on the text's held-out part:
the README's "Why gates?" figures. Texts: tiny Shakespeare (first 90% to train on, last 10% held out) and the
tutorial's text, and the app's default, a text made to need memory (``charlstm.lab.race.memory_text``); ``--seconds``
is the whole race's budget (default 90: 3 × 30 s; the app's default is 30); ``--only memory`` (or ``shakespeare``,
``tutorial``) races on one text."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from charlstm.data import val_size
from charlstm.lab.race import NAMES, Entry, memory_text, race
from charlstm.lab.reach import memory_reach

CORPORA = Path(__file__).resolve().parent.parent / "assets" / "corpora"

TEXTS = {"tiny Shakespeare": "tinyshakespeare.txt", "the tutorial's text": "tutorial-financial-transactions.txt"}
MEMORY = "a text made to need memory"
SHORT = {"shakespeare": "tiny Shakespeare", "tutorial": "the tutorial's text", "memory": MEMORY}


def measure(text: str, seconds: float) -> list[dict]:
    """The race on ``text``; each cell's best validation bits/char and its reach on the held-out part."""
    held_out = text[len(text) - val_size(len(text)) :]
    rows = []
    for cell, item in race(text, seconds):
        if not isinstance(item, Entry):
            continue
        reach = memory_reach(item.run.model, item.run.vocab, held_out, max_distance=min(200, len(held_out) - 1))
        rows.append(
            {
                "cell": cell,
                "hidden_size": item.config.hidden_size,
                "parameters": item.parameters,
                "val_bpc": item.best_bpc,
                "half_life": reach.half_life,
                "strength_at_30": reach.strength[29] / reach.strength[0] if len(reach.strength) > 29 else None,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cells")
    parser.add_argument("--seconds", type=float, default=90.0, help="the whole race's budget (split in three)")
    parser.add_argument("--only", action="append", choices=sorted(SHORT), help="race on this text (repeatable)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    report = {}
    for name in [SHORT[o] for o in args.only] if args.only else [*TEXTS, MEMORY]:
        text = memory_text() if name == MEMORY else (CORPORA / TEXTS[name]).read_text(encoding="utf-8")
        report[name] = rows = measure(text, args.seconds)
        for r in rows:
            half = f"{r['half_life']:.1f}" if r["half_life"] else "—"
            share = f"{r['strength_at_30']:.3f}" if r["strength_at_30"] is not None else "—"
            print(
                f"{name}: {NAMES[r['cell']]:>13} hidden {r['hidden_size']:>4} · {r['parameters']:,} parameters · "
                f"validation {r['val_bpc']:.3f} bits/char · half-life {half} characters · at 30 back {share} of k=1"
            )
    if args.json:
        print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
