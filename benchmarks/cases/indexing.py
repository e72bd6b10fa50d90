"""Indexing and sorting ops (issue 13): the array library's sort and the backend's scatter-add."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import Case, StepAndArgs, register


def sort_scatter(api: Any, device: str) -> StepAndArgs:
    """sort, topk and scatter_add over a (256, 1024) batch, then backward."""
    rng = np.random.default_rng(0)
    data = rng.standard_normal((256, 1024)).astype(np.float32)
    x = api.tensor(data, device=device, requires_grad=True)
    index = api.tensor(rng.integers(0, 64, size=(256, 1024)), device=device)

    def step() -> None:
        ordered = x.sort(dim=-1).values
        top = x.topk(32, dim=-1).values
        pooled = x.new_zeros(256, 64).scatter_add(1, index, ordered)
        (pooled.sum() + top.sum()).backward()
        x.grad = None

    return step, ()


register(
    Case("sort_scatter", "sort, topk and scatter_add over (256, 1024), then backward",
         sort_scatter, group=60)
)  # fmt: skip
