"""``python -m charlstm``: train, sample, eval, reach and bench from the command line.

Subcommands and flags are stable (scripts depend on them). Every bad argument ends the program with a
non-zero status and a one-line message, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import sys
import time
from collections.abc import Sequence
from dataclasses import fields
from typing import NoReturn

import torch

from .checkpoint import CheckpointError, load
from .config import CELLS, DEFAULT_SECONDS, PRESET_NAMES, ConfigError, ModelConfig, SampleConfig, TrainConfig
from .data import CorpusError, read_text, unknown_cost
from .evaluation import LN2, evaluate
from .lab.reach import DEFAULT_DISTANCE, DEFAULT_POSITIONS, MAX_DISTANCE, MAX_POSITIONS, memory_reach
from .machine import distributed
from .machine.device import DEVICES, resolve_device
from .machine.distributed import SINGLE, World
from .machine.precision import NAMES, PRECISIONS, resolve_precision
from .paths import model_path
from .run import Run, plan
from .sampling import SamplingError, generate
from .training import RANK_SEED_STRIDE, Progress
from .vocab import MAX_VOCAB, Vocab, VocabError

USER_ERRORS = (CorpusError, ConfigError, CheckpointError, SamplingError, VocabError, ValueError, OSError)
SAMPLING = SampleConfig()
TRAIN_FIELDS = {f.name for f in fields(TrainConfig)}
KNOBS = [f for cls in (ModelConfig, TrainConfig) for f in fields(cls) if f.name not in ("seconds", "steps")]
SHAPE = ("hidden_size", "num_layers", "embedding_size")  # a run from the base model takes the base's shape


def flag(name: str) -> str:
    """The command-line flag of a config field: ``hidden_size`` is ``--hidden-size`` (the parser's and
    :func:`train_command`'s one spelling rule)."""
    return "--" + name.replace("_", "-")


def train_command(
    seconds: float,
    auto: bool,
    knobs: dict,
    init: str = "auto",
    keep_best: bool = TrainConfig.keep_best,
    cell: str = "lstm",
) -> str:
    """The ``python -m charlstm train`` command that trains the way the app's Train tab was set (``auto``: the
    size chosen from the text, so ``knobs`` are left out): the app shows it, and the run report prints it."""
    parts = ["python", "-m", "charlstm", "train", "--corpus", "corpus.txt", "--seconds", f"{seconds:g}"]
    parts += ["--init", init]
    if not auto:
        for name, value in knobs.items():
            if init == "scratch" or name not in SHAPE:
                parts += [flag(name), f"{value:g}"]
    if cell != "lstm":  # another cell starts from random weights (the base model is an LSTM)
        parts += ["--cell", cell]
    if not keep_best:
        parts.append("--no-keep-best")
    if init != "auto":  # the app stops a run that only memorises; the CLI does so by itself only with auto
        parts.append("--stop-when-memorising")
    return shlex.join([*parts, "--out", "model.safetensors", "--plot", "loss.png"])


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, no usage dump
        self.exit(2, f"{self.prog}: error: {message}\n")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def _vocab_size(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0  # refused below, with the range
    if not 2 <= value <= MAX_VOCAB:
        raise argparse.ArgumentTypeError(f"{text} is not between 2 and {MAX_VOCAB:,} characters")
    return value


MODEL_HELP = "a .safetensors checkpoint, or the shipped models: default (tiny Shakespeare) or base"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m charlstm", description="Character-level LSTM: train, sample, evaluate.")
    parser.add_argument("--device", choices=DEVICES, default="auto", help="where to compute (default: auto)")
    parser.add_argument("--threads", type=int, help="CPU threads for torch (default: torch's choice)")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    t = sub.add_parser("train", help="train a model on a text file")
    t.add_argument("--corpus", required=True, help="UTF-8 text file to learn")
    t.add_argument("--val", help="separate validation text (default: the last 10%% of the corpus)")
    t.add_argument(
        "--seconds", type=_finite, help=f"training-time budget (default: {DEFAULT_SECONDS:g} unless --steps is given)"
    )
    t.add_argument("--steps", type=int, help="optimiser-step budget")
    t.add_argument("--preset", choices=PRESET_NAMES, default="auto", help="model size (default: auto)")
    t.add_argument(
        "--init",
        default="auto",
        metavar="auto|scratch|base|multilingual|FILE",
        help="where the weights start: chosen from the text (default), random, a shipped base model (base: "
        "reads English; multilingual: the world's common scripts), or a checkpoint file (its weights, with a "
        "fresh optimiser)",
    )
    t.add_argument("--resume", help="continue training this checkpoint (weights and optimiser)")
    t.add_argument(
        "--vocab",
        choices=("text", "latin"),
        default="text",
        help="the characters a new model knows: the corpus's own (default), or the base model's Latin alphabet",
    )
    t.add_argument("--out", required=True, help="where to write the .safetensors checkpoint")
    t.add_argument("--json", action="store_true", help="end with one JSON line of results")
    t.add_argument("--plot", help="save the loss curves to this PNG")
    t.add_argument("--no-optimizer", action="store_true", help="leave the optimiser state out (a third the size)")
    t.add_argument(
        "--save-every",
        type=_finite,
        metavar="SECONDS",
        help="also write --out (with the optimiser state) every this many seconds while training, so a long run "
        "that is stopped can be resumed with --resume OUT --resume-schedule; if keep-best then puts earlier weights "
        "back, the last such file is kept as OUT-last.safetensors",
    )
    t.add_argument(
        "--resume-schedule",
        action="store_true",
        help="with --resume and --steps N: finish an interrupted run of N steps (the checkpoint's steps count, "
        "and the learning rate goes on along the same schedule)",
    )
    t.add_argument(
        "--max-vocab",
        type=_vocab_size,
        default=MAX_VOCAB,
        help=f"the most characters the model keeps, the corpus's most frequent: a new model's vocabulary, or the "
        f"most a pretrained model's grows to (2 to {MAX_VOCAB:,}; default: {MAX_VOCAB:,})",
    )
    for f in KNOBS:
        if f.type == "bool":
            t.add_argument(flag(f.name), dest=f.name, action=argparse.BooleanOptionalAction, help=f"override {f.name}")
        elif f.name == "cell":
            t.add_argument(
                flag(f.name),
                dest=f.name,
                choices=CELLS,
                help="the recurrent cell: lstm (default), gru or rnn (plain, tanh); gru and rnn train from scratch",
            )
        elif f.name == "precision":
            t.add_argument(
                flag(f.name),
                dest=f.name,
                choices=PRECISIONS,
                help="the forward pass's numbers: auto (default: bf16 where the CPU or GPU has it natively), fp32 "
                "or bf16; checkpoints are always float32",
            )
        else:
            kind = _finite if f.type == "float" else int
            t.add_argument(flag(f.name), dest=f.name, type=kind, help=f"override {f.name}")

    s = sub.add_parser("sample", help="generate text from a checkpoint")
    s.add_argument("--model", default="default", help=MODEL_HELP)
    s.add_argument("--prompt", default="", help="seed text the model continues")
    s.add_argument("--length", type=int, default=SAMPLING.length)
    s.add_argument("--temperature", type=_finite, default=SAMPLING.temperature, help="0 is greedy")
    s.add_argument("--top-k", type=int, default=SAMPLING.top_k, help="0 keeps every character")
    s.add_argument("--top-p", type=_finite, default=SAMPLING.top_p)
    s.add_argument("--seed", type=int, default=SAMPLING.seed, help="random seed (same seed, same text)")

    e = sub.add_parser("eval", help="bits per character of a text under a checkpoint")
    e.add_argument("--model", required=True, help=MODEL_HELP)
    e.add_argument("--text", required=True)
    e.add_argument("--json", action="store_true")

    r = sub.add_parser("reach", help="how far back a checkpoint's predictions depend on what it read")
    r.add_argument("--model", required=True, help=MODEL_HELP)
    r.add_argument("--text", required=True, help="reference text (UTF-8) the predictions are taken from")
    r.add_argument(
        "--max-distance", type=int, default=DEFAULT_DISTANCE, help=f"characters back, at most {MAX_DISTANCE}"
    )
    r.add_argument(
        "--positions", type=int, default=DEFAULT_POSITIONS, help=f"predictions averaged, at most {MAX_POSITIONS}"
    )
    r.add_argument("--json", action="store_true")

    b = sub.add_parser("bench", help="measure speed and time-to-quality")
    b.add_argument("--json", action="store_true")
    b.add_argument("--seconds", type=_finite, default=DEFAULT_SECONDS, help="training budget for the quality race")
    b.add_argument(
        "--only",
        choices=("throughput", "generation", "precision", "quality"),
        action="append",
        help="run only these parts (repeatable)",
    )
    b.add_argument("--corpus", help="corpus for the benchmarks (default: the bundled tiny Shakespeare)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.threads is not None:
            if args.threads < 1:
                raise ValueError("--threads must be at least 1")
            torch.set_num_threads(args.threads)
        device = resolve_device(args.device)
        if distributed.launched():  # one of several processes started by torchrun
            if args.command != "train":
                raise ValueError(f"torchrun runs `train` on several processes; run `{args.command}` as one process")
            return _train_together(args, device)
        commands = {"train": _train, "sample": _sample, "eval": _eval, "reach": _reach, "bench": _bench}
        return commands[args.command](args, device)
    except USER_ERRORS as e:
        print(f"{parser.prog}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted", file=sys.stderr)
        return 130


def _train_together(args: argparse.Namespace, device: torch.device) -> int:
    """``train`` as one rank of a torchrun job: every rank trains, rank 0 alone prints and saves."""
    world, device = distributed.start(device)
    try:
        return _train(args, device, world)
    finally:
        distributed.finish(world)


def _train(args: argparse.Namespace, device: torch.device, world: World = SINGLE) -> int:
    text = read_text(args.corpus)
    val_text = read_text(args.val) if args.val else None
    seconds = args.seconds if args.seconds is not None or args.steps is not None else DEFAULT_SECONDS
    knobs = {f.name: getattr(args, f.name) for f in KNOBS}
    # the same command trains the same model (on the same machine): the random start of the weights and dropout's
    # masks draw from the run's seed, each rank its own stream under torchrun (every rank starts from rank 0's weights)
    seed = TrainConfig.seed if args.seed is None else args.seed
    torch.manual_seed(seed + world.rank * RANK_SEED_STRIDE)
    if args.resume:  # the checkpoint's own settings, with this run's budget and any flag given
        if args.init != "auto":
            raise ValueError("--resume continues a checkpoint; it cannot be combined with --init")
        run = Run.resume(args.resume, device)
        corpus = run.corpus(text, val_text, args.max_vocab)
        given = {k: v for k, v in knobs.items() if v is not None and k in TRAIN_FIELDS}
        config = run.continued(seconds, args.steps, **given)
    else:
        if args.vocab == "latin" and args.init != "scratch":
            raise ValueError("--vocab latin sets a new model's characters: use it with --init scratch")
        the_plan = plan(
            text, args.init, seconds, args.steps, args.preset, device=device, max_vocab=args.max_vocab, **knobs
        )
        vocab = Vocab.latin() if args.vocab == "latin" else None
        run, corpus = Run.start(text, the_plan, val_text=val_text, vocab=vocab, device=device, max_vocab=args.max_vocab)
        config = the_plan.train_config  # the run's own, as Run.start set it
    out = sys.stderr if args.json else sys.stdout
    precision = resolve_precision(config.precision, device)  # refuses bf16 where it is not native, before training
    notes = [*run.notes, f"computing in {NAMES[precision]} ({config.precision}); the checkpoint is float32"]
    if world.size > 1:
        per_rank = world.share_of(config.batch_size)  # (refuses a batch that does not split evenly)
        notes.append(f"{world.size} processes (torchrun), each {per_rank} of the {config.batch_size} windows a step")
    for note in notes if world.main else ():
        print(note, file=out)
    if args.resume_schedule and not (args.resume and config.steps):
        raise ValueError("--resume-schedule finishes a run of --steps N: give --resume and --steps")
    if args.save_every is not None and args.save_every <= 0:
        raise ValueError("--save-every must be a positive number of seconds")
    steps_done = run.train_state.step if args.resume_schedule else 0
    records: list[Progress] = []
    runner, before = run.train(corpus, config, world, steps_done), run.train_state.elapsed
    saved = time.monotonic()
    try:
        for record in runner:
            records.append(record)
            if world.main:
                print(format_progress(record, config, before), file=out, flush=True)
                if args.save_every and time.monotonic() - saved >= args.save_every and record.kind != "done":
                    _save_now(run, args.out)
                    saved = time.monotonic()
                    print(f"saved {args.out} at step {run.train_state.step}", file=out, flush=True)
    except KeyboardInterrupt:  # (under torchrun every rank is interrupted; rank 0 saves)
        if world.main:
            print("stopped: saving the weights learned so far", file=out, flush=True)
    finally:
        runner.close()
    if not records:
        raise ValueError("training produced no progress")
    if not world.main:  # rank 0 writes the one checkpoint
        return 0
    if records[-1].kept_from is not None and args.save_every and os.path.exists(args.out):
        # keep-best put earlier weights back: a long run's last checkpoint holds what it learned since, so it is
        # kept beside them rather than overwritten (a pretraining whose validation text earlier runs read can
        # score best at its start, and lose hours of learning to keep-best)
        stem, suffix = os.path.splitext(args.out)
        later = f"{stem}-last{suffix or '.safetensors'}"
        os.replace(args.out, later)
        note = f"keep-best put back the weights from {records[-1].kept_from:.0f} s; the checkpoint written last"
        print(f"{note} while training is kept as {later} (--resume it)", file=out)
    run.save(args.out, include_optimizer=not args.no_optimizer)
    result = evaluate(run.model, corpus.val, unknown_cost=corpus.unknown_cost)
    if args.plot:
        from .plot import save_loss_plot

        save_loss_plot(records, args.plot)
    last = records[-1]
    summary = {
        "val_loss": result.loss,
        "val_bpc": result.bpc,
        "steps": last.step,
        "seconds": round(last.elapsed, 3),
        "chars_per_s": round(last.chars_per_s),
        "chars_seen": last.chars_seen,
        "init": run.init,
        "out": str(args.out),
    }
    print(f"saved {args.out}: validation {result.bpc:.3f} bits/char ({result.loss:.3f} nats/char)", file=out)
    if args.json:
        print(json.dumps(summary), flush=True)
    return 0


def _save_now(run: Run, out: str) -> None:
    """Write the run as it is (weights and optimiser) without ever leaving a half-written file at ``out``."""
    partial = f"{out}.partial"
    run.save(partial, include_optimizer=True)
    os.replace(partial, out)


def format_progress(p: Progress, config: TrainConfig, before: float = 0.0) -> str:
    """One human-readable line per record, with a progress bar of this run when the budget is in seconds."""
    bar = ""
    if config.seconds:
        done = min(1.0, (p.elapsed - before) / config.seconds) if p.kind != "done" else 1.0
        bar = "[" + "#" * round(20 * done) + "." * (20 - round(20 * done)) + "] "
    parts = [f"{bar}step {p.step:>6}", f"{p.elapsed:6.1f}s"]
    if p.train_loss is not None:
        parts.append(f"train {p.train_loss / LN2:.3f} bpc")
    if p.val_bpc is not None:
        parts.append(f"val {p.val_bpc:.3f} bpc")
    parts += [f"{p.chars_per_s / 1000:5.1f}k chars/s", f"lr {p.learning_rate:.2e}"]
    line = "  ".join(parts)
    if p.message:
        line += f"\n  ! {p.message}"
    if p.sample:
        line += "\n  sample: " + p.sample.replace("\n", "⏎")[:100]
    return line


def _sample(args: argparse.Namespace, device: torch.device) -> int:
    checkpoint = load(model_path(args.model), device)
    steps = generate(
        checkpoint.model,
        checkpoint.vocab,
        args.prompt,
        args.length,
        args.temperature,
        args.top_k,
        args.top_p,
        torch.Generator().manual_seed(args.seed),
    )
    sys.stdout.write(args.prompt)
    for step in steps:
        sys.stdout.write(step.char)
        sys.stdout.flush()
    sys.stdout.write("\n")
    return 0


def _eval(args: argparse.Namespace, device: torch.device) -> int:
    checkpoint = load(model_path(args.model), device)
    text = read_text(args.text)
    if len(text) < 2:
        raise CorpusError("the text needs at least two characters to evaluate")
    result = evaluate(
        checkpoint.model, checkpoint.vocab.encode(text), unknown_cost=unknown_cost(text, checkpoint.vocab)
    )
    unknown = len(checkpoint.vocab.unknown_in(text))
    if args.json:
        print(json.dumps({"bpc": result.bpc, "loss": result.loss, "chars": result.chars, "unknown_chars": unknown}))
    else:
        print(f"{result.bpc:.4f} bits per character ({result.loss:.4f} nats) over {result.chars:,} predictions")
        if unknown:
            print(f"note: {unknown} distinct characters of the text are not in the model's vocabulary")
    return 0


def _reach(args: argparse.Namespace, device: torch.device) -> int:
    checkpoint = load(model_path(args.model), device)
    text = read_text(args.text)
    result = memory_reach(checkpoint.model, checkpoint.vocab, text, args.max_distance, args.positions)
    if args.json:
        keys = ("cell", "distances", "strength", "half_life")
        print(json.dumps({k: getattr(result, k) for k in keys}))
        return 0
    print(f"{result.cell.upper()}: how much the prediction depends on the character k back", end=" ")
    print(f"(mean gradient norm over {result.positions} predictions; bars on a log scale, 5 # per factor of 10)")
    top = max(result.strength)
    shown = [k for k in (1, 2, 3, 5, 10, 20, 30, 50, 75, 100, 150, 200, 300, 400, 500) if k <= len(result.distances)]
    for k in dict.fromkeys([*shown, len(result.distances)]):
        value = result.strength[k - 1]
        width = round(5 * (8 + math.log10(value / top))) if value > 0 and top > 0 else 0  # 8 decades shown
        print(f"{k:>5} back  {value:10.3e}  {'#' * max(0, width)}")
    if result.half_life is None:
        print("half-life: cannot be fitted (the strength does not fall over these distances)")
    else:
        print(f"half-life: {result.half_life:.1f} characters (the strength halves every this many characters back)")
    return 0


def _bench(args: argparse.Namespace, device: torch.device) -> int:
    from .bench import run

    return run(args, device)
