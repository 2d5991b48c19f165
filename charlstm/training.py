"""Training as a generator of progress records, and evaluation in bits per character.

``train`` yields a :class:`Progress` record a few times a second (at least every 0.25 s): the CLI prints it, the
app plots it, the tests assert on it. Stopping is closing the generator; the model keeps what it learned and
:class:`TrainState` keeps the optimiser, so a later ``train`` call continues. A divergence guard rolls back to
the last good weights and lowers the learning rate when the loss turns non-finite or explodes.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Generator
from dataclasses import dataclass, field, replace

import torch
import torch.nn.functional as F

from .config import TrainConfig
from .data import Corpus, random_batch
from .distributed import SINGLE, World
from .evaluation import LN2, evaluate
from .model import CharLSTM, start_from_frequencies
from .precision import autocast, resolve_precision
from .sampling import sample

REPORT_INTERVAL = 0.2  # seconds between records; a caller can always stop within a step of this
EVAL_CHARS = 8192  # validation characters per in-training evaluation: 16 windows of 512, about 0.08 s for 1×256
SAMPLE_CHARS = 120
EVAL_COST_FACTOR = 10  # evaluate at most every this many times an evaluation's duration
MAX_ROLLBACKS = 8
ROLLBACK_LR_FACTOR = 0.25
HISTORY_LIMIT = 500
OPENING_WINDOWS = 8  # training windows the first record's training loss is measured on
MEMORISING_MARGIN = 0.035  # nats/char (0.05 bits) above the best validation: more than evaluation noise
MEMORISING_PATIENCE = 3  # evaluations in a row that say "memorising" before stop_when_memorising ends a run
RANK_SEED_STRIDE = 1_000_003  # under torchrun, rank r draws its windows from seed + r × this: its own windows


@dataclass(frozen=True)
class Progress:
    """One progress report. ``kind`` is "train", "eval" (validation and a sample), "rollback" or "done".

    The first record of every run is an evaluation that carries both losses (the training loss measured on the
    training text), so a plot made from the records has both series from its first point.
    """

    kind: str
    step: int
    elapsed: float  # seconds of training so far, over every run of this model
    chars_seen: int
    train_loss: float | None  # mean nats/char over the steps since the last record
    learning_rate: float
    chars_per_s: float  # this run's training throughput
    val_loss: float | None = None  # nats/char
    val_bpc: float | None = None
    sample: str | None = None
    message: str | None = None
    best_bpc: float | None = None  # the best validation of this run so far
    best_elapsed: float | None = None  # when it was measured (seconds of training): keep-best returns there
    memorising: bool = False  # validation has risen from its best while the training loss kept falling
    # on "done": when keep-best put back earlier weights, the seconds of training they come from (their validation
    # is ``val_bpc``); None when the model ends with its latest weights
    kept_from: float | None = None


@dataclass
class TrainState:
    """What continuing needs besides the weights: optimiser moments, counters, guard state and history."""

    optimizer: torch.optim.Optimizer
    step: int = 0
    elapsed: float = 0.0
    chars_seen: int = 0
    lr_scale: float = 1.0  # lowered by the divergence guard
    history: list[dict] = field(default_factory=list)  # evaluations: step, elapsed seconds, val_loss (nats)


def new_state(model: CharLSTM) -> TrainState:
    """A fresh Adam optimiser for ``model`` (the fused kernel: the same updates, a little faster).

    beta1 = 0.8 (shorter momentum than the usual 0.9) scored slightly better on one-minute budgets.
    """
    fused = model.device.type in ("cpu", "cuda")
    return TrainState(torch.optim.Adam(model.parameters(), betas=(0.8, 0.999), fused=fused))


def learning_rate(config: TrainConfig, fraction: float) -> float:
    """The schedule at ``fraction`` of the budget: a linear warm-up, then a cosine decay to the final fraction."""
    if fraction < config.warmup_fraction:
        return config.learning_rate * (fraction + 1e-3) / (config.warmup_fraction + 1e-3)
    decay = min(1.0, (fraction - config.warmup_fraction) / (1 - config.warmup_fraction))
    end = config.final_lr_fraction
    return config.learning_rate * (end + (1 - end) * 0.5 * (1 + math.cos(math.pi * decay)))


def train(
    model: CharLSTM,
    corpus: Corpus,
    config: TrainConfig,
    state: TrainState | None = None,
    *,
    start_head: bool = True,
    world: World = SINGLE,
    steps_done: int = 0,
) -> Generator[Progress, None, None]:
    """Train ``model`` on ``corpus`` within the budget of ``config``, yielding progress records.

    ``state`` carries the optimiser between runs (pass the one a previous run used to continue). The budget
    counts training time; the short evaluations on top of it take a few percent more. ``start_head`` lets a
    fresh model (step 0) start its head from the corpus's character frequencies; a pretrained model passes
    False, since its head already knows better. ``world`` is this process's place under torchrun
    (:mod:`charlstm.distributed`): every rank yields the same kinds of records, only rank 0's carry a sample.
    ``steps_done`` steps of a step budget were taken by an earlier run that stopped (a long pretraining resumed
    from its last checkpoint): the budget and the learning-rate schedule go on from there.
    """
    run = _Loop(model, corpus, config, state or new_state(model), world, steps_done)
    model.train()
    try:
        # where we start from: both losses before the first update
        if run.state.step == 0 and start_head:
            start_from_frequencies(model, corpus.train)
        run.net = world.wrap(model)  # under torchrun: every rank starts from rank 0's weights
        yield run.evaluation("eval", with_train=True)
        while run.fraction < 1.0:
            if not run.step():  # one optimiser step; afterwards every rank knows the same loss and clock
                yield run.rollback()
                if run.rollbacks > MAX_ROLLBACKS:
                    return
            elif run.eval_now:
                yield run.evaluation("eval")
                # early stop: more training would only learn the text by heart
                if config.stop_when_memorising and run.memorising_streak >= MEMORISING_PATIENCE:
                    break
            elif run.report_now:
                yield run.report("train")
        yield run.finish()
    finally:
        # the gradients are only needed within a step: a finished model holding them costs one more copy of its
        # weights (a room of trained sessions measured 117 MB each where 92 MB were counted)
        run.state.optimizer.zero_grad(set_to_none=True)
        model.eval()


class _Loop:
    """The bookkeeping of one ``train`` call: budget, counters, the running loss, the snapshots it may restore."""

    def __init__(
        self, model: CharLSTM, corpus: Corpus, config: TrainConfig, state: TrainState, world: World, steps_done: int = 0
    ) -> None:
        self.model, self.corpus, self.config, self.state, self.world = model, corpus, config, state, world
        self.steps_done = steps_done  # of the step budget, by an earlier run this one continues
        self.net: torch.nn.Module = model  # what a step calls: the model, or under torchrun its DDP wrapper
        self.precision = resolve_precision(config.precision, model.device)
        self.batch_size = world.share_of(config.batch_size)  # this rank's windows
        seed = config.seed + state.step + world.rank * RANK_SEED_STRIDE  # a continuation (and each rank) draws anew
        self.generator = torch.Generator().manual_seed(seed)
        self.chars_per_step = config.batch_size * min(config.seq_len, len(corpus.train) - 1)
        self.eval_chars = EVAL_CHARS  # the same spread-out windows every time, so the curve is comparable
        self.eval_every = min(config.eval_interval, max(0.5, (config.seconds or math.inf) / 40))
        self.eval_cost = 0.0  # seconds the last evaluation took
        self.good = self.best = _snapshot(model, state)  # rollback target; best validation so far
        self.best_loss = math.inf
        self.best_elapsed: float | None = None
        self.train_at_best: float | None = None  # the training loss when validation was best
        self.memorising_streak = 0  # evaluations in a row that found the model memorising
        self.last_mean: float | None = None  # the latest mean training loss reported
        self.rollbacks = self.steps = 0
        self.train_time = self.since_eval = self.loss_sum = 0.0
        self.loss_count = 0
        self.last_loss = math.nan
        self.last_report = time.perf_counter()
        # what comes after the last step, decided by rank 0's clock (on one process, its own)
        self.fraction, self.eval_now, self.report_now = self.local_fraction(0), False, False
        self.lr = learning_rate(config, self.fraction) * state.lr_scale

    def local_fraction(self, steps: int) -> float:
        """The share of the budget spent after ``steps`` steps of this call, by this process's clock."""
        config = self.config
        by_time = self.train_time / config.seconds if config.seconds else 0.0
        return max(by_time, (self.steps_done + steps) / config.steps if config.steps else 0.0)

    def eval_due(self) -> float:
        """Seconds of training between evaluations: the budget's share, but never so often that evaluating
        (a large model on a long validation text) takes more than a tenth of the time."""
        return max(self.eval_every, EVAL_COST_FACTOR * self.eval_cost)

    def steps_due(self, steps: int) -> bool:
        budget = self.config.steps
        return budget is not None and budget > 0 and (self.steps_done + steps) % max(1, budget // 20) == 0

    def recent_loss(self) -> float | None:
        return self.loss_sum / self.loss_count if self.loss_count else None

    def step(self) -> bool:
        """One optimiser step; False when the divergence guard rejects its loss."""
        self.lr = learning_rate(self.config, self.fraction) * self.state.lr_scale
        started = time.perf_counter()
        loss = _step(self, self.lr)
        elapsed = time.perf_counter() - started
        self.train_time += elapsed
        self.since_eval += elapsed
        self.state.elapsed += elapsed
        # under torchrun every rank must take the same branch next: the loss averaged over the ranks, rank 0's clock
        done = self.steps + 1  # if the guard accepts this step
        decisions = [
            self.local_fraction(done),
            self.local_fraction(self.steps),  # if it rejects it
            self.since_eval >= self.eval_due() or self.steps_due(done),
            time.perf_counter() - self.last_report >= REPORT_INTERVAL,
        ]
        loss, (accepted, rejected, eval_now, report_now) = self.world.agree(loss, decisions)
        self.eval_now, self.report_now = bool(eval_now), bool(report_now)
        self.last_loss = loss
        if _exploded(loss, self.recent_loss(), self.model.vocab_size):
            self.fraction = rejected
            return False
        self.fraction = accepted
        self.steps += 1
        self.state.step += 1
        self.state.chars_seen += self.chars_per_step
        self.loss_sum += loss
        self.loss_count += 1
        return True

    def report(self, kind: str, **extra) -> Progress:
        mean = self.recent_loss()
        self.last_mean = mean if mean is not None else self.last_mean
        self.loss_sum, self.loss_count = 0.0, 0
        self.last_report = time.perf_counter()
        cps = self.steps * self.chars_per_step / self.train_time if self.train_time > 0 else 0.0
        s = self.state
        return Progress(kind, s.step, s.elapsed, s.chars_seen, mean, self.lr, cps, **extra)

    def evaluation(self, kind: str, with_train: bool = False) -> Progress:
        """Validation loss and a sample; snapshots the weights when they are sound, and when they are the best.

        ``with_train`` also measures the training loss on the training text (the first record has no steps
        to average over yet)."""
        self.since_eval, started = 0.0, time.perf_counter()
        val_loss, text = math.nan, None
        if self.world.main:  # under torchrun, rank 0 evaluates and the others wait for its verdict
            # validation: the same spread-out windows every time, state carried along each
            val_loss = evaluate(
                self.model,
                self.corpus.val,
                streams=16,
                max_chars=self.eval_chars,
                unknown_cost=self.corpus.unknown_cost,
            ).loss
            # a sample from an empty seed, always with the same random numbers, so samples compare across time
            generator = torch.Generator().manual_seed(0)
            text = sample(self.model, self.corpus.vocab, "", SAMPLE_CHARS, temperature=0.8, generator=generator)
        val_loss = self.world.share(val_loss)
        if with_train and self.loss_count == 0:  # the training curve's first point: one batch, no update
            self.loss_sum, self.loss_count = _batch_loss(self.model, self.corpus.train, self.config), 1
        recent = self.recent_loss()
        recent = self.last_mean if recent is None else recent  # no step since the last record: the last known
        # keep-best and the divergence guard: remember sound weights, and the best ones
        if not _exploded(val_loss, recent, self.model.vocab_size):
            self.good = _snapshot(self.model, self.state)
            if val_loss < self.best_loss:
                self.best, self.best_loss = self.good, val_loss
                self.best_elapsed, self.train_at_best = self.state.elapsed, recent
        self.state.history.append(
            {"step": self.state.step, "elapsed": round(self.state.elapsed, 3), "val_loss": val_loss}
        )
        del self.state.history[:-HISTORY_LIMIT]
        self.eval_cost = time.perf_counter() - started
        # memorising: validation clearly above its best while the training loss is below where it was then
        memorising = (
            val_loss > self.best_loss + MEMORISING_MARGIN
            and recent is not None
            and self.train_at_best is not None
            and recent < self.train_at_best
        )
        self.memorising_streak = self.memorising_streak + 1 if memorising else 0
        return self.report(
            kind,
            val_loss=val_loss,
            val_bpc=val_loss / LN2,
            sample=text,
            best_bpc=self.best_loss / LN2 if math.isfinite(self.best_loss) else None,
            best_elapsed=self.best_elapsed,
            memorising=memorising,
        )

    def rollback(self) -> Progress:
        """Return to the last sound weights with a lower learning rate; give up after too many tries."""
        self.rollbacks += 1
        self.state.lr_scale *= ROLLBACK_LR_FACTOR
        _restore(self.model, self.state, self.good)
        loss = self.last_loss
        what = "became non-finite" if not math.isfinite(loss) else f"exploded to {loss:.3g}"
        if self.rollbacks > MAX_ROLLBACKS:
            return self.report(
                "done",
                message=f"training kept diverging; stopped at step {self.state.step} with "
                "the last good weights. Try a lower learning rate.",
            )
        new_lr = learning_rate(self.config, self.fraction) * self.state.lr_scale
        return self.report(
            "rollback",
            message=f"loss {what}: rolled back to the last good weights and lowered the learning rate to {new_lr:.3g} "
            f"(rollback {self.rollbacks} of at most {MAX_ROLLBACKS})",
        )

    def finish(self) -> Progress:
        """The final evaluation; with ``keep_best``, the best-validation weights replace worse final ones."""
        final = self.evaluation("done")
        early = self.fraction < 1.0  # stop_when_memorising ended the run
        if early:
            budget = f" of the {self.config.seconds:g} s budget" if self.config.seconds else ""
            stopped = f"stopped early, after {self.train_time:.0f} s{budget}: "
        else:
            stopped = ""
        final_loss = math.inf if final.val_loss is None else final.val_loss  # (an evaluation always has one)
        if not self.config.keep_best or self.best_loss >= final_loss - 1e-3:
            if early:
                return replace(final, message=stopped + "the model had started memorising the text")
            return final
        _restore(self.model, self.state, self.best)
        best_bpc = self.best_loss / LN2
        if final.memorising or early:
            why = (
                f"{stopped}the model started memorising the text: validation rose from its best, {best_bpc:.3f} "
                f"bits/char at {self.best_elapsed:.0f} s, to {final.val_bpc:.3f}, while the training loss kept "
                f"falling. Kept the weights from {self.best_elapsed:.0f} s"
            )
        else:
            why = (
                f"validation was best at {self.best_elapsed:.0f} s ({best_bpc:.3f} bits/char, against "
                f"{final.val_bpc:.3f} at the end): kept the weights from then"
            )
        return replace(final, val_loss=self.best_loss, val_bpc=best_bpc, message=why, kept_from=self.best_elapsed)


def _step(run: _Loop, lr: float) -> float:
    """One optimiser step on a fresh batch of random windows; returns its loss (nats/char) before the update."""
    model, optimizer, config = run.model, run.state.optimizer, run.config
    # this rank's windows, each with a target at every position
    x, y = random_batch(run.corpus.train, run.batch_size, config.seq_len, run.generator, model.device)  # (B, T)
    # forward: the matrix products in bfloat16 when so chosen (the weights themselves stay float32)
    with autocast(model.device, run.precision):
        logits, _ = run.net(x)  # (B, T, V)
    loss = F.cross_entropy(logits.float().flatten(0, 1), y.flatten())  # the loss itself in float32
    value = loss.item()
    if not math.isfinite(value) and run.world.size == 1:  # nothing to learn from (under torchrun, step together)
        return value
    # backward: under torchrun the gradients are averaged over the ranks here
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    # clip and step; a non-finite gradient norm skips the update (every rank sees the same averaged gradients)
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
    if not torch.isfinite(norm):
        return math.nan
    for group in optimizer.param_groups:
        group["lr"] = lr
    optimizer.step()
    return value


@torch.no_grad()
def _batch_loss(model: CharLSTM, ids: torch.Tensor, config: TrainConfig) -> float:
    """The loss of training windows as a step would see them (dropout on), without updating anything: what the
    training curve measures, before the first step. At most :data:`OPENING_WINDOWS` of them: the first point
    of the plot should not keep the learner waiting (a whole batch of a 1×512 model took 0.18 s)."""
    windows = min(config.batch_size, OPENING_WINDOWS)
    x, y = random_batch(ids, windows, config.seq_len, torch.Generator().manual_seed(config.seed), model.device)
    logits, _ = model(x)  # (B, T, V)
    return F.cross_entropy(logits.flatten(0, 1), y.flatten()).item()


def _exploded(loss: float, recent: float | None, vocab_size: int) -> bool:
    # Far above both the recent mean and a uniform guess: the last update threw the weights off.
    return not math.isfinite(loss) or loss > max(recent or 0.0, math.log(vocab_size)) + 3.0


def _snapshot(model: CharLSTM, state: TrainState) -> tuple[dict, dict]:
    weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
    return weights, copy.deepcopy(state.optimizer.state_dict())


def _restore(model: CharLSTM, state: TrainState, good: tuple[dict, dict]) -> None:
    model.load_state_dict(good[0])
    state.optimizer.load_state_dict(copy.deepcopy(good[1]))
