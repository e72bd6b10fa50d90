"""The CPU backend: NumPy."""

from __future__ import annotations

from typing import Any

import numpy

from .base import Backend
from .fused import numba_sgd, sgd_update_reference


class NumPyBackend(Backend):
    """Arrays in host memory, computed by NumPy (BLAS for matmul)."""

    __slots__ = ()

    name = "numpy"

    def __init__(self) -> None:
        super().__init__(numpy, "cpu")
        self.rng = numpy.random.default_rng()

    def seed(self, seed: int) -> None:
        self.rng = numpy.random.default_rng(seed)

    def to_host(self, array: Any) -> numpy.ndarray:
        return array

    def from_host(self, array: Any, dtype: Any = None) -> numpy.ndarray:
        return numpy.asarray(array, dtype=dtype)

    def scatter_add(self, target: Any, index: Any, values: Any) -> None:
        numpy.add.at(target, index, values)

    def sgd_update_(
        self, param: Any, grad: Any, buf: Any, lr: float, momentum: float, dampening: float,
        scratch: Any,
    ) -> None:  # fmt: skip
        """One fused Numba pass when Numba is installed, else the NumPy reference."""
        kernel = numba_sgd()
        if kernel is None or not kernel(param, grad, buf, lr, momentum, dampening):
            sgd_update_reference(numpy, param, grad, buf, lr, momentum, dampening, scratch)

    def scatter_reduce(self, target: Any, index: Any, values: Any, reduce: str) -> None:
        _SCATTER_UFUNCS[reduce].at(target, index, values)

    def accumulate(self, name: str, array: Any, axis: int) -> Any:
        return getattr(numpy, name).accumulate(array, axis=axis)


_SCATTER_UFUNCS = {
    "sum": numpy.add,
    "prod": numpy.multiply,
    "amax": numpy.maximum,
    "amin": numpy.minimum,
}
