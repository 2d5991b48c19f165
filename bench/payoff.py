"""``python -m bench.payoff``: does the app's default training end with a model that writes like the learner's text?

On a short text the base model (pretrained on English documentation, :func:`bench.texts.base_corpus`) knows far
more English than the text holds, and a model kept at its best held-out moment can still write like the base's
documentation rather than like the text. The app ends with the latest weights ("knows your text"), offering the
best-on-held-out moment in one click, and ends a run early once it only memorises (reciting is not knowing). This
benchmark measures both, on short texts written for this project (:file:`bench/payoff_texts/`, English, German,
French, Spanish and Russian; none read by the base model, none the tutorial's), trained with the app's defaults
(``plan(text, "auto", seconds)``, the latest weights kept, stopped once memorising):

- **own words**: of a 400-character sample's words (``\\w+``, lower-cased, at least 3 characters), the share that occur
  in the text's training part (all but the held-out end) and never in the base model's pretraining text; the
  learner's names and vocabulary, which only this text could have taught;
- **copied**: the share of the sample inside passages of at least 20 characters found verbatim in the training
  part (:class:`charlstm.lab.copying.CopyIndex`), the price of knowing the text;
- **val bpc**: bits per character on the held-out end, scored whole (:func:`charlstm.evaluation.evaluate`);

for the **latest** weights, the **best** ones (the lowest validation seen, and when), and the untouched **base**
model (its own words before any training: the floor). The last column is the ceiling: the share of the training
text's own words in the text itself, what a model that wrote exactly like it would score. A language the base
has barely read (it read a few pages of German, French and Spanish, and no Russian) has a high ceiling: its
ordinary words count as the text's own. Samples use temperature 0.8 with RNG seeds 0, 1 and 2, and go on from the
end of the text, unseen, as the app's writing does (:func:`charlstm.sampling.lead_in`; the base's too, so its floor
is what that alone gives; ``--empty-seed`` writes from nothing, as before the eleventh session); the figures are
their mean. ``--repeat N`` trains N times per text (seeds 0..N-1) and reports
each figure's range.

    apt-get install -y python3.11-doc debian-handbook    # the base model's reading, for its word list
    python -m bench.payoff --json                        # about 10 minutes on 2 idle cores

Each text takes its 60 s of training plus about 10 s of evaluations and samples. The base model's word list is
built once (about 80 s) and cached in ``bench/results/base-words.txt`` (git-ignored; ``--base-words`` puts it
elsewhere; delete it after the base corpus changes).
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from charlstm.data import normalize_text, val_size
from charlstm.evaluation import evaluate
from charlstm.lab.copying import CopyIndex
from charlstm.model import CharLSTM
from charlstm.run import Run, plan
from charlstm.sampling import lead_in, sample
from charlstm.transfer import base_model, grow_vocab
from charlstm.vocab import Vocab

ROOT = Path(__file__).resolve().parent.parent
TEXTS = ROOT / "bench" / "payoff_texts"
BASE_WORDS = ROOT / "bench" / "results" / "base-words.txt"
SAMPLE_CHARS = 400
SAMPLE_SEEDS = (0, 1, 2)  # three samples per model: one 400-character sample holds only about 60 words
MIN_WORD = 3  # shorter words ("of", "la", "и") are shared by every text and every language


def words(text: str) -> list[str]:
    """The words of ``text`` as the metric counts them: runs of Unicode word characters, lower-cased, of at least
    :data:`MIN_WORD` characters (digits count: "220" in a recipe is a word of the text like any other)."""
    return [w for w in (m.lower() for m in re.findall(r"\w+", text)) if len(w) >= MIN_WORD]


def own_words(text: str, training_words: set[str], base_words: set[str]) -> float:
    """The share of ``text``'s words that occur in the training text and not in the base model's reading."""
    found = words(text)
    own = training_words - base_words
    return sum(w in own for w in found) / len(found) if found else 0.0


def copied(text: str, index: CopyIndex, vocab: Vocab) -> float:
    """The share of ``text`` inside passages of at least 20 characters found verbatim in the indexed text."""
    return index.find(vocab.encode(text)).share


def training_part(text: str) -> str:
    """What a run learns from: the normalised text without its held-out end (as :func:`charlstm.data.make_corpus`)."""
    text = normalize_text(text)
    return text[: len(text) - val_size(len(text))]


def base_words(cache: Path = BASE_WORDS) -> set[str]:
    """Every word of the base model's pretraining text, built once from Debian's packages and cached."""
    if cache.exists():
        return set(cache.read_text(encoding="utf-8").split("\n"))
    from bench.texts import base_corpus  # parses thousands of HTML pages: only when the cache is missing

    found = set(words(base_corpus()))
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text("\n".join(sorted(found)), encoding="utf-8")
    return found


def texts() -> dict[str, str]:
    """The benchmark's texts: name (the file's stem, ``<lang>-<kind>``) -> text."""
    return {path.stem: path.read_text(encoding="utf-8") for path in sorted(TEXTS.glob("*.txt"))}


@dataclass(frozen=True)
class Scored:
    """One model's samples and their measures (means over the samples)."""

    own_words: float
    copied: float
    samples: tuple[str, ...]


