"""Training: show the model random windows of the text, measure how badly it guessed each next character, and
nudge every weight to guess better. Read :func:`train` top to bottom: it is the whole loop.

``train`` is a generator: it yields a :class:`Progress` record a few times a second (at least every 0.25 s), which
the CLI prints, the app plots and the tests assert on. Stopping is closing the generator: the model keeps what it
learned, and :class:`TrainState` keeps the optimiser, so a later ``train`` call continues where this one stopped.
The guards against a diverging loss, a worse ending and memorising live in :mod:`charlstm.safeguards`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Generator
from dataclasses import dataclass, field, replace

import torch
import torch.nn.functional as F

from .config import SampleConfig, TrainConfig
from .data import Corpus, random_batch
from .evaluation import LN2, evaluate
from .machine.distributed import SINGLE, World
from .machine.precision import autocast, resolve_precision
from .model import CharLSTM, start_from_frequencies
from .renamed import renamed
from .safeguards import ROLLBACK_LR_FACTOR, Safeguards, exploded
from .sampling import LEAD_IN, lead_in, sample

REPORT_INTERVAL = 0.2  # seconds between records; a caller can always stop within a step of this
EVAL_CHARS = 8192  # validation characters per in-training evaluation: 16 windows of 512, about 0.08 s for 1×256
SAMPLE_CHARS = 120  # a sample per evaluation: two lines of text, enough to see spelling and words appear
EVAL_COST_FACTOR = 10  # evaluate at most every this many times an evaluation's duration
HISTORY_LIMIT = 500  # evaluations kept in TrainState.history (and so in a checkpoint)
OPENING_WINDOWS = 8  # training windows the first record's training loss is measured on
RANK_SEED_STRIDE = 1_000_003  # under torchrun, rank r draws its windows from seed + r × this: its own windows
# keep-best's blend from a pretrained start (:func:`_blend_back`): the shares of the way from the start's weights to
# the kept ones tried, in turn, while each predicts held-out text better than the one before by BLEND_MARGIN nats
BLEND_SHARES = (0.9, 0.8, 0.7, 0.6, 0.5)
BLEND_MARGIN = 1e-3


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
    # on "done": when keep-best blended the kept weights back toward a pretrained start, the share of the way from
    # the start to them where the model ends (0.7: 70%; ``val_bpc`` is the blend's); None when it did not
    blend: float | None = None


@dataclass
class TrainState:
    """What continuing needs besides the weights: optimiser moments, counters, guard state and history."""

    # Adam's two running averages per weight: without them a continuation would restart with a cold optimiser
    optimizer: torch.optim.Optimizer
    step: int = 0  # optimiser steps over every run of this model (the schedule and the window seed read it)
    elapsed: float = 0.0  # seconds of training over every run
    chars_seen: int = 0
    lr_scale: float = 1.0  # lowered by the divergence guard
    history: list[dict] = field(default_factory=list)  # evaluations: step, elapsed seconds, val_loss (nats)


def new_train_state(model: CharLSTM) -> TrainState:
    """A fresh Adam optimiser for ``model`` (the fused kernel: the same updates, a little faster).

    beta1 = 0.8 (shorter momentum than the usual 0.9) scored slightly better on one-minute budgets.
    """
    fused = model.device.type in ("cpu", "cuda")  # the fused kernel exists for these devices only
    # beta2 = 0.999 as usual: the second moment averages over about the last thousand steps
    return TrainState(torch.optim.Adam(model.parameters(), betas=(0.8, 0.999), fused=fused))


new_state = new_train_state  # old name, kept as an alias ("state" alone is also the model's (h, c))


def learning_rate(config: TrainConfig, fraction: float) -> float:
    """The schedule at ``fraction`` of the budget: a linear warm-up, then a cosine decay to the final fraction."""
    # warm-up: Adam's first steps rest on moments averaged over almost nothing, so they start small
    # (the 1e-3 gives the very first step a little learning rather than none)
    if fraction < config.warmup_fraction:
        return config.learning_rate * (fraction + 1e-3) / (config.warmup_fraction + 1e-3)
    # cosine decay: large steps while the loss falls fast, small ones at the end to settle into a minimum
    decay = min(1.0, (fraction - config.warmup_fraction) / (1 - config.warmup_fraction))
    end = config.final_lr_fraction
    return config.learning_rate * (end + (1 - end) * 0.5 * (1 + math.cos(math.pi * decay)))


@renamed(state="train_state")
def train(
    model: CharLSTM,
    corpus: Corpus,
    config: TrainConfig,
    train_state: TrainState | None = None,
    *,
    start_head: bool = True,
    world: World = SINGLE,
    steps_done: int = 0,
) -> Generator[Progress, None, None]:
    """Train ``model`` on ``corpus`` within the budget of ``config``, yielding progress records.

    ``train_state`` carries the optimiser between runs (pass the one a previous run used to continue). The budget
    counts training time; the short evaluations on top of it take a few percent more. ``start_head`` lets a
    fresh model (step 0) start its head from the corpus's character frequencies; a pretrained model passes
    False, since its head already knows better. ``world`` is this process's place under torchrun
    (:mod:`charlstm.machine.distributed`): every rank yields the same kinds of records, only rank 0's carry a sample.
    ``steps_done`` steps of a step budget were taken by an earlier run that stopped (a long pretraining resumed
    from its last checkpoint): the budget and the learning-rate schedule go on from there.
    """
    train_state = train_state or new_train_state(model)
    # -----------------------------------------------------------------------------------------------------------
    # setup: what this call needs besides the model and its optimiser
    precision = resolve_precision(config.precision, model.device)  # float32, or bfloat16 matrix products
    batch_size = world.share_of(config.batch_size)  # this rank's windows of a step (all of them on one process)
    # the windows' random numbers: a continuation (and each rank under torchrun) draws new windows, not the same
    generator = torch.Generator().manual_seed(config.seed + train_state.step + world.rank * RANK_SEED_STRIDE)
    chars_per_step = config.batch_size * min(config.seq_len, len(corpus.train) - 1)
    # about 40 evaluations over a time budget (a curve worth looking at), and never fewer than one per eval_interval
    eval_every = min(config.eval_interval, max(0.5, (config.seconds or math.inf) / 40))
    # the safeguards remember the last sound weights and the best ones, and watch for memorising
    guard = Safeguards(model, train_state.optimizer)
    seed_text = corpus_lead_in(corpus)  # every sample goes on from the text's end: the same seed text each time
    losses = _RunningLoss()  # the training loss since the last record: each record reports its mean
    steps = 0  # optimiser steps taken in this call (train_state.step counts every call's)
    train_time = since_eval = eval_cost = 0.0  # seconds: in steps; in steps since the last evaluation; evaluating
    fraction = _spent(config, 0.0, steps_done)  # the share of the budget spent; the loop ends at 1
    lr = learning_rate(config, fraction) * train_state.lr_scale
    last_report = time.perf_counter()
    net: torch.nn.Module = model  # what a step calls: the model, or under torchrun its DDP wrapper
    start: dict[str, torch.Tensor] | None = None  # a pretrained start's weights, for keep-best's blend at the end

    def record(kind: str, **extra) -> Progress:
        """A progress record of where the run stands now; the training loss's mean starts afresh after it."""
        nonlocal last_report
        # the mean training loss since the last record: one step's loss is too noisy to plot
        mean = losses.take()
        last_report = time.perf_counter()
        chars_per_s = steps * chars_per_step / train_time if train_time > 0 else 0.0
        return Progress(
            kind, train_state.step, train_state.elapsed, train_state.chars_seen, mean, lr, chars_per_s, **extra
        )

    def evaluation(kind: str, with_train: bool = False) -> Progress:
        """Validation loss and a sample, taken in by the safeguards. ``with_train``: also measure the training
        loss on one batch (the first record has no steps to average over yet, and its plot needs both curves)."""
        nonlocal since_eval, eval_cost
        since_eval, started = 0.0, time.perf_counter()
        # validation: the loss on text the model never trained on, the number that says whether it generalises
        val_loss, text = _validate(model, corpus, seed_text) if world.main else (math.nan, None)
        val_loss = world.share(val_loss)  # under torchrun, rank 0 evaluates and the others wait for its verdict
        if with_train and losses.count == 0:
            losses.add(_batch_loss(model, corpus.train, config))
        recent = losses.recent()  # the training loss now (the last reported one if no step came since)
        # keep-best and the divergence guard remember the weights if they are sound, and if they are the best
        memorising = guard.evaluated(val_loss, recent, train_state.elapsed)
        train_state.history.append(
            {"step": train_state.step, "elapsed": round(train_state.elapsed, 3), "val_loss": val_loss}
        )
        del train_state.history[:-HISTORY_LIMIT]  # bounded: a checkpoint carries it
        # what evaluating cost: the next one waits at least EVAL_COST_FACTOR times as long, so it stays a few %
        eval_cost = time.perf_counter() - started
        return record(
            kind,
            val_loss=val_loss,
            val_bpc=val_loss / LN2,
            sample=text,
            best_bpc=guard.best_bpc,
            best_elapsed=guard.best_elapsed,
            memorising=memorising,
        )

    model.train()  # dropout on
    try:
        # -------------------------------------------------------------------------------------------------------
        # where we start from: a fresh head guesses the text's character frequencies (not uniform: a better first
        # point, and the first steps go to learning what follows what), then both losses before any update
        if train_state.step == 0 and start_head:
            start_from_frequencies(model, corpus.train)
        net = world.wrap(model)  # under torchrun: every rank starts from rank 0's weights
        if config.keep_best and not start_head and train_state.step == 0:
            start = _weights(model)  # a model that already reads: keep-best may blend back toward it at the end
        yield evaluation("eval", with_train=True)
        while fraction < 1.0:
            # the learning rate at this point of the budget: warm-up, then cosine decay (and any rollback's cut)
            lr = learning_rate(config, fraction) * train_state.lr_scale
            # one optimiser step, timed: the budget counts training, not the evaluations on top of it
            started = time.perf_counter()
            x, y = random_batch(corpus.train, batch_size, config.seq_len, generator, model.device)  # (B, T) each
            loss = _step(net, model, x, y, train_state.optimizer, lr, config.grad_clip, precision, world.size)
            elapsed = time.perf_counter() - started
            # three clocks: this call's training time, the time since the last evaluation, and all runs' time
            train_time += elapsed
            since_eval += elapsed
            train_state.elapsed += elapsed
            # what comes next, decided alike on every rank: the loss averaged over the ranks, rank 0's clock
            decisions = [
                _spent(config, train_time, steps_done + steps + 1),  # the budget's share if the guard accepts it
                _spent(config, train_time, steps_done + steps),  # and if it rejects it
                since_eval >= max(eval_every, EVAL_COST_FACTOR * eval_cost)
                or _steps_due(config, steps_done + steps + 1),
                time.perf_counter() - last_report >= REPORT_INTERVAL,
            ]
            loss, (accepted, rejected, eval_now, report_now) = world.agree(loss, decisions)
            # the divergence guard: a non-finite or exploded loss rolls back to the last sound weights
            if exploded(loss, losses.mean(), model.vocab_size):
                fraction = rejected
                # a lower learning rate, for the rest of this run and the next
                train_state.lr_scale *= ROLLBACK_LR_FACTOR
                guard.roll_back()
                new_lr = learning_rate(config, fraction) * train_state.lr_scale
                message = guard.rollback_message(loss, new_lr, train_state.step)
                yield record("done" if guard.gave_up else "rollback", message=message)
                if guard.gave_up:  # the learning rate is hopeless: end with the last sound weights
                    return
                continue
            # the step counts
            fraction = accepted
            steps += 1
            train_state.step += 1
            train_state.chars_seen += chars_per_step
            losses.add(loss)
            if eval_now:
                # evaluate: validation loss, a sample, the safeguards' verdicts
                yield evaluation("eval")
                # early stop: more training would only learn the text by heart
                if config.stop_when_memorising and guard.memorised_long_enough():
                    break
            elif report_now:
                # report: the training loss since the last record
                yield record("train")
        # -------------------------------------------------------------------------------------------------------
        # the end: a final evaluation; keep-best puts back the best weights if the final ones are worse
        final = evaluation("done")
        early = fraction < 1.0  # the memorising stop ended the run
        ending = guard.ending(final.val_loss, final.val_bpc, final.memorising, config, early, train_time)
        # from a pretrained start, keep-best then moves the kept weights back toward it as far as that helps
        if start is not None:
            train_state.optimizer.zero_grad(set_to_none=True)  # the gradients' memory, for the blend's copy
            ending = _blend_back(model, corpus, start, ending, final, world)
        yield replace(final, **ending)
    finally:
        # the gradients are only needed within a step: a finished model holding them costs one more copy of its
        # weights (a room of trained sessions measured 117 MB each where 92 MB were counted)
        train_state.optimizer.zero_grad(set_to_none=True)
        model.eval()


