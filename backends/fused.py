"""Fused optimizer updates: one pass over memory per parameter where NumPy makes one per ufunc.

``sgd_update_reference`` is the meaning, written with ``xp`` ufuncs and ``out=`` into a scratch
array (no allocation); the backends call it unless they have a faster kernel for the same
arithmetic. On the CPU that kernel is a Numba loop (``pip install 'chalkgrad[fast]'``), used
when Numba is importable and ``CHALKGRAD_NUMBA`` is not ``0``. Both round every step to the
parameter's dtype in the same order (no fused multiply-add), so they agree bit for bit; the
tests compare them.
"""

from __future__ import annotations

import os
from typing import Any


def sgd_update_reference(
    xp: Any, param: Any, grad: Any, buf: Any, lr: float, momentum: float, dampening: float,
    scratch: Any,
) -> None:  # fmt: skip
    """In place: ``buf = buf * momentum + grad * (1 - dampening)`` (when ``buf`` is not None,
    the ``grad * (1 - dampening)`` product only when dampening is nonzero), then
    ``param = param + (buf or grad) * (-lr)``. ``scratch`` is an array shaped like ``param``."""
    step = grad
    if buf is not None:
        xp.multiply(buf, momentum, out=buf)
        if dampening != 0:
            xp.multiply(grad, 1 - dampening, out=scratch)
            xp.add(buf, scratch, out=buf)
        else:
            xp.add(buf, grad, out=buf)
        step = buf
    xp.multiply(step, -lr, out=scratch)
    xp.add(param, scratch, out=param)


def adam_update_reference(
    xp: Any, param: Any, grad: Any, exp_avg: Any, exp_avg_sq: Any, step: Any, lr: float,
    beta1: float, beta2: float, eps: float, scratch: Any, denom: Any,
) -> None:  # fmt: skip
    """In place, in the order and roundings of ``optim.adam.adam_update`` (no weight decay,
    amsgrad or maximize): ``step += 1``, ``m += (g - m) * (1 - beta1)``,
    ``v = v * beta2 + g * g * (1 - beta2)``, ``d = sqrt(v) / sqrt(1 - beta2**step) + eps``,
    ``param += m / d * (-lr / (1 - beta1**step))``. ``step`` is the 0-d float32 counter; it
    is read back to the host here (a sync on a GPU), so the bias corrections follow it on every
    replay of a compiled step. ``scratch`` and ``denom`` are arrays shaped like ``param``."""
    xp.add(step, 1, out=step)
    count = float(step)
    xp.subtract(grad, exp_avg, out=scratch)
    xp.multiply(scratch, 1 - beta1, out=scratch)
    xp.add(exp_avg, scratch, out=exp_avg)
    xp.multiply(exp_avg_sq, beta2, out=exp_avg_sq)
    xp.multiply(grad, grad, out=scratch)
    xp.multiply(scratch, 1 - beta2, out=scratch)
    xp.add(exp_avg_sq, scratch, out=exp_avg_sq)
    step_size = lr / (1 - beta1**count)
    xp.sqrt(exp_avg_sq, out=denom)
    xp.divide(denom, (1 - beta2**count) ** 0.5, out=denom)
    xp.add(denom, eps, out=denom)
    xp.divide(exp_avg, denom, out=scratch)
    xp.multiply(scratch, -step_size, out=scratch)
    xp.add(param, scratch, out=param)


_numba_sgd = None  # the compiled kernel, or False once Numba turned out to be missing

# Parameters with fewer elements take the NumPy reference on the CPU: Numba's dispatch costs
# more than the two passes it saves (measured crossover: 4-8 thousand float32 elements).
NUMBA_SGD_MIN_SIZE = 4096


def numba_sgd() -> Any:
    """The Numba SGD kernel, compiled (and cached on disk) on first use; None without Numba."""
    global _numba_sgd
    if _numba_sgd is None:
        _numba_sgd = False
        if os.environ.get("CHALKGRAD_NUMBA", "1") != "0":
            try:
                import numba
            except ImportError:
                return None
            _numba_sgd = _compile_sgd(numba)
    return _numba_sgd or None


def _compile_sgd(numba: Any) -> Any:
    @numba.njit(cache=True, nogil=True)
    def sgd_momentum(param, grad, buf, lr, momentum, damp, use_damp):  # pragma: no cover
        for i in range(param.size):
            g = grad[i]
            b = buf[i] * momentum
            b = b + (g * damp if use_damp else g)
            buf[i] = b
            param[i] = param[i] + b * lr

    @numba.njit(cache=True, nogil=True)
    def sgd_plain(param, grad, lr):  # pragma: no cover
        for i in range(param.size):
            param[i] = param[i] + grad[i] * lr

    def run(param: Any, grad: Any, buf: Any, lr: float, momentum: float, dampening: float) -> bool:
        """The update on flat views; False when the layouts don't allow it (caller falls back)."""
        dtype = param.dtype
        if dtype.char not in "fd" or grad.dtype != dtype or not grad.flags.c_contiguous:
            return False
        flags = param.flags
        if not (flags.c_contiguous and flags.writeable):
            return False
        if buf is not None and (buf.dtype != dtype or not buf.flags.c_contiguous):
            return False
        scalar = dtype.type
        p, g = param.reshape(-1), grad.reshape(-1)
        if buf is None:
            sgd_plain(p, g, scalar(-lr))
        else:
            damp = scalar(1 - dampening)
            sgd_momentum(p, g, buf.reshape(-1), scalar(-lr), scalar(momentum), damp, dampening != 0)
        return True

    return run
