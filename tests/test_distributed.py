"""Training under torchrun: 2 CPU processes on gloo learn like one process at the same global batch.

Real processes started by ``python -m torch.distributed.run`` (torchrun), on loopback; budgets are in steps, so
the runs are the same length on a busy machine, and evaluations fall on the same steps in both runs.
"""

import json
import subprocess
import sys

import pytest
import torch

from charlstm.checkpoint import load
from charlstm.sampling import sample
from tests.helpers import SHAKESPEARE

STEPS = 80
# the same run for both: a small model, 16 windows a step in all, evaluated every 8 steps (by steps, not seconds)
TRAIN = [
    "train",
    "--init",
    "scratch",
    "--preset",
    "small",
    "--steps",
    str(STEPS),
    "--batch-size",
    "16",
    "--seq-len",
    "32",
    "--eval-interval",
    "3600",
    "--precision",
    "fp32",
    "--json",
]


def _torchrun(nproc: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc-per-node={nproc}",
        "-m",
        "charlstm",
    ]


def _train(command: list[str], corpus, out) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [*command, *TRAIN, "--corpus", str(corpus), "--out", str(out)], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("ddp") / "shakespeare-200k.txt"
    path.write_text(SHAKESPEARE.read_text(encoding="utf-8")[:200_000], encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def runs(corpus, tmp_path_factory):
    """One process with 2 threads, then two processes with a thread each, both at a global batch of 16."""
    folder = tmp_path_factory.mktemp("ddp-runs")
    single = _train([sys.executable, "-m", "charlstm", "--threads", "2"], corpus, folder / "one.safetensors")
    double = _train([*_torchrun(2), "--threads", "1"], corpus, folder / "two.safetensors")
    return (single, load(folder / "one.safetensors")), (double, load(folder / "two.safetensors"))


def test_two_processes_follow_the_single_process_loss_curve(runs):
    (_, one), (_, two) = runs
    curve_one = {h["step"]: h["val_loss"] for h in one.train_state.history}
    curve_two = {h["step"]: h["val_loss"] for h in two.train_state.history}
    assert curve_one.keys() == curve_two.keys() and len(curve_one) >= 10  # evaluated at the same steps
    assert two.train_state.step == one.train_state.step == STEPS
    falls = curve_one[0] - curve_one[STEPS]
    assert falls > 0.8  # both learned (from ~4.2 nats/char) ...
    # ... along the same curve. Both start from the same weights (the seed's); rank 1 draws other windows than the
    # single process, so the curves wander apart a little: at most 0.027 nats/char (step 24) on this machine, the
    # same in every run, since the seed fixes every random number. Twice that leaves room for another CPU's sums.
    for step in curve_one:
        assert abs(curve_one[step] - curve_two[step]) < 0.06, (step, curve_one[step], curve_two[step])


def test_rank_zero_alone_prints_and_writes_one_checkpoint_that_loads_and_samples(runs):
    (single, _), (double, two) = runs
    summary = json.loads(double.stdout.strip().splitlines()[-1])
    assert summary.keys() == json.loads(single.stdout.strip().splitlines()[-1]).keys()  # the same report
    assert summary["steps"] == STEPS
    assert double.stdout.count('"val_bpc"') == 1  # one JSON line: rank 1 printed nothing
    assert double.stderr.count("saved ") == 1
    assert "2 processes (torchrun), each 8 of the 16 windows a step" in double.stderr
    assert two.train_config.batch_size == 16  # the global batch, as a one-process run of it would record
    text = sample(two.model, two.vocab, "ROMEO:", 80, generator=torch.Generator().manual_seed(1))
    assert len(text) == 80 and text.strip()
    assert {p.dtype for p in two.model.parameters()} == {torch.float32}


def test_a_global_batch_that_does_not_split_evenly_is_refused_with_its_numbers(corpus, tmp_path):
    args = [*TRAIN, "--batch-size", "15", "--corpus", str(corpus), "--out", str(tmp_path / "m.safetensors")]
    done = subprocess.run([*_torchrun(2), "--threads", "1", *args], capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    assert (
        "batch_size (15) is the global batch" in done.stderr
        and "multiple of the number of processes (2)" in done.stderr
    )
    assert "python -m charlstm: error: batch_size (15)" in done.stderr  # our one line (torchrun adds its report)
    assert not (tmp_path / "m.safetensors").exists()


def test_torchrun_runs_only_train(tmp_path):
    done = subprocess.run(
        [*_torchrun(2), "eval", "--model", "x", "--text", "y"], capture_output=True, text=True, timeout=300
    )
    assert done.returncode != 0 and "torchrun runs `train` on several processes" in done.stderr