def _step(
    net: torch.nn.Module,
    model: CharLSTM,
    x: torch.Tensor,
    y: torch.Tensor,
    optimizer: torch.optim.Optimizer,
    lr: float,
    grad_clip: float,
    precision: str,
    ranks: int,
) -> float:
    """One optimiser step on the windows ``x`` (targets ``y``: each window shifted by one character); returns
    the loss (nats/char) before the update, or NaN when the gradients were not finite (no update then)."""
    # forward: the matrix products in bfloat16 when so chosen (the weights themselves stay float32)
    with autocast(model.device, precision):
        logits, _ = net(x)  # (B, T, V)
    # the loss: cross-entropy at every position, in float32 (bfloat16's 8 bits of mantissa would blur it)
    # (B, T, V) and (B, T) flattened to (B·T, V) and (B·T,): every position of every window is one prediction
    loss = F.cross_entropy(logits.float().flatten(0, 1), y.flatten())
    value = loss.item()
    if not math.isfinite(value) and ranks == 1:  # nothing to learn from (under torchrun, step together)
        return value
    # backward: under torchrun the gradients are averaged over the ranks here
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    # clip and step; a non-finite gradient norm skips the update (every rank sees the same averaged gradients)
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    if not torch.isfinite(norm):
        return math.nan
    # the schedule's learning rate for this step, then Adam's update of every weight
    for group in optimizer.param_groups:
        group["lr"] = lr
    optimizer.step()
    return value


