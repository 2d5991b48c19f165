"""``python -m bench.eval_models``: bits/char of held-out texts under several models, one JSON line per model.

What ``assets/multilingual-model.md`` tabulates: each text scored whole with the state carried, the same
computation as ``python -m charlstm eval --model MODEL --text FILE --json`` for every file, in one process.
``--prepare`` first writes the texts: the last 10% of each benchmark text (English and world: what the benchmark
scores), the tutorial's text whole and its last 10%, tiny Shakespeare's last 10%, and the first 300,000 characters
of a corpus file's last 10% (``--corpus``).

    python -m bench.eval_models --prepare --corpus runs/i22/multilingual-corpus-v2.txt --folder runs/i22/eval
    python -m bench.eval_models --folder runs/i22/eval base runs/i22/multilingual-base.safetensors
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from bench import multilingual, texts
from charlstm.checkpoint import load
from charlstm.data import read_text, unknown_cost, val_size
from charlstm.evaluation import evaluate
from charlstm.paths import CORPORA, model_path


def _last_tenth(text: str) -> str:
    return text[len(text) - val_size(len(text)) :]


def prepare(folder: Path, corpus: Path | None) -> None:
    """Write the held-out texts into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    tutorial = (CORPORA / "tutorial-financial-transactions.txt").read_text(encoding="utf-8")
    shakespeare = (CORPORA / "tinyshakespeare.txt").read_text(encoding="utf-8")
    found = {"tutorial-whole": tutorial, "tutorial-last10": _last_tenth(tutorial)}
    found["shakespeare-last10"] = _last_tenth(shakespeare)
    found |= {f"en-{k}": _last_tenth(v) for k, v in texts.bench_texts().items() if k != "shakespeare-1m"}
    found |= {f"world-{k}": _last_tenth(v) for k, v in multilingual.bench_texts().items()}
    if corpus is not None:
        found["ml-val"] = _last_tenth(read_text(corpus))[:300_000]
    for name, text in found.items():
        (folder / f"{name}.txt").write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.eval_models", description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="*", help="checkpoint files, or the shipped models' names (base, default)")
    parser.add_argument("--folder", type=Path, required=True, help="the held-out texts (*.txt)")
    parser.add_argument("--prepare", action="store_true", help="write the texts into --folder first")
    parser.add_argument("--corpus", type=Path, help="with --prepare: a corpus file whose last 10% to include")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.prepare:
        prepare(args.folder, args.corpus)
    files = sorted(args.folder.glob("*.txt"))
    for name in args.models:
        checkpoint = load(model_path(name))
        row: dict[str, object] = {"model": name}
        for path in files:
            text = read_text(path)
            ids = checkpoint.vocab.encode(text)
            result = evaluate(checkpoint.model, ids, unknown_cost=unknown_cost(text, checkpoint.vocab))
            row[path.stem] = round(result.bpc, 4)
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
