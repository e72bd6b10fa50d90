"""The benchmark's case registry: one ``Case`` per measured step, found in this package.

A case is a training step (or an op chain) measured in three ways, each in a process of its own:

- ``build(api, device)``: the step written once with PyTorch's names, run by chalkgrad and by
  PyTorch. ``api`` is a namespace with ``tensor``, ``nn``, ``F``, ``optim``, ``no_grad``,
  ``manual_seed``, ``name`` ("chalkgrad" or "torch"); ``device`` is "cpu" or "cuda". It returns
  ``(step, args)``: the harness times ``step(*args)``. With ``compilable=True`` the harness also
  times ``A.compile(step)(*args)`` for chalkgrad, so keep the inputs in ``args``.
- ``numpy()``: the same step written by hand in plain NumPy (forward, backward and the optimizer
  update, no graph), returning ``(step, args)`` too: the floor of a NumPy backend. None if there
  is no hand-written version.

To add a case, create a module in this package (``benchmarks/cases/conv.py``...) that calls
``register(Case(...))`` at import time; ``all_cases()`` imports every module here. Modules of this
package must import neither torch nor autograd: the frameworks come in through ``api``.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

StepAndArgs = tuple[Callable[..., Any], tuple]


@dataclass(frozen=True)
class Case:
    """One benchmark row.

    ``ops`` divides the step time (``unit="us/op"`` for op chains, ``"ms/step"`` otherwise).
    ``group`` orders the table (smaller first).
    """

    name: str
    doc: str
    build: Callable[[Any, str], StepAndArgs]
    numpy: Callable[[], StepAndArgs] | None = None
    unit: str = "ms/step"
    ops: int = 1
    compilable: bool = False
    group: int = 50

    @property
    def scale(self) -> float:
        return 1e6 if self.unit == "us/op" else 1e3


CASES: dict[str, Case] = {}


def register(case: Case) -> Case:
    if case.name in CASES:
        raise ValueError(f"benchmark case {case.name!r} is registered twice")
    if case.unit not in ("us/op", "ms/step"):
        raise ValueError(f"benchmark case {case.name!r}: unit must be 'us/op' or 'ms/step'")
    CASES[case.name] = case
    return case


def all_cases() -> dict[str, Case]:
    """Every registered case, importing each module of this package once, in table order."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    return dict(sorted(CASES.items(), key=lambda item: item[1].group))