class _RunningLoss:
    """The training loss summed since the last record; a record takes its mean and starts it again."""

    def __init__(self) -> None:
        self.total, self.count = 0.0, 0
        self.last: float | None = None  # the latest mean a record took

    def add(self, loss: float) -> None:
        self.total += loss
        self.count += 1

    def mean(self) -> float | None:
        """The mean since the last record (None when no step came since)."""
        return self.total / self.count if self.count else None

    def recent(self) -> float | None:
        """The mean since the last record, or, when no step came since, the last mean taken."""
        mean = self.mean()
        return self.last if mean is None else mean

    def take(self) -> float | None:
        mean = self.mean()
        self.last = mean if mean is not None else self.last
        self.total, self.count = 0.0, 0
        return mean


def _spent(config: TrainConfig, train_time: float, steps: int) -> float:
    """The share of the budget spent after ``train_time`` seconds and ``steps`` steps of this call."""
    # a budget in seconds, in steps, or both: whichever is nearer its end decides
    by_time = train_time / config.seconds if config.seconds else 0.0
    return max(by_time, steps / config.steps if config.steps else 0.0)


def _steps_due(config: TrainConfig, steps: int) -> bool:
    """Whether a step budget calls for an evaluation after ``steps``: 20 of them over the budget."""
    budget = config.steps
    return budget is not None and budget > 0 and steps % max(1, budget // 20) == 0


def _validate(model: CharLSTM, corpus: Corpus, seed_text: str) -> tuple[float, str]:
    """The validation loss (nats/char) and a sample continuing ``seed_text``: what an evaluation shows."""
    loss = _val_loss(model, corpus)
    # a sample that continues the end of the text, always with the same random numbers, so samples compare
    # across time (from an empty seed, a model fine-tuned from a base writes the base's language for a while)
    generator = torch.Generator().manual_seed(0)
    text = sample(
        model, corpus.vocab, seed_text, SAMPLE_CHARS, temperature=SampleConfig.temperature, generator=generator
    )
    return loss, text


def corpus_lead_in(corpus: Corpus) -> str:
    """What writing from a model trained on ``corpus`` starts from (:func:`lead_in`): the end of its text, whose
    last tenth is the validation text (a separate validation text: that one's end)."""
    window = 2 * LEAD_IN  # as much as lead_in looks at
    return lead_in(corpus.vocab.decode(torch.cat((corpus.train[-window:], corpus.val[-window:]))[-window:]))


def _val_loss(model: CharLSTM, corpus: Corpus) -> float:
    """The validation loss (nats/char) on the same spread-out windows every time, the state carried along each,
    so the curve's points, keep-best's and the blend's compare."""
    return evaluate(model, corpus.val, streams=16, max_chars=EVAL_CHARS, unknown_cost=corpus.unknown_cost).loss


def _weights(model: CharLSTM) -> dict[str, torch.Tensor]:
    """A copy of every weight (the optimiser's next step changes them in place)."""
    return {name: p.detach().clone() for name, p in model.named_parameters()}


@torch.no_grad()
def _blend_back(
    model: CharLSTM, corpus: Corpus, start: dict[str, torch.Tensor], ending: dict, final: Progress, world: World
) -> dict:
    """Keep-best's last step from a pretrained start: the kept weights moved part of the way back toward the
    start's, as far as held-out text says it helps; returns ``ending`` (what the last record changes) updated.

    Fine-tuning on a small text pulls every weight toward that text, and after a few hundred steps it starts to
    forget what the start knew of the language from megabytes. A point between the two, ``start + share ×
    (kept − start)``, often predicts text neither was trained on better than either (WiSE-FT: Wortsman et al.,
    "Robust fine-tuning of zero-shot models", 2022). On the world's benchmark texts 60 s from the multilingual
    base gained 0.04–0.10 bits/char at 0.7 of the way; on larger texts all of the way stays best, and the first
    share tried says so. Each share is one evaluation on the windows keep-best compares.
    """
    kept = _weights(model)
    kept_loss: float = ending.get("val_loss", final.val_loss) or math.inf  # (a final evaluation always has one)
    best_share, best_loss = 1.0, kept_loss
    for share in BLEND_SHARES:
        # the blend: every weight share of the way from where it started to where fine-tuning left it
        for name, p in model.named_parameters():
            torch.lerp(start[name], kept[name], share, out=p)
        # under torchrun rank 0 evaluates and every rank follows its verdict, so all end with the same weights
        loss = world.share(_val_loss(model, corpus) if world.main else math.nan)
        if not loss < best_loss - BLEND_MARGIN:  # no better than the last share: the best is behind
            break
        best_share, best_loss = share, loss
    for name, p in model.named_parameters():
        torch.lerp(start[name], kept[name], best_share, out=p)
    if best_share == 1.0:
        return ending
    # say what was done, after what keep-best said (if anything), in the learner's terms
    before, after = kept_loss / LN2, best_loss / LN2
    moved = f"{1 - best_share:.0%} of the way back toward the model it started from, which predicts unseen text"
    moved += f" better: {after:.3f} bits/char against {before:.3f}"
    restored = "kept_from" in ending  # keep-best put the best weights back: its message ends with "Kept the weights…"
    message = f"{ending['message']}, then moved them {moved}" if restored else f"moved the final weights {moved}"
    if ending.get("message") and not restored:  # the memorising stop's message, then this
        message = f"{ending['message']}; {message}"
    kept_from = ending.get("kept_from", final.elapsed)  # the blend is made from the weights of that moment
    blended = {"val_loss": best_loss, "val_bpc": after, "message": message, "kept_from": kept_from}
    return {**ending, **blended, "blend": best_share}


@torch.no_grad()
def _batch_loss(model: CharLSTM, ids: torch.Tensor, config: TrainConfig) -> float:
    """The loss of training windows as a step would see them (dropout on), without updating anything: what the
    training curve measures, before the first step. At most :data:`OPENING_WINDOWS` of them: the first point
    of the plot should not keep the learner waiting (a whole batch of a 1×512 model took 0.18 s)."""
    windows = min(config.batch_size, OPENING_WINDOWS)
    # its own generator, not the run's: measuring must not change which windows the steps then draw
    x, y = random_batch(ids, windows, config.seq_len, torch.Generator().manual_seed(config.seed), model.device)
    logits, _ = model(x)  # (B, T, V)
    return F.cross_entropy(logits.flatten(0, 1), y.flatten()).item()
