"""PyTorch's side of the benchmark (imported only in PyTorch's own worker processes)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import torch

NAME = "torch"
VERSION = f"torch {torch.__version__}"


def api() -> SimpleNamespace:
    return SimpleNamespace(
        name=NAME,
        tensor=torch.tensor,
        nn=torch.nn,
        F=torch.nn.functional,
        optim=torch.optim,
        no_grad=torch.no_grad,
        manual_seed=torch.manual_seed,
    )


def synchronize(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def compile_step(step: Any) -> Any:
    raise NotImplementedError("the benchmark does not time torch.compile")


def set_threads(n: int) -> None:
    torch.set_num_threads(n)
