"""Shape helpers."""

from __future__ import annotations

from autograd import Tensor


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims ``start_dim..end_dim`` into one. Shape: (*, S_i, ..., S_j, *) -> (*, prod, *)."""
    return input.flatten(start_dim, end_dim)