def score(
    model: CharLSTM, vocab: Vocab, index: CopyIndex, training_words: set[str], known: set[str], seed_text: str
) -> Scored:
    """Own words and copied share of a model's samples from ``seed_text``, averaged over :data:`SAMPLE_SEEDS`."""
    samples = tuple(
        sample(model, vocab, seed_text, SAMPLE_CHARS, generator=torch.Generator().manual_seed(seed))
        for seed in SAMPLE_SEEDS
    )
    n = len(samples)
    return Scored(
        sum(own_words(s, training_words, known) for s in samples) / n,
        sum(copied(s, index, vocab) for s in samples) / n,
        samples,
    )


def base_row(text: str, known: set[str], primed: bool = True) -> dict:
    """The untouched base model on this text: what "before training" writes (its vocabulary grown like a run's,
    so characters it lacks are encoded for the copy index; their rows start as the unknown character's), from the
    text's end (``primed``) or from nothing."""
    start = base_model()
    part = training_part(text)
    model, vocab, _ = grow_vocab(start.model, start.vocab, part)
    training_words = set(words(part))
    seed_text = lead_in(normalize_text(text)) if primed else ""
    scored = score(model, vocab, CopyIndex(vocab.encode(part)), training_words, known, seed_text)
    return {
        "own_words": scored.own_words,
        "copied": scored.copied,
        "sample": scored.samples[0],
        # the ceiling: the text's own running words, as a model that wrote exactly like it would score
        "text_own_words": own_words(part, training_words, known),
    }


def train_once(
    text: str,
    seconds: float,
    steps: int | None,
    seed: int,
    known: set[str],
    primed: bool = True,
    **overrides: float | None,
) -> dict:
    """Train with the app's defaults (``overrides``, None ignored, win over them: for tuning), keeping a copy of the
    weights at each new best validation; score both, writing from the text's end (``primed``, as the app does) or
    from nothing."""
    torch.manual_seed(seed)
    the_plan = plan(
        text,
        "auto",
        seconds,
        steps,
        strict_shape=False,
        keep_best=False,
        stop_when_memorising=True,
        seed=seed,
        **overrides,
    )
    run, corpus = Run.start(text, the_plan)
    best_model, best_bpc, best_s, evaluations = None, float("inf"), 0.0, 0
    started = time.perf_counter()
    for record in run.train(corpus):
        if record.val_bpc is None:
            continue
        evaluations += 1
        if record.val_bpc < best_bpc:  # a copy per new best: a few MB, outside the training clock
            best_model, best_bpc, best_s = copy.deepcopy(run.model).eval(), record.val_bpc, record.elapsed
    wall_s = time.perf_counter() - started
    index = CopyIndex(run.train_ids)
    training_words = set(words(training_part(text)))
    row: dict = {"init": the_plan.init, "evaluations": evaluations, "steps": run.train_state.step, "wall_s": wall_s}
    for name, model, moment in (("latest", run.model, run.train_state.elapsed), ("best", best_model, best_s)):
        scored = score(model, run.vocab, index, training_words, known, run.lead_in if primed else "")
        val = evaluate(model, corpus.val, unknown_cost=corpus.unknown_cost).bpc  # the whole held-out end
        row[name] = {
            "seconds": moment,
            "own_words": scored.own_words,
            "copied": scored.copied,
            "val_bpc": val,
            "sample": scored.samples[0],
        }
    return row


