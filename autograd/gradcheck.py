"""Numerical gradient checks: central differences in float64, compared with backward's gradients.

The comparison is the course's relative difference ``||g_approx - g|| / (||g_approx|| + ||g||)``
per input (the notes call < 1e-7 great and > 1e-3 a bug), plus an elementwise
``|g_approx - g| <= atol + rtol |g_approx|`` that names the first element out of tolerance.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import backends

from .function import grad as _grad
from .tensor import Tensor


class GradcheckError(RuntimeError):
    pass


def _as_tuple(x: Any) -> tuple:
    if isinstance(x, list):
        return tuple(x)
    return x if isinstance(x, tuple) else (x,)


def _projected(fn: Callable, inputs: tuple, weights: tuple) -> Tensor:
    """sum_k <output_k, weight_k>: one scalar whose gradient is a vector-Jacobian product."""
    outputs = _as_tuple(fn(*inputs))
    total = None
    for out, w in zip(outputs, weights):
        if isinstance(out, Tensor) and w is not None:
            term = (out * w).sum()
            total = term if total is None else total + term
    return total


def _weights(fn: Callable, inputs: tuple, seed: int) -> tuple:
    outputs = _as_tuple(fn(*inputs))
    rng = backends.cpu.xp.random.default_rng(seed)
    weights = []
    for out in outputs:
        if isinstance(out, Tensor) and out.dtype.kind in "fc":
            w = rng.standard_normal(out.shape).astype(out.dtype)
            weights.append(Tensor(w, device=out.device))
        else:
            weights.append(None)
    return tuple(weights)


def relative_difference(approx: Any, exact: Any) -> float:
    """The course's ||approx - exact|| / (||approx|| + ||exact||) on host arrays (0 when both 0)."""
    xp = backends.cpu.xp
    num = float(xp.linalg.norm((approx - exact).ravel()))
    den = float(xp.linalg.norm(approx.ravel()) + xp.linalg.norm(exact.ravel()))
    return 0.0 if den == 0 else num / den


def numerical_gradients(fn: Callable, inputs: tuple, weights: tuple, eps: float) -> list:
    """Central differences (f(x + eps) - f(x - eps)) / 2 eps of the projected output."""
    results = []
    for x in inputs:
        if not (isinstance(x, Tensor) and x.requires_grad):
            results.append(None)
            continue
        host_xp = backends.cpu.xp
        approx = host_xp.zeros(x.data.shape, dtype=host_xp.float64)
        data = x.data
        # The originals are read once, in one explicit transfer (not one device read per element).
        host = x._backend.to_host(data)
        # Perturb the array itself, element by element: a transposed (non-contiguous) input has
        # no flat view, and perturbing a reshaped copy would silently change nothing.
        for index in host_xp.ndindex(*data.shape):
            original = host[index].item()
            data[index] = original + eps
            plus = _projected(fn, inputs, weights).item()
            data[index] = original - eps
            minus = _projected(fn, inputs, weights).item()
            data[index] = original
            approx[index] = (plus - minus) / (2 * eps)
        results.append(approx)
    return results


def gradcheck(
    fn: Callable,
    inputs: Any,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    seed: int = 0,
    _constant_ok: bool = False,
) -> bool:
    """Check ``fn``'s gradients w.r.t. every input that requires grad against central differences.

    ``inputs`` should be float64 tensors; a float32 input raises (its rounding would swamp eps).
    The check is on a random projection of the outputs (one backward per call, as Chainer does).
    """
    inputs = _as_tuple(inputs)
    differentiable = [x for x in inputs if isinstance(x, Tensor) and x.requires_grad]
    if not differentiable:
        raise GradcheckError("gradcheck: no input requires grad")
    for i, x in enumerate(inputs):
        if isinstance(x, Tensor) and x.requires_grad and x.dtype.itemsize < 8:
            raise GradcheckError(
                f"gradcheck: input {i} is {x.dtype}; use float64 inputs for numerical checks"
            )
    weights = _weights(fn, inputs, seed)
    projected = _projected(fn, inputs, weights)
    if projected is not None and projected.requires_grad:
        analytic = _grad(projected, differentiable, allow_unused=True)
    elif _constant_ok:
        analytic = (None,) * len(differentiable)  # checked against numerical zeros below
    else:
        raise GradcheckError("gradcheck: no output depends on an input that requires grad")
    numeric = [n for n in numerical_gradients(fn, inputs, weights, eps) if n is not None]
    positions = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    for k, (exact, approx) in enumerate(zip(analytic, numeric)):
        index = positions[k]
        exact = backends.cpu.xp.zeros_like(approx) if exact is None else exact.numpy()
        diff = relative_difference(approx, exact)
        bad = abs(approx - exact) > atol + rtol * abs(approx)
        if bad.any():
            where = tuple(int(i) for i in backends.cpu.xp.argwhere(bad)[0])
            message = (
                f"gradcheck: gradient of input {index} (shape "
                f"{differentiable[k].shape}) is wrong at element {where}: backward gave "
                f"{exact[where]:.8g}, numerical {approx[where]:.8g}; relative difference "
                f"||g_approx - g|| / (||g_approx|| + ||g||) = {diff:.3g}"
            )
            if raise_exception:
                raise GradcheckError(message)
            return False
    return True


def gradgradcheck(
    fn: Callable,
    inputs: Any,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    seed: int = 0,
) -> bool:
    """Check second derivatives: the gradient built with ``create_graph=True`` is gradchecked."""
    inputs = _as_tuple(inputs)
    weights = _weights(fn, inputs, seed + 1)

    def first_derivative(*xs: Any) -> tuple:
        wanted = [x for x in xs if isinstance(x, Tensor) and x.requires_grad]
        grads = _grad(_projected(fn, xs, weights), wanted, create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)

    # A linear op's first derivative is constant: its second derivative must then be zero.
    return gradcheck(
        first_derivative,
        inputs,
        eps=eps,
        atol=atol,
        rtol=rtol,
        raise_exception=raise_exception,
        seed=seed,
        _constant_ok=True,
    )
