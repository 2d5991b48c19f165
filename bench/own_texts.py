"""``python -m bench.own_texts``: the texts people paste, 60 s of training each, against plain compressors.

For each text (English prose, technical docs, a changelog, German prose, Python source, tiny Shakespeare, and
the tutorial's text; see :mod:`bench.texts`; with ``--texts world``, texts of 5k–50k characters in German, French,
Spanish, Russian, Greek, Japanese, Chinese, Korean and Arabic from :mod:`bench.multilingual`), in the same process:

- validation bits/char (the last 10%, scored whole with the state carried) after the budget from random
  weights (``--init scratch``) and with the defaults (``--init auto``: the base model when it fits the text);
- the same validation text's conditional code length under ``bzip2 -9``, ``xz -9e`` and PPMd of order 6 (7-Zip's
  ``-m0=PPMd:o=6``): ``bits(compress(train + val)) − bits(compress(train))`` over the validation characters;
- the share of real words in a 400-character sample at temperature 0.8 (a word is real when it occurs in the
  training text or in Debian's word list for the language: ``wamerican``, ``wngerman``, ``wfrench``, ``wspanish``;
  none where Debian has no list, as for Russian, Greek, Japanese, Chinese, Korean and Arabic);
- how fast the trained model writes at batch 1 (characters per second once writing, best of two 3,000-character
  runs: :func:`bench.stepper.chars_per_s`), with its vocabulary's size and the stepper's weight format (a model
  fine-tuned from a base has the base's 1×512 shape, and a CJK text's vocabulary widens its head), and how far
  that format moves the bits/char the stepper scores on the first 2,000 validation characters from float32's.

``--sweep`` instead tries fine-tuning settings (peak learning rate × dropout) from the base model on a few texts:
the measurement behind :func:`charlstm.config.auto_config`'s fine-tuning table. ``--learning-rate`` runs the
benchmark at another peak rate than the default's (how :data:`charlstm.run.MULTILINGUAL_RATE` was chosen). Every
sample goes on from the end of its text, unseen, as the app's writing does (:func:`charlstm.sampling.lead_in`).

    apt-get install -y bzip2 xz-utils 7zip wamerican wngerman wfrench wspanish python3.11-doc debian-handbook \\
        developers-reference developers-reference-de debian-reference-en installation-guide-amd64 gettext
    python -m bench.own_texts --json                 # about 15 minutes on 2 cores
    python -m bench.own_texts --texts world --init auto --multilingual FILE --json   # a multilingual checkpoint
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from bench import multilingual
from bench.stepper import chars_per_s
from bench.texts import bench_texts
from charlstm import run as run_module
from charlstm import transfer
from charlstm.data import val_size
from charlstm.evaluation import evaluate
from charlstm.lab.steering import char_bits
from charlstm.run import Run, plan
from charlstm.sampling import sample
from charlstm.steppers import weight_format

ROOT = Path(__file__).resolve().parent.parent
TUTORIAL = ROOT / "assets" / "corpora" / "tutorial-financial-transactions.txt"
DICTIONARIES = (Path("/usr/share/dict/american-english"), Path("/usr/share/dict/ngerman"))
WORD_LISTS = {"de": "ngerman", "fr": "french", "es": "spanish"}  # a world text's language -> Debian's word list
COMPRESSORS = {"bzip2": ["bzip2", "-9", "-c"], "xz": ["xz", "-9e", "-c", "--format=xz"], "ppmd": ["7zz"]}
SAMPLE_CHARS = 400


def code_length(text: str, command: list[str]) -> float:
    """Bits per validation character that ``command`` spends on the last 10% given the first 90%."""
    n_val = val_size(len(text))

    def bits(data: str) -> int:
        if command[0] == "7zz":  # 7-Zip writes an archive file, not a stream
            return 8 * _ppmd_bytes(data.encode())
        return 8 * len(subprocess.run(command, input=data.encode(), capture_output=True, check=True).stdout)

    return (bits(text) - bits(text[: len(text) - n_val])) / n_val


def _ppmd_bytes(data: bytes) -> int:
    """The size of a 7z archive holding ``data`` compressed with PPMd of order 6 (its headers cancel out in
    :func:`code_length`'s difference)."""
    with tempfile.TemporaryDirectory() as folder:
        archive = Path(folder) / "text.7z"
        command = ["7zz", "a", "-t7z", "-m0=PPMd:o=6", "-sitext.txt", str(archive)]
        subprocess.run(command, input=data, capture_output=True, check=True)
        return archive.stat().st_size


def dictionary(paths: tuple[Path, ...] = DICTIONARIES) -> set[str]:
    words: set[str] = set()
    for path in paths:
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
    # as the app writes after a run: on from the end of the text, unseen
    written = sample(run.model, run.vocab, run.lead_in, SAMPLE_CHARS, generator=torch.Generator().manual_seed(seed))
    start = next(r for r in records if r.val_bpc is not None)
    # how fast it writes, as a learner's Generate tab runs it (batch 1, the stepper's own weight format)
    writes = max(chars_per_s(run.model, run.vocab, "auto")[0] for _ in range(2))
    held_out = run.vocab.decode(corpus.val[:2000])  # the validation text as the model holds it out
    fast, exact = (char_bits(run.model, run.vocab, held_out, precision=p).mean() for p in ("auto", "fp32"))
    return {
        "init": run.init,
        "val_bpc": result.bpc,
        "start_val_bpc": start.val_bpc,
        "steps": run.train_state.step,
        "sample": written,
        "note": records[-1].message or "",
        "lr": the_plan.train_config.learning_rate,
        "dropout": the_plan.model_config.dropout,
        "vocab": run.vocab.size,
        "chars_per_s": writes,
        "weight_format": weight_format(run.model),
        "format_bpc_shift": float(fast - exact),
    }


def texts(which: str = "english") -> dict[str, str]:
    if which == "world":
        return multilingual.bench_texts()
    found = {"tutorial-5k": TUTORIAL.read_text(encoding="utf-8")}
    found.update(bench_texts())
    return found


def word_list(name: str, which: str) -> set[str] | None:
    """The real words a sample of text ``name`` is checked against; None where Debian has no list for it."""
    if which != "world":
        return dictionary()
    listed = WORD_LISTS.get(name.split("-")[0])
    return dictionary((Path("/usr/share/dict") / listed,)) if listed else None


def use_multilingual(path: str) -> None:
    """Start "auto" runs from this multilingual checkpoint instead of the shipped one (a run still in progress)."""
    bases = tuple(dataclasses.replace(b, path=Path(path)) if b.name == "multilingual" else b for b in transfer.BASES)
    transfer.BASES = run_module.BASES = bases
    transfer.base_model.cache_clear()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.own_texts", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--only", action="append", help="run only these texts (repeatable)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per text and start (seeds 0, 1, ...)")
    parser.add_argument("--first-seed", type=int, default=0, help="the seeds start here (1: a second run's)")
    parser.add_argument("--sweep", action="store_true", help="try fine-tuning settings instead")
    parser.add_argument("--json", action="store_true", help="one JSON line per result")
    parser.add_argument("--texts", choices=("english", "world"), default="english", help="which texts (see above)")
    parser.add_argument("--init", action="append", choices=("scratch", "auto"), help="only these starts")
    parser.add_argument("--multilingual", help="a multilingual base checkpoint to use in place of the shipped one")
    parser.add_argument("--learning-rate", type=float, help="override the default peak rate (to compare rates)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.multilingual:
        use_multilingual(args.multilingual)
    for name, text in texts(args.texts).items():
        if args.only and name not in args.only:
            continue
        if args.sweep:  # from the English base, or for the world's texts from the base "auto" picks
            start = "auto" if args.texts == "world" else "base"
            for lr in (1e-3, 4e-3, 1e-2) if args.texts == "world" else (1e-3, 2e-3, 4e-3):
                for dropout in (0.1, 0.3):
                    result = train_once(text, start, args.seconds, learning_rate=lr, dropout=dropout)
                    result.pop("sample")
                    print(json.dumps({"text": name, "chars": len(text), **result}), flush=True)
            continue
        bzip2, xz, ppmd = (code_length(text, command) for command in COMPRESSORS.values())
        listed = word_list(name, args.texts)
        words = None if listed is None else listed | {w.lower() for w in re.findall(r"[^\W\d_]+", text)}
        for seed in range(args.first_seed, args.first_seed + args.repeat):
            row = {"text": name, "chars": len(text), "seed": seed, "bzip2": bzip2, "xz": xz, "ppmd": ppmd}
            for init in args.init or ("scratch", "auto"):
                started = time.perf_counter()
                rate = {} if args.learning_rate is None else {"learning_rate": args.learning_rate}
                result = train_once(text, init, args.seconds, seed, **rate)
                row[init] = {
                    **result,
                    "real_words": None if words is None else real_word_share(result["sample"], words),
                    "wall_s": time.perf_counter() - started,
                }
            if args.json:
                print(json.dumps(row), flush=True)
            print(_line(row), file=sys.stderr if args.json else sys.stdout, flush=True)
    return 0


def _line(row: dict) -> str:
    """One human-readable line of a result row."""

    def words(result: dict) -> str:
        return "no word list" if result["real_words"] is None else f"{result['real_words']:.0%} words"

    parts = [f"{row['text']:16} {row['chars']:>9,} chars  bzip2 {row['bzip2']:.2f}  ppmd {row['ppmd']:.2f}"]
    if "scratch" in row:
        parts.append(f"scratch {row['scratch']['val_bpc']:.2f} ({words(row['scratch'])})")
    if "auto" in row:
        a = row["auto"]
        parts.append(
            f"default[{a['init']}] {a['val_bpc']:.2f} ({words(a)}, start {a['start_val_bpc']:.2f})  "
            f"default − bzip2 {a['val_bpc'] - row['bzip2']:+.2f}  − ppmd {a['val_bpc'] - row['ppmd']:+.2f}  "
            f"writes {a['chars_per_s']:,.0f} chars/s ({a['weight_format']}, vocabulary {a['vocab']:,}, bits/char "
            f"{a['format_bpc_shift']:+.4f} against float32)"
        )
    return "  ".join(parts)


if __name__ == "__main__":
    sys.exit(main())
