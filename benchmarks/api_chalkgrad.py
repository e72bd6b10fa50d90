"""chalkgrad's side of the benchmark: the PyTorch-named namespace the cases are written against."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import autograd as A
import backends
import nn
import nn.functional as F
import optim

NAME = "chalkgrad"
VERSION = "chalkgrad"


def api() -> SimpleNamespace:
    return SimpleNamespace(
        name=NAME,
        tensor=A.tensor,
        nn=nn,
        F=F,
        optim=optim,
        no_grad=A.no_grad,
        manual_seed=A.manual_seed,
    )


def synchronize(device: str) -> None:
    backends.get_backend(device).synchronize()


def compile_step(step: Any) -> Any:
    return A.compile(step)


def set_threads(n: int) -> None:
    """Thread counts are set through the environment before NumPy loads (see the runner)."""
