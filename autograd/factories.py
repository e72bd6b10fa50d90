"""Tensor factories, PyTorch style: ``zeros(2, 3, dtype=..., device=..., requires_grad=...)``."""

from __future__ import annotations

import math
from typing import Any

import backends
from backends import dtypes as _dtypes

from .tensor import Tensor


def _size(size: tuple) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for s in size:
        if not isinstance(s, int) or isinstance(s, bool) or s < 0:
            raise ValueError(f"expected a shape of non-negative ints, got {size!r}")
    return tuple(size)


def _finish(array: Any, backend: Any, requires_grad: bool) -> Tensor:
    t = Tensor._make(array, backend)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _float(backend: Any, dtype: Any) -> Any:
    return backend.default_float if dtype is None else _dtypes.to_dtype(dtype)


def tensor(
    data: Any,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
    name: str | None = None,
) -> Tensor:
    """A new tensor from data (lists, scalars, NumPy/CuPy arrays, Tensors); floats -> float32.

    ``name`` labels the tensor in ``autograd.viz`` drawings (not in PyTorch).
    """
    return Tensor(data, dtype=dtype, device=device, requires_grad=requires_grad, name=name)


def from_numpy(array: Any) -> Tensor:
    """A CPU tensor sharing memory with a NumPy array (its dtype kept)."""
    if not isinstance(array, backends.cpu.xp.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    if not array.dtype.isnative:
        raise ValueError(
            f"from_numpy: the array's byte order ({array.dtype.str}) differs from this machine's; "
            "a tensor shares the array's memory, so convert it first: "
            "array.astype(array.dtype.newbyteorder('=')), or use autograd.tensor(array) (a copy)"
        )
    if array.dtype.kind not in "biufc":
        raise TypeError(
            f"from_numpy: can't make a tensor of dtype {array.dtype}; only bool, integer and "
            "floating point data are supported"
        )
    return Tensor._make(array, backends.cpu)


def zeros(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    backend = backends.get_backend("cpu" if device is None else device)
    return _finish(backend.xp.zeros(_size(size), _float(backend, dtype)), backend, requires_grad)


def ones(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    backend = backends.get_backend("cpu" if device is None else device)
    return _finish(backend.xp.ones(_size(size), _float(backend, dtype)), backend, requires_grad)


def empty(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    backend = backends.get_backend("cpu" if device is None else device)
    return _finish(backend.xp.empty(_size(size), _float(backend, dtype)), backend, requires_grad)


def full(
    size: Any, fill_value: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    backend = backends.get_backend("cpu" if device is None else device)
    if dtype is None:
        dtype = _dtypes.host_array(fill_value).dtype
    array = backend.xp.full(_size((size,)), fill_value, _dtypes.to_dtype(dtype))
    return _finish(array, backend, requires_grad)


def arange(
    start: Any,
    end: Any = None,
    step: Any = 1,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Integers (int64) unless a bound or the step is a float, then float32, as PyTorch."""
    if end is None:
        start, end = 0, start
    _check_range(start, end, step)
    backend = backends.get_backend("cpu" if device is None else device)
    if dtype is None:
        is_float = any(isinstance(v, float) for v in (start, end, step))
        dtype = backend.default_float if is_float else _dtypes.int64
    array = backend.xp.arange(start, end, step, dtype=_dtypes.to_dtype(dtype))
    return _finish(array, backend, requires_grad)


def _check_range(start: Any, end: Any, step: Any) -> None:
    """PyTorch's arange checks: NumPy divides by a zero step, and quietly gives an empty range
    for a step pointing away from ``end``."""
    for name, value in (("start", start), ("end", end), ("step", step)):
        if isinstance(value, Tensor):
            value = value.item()
        if not math.isfinite(value):
            raise RuntimeError(f"arange: unsupported range: {name}={value} must be finite")
    if step == 0:
        raise RuntimeError(f"arange: step must be nonzero (got start={start}, end={end}, step=0)")
    if (end - start) * step < 0:
        raise RuntimeError(
            f"arange: upper bound and lower bound inconsistent with step sign (start={start}, "
            f"end={end}, step={step})"
        )


def linspace(
    start: float,
    end: float,
    steps: int,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    backend = backends.get_backend("cpu" if device is None else device)
    array = backend.xp.linspace(start, end, steps, dtype=_float(backend, dtype))
    return _finish(array, backend, requires_grad)


def eye(
    n: int, m: int | None = None, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    backend = backends.get_backend("cpu" if device is None else device)
    return _finish(backend.xp.eye(n, m, dtype=_float(backend, dtype)), backend, requires_grad)


def rand(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Uniform on [0, 1), from the device's seeded generator (see ``manual_seed``)."""
    backend = backends.get_backend("cpu" if device is None else device)
    dtype = _float(backend, dtype)
    work = dtype if dtype in (_dtypes.float32, _dtypes.float64) else _dtypes.float64
    array = backend.rng.random(_size(size), dtype=work).astype(dtype, copy=False)
    return _finish(array, backend, requires_grad)


def randn(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Standard normal, from the device's seeded generator."""
    backend = backends.get_backend("cpu" if device is None else device)
    dtype = _float(backend, dtype)
    work = dtype if dtype in (_dtypes.float32, _dtypes.float64) else _dtypes.float64
    array = backend.rng.standard_normal(_size(size), dtype=work).astype(dtype, copy=False)
    return _finish(array, backend, requires_grad)


def randint(
    low: int, high: Any = None, size: Any = None, dtype: Any = None, device: Any = None
) -> Tensor:
    """``randint(high, size)`` or ``randint(low, high, size)``: integers in [low, high)."""
    if size is None:
        low, high, size = 0, low, high
    if size is None:
        raise TypeError("randint: missing the size argument, e.g. randint(0, 10, (3,))")
    backend = backends.get_backend("cpu" if device is None else device)
    dtype = _dtypes.int64 if dtype is None else _dtypes.to_dtype(dtype)
    array = backend.rng.integers(low, high, size=_size((size,)), dtype=_dtypes.int64)
    return Tensor._make(array.astype(dtype, copy=False), backend)


def randperm(n: int, device: Any = None) -> Tensor:
    """A random permutation of ``0 .. n-1`` (int64), from the device's seeded generator."""
    backend = backends.get_backend("cpu" if device is None else device)
    rng = backend.rng
    if hasattr(rng, "permutation"):
        order = rng.permutation(n)
    else:
        # CuPy's Generator has no permutation(): sorting uniform keys gives a uniform one.
        order = rng.random(n).argsort()
    return Tensor._make(order.astype(_dtypes.int64), backend)


def _like(t: Tensor, dtype: Any, device: Any) -> dict:
    return {"dtype": t.dtype if dtype is None else dtype, "device": device or t.device}


def zeros_like(
    t: Tensor, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    return zeros(*t.shape, requires_grad=requires_grad, **_like(t, dtype, device))


def ones_like(
    t: Tensor, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    return ones(*t.shape, requires_grad=requires_grad, **_like(t, dtype, device))


def empty_like(
    t: Tensor, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    return empty(*t.shape, requires_grad=requires_grad, **_like(t, dtype, device))


def full_like(
    t: Tensor, fill_value: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    return full(t.shape, fill_value, requires_grad=requires_grad, **_like(t, dtype, device))


def rand_like(
    t: Tensor, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    return rand(*t.shape, requires_grad=requires_grad, **_like(t, dtype, device))


def randn_like(
    t: Tensor, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    return randn(*t.shape, requires_grad=requires_grad, **_like(t, dtype, device))


def randint_like(
    t: Tensor, low: int, high: Any = None, dtype: Any = None, device: Any = None
) -> Tensor:
    return randint(low, high, t.shape, **_like(t, dtype, device))


def manual_seed(seed: int) -> None:
    """Seed the random generators of every device (CPU and each GPU)."""
    backends.manual_seed(seed)


def multinomial(
    input: Tensor, num_samples: int, replacement: bool = False, *, generator: Any = None
) -> Tensor:
    """Indices sampled from the categories weighted by each row of ``input`` (non-negative,
    not necessarily summing to 1), from the device's seeded generator (``manual_seed``).

    Without replacement a row yields distinct indices (the first is weighted by ``input``, each
    next one among those left). Not differentiable (int64 output), as PyTorch.

    Shape: input (C,) or (R, C) -> (num_samples,) or (R, num_samples), int64.
    Where we differ: ``generator`` objects are not supported (seed with ``manual_seed``).
    """
    op = "multinomial"
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(input).__name__}")
    if generator is not None:
        raise TypeError(f"{op}: generator objects are not supported; seed with manual_seed()")
    if input.ndim not in (1, 2):
        raise RuntimeError(f"{op}: prob_dist must be 1 or 2 dim, got shape {input.shape}")
    if input.dtype.kind != "f":
        raise RuntimeError(
            f"{op}: only supports floating-point dtypes for input, got {input.dtype}"
        )
    categories = input.shape[-1]
    if num_samples <= 0:
        raise RuntimeError(f"{op}: cannot sample n_sample <= 0 samples (got {num_samples})")
    if not replacement and num_samples > categories:
        raise RuntimeError(
            f"{op}: cannot sample n_sample > prob_dist.size(-1) samples without replacement "
            f"({num_samples} > {categories})"
        )
    backend = input._backend
    xp = backend.xp
    probs = input.data.reshape(-1, categories).astype(_dtypes.float64)
    if not bool(xp.isfinite(probs).all()) or bool((probs < 0).any()):
        raise RuntimeError(
            f"{op}: probability tensor of shape {input.shape} contains either `inf`, `nan` or "
            "element < 0"
        )
    if bool((probs.sum(axis=1) <= 0).any()):
        raise RuntimeError(f"{op}: invalid multinomial distribution (sum of probabilities <= 0)")
    rows = probs.shape[0]
    if replacement:
        cdf = xp.cumsum(probs / probs.sum(axis=1, keepdims=True), axis=1)
        uniform = backend.rng.random((rows, num_samples))
        # One sorted search for all rows: row r's values are shifted into [r, r + 1].
        offsets = xp.arange(rows, dtype=_dtypes.float64)[:, None]
        found = xp.searchsorted((cdf + offsets).ravel(), (uniform + offsets).ravel(), "right")
        samples = found.reshape(rows, num_samples) - xp.arange(rows)[:, None] * categories
        samples = xp.minimum(samples, categories - 1)
    else:
        if bool(((probs > 0).sum(axis=1) < num_samples).any()):
            raise RuntimeError(
                f"{op}: invalid multinomial distribution (with replacement=False, not enough "
                f"non-negative category to sample {num_samples})"
            )
        # Exponential races: the k smallest E / p (E ~ Exp(1)) are a draw without replacement.
        with_zero = xp.where(probs > 0, probs, 1.0)
        keys = -xp.log1p(-backend.rng.random(probs.shape)) / with_zero
        keys = xp.where(probs > 0, keys, xp.inf)
        samples = xp.argsort(keys, axis=1)[:, :num_samples]
    samples = samples.astype(_dtypes.int64)
    if input.ndim == 1:
        samples = samples[0]
    return Tensor._make(samples, backend)
