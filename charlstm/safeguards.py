"""The safeguards around the training loop (:func:`charlstm.training.train`), kept apart so the loop reads as one.

Three things can go wrong in a run a learner starts with a slider, and each has a guard here:

- **divergence**: a learning rate far too high sends the loss to infinity (try 100 in the app). The guard keeps
  the last sound weights and optimiser state; a step whose loss is non-finite or far above both the recent mean
  and a uniform guess rolls back to them with a quarter of the learning rate, at most :data:`MAX_ROLLBACKS` times.
- **a worse ending**: validation can be best before the end of the budget. Keep-best (``TrainConfig.keep_best``)
  puts back the weights of the best evaluation, and says so.
- **memorising**: on a small text the training loss keeps falling while validation rises: the model is learning
  the text by heart. The watch counts evaluations in a row that show it; ``stop_when_memorising`` ends the run
  after :data:`MEMORISING_PATIENCE` of them.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import torch

from .config import TrainConfig
from .evaluation import LN2
from .model import CharLSTM

MAX_ROLLBACKS = 8  # then the run ends with the last sound weights: the learning rate is hopeless
ROLLBACK_LR_FACTOR = 0.25  # each rollback divides the learning rate by 4: two rollbacks undo a 16× mistake
EXPLODED_MARGIN = 3.0  # nats/char above both the recent mean and a uniform guess: no ordinary step goes there
MEMORISING_MARGIN = 0.035  # nats/char (0.05 bits) above the best validation: more than evaluation noise
MEMORISING_PATIENCE = 3  # evaluations in a row that say "memorising" before stop_when_memorising ends a run

Snapshot = tuple[dict, dict]  # the weights and the optimiser's state, copied


def exploded(loss: float, recent: float | None, vocab_size: int) -> bool:
    """Whether ``loss`` says the last update threw the weights off: non-finite, or far above both the recent
    mean and a uniform guess over the vocabulary (``log(V)`` nats)."""
    # log(V): even an untrained model guessing uniformly does that well, so a loss far above it is no ordinary
    # step's noise; the recent mean covers a run still above uniform (its first steps)
    return not math.isfinite(loss) or loss > max(recent or 0.0, math.log(vocab_size)) + EXPLODED_MARGIN


def snapshot(model: CharLSTM, optimizer: torch.optim.Optimizer) -> Snapshot:
    """A copy of the weights and the optimiser's moments, to come back to."""
    # clones, not references: the next optimiser step changes the tensors in place
    weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
    return weights, copy.deepcopy(optimizer.state_dict())


def restore(model: CharLSTM, optimizer: torch.optim.Optimizer, saved: Snapshot) -> None:
    """Put a :func:`snapshot` back (copying the optimiser's part: the same snapshot may be restored again)."""
    model.load_state_dict(saved[0])
    optimizer.load_state_dict(copy.deepcopy(saved[1]))