def _span(values: list[float], fmt: str) -> str:
    """One figure, or its range over repeated runs."""
    low, high = min(values), max(values)
    return format(low, fmt) if format(low, fmt) == format(high, fmt) else f"{low:{fmt}}–{high:{fmt}}"


def summary_line(name: str, chars: int, base: dict, rows: list[dict]) -> str:
    """A table row: the text, its start, the latest and the best weights, and the base before training."""
    latest, best = [r["latest"] for r in rows], [r["best"] for r in rows]
    return (
        f"{name:12} {chars:>6,} {rows[0]['init']:>7} │ {_span([m['seconds'] for m in latest], '.0f'):>5}s "
        f"{_span([r['steps'] for r in rows], 'd'):>7} "
        f"{_span([m['own_words'] for m in latest], '.0%'):>7} {_span([m['copied'] for m in latest], '.0%'):>7} "
        f"{_span([m['val_bpc'] for m in latest], '.2f'):>9} │ "
        f"{_span([m['seconds'] for m in best], '.0f'):>5}s {_span([m['own_words'] for m in best], '.0%'):>7} "
        f"{_span([m['copied'] for m in best], '.0%'):>7} {_span([m['val_bpc'] for m in best], '.2f'):>9} │ "
        f"{base['own_words']:>6.0%} │ {base['text_own_words']:>6.0%}"
    )


HEADER = (
    f"{'':27} │ {'latest (knows your text)':^40} │ {'best on held-out text':^32} │ {'base':>6} │ {'text':>6}\n"
    f"{'text':12} {'chars':>6} {'start':>7} │ {'end':>6} {'steps':>7} {'own':>7} {'copied':>7} {'val bpc':>9} │ "
    f"{'moment':>6} {'own':>7} {'copied':>7} {'val bpc':>9} │ {'own':>6} │ {'own':>6}"
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.payoff", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="training budget per run (the app's default)")
    parser.add_argument("--steps", type=int, help="also stop after this many steps (quick checks)")
    parser.add_argument("--only", action="append", help="run only these texts, by file stem (repeatable)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per text (seeds 0, 1, ...); ranges reported")
    parser.add_argument("--base-words", type=Path, default=BASE_WORDS, help="cache of the base model's words")
    parser.add_argument("--json", action="store_true", help="one JSON line per text (the table goes to stderr)")
    parser.add_argument("--learning-rate", type=float, help="override the default peak rate (to tune it)")
    parser.add_argument("--dropout", type=float, help="override the default dropout (to tune it)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (the app's: 2)")
    parser.add_argument("--empty-seed", action="store_true", help="write from nothing, not from the text's end")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    found = texts()
    unknown = sorted(set(args.only or ()) - set(found))
    if unknown:
        parser.error(f"no text named {', '.join(unknown)}; choose from {', '.join(found)}")
    known = base_words(args.base_words)
    table = sys.stderr if args.json else sys.stdout
    print(HEADER, file=table, flush=True)
    for name, text in found.items():
        if args.only and name not in args.only:
            continue
        base = base_row(text, known, primed=not args.empty_seed)
        rows = [
            train_once(
                text,
                args.seconds,
                args.steps,
                seed,
                known,
                primed=not args.empty_seed,
                learning_rate=args.learning_rate,
                dropout=args.dropout,
            )
            for seed in range(args.repeat)
        ]
        if args.json:
            print(json.dumps({"text": name, "chars": len(text), "seconds": args.seconds, "base": base, "runs": rows}))
        print(summary_line(name, len(text), base, rows), file=table, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
