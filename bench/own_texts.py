"""``python -m bench.own_texts``: the texts people paste, 60 s of training each, against plain compressors.

For each text (English prose, technical docs, a changelog, German prose, Python source, tiny Shakespeare, and
the tutorial's text; see :mod:`bench.texts`), in the same process:

- validation bits/char (the last 10%, scored whole with the state carried) after the budget from random
  weights (``--init scratch``) and with the defaults (``--init auto``: the base model when it fits the text);
- the same validation text's conditional code length under ``bzip2 -9`` and ``xz -9e``:
  ``bits(compress(train + val)) − bits(compress(train))`` over the validation characters;
- the share of real words in a 400-character sample at temperature 0.8 (a word is real when it occurs in the
  training text or in Debian's ``wamerican`` / ``wngerman`` word lists).

``--sweep`` instead tries fine-tuning settings (peak learning rate × dropout) from the base model on a few texts:
the measurement behind :func:`charlstm.config.auto_config`'s fine-tuning table.

    apt-get install -y bzip2 xz-utils wamerican wngerman python3.11-doc debian-handbook developers-reference \\
        developers-reference-de debian-reference-en
    python -m bench.own_texts --json                 # about 15 minutes on 2 cores
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import torch

from bench.texts import bench_texts
from charlstm.data import val_size
from charlstm.evaluation import evaluate
from charlstm.run import Run, plan
from charlstm.sampling import sample

ROOT = Path(__file__).resolve().parent.parent
TUTORIAL = ROOT / "assets" / "corpora" / "tutorial-financial-transactions.txt"
DICTIONARIES = (Path("/usr/share/dict/american-english"), Path("/usr/share/dict/ngerman"))
COMPRESSORS = {"bzip2": ["bzip2", "-9", "-c"], "xz": ["xz", "-9e", "-c", "--format=xz"]}
SAMPLE_CHARS = 400


def code_length(text: str, command: list[str]) -> float:
    """Bits per validation character that ``command`` spends on the last 10% given the first 90%."""
    n_val = val_size(len(text))

    def bits(data: str) -> int:
        return 8 * len(subprocess.run(command, input=data.encode(), capture_output=True, check=True).stdout)

    return (bits(text) - bits(text[: len(text) - n_val])) / n_val


def dictionary() -> set[str]:
    words: set[str] = set()
    for path in DICTIONARIES:
        if path.exists():
            words |= {w.strip().lower() for w in path.read_text(encoding="utf-8", errors="replace").splitlines()}
    return words


def real_word_share(text: str, known: set[str]) -> float:
    words = re.findall(r"[^\W\d_]+", text)
    return sum(w.lower() in known for w in words) / len(words) if words else 0.0


def train_once(text: str, init: str, seconds: float, seed: int = 0, **overrides) -> dict:
    """Train with the defaults for ``init`` (and any override), then score the whole validation text."""
    torch.manual_seed(seed)
    the_plan = plan(text, init, seconds, None, seed=seed, **overrides)
    run, corpus = Run.start(text, the_plan)
    records = list(run.train(corpus))
    result = evaluate(run.model, corpus.val, unknown_cost=corpus.unknown_cost)
    written = sample(run.model, run.vocab, "", SAMPLE_CHARS, generator=torch.Generator().manual_seed(seed))
    start = next(r for r in records if r.val_bpc is not None)
    return {
        "init": run.init,
        "val_bpc": result.bpc,
        "start_val_bpc": start.val_bpc,
        "steps": run.state.step,
        "sample": written,
        "note": records[-1].message or "",
        "lr": the_plan.train_config.learning_rate,
        "dropout": the_plan.model_config.dropout,
    }


def texts() -> dict[str, str]:
    found = {"tutorial-5k": TUTORIAL.read_text(encoding="utf-8")}
    found.update(bench_texts())
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.own_texts", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--only", action="append", help="run only these texts (repeatable)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per text and start (seeds 0, 1, ...)")
    parser.add_argument("--sweep", action="store_true", help="try fine-tuning settings instead")
    parser.add_argument("--json", action="store_true", help="one JSON line per result")
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    known_words = dictionary()
    for name, text in texts().items():
        if args.only and name not in args.only:
            continue
        if args.sweep:
            for lr in (1e-3, 2e-3, 4e-3):
                for dropout in (0.1, 0.3):
                    result = train_once(text, "base", args.seconds, learning_rate=lr, dropout=dropout)
                    result.pop("sample")
                    print(json.dumps({"text": name, "chars": len(text), **result}), flush=True)
            continue
        bzip2, xz = (code_length(text, command) for command in COMPRESSORS.values())
        for seed in range(args.repeat):
            row = {"text": name, "chars": len(text), "seed": seed, "bzip2": bzip2, "xz": xz}
            for init in ("scratch", "auto"):
                started = time.perf_counter()
                result = train_once(text, init, args.seconds, seed)
                words = known_words | {w.lower() for w in re.findall(r"[^\W\d_]+", text)}
                row[init] = {
                    **result,
                    "real_words": real_word_share(result["sample"], words),
                    "wall_s": time.perf_counter() - started,
                }
            if args.json:
                print(json.dumps(row), flush=True)
            a, s = row["auto"], row["scratch"]
            print(
                f"{name:16} {len(text):>9,} chars  bzip2 {bzip2:.2f}  xz {xz:.2f}  scratch {s['val_bpc']:.2f} "
                f"({s['real_words']:.0%} words)  default[{a['init']}] {a['val_bpc']:.2f} ({a['real_words']:.0%} "
                f"words, start {a['start_val_bpc']:.2f})  default − bzip2 {a['val_bpc'] - bzip2:+.2f}",
                file=sys.stderr if args.json else sys.stdout,
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