class Safeguards:
    """The guards' memory for one ``train`` call: the last sound weights (the rollback target), the best ones
    (keep-best's), and how long the model has looked as if it were memorising."""

    def __init__(self, model: CharLSTM, optimizer: torch.optim.Optimizer) -> None:
        self.model, self.optimizer = model, optimizer
        self.good = self.best = snapshot(model, optimizer)  # until the first evaluation says otherwise
        self.best_loss = math.inf  # the best validation so far (nats/char)
        self.best_elapsed: float | None = None  # when it was measured (seconds of training)
        self.train_at_best: float | None = None  # the training loss then: memorising is validation up, this down
        self.memorising_streak = 0  # evaluations in a row that found the model memorising
        self.rollbacks = 0

    @property
    def best_bpc(self) -> float | None:
        return self.best_loss / LN2 if math.isfinite(self.best_loss) else None

    def evaluated(self, val_loss: float, recent: float | None, elapsed: float) -> bool:
        """Take an evaluation in (validation ``val_loss``, the training loss ``recent``, after ``elapsed`` seconds
        of training): remember the weights when they are sound and when they are the best; return whether the
        model looks as if it were memorising."""
        # sound weights become the rollback target (a diverging run's validation is not)
        if not exploded(val_loss, recent, self.model.vocab_size):
            self.good = snapshot(self.model, self.optimizer)
            # the best validation so far: keep-best's weights, and the point memorising is measured from
            if val_loss < self.best_loss:
                self.best, self.best_loss = self.good, val_loss
                self.best_elapsed, self.train_at_best = elapsed, recent
        # memorising: validation clearly above its best while the training loss is below where it was then
        memorising = (
            val_loss > self.best_loss + MEMORISING_MARGIN
            and recent is not None
            and self.train_at_best is not None
            and recent < self.train_at_best
        )
        # one noisy evaluation is not a trend: the stop waits for MEMORISING_PATIENCE in a row
        self.memorising_streak = self.memorising_streak + 1 if memorising else 0
        return memorising

    def memorised_long_enough(self) -> bool:
        """Whether enough evaluations in a row found the model memorising for ``stop_when_memorising`` to end."""
        return self.memorising_streak >= MEMORISING_PATIENCE

    def roll_back(self) -> None:
        """Return to the last sound weights and optimiser state (the caller lowers the learning rate by
        :data:`ROLLBACK_LR_FACTOR`)."""
        # counted: a learning rate that diverges again after every cut ends the run (gave_up)
        self.rollbacks += 1
        # the optimiser too: Adam's moments from the exploded step would push the weights straight back out
        restore(self.model, self.optimizer, self.good)

    @property
    def gave_up(self) -> bool:
        return self.rollbacks > MAX_ROLLBACKS

    def rollback_message(self, loss: float, new_lr: float, step: int) -> str:
        """What the rollback just done tells the learner (``loss``: the rejected step's; ``step``: the steps so far)."""
        if self.gave_up:
            return (
                f"training kept diverging; stopped at step {step} with "
                "the last good weights. Try a lower learning rate."
            )
        what = "became non-finite" if not math.isfinite(loss) else f"exploded to {loss:.3g}"
        return (
            f"loss {what}: rolled back to the last good weights and lowered the learning rate to {new_lr:.3g} "
            f"(rollback {self.rollbacks} of at most {MAX_ROLLBACKS})"
        )

    def ending(
        self,
        final_loss: float | None,
        final_bpc: float | None,
        memorising: bool,
        config: TrainConfig,
        early: bool,
        train_time: float,
    ) -> dict[str, Any]:
        """What changes in the run's last record, its final evaluation's (``final_loss`` nats/char, ``final_bpc``,
        ``memorising``): with ``keep_best``, the best-validation weights are put back when they beat the final
        ones, and the record says why. ``early``: the memorising stop ended the run."""
        # the memorising stop ended the run before its budget: the message opens with that
        if early:
            budget = f" of the {config.seconds:g} s budget" if config.seconds else ""
            stopped = f"stopped early, after {train_time:.0f} s{budget}: "
        else:
            stopped = ""
        final_loss = math.inf if final_loss is None else final_loss  # (an evaluation always has one)
        # keep the final weights unless keep-best is on and the best evaluation clearly beat them
        if not config.keep_best or self.best_loss >= final_loss - 1e-3:  # the final weights are (nearly) the best
            return {"message": stopped + "the model had started memorising the text"} if early else {}
        # put the best weights back, and tell the learner why the curve's last point is not the model's
        restore(self.model, self.optimizer, self.best)
        best_bpc = self.best_loss / LN2
        if memorising or early:
            why = (
                f"{stopped}the model started memorising the text: validation rose from its best, {best_bpc:.3f} "
                f"bits/char at {self.best_elapsed:.0f} s, to {final_bpc:.3f}, while the training loss kept "
                f"falling. Kept the weights from {self.best_elapsed:.0f} s"
            )
        else:
            why = (
                f"validation was best at {self.best_elapsed:.0f} s ({best_bpc:.3f} bits/char, against "
                f"{final_bpc:.3f} at the end): kept the weights from then"
            )
        return {"val_loss": self.best_loss, "val_bpc": best_bpc, "message": why, "kept_from": self.best_elapsed}
