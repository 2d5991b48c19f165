"""``python -m charlstm bench``: throughput, generation speed and time-to-quality, each against a baseline
run in the same process (the machine is shared and noisy, so only same-run ratios mean much).

- throughput: training characters per second and achieved GFLOP/s of the default setting, next to the best
  fp32 matmul rate measured now;
- generation: characters per second at batch 1 and the latency of the first character after a 200-character
  seed, against a plain stateful ``nn.LSTM`` loop and a loop that re-runs a 128-character window;
- precision: milliseconds per training step in float32 and bfloat16 for a few model shapes (where bfloat16 is
  native);
- quality: validation bits per character after the same training budget for the tutorial's design, a plain
  hand-tuned ``nn.LSTM`` in float32, and charlstm's automatic settings in float32 and (where the hardware has it
  natively) in bfloat16.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from dataclasses import replace

import torch
import torch.nn.functional as F
from torch import nn

from .config import DEFAULT_SECONDS, ModelConfig, SampleConfig, TrainConfig, auto_config
from .data import Corpus, make_corpus, random_batch, read_text
from .evaluation import LN2, evaluate
from .machine.precision import bf16_supported
from .model import CharLSTM
from .paths import CORPORA
from .sampling import generate
from .training import new_train_state, train

DEFAULT_CORPUS = CORPORA / "tinyshakespeare.txt"
TEMPERATURE = SampleConfig.temperature  # generation is timed as the app and the CLI generate by default


def matmul_peak(seconds: float = 3.0) -> float:
    """Best sustained fp32 matmul rate in GFLOP/s over a few square sizes."""
    best = 0.0
    for n in (512, 1024, 2048):
        a, b = torch.randn(n, n), torch.randn(n, n)
        a @ b
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds / 3:
            a @ b
            count += 1
        best = max(best, 2 * n**3 * count / (time.perf_counter() - start) / 1e9)
    return best


def throughput(corpus: Corpus, seconds: float, device: torch.device) -> dict:
    """Training speed of the automatic setting, counting 3 × forward FLOPs per character (forward + backward)."""
    model_config, config = auto_config(len(corpus.train), DEFAULT_SECONDS)
    torch.manual_seed(0)
    model = CharLSTM(model_config, corpus.vocab.size).to(device)
    # float32, so the rate compares with the float32 matmul peak
    records = list(train(model, corpus, replace(config, seconds=seconds, eval_interval=3600, precision="fp32")))
    cps = records[-1].chars_per_s
    flops = 3 * model_config.flops_per_char(corpus.vocab.size)
    return {
        "chars_per_s": cps,
        "gflops": cps * flops / 1e9,
        "hidden_size": model_config.hidden_size,
        "batch_size": config.batch_size,
        "seq_len": config.seq_len,
    }


class _Plain(nn.Module):
    """A textbook network with PyTorch's default initialisation, to compare charlstm against."""

    def __init__(self, vocab_size: int, embedding: int, hidden: int, scalar_input: bool = False) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.embed = nn.Identity() if scalar_input else nn.Embedding(vocab_size, embedding)
        self.lstm = nn.LSTM(1 if scalar_input else embedding, hidden, batch_first=True)
        self.head = nn.Linear(hidden, vocab_size)
        self.device = torch.device("cpu")

    def forward(self, x: torch.Tensor, state=None):
        out, state = self.lstm(self.embed(x), state)
        return self.head(out), state


def plain_reference(corpus: Corpus, seconds: float) -> float:
    """The hand-tuned baseline: embedding 64, 1×256, batch 16, windows of 64, Adam 8e-3 cosine to a tenth, clip 1."""
    model = _Plain(corpus.vocab.size, 64, 256)
    params = list(model.parameters())
    optimizer = torch.optim.Adam(params, lr=8e-3)
    generator = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    while (fraction := (time.perf_counter() - start) / seconds) < 1:
        for group in optimizer.param_groups:
            group["lr"] = 8e-3 * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * fraction)))
        x, y = random_batch(corpus.train, 16, 64, generator)
        logits, _ = model(x)
        loss = F.cross_entropy(logits.flatten(0, 1), y.flatten())
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
    return evaluate(model, corpus.val).bpc


