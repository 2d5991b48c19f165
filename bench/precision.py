"""``python -m bench.precision``: fine-tuning the base model in float32 and in bfloat16, the same budget each.

``python -m charlstm bench --only quality`` compares the two number formats from scratch on tiny Shakespeare;
this is the other path a visitor takes (``--init auto`` on a text the base model reads): for each text of the
own-text benchmark chosen (:func:`bench.texts.bench_texts`), the base model fine-tuned for ``--seconds`` with
``--precision fp32`` and then ``bf16``, in the same process, and the validation bits/char of each (the last 10%,
scored whole with the state carried). It backs ``--precision auto`` choosing bf16 for fine-tuning too.

    python -m bench.precision --only prose-5k --only changelog-50k --only german-100k   # about 7 minutes
"""

from __future__ import annotations

import argparse
import json

import torch

from bench.texts import bench_texts
from charlstm.evaluation import evaluate
from charlstm.machine.precision import bf16_supported
from charlstm.run import Run, plan


def fine_tune(text: str, seconds: float, precision: str) -> dict:
    """Validation bits/char and steps after fine-tuning the base model on ``text`` in ``precision``."""
    torch.manual_seed(0)
    run, corpus = Run.start(text, plan(text, "base", seconds, precision=precision))
    for _ in run.train(corpus):
        pass
    bpc = evaluate(run.model, corpus.val, unknown_cost=corpus.unknown_cost).bpc
    return {"bpc": bpc, "steps": run.train_state.step}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.precision", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--only", action="append", help="run only these texts (repeatable)")
    parser.add_argument("--json", action="store_true", help="one JSON line per text")
    args = parser.parse_args(argv)
    if not bf16_supported(torch.device("cpu")):
        parser.exit(1, "this CPU has no native bfloat16 (AVX512_BF16 or AMX): nothing to compare\n")
    texts = bench_texts()
    for name in args.only or list(texts):
        if name not in texts:
            parser.error(f"unknown text {name!r}; choose from {', '.join(texts)}")
        fp32, bf16 = (fine_tune(texts[name], args.seconds, p) for p in ("fp32", "bf16"))
        gain = bf16["bpc"] - fp32["bpc"]
        print(
            f"{name:16} fp32 {fp32['bpc']:.3f} ({fp32['steps']} steps)  bf16 {bf16['bpc']:.3f} ({bf16['steps']} "
            f"steps)  bf16 − fp32 = {gain:+.3f} bits/char, steps ×{bf16['steps'] / fp32['steps']:.2f}",
            flush=True,
        )
        if args.json:
            print(json.dumps({"text": name, "seconds": args.seconds, "fp32": fp32, "bf16": bf16}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
