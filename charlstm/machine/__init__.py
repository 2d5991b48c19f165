"""The machine a run uses: where tensors live (``device``: the CPU or CUDA), the number format training computes
in (``precision``: float32, or bfloat16 where the hardware has it) and training on several processes at once
(``distributed``: torchrun). The core (``charlstm/`` above) imports these; they import only its ``config``."""