def tutorial_design(text: str, seconds: float) -> float:
    """The tutorial's notebook: lower-cased text, characters as float scalars into nn.LSTM(1, 128),
    one target per 40-character window; scored on every validation character from the 40 before it."""
    text = text.lower()
    vocab_corpus = make_corpus(text)
    V = vocab_corpus.vocab.size
    model = _Plain(V, 1, 128, scalar_input=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    generator = torch.Generator().manual_seed(0)
    ids = vocab_corpus.train

    def windows(source: torch.Tensor, starts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = source[starts[:, None] + torch.arange(40)].float() / V  # (B, 40) scaled ids, as the tutorial did
        return x[..., None], source[starts + 40].long()

    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        x, y = windows(ids, torch.randint(0, len(ids) - 41, (128,), generator=generator))
        logits, _ = model(x)
        loss = F.cross_entropy(logits[:, -1], y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    val = torch.cat([ids[-40:], vocab_corpus.val])
    total = 0.0
    with torch.no_grad():
        for first in range(0, len(val) - 40, 4096):
            x, y = windows(val, torch.arange(first, min(first + 4096, len(val) - 40)))
            total += F.cross_entropy(model(x)[0][:, -1], y, reduction="sum").item()
    return total / (len(val) - 40) / LN2


def charlstm_run(corpus: Corpus, seconds: float, device: torch.device, precision: str) -> dict:
    """charlstm's automatic settings for ``precision`` ("fp32" or "bf16"), trained from scratch for ``seconds``."""
    model_config, config = auto_config(len(corpus.train), seconds, precision=precision)
    torch.manual_seed(0)
    model = CharLSTM(model_config, corpus.vocab.size).to(device)
    train_state = new_train_state(model)
    for _ in train(model, corpus, replace(config, precision=precision), train_state):
        pass
    shape = f"{model_config.num_layers}×{model_config.hidden_size}, batch {config.batch_size}×{config.seq_len}"
    return {"bpc": evaluate(model, corpus.val).bpc, "steps": train_state.step, "shape": shape}


def quality(text: str, corpus: Corpus, seconds: float, device: torch.device) -> dict:
    """Bits/char after ``seconds``: charlstm in float32 and, where native, in bfloat16; the references."""
    result: dict = {"seconds": seconds}
    for precision in ("fp32", "bf16") if bf16_supported(device) else ("fp32",):
        run = charlstm_run(corpus, seconds, device, precision)
        for key, value in run.items():
            result[f"charlstm_{precision}_{key}"] = value
    result["charlstm_bpc"] = result.get("charlstm_bf16_bpc", result["charlstm_fp32_bpc"])  # what auto trains
    result["plain_lstm_bpc"] = plain_reference(corpus, seconds)
    result["tutorial_bpc_lowercased"] = tutorial_design(text, seconds)
    return result


STEP_SHAPES = ((256, 16, 64), (384, 16, 64), (512, 16, 64), (512, 32, 96))  # hidden size, batch, window


def step_times(corpus: Corpus, device: torch.device, seconds: float = 4.0) -> list[dict]:
    """Milliseconds per training step (forward, backward, clip, Adam) in fp32 and bf16 for a few shapes: each
    pair trained back to back for ``seconds``, twice, the better of the two kept (a busy moment does not decide)."""
    results = []
    for hidden, batch, window in STEP_SHAPES:
        times: dict[str, float] = {}
        for precision in ("fp32", "bf16", "fp32", "bf16"):
            torch.manual_seed(0)
            model = CharLSTM(ModelConfig(hidden_size=hidden), corpus.vocab.size).to(device)
            config = TrainConfig(batch_size=batch, seq_len=window, seconds=seconds, eval_interval=3600)
            last = list(train(model, corpus, replace(config, precision=precision)))[-1]
            ms = batch * window / last.chars_per_s * 1000
            times[precision] = min(ms, times.get(precision, math.inf))
        results.append({"hidden_size": hidden, "batch_size": batch, "seq_len": window, **times})
    return results


def generation(corpus: Corpus, device: torch.device, chars: int = 3000) -> dict:
    """Characters per second at batch 1 (the default temperature) and first-character latency, with baselines."""
    model_config, _ = auto_config(len(corpus.train), DEFAULT_SECONDS)
    torch.manual_seed(0)
    model = CharLSTM(model_config, corpus.vocab.size).to(device).eval()
    vocab, prompt = corpus.vocab, corpus.vocab.decode(corpus.val[:200])

    def ours() -> float:
        start = time.perf_counter()
        for _ in generate(
            model, vocab, prompt, chars, temperature=TEMPERATURE, generator=torch.Generator().manual_seed(0)
        ):
            pass
        return chars / (time.perf_counter() - start)

    @torch.no_grad()
    def plain(window: int | None, n: int) -> float:
        g = torch.Generator().manual_seed(0)
        ids = vocab.encode(prompt).long()[None]
        logits, state = model(ids)
        start = time.perf_counter()
        for _ in range(n):
            probs = torch.softmax(logits[0, -1] / TEMPERATURE, -1)
            nxt = torch.multinomial(probs, 1, generator=g)[None]
            if window is None:
                logits, state = model(nxt, state)
            else:
                ids = torch.cat([ids, nxt], 1)[:, -window:]
                logits, _ = model(ids)
        return n / (time.perf_counter() - start)

    def first_char_ms() -> float:
        times = []
        for seed in range(20):
            start = time.perf_counter()
            next(iter(generate(model, vocab, prompt, 1, generator=torch.Generator().manual_seed(seed))))
            times.append((time.perf_counter() - start) * 1000)
        return statistics.median(times)

    ours()  # warm-up
    return {
        "chars_per_s": statistics.median(ours() for _ in range(3)),
        "plain_stateful_chars_per_s": plain(None, chars),
        "window_128_chars_per_s": plain(128, 300),
        "first_char_ms_after_200_char_seed": first_char_ms(),
        "hidden_size": model_config.hidden_size,
    }


def run(args: argparse.Namespace, device: torch.device) -> int:
    """Run the chosen parts and print their figures (and one JSON line with ``--json``)."""
    text = read_text(args.corpus or DEFAULT_CORPUS)
    corpus = make_corpus(text)
    parts = args.only or ["throughput", "generation", "precision", "quality"]
    report: dict = {"threads": torch.get_num_threads(), "device": str(device)}
    if "throughput" in parts:
        peak = matmul_peak()
        report["matmul_peak_gflops"] = peak
        report["throughput"] = result = throughput(corpus, 15.0, device)
        result["share_of_peak"] = result["gflops"] / peak
        print(f"matmul peak {peak:.0f} GFLOP/s on {report['threads']} threads")
        print(
            f"training (1×{result['hidden_size']}, batch {result['batch_size']}×{result['seq_len']}): "
            f"{result['chars_per_s']:,.0f} chars/s, {result['gflops']:.0f} GFLOP/s = "
            f"{result['share_of_peak']:.0%} of the matmul peak",
            flush=True,
        )
    if "generation" in parts:
        report["generation"] = g = generation(corpus, device)
        print(
            f"generation at batch 1: {g['chars_per_s']:,.0f} chars/s (plain stateful nn.LSTM loop "
            f"{g['plain_stateful_chars_per_s']:,.0f}: ×{g['chars_per_s'] / g['plain_stateful_chars_per_s']:.2f}; "
            f"re-running a 128-char window {g['window_128_chars_per_s']:,.0f}); first character "
            f"{g['first_char_ms_after_200_char_seed']:.1f} ms after a 200-character seed",
            flush=True,
        )
    if "precision" in parts and bf16_supported(device):
        report["step_ms"] = rows = step_times(corpus, device)
        for r in rows:
            print(
                f"training step, 1×{r['hidden_size']}, batch {r['batch_size']}×{r['seq_len']}: "
                f"fp32 {r['fp32']:.1f} ms, bf16 {r['bf16']:.1f} ms (×{r['fp32'] / r['bf16']:.2f})",
                flush=True,
            )
    if "quality" in parts:
        report["quality"] = q = quality(text, corpus, args.seconds, device)
        plain = q["plain_lstm_bpc"]
        print(f"validation bits/char after {args.seconds:g} s of training from scratch:")
        for precision in ("fp32", "bf16"):
            if f"charlstm_{precision}_bpc" in q:
                bpc = q[f"charlstm_{precision}_bpc"]
                print(
                    f"  charlstm {precision} ({q[f'charlstm_{precision}_shape']}, {q[f'charlstm_{precision}_steps']} "
                    f"steps): {bpc:.3f} (− plain fp32 = {bpc - plain:+.3f})"
                )
        print(f"  plain nn.LSTM fp32 (1×256, batch 16×64): {plain:.3f}")
        print(f"  tutorial design: {q['tutorial_bpc_lowercased']:.3f} (on lower-cased text)", flush=True)
    if args.json:
        print(json.dumps(report))
    return 0
