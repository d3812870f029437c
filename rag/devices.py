"""Which device a model runs on: one rule for the embedder and the seq2seq generator.

"auto" picks cuda, then mps, then cpu. Asking PyTorch costs seconds of
import, so it is asked only when this machine could have an accelerator: an
NVIDIA or AMD driver is loaded (``/proc/driver/nvidia``, ``/dev/nvidia0``,
``/dev/kfd``), or it is an Apple Silicon Mac. Everywhere else "auto" is "cpu"
at once, and the default CPU path (ONNX) never imports torch. A device named
explicitly is taken as given; whether it really works is checked by the
backend that uses it. Multi-GPU placement is left out.

>>> pick_device("cpu"), pick_device("cuda:1")
('cpu', 'cuda:1')
"""

from __future__ import annotations

import os
import platform
import sys

GPU_SIGNS = ("/proc/driver/nvidia", "/dev/nvidia0", "/dev/kfd")


def accelerator_possible() -> bool:
    """Whether this machine might have a GPU PyTorch can use (cheap checks, no imports)."""
    if any(os.path.exists(path) for path in GPU_SIGNS):
        return True
    return sys.platform == "darwin" and platform.machine() == "arm64"


def pick_device(requested: str = "auto") -> str:
    """``requested`` unless "auto": then cuda, then mps, then cpu."""
    if requested != "auto":
        return requested
    if not accelerator_possible():
        return "cpu"
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"
