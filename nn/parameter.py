"""``Parameter``: a Tensor that a ``Module`` registers as one of its learnable weights."""

from __future__ import annotations

from typing import Any

import autograd as A
from autograd import Tensor


class Parameter(Tensor):
    """A leaf Tensor that requires grad by default and is found by ``Module.parameters()``.

    Assigning a Parameter to a Module attribute registers it (``self.weight = Parameter(...)``).
    Like PyTorch, the Parameter shares the array of the Tensor it wraps (no copy).

    Shape: same as ``data``.
    """

    __slots__ = ()

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        if data is None:
            data = A.empty(0)
        elif not isinstance(data, Tensor):
            data = A.tensor(data)
        if requires_grad and data.dtype.kind not in "fc":
            raise RuntimeError(
                f"Parameter: only Tensors of floating point dtype can require gradients, got "
                f"{data.dtype}; pass requires_grad=False or convert with .float()"
            )
        self.data = data.data
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self.grad_fn = None
        self._out_idx = 0
        self._vc = data._vc  # the same data: the same version counter
        self._backend = data.backend
        self._hooks = None
        self.name = None
        self._view = None

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo: dict) -> Parameter:
        result = Parameter(Tensor(self.detach()), self.requires_grad)
        if self.grad is not None:
            result.grad = Tensor(self.grad.detach())
        memo[id(self)] = result
        return result
