"""The number format training computes in: float32, or bfloat16 where the hardware has it.

bfloat16 keeps float32's range with 8 bits of mantissa. Under ``torch.autocast`` the matrix products of the
forward pass (the LSTM's gates, the head) run in bfloat16 while the weights, the gradients' accumulation, Adam's
moments and the checkpoint stay float32: the speed of the narrow format, the stability of the wide one. Sampling
and evaluation never use autocast: they read the float32 checkpoint (a large model's stepper stores its matrices
in int8 or float16, :mod:`charlstm.steppers`, by its shape and the CPU alone), so a fixed seed gives the same text
whatever the model trained in.

"auto" picks bfloat16 where the device computes it natively (a CPU with AVX512_BF16 or AMX, a CUDA GPU of the
Ampere generation or later) and float32 elsewhere, where bfloat16 would be emulated and slower. The choice is
backed by the benchmarks (``python -m charlstm bench --only quality`` and ``python -m bench.precision``, README
"Many processes (torchrun) and bfloat16"): on this project's CPU a minute of training in bfloat16 reaches a lower
validation loss than a minute in float32, from scratch and fine-tuning alike.
"""

from __future__ import annotations

import contextlib
import functools

import torch

PRECISIONS = ("auto", "fp32", "bf16")
NAMES = {"fp32": "float32", "bf16": "bfloat16"}  # as a sentence names them


class PrecisionError(ValueError):
    """bf16 was asked for on a device that cannot compute it natively."""


@functools.cache
def _cpu_has_bf16() -> bool:
    # oneDNN's own test: AVX512_BF16 or AMX (AVX512 alone emulates bfloat16, slower than float32)
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def bf16_supported(device: torch.device) -> bool:
    """Whether ``device`` computes bfloat16 matrix products natively (faster than float32)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported(including_emulation=False)
    return device.type == "cpu" and _cpu_has_bf16()


def resolve_precision(name: str, device: torch.device) -> str:
    """ "fp32" or "bf16" for ``name`` ("auto", "fp32" or "bf16") on ``device``; bf16 where unsupported is refused."""
    if name not in PRECISIONS:
        raise PrecisionError(f"precision must be one of {', '.join(PRECISIONS)}, not {name!r}")
    if name == "auto":
        return "bf16" if bf16_supported(device) else "fp32"
    if name == "bf16" and not bf16_supported(device):
        what = "this CPU has neither AVX512_BF16 nor AMX" if device.type == "cpu" else f"{device} lacks it"
        raise PrecisionError(f"precision bf16 needs native bfloat16: {what}; use fp32 or auto")
    return name


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """The context a forward pass runs in: bfloat16 matrix products for "bf16", nothing changed for "fp32"."""
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16)
