"""``python -m bench.stepper``: generation speed at batch 1 with the stepper's weights in int8 and float16 against
float32.

For the models a session generates with: the 1×512 base (vocabulary 190; every model fine-tuned from it has its
shape), the same with a 3,000-character vocabulary (a CJK text: the head grows to 3,000×512), and the 1×256 default
(which stays float32: its matrices sit in the cache). Each line gives characters per second of
:func:`charlstm.sampling.generate` once it writes (temperature 0.8, 3,000 characters after a short seed, best of
three runs, the formats taking turns in the same process, as the machine is shared) for the format the stepper
chooses on this machine ("auto": int8 where the CPU has AVX-512 VNNI, else float16), float16 and float32, the
ratios, the first character's latency (preparing the weights and reading the seed), the bits/char each format
scores on the held-out tutorial text (the last 3,000 characters), and whether the same seed wrote the same text
twice.

    python -m bench.stepper            # about a minute
"""

from __future__ import annotations

import argparse
import json
import time
from unittest import mock

import torch

from charlstm import checkpoint
from charlstm.lab.steering import char_bits
from charlstm.model import CharLSTM
from charlstm.paths import ASSETS, CORPORA
from charlstm.sampling import generate, sample
from charlstm.steppers import weight_format
from charlstm.vocab import Vocab

WIDE = 3000  # a CJK text's vocabulary
TEXT = CORPORA / "tutorial-financial-transactions.txt"


def widened(base: checkpoint.Checkpoint, size: int) -> tuple[CharLSTM, Vocab]:
    """The base with its embedding and head grown to ``size`` characters (the new rows random, as a run's are;
    the old characters keep their ids, so a text in them scores as with the base)."""
    torch.manual_seed(0)
    model = CharLSTM(base.model.config, size).eval()
    with torch.no_grad():
        for new, old in zip(model.parameters(), base.model.parameters()):
            if new.shape != old.shape:  # the embedding's and the head's rows: one per character
                new.normal_(0, 0.05)
            new[: len(old)] = old
    extra = tuple(chr(0x4E00 + i) for i in range(size - base.vocab.size))  # CJK, after every character it had
    with mock.patch("charlstm.vocab.MAX_VOCAB", size):  # above today's cap, as issue 22's vocabularies will be
        return model, Vocab(base.vocab.chars + extra)


def chars_per_s(model: CharLSTM, vocab: Vocab, precision: str, chars: int = 3000) -> tuple[float, float]:
    """Characters per second once writing (from the first character to the last), and the first one's latency
    in milliseconds (preparing the weights and reading the seed)."""
    generator = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    steps = generate(model, vocab, "The ", chars, 0.8, generator=generator, precision=precision)
    next(steps)
    first = time.perf_counter()
    for _ in steps:
        pass
    return (chars - 1) / (time.perf_counter() - first), (first - start) * 1000


def measure(name: str, model: CharLSTM, vocab: Vocab, held_out: str, runs: int = 3) -> dict:
    rates: dict[str, list[float]] = {"fp32": [], "fp16": [], "auto": []}
    latency: dict[str, list[float]] = {p: [] for p in rates}
    chars_per_s(model, vocab, "auto", 300)  # warm-up
    for _ in range(runs):
        for precision, seen in rates.items():
            rate, ms = chars_per_s(model, vocab, precision)
            seen.append(rate)
            latency[precision].append(ms)
    bits = {p: float(char_bits(model, vocab, held_out, precision=p).mean()) for p in rates}
    text = [sample(model, vocab, "The ", 500, generator=torch.Generator().manual_seed(3)) for _ in range(2)]
    return {
        "model": name,
        "fast_format": weight_format(model),
        "fp32_chars_per_s": max(rates["fp32"]),
        "fp16_chars_per_s": max(rates["fp16"]),
        "fast_chars_per_s": max(rates["auto"]),
        "speedup": max(rates["auto"]) / max(rates["fp32"]),
        "over_fp16": max(rates["auto"]) / max(rates["fp16"]),
        "fp32_first_char_ms": min(latency["fp32"]),
        "fast_first_char_ms": min(latency["auto"]),
        "fp32_bpc": bits["fp32"],
        "fp16_bpc": bits["fp16"],
        "fast_bpc": bits["auto"],
        "same_seed_same_text": text[0] == text[1],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    base, default = (
        checkpoint.load(ASSETS / "base-model.safetensors"),
        checkpoint.load(ASSETS / "default-model.safetensors"),
    )
    held_out = TEXT.read_text(encoding="utf-8")[-3000:]
    models = {
        f"1×512 base, vocabulary {base.vocab.size}": (base.model.eval(), base.vocab),
        f"1×512 base, vocabulary {WIDE}": widened(base, WIDE),
        f"1×256 default, vocabulary {default.vocab.size}": (default.model.eval(), default.vocab),
    }
    results = []
    for name, (model, vocab) in models.items():
        r = measure(name, model, vocab, held_out)
        results.append(r)
        print(
            f"{name}: {r['fast_format']} {r['fast_chars_per_s']:,.0f} chars/s, float16 {r['fp16_chars_per_s']:,.0f}, "
            f"float32 {r['fp32_chars_per_s']:,.0f} (×{r['over_fp16']:.2f} and ×{r['speedup']:.2f}); first character "
            f"{r['fast_first_char_ms']:.0f} ms vs {r['fp32_first_char_ms']:.0f}; bits/char {r['fast_bpc']:.4f}, "
            f"float16 {r['fp16_bpc']:.4f}, float32 {r['fp32_bpc']:.4f} ({r['fast_bpc'] - r['fp32_bpc']:+.5f}); "
            f"same seed, same text: {r['same_seed_same_text']}",
            flush=True,
        )
    if args.json:
        print(json.dumps({"threads": torch.get_num_threads(), "results": results}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
