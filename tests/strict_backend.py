"""The strict device: a test-only backend as unforgiving as CuPy where CuPy is stricter than NumPy.

chalkgrad's GPU backend cannot run where there is no GPU, and code written and tested on NumPy
breaks on CuPy in a few well-known ways. This backend (device ``"strict"``, registered by
``tests/conftest.py``, never by users' code) computes with NumPy on the host but refuses what CuPy
refuses, so those bugs fail here, on any machine:

- its arrays (``StrictArray``) are not ``numpy.ndarray`` instances; arithmetic, ufuncs or array
  functions that mix them with host NumPy arrays raise ``TypeError`` (CuPy: "Unsupported type");
- implicit conversion to the host raises: ``numpy.asarray(a)``, ``a.__array__()``, ``float(a)``,
  ``int(a)``, ``bool(a)``, ``a.item()``, ``a.tolist()``; ``backend.to_host`` is the only way out
  (it returns a copy, as ``cupy.asnumpy`` does), and ``from_host`` always copies;
- reductions and full indexing give 0-d arrays, never NumPy scalars, as CuPy does, and no
  floating-point warnings are raised (a GPU computes 0/0 without a word);
- its ``xp`` namespace wraps NumPy's functions (results are StrictArrays); where CuPy is
  installed (it imports without a GPU) it offers only the names CuPy has too, so a NumPy-only
  function fails here even when its name is computed at run time (``getattr(xp, op)``);
- its arrays have only the methods of ``cupy.ndarray``, and its random generator only those of
  CuPy's ``Generator`` (no ``permutation``, no ``choice``);
- every transfer is counted (``backend.transfers``), so a test can assert that a training step
  makes no hidden device-to-host round trip: see ``StrictBackend.counting``.

It is a net for one class of bugs (mixing, implicit host conversion, hidden synchronisation,
NumPy-only habits), not a proof that the GPU works: kernels, atomics, memory, streams and CuPy's
own numerics are never exercised here. ``make gpu-check`` is what checks a GPU.
"""

from __future__ import annotations

import contextlib
import dataclasses
import types
import weakref
from typing import Any

import numpy

import backends
from backends.base import Backend, Device
from backends.numpy_backend import NumPyBackend

DEVICE = "strict"


def _import_cupy() -> Any:
    try:
        import cupy
    except Exception:  # not installed (or broken): NumPy's names are then not narrowed
        return None
    return cupy


CUPY = _import_cupy()

_HOST_MESSAGE = (
    "strict device: implicit conversion of a device array to the host ({what}) is not allowed "
    "(CuPy refuses it or syncs silently); use backend.to_host(array) explicitly"
)


class HostConversionError(TypeError):
    """An implicit device-to-host conversion (CuPy raises TypeError for these too)."""


def _refuse_host(what: str) -> HostConversionError:
    return HostConversionError(_HOST_MESSAGE.format(what=what))


def _mixing_error(where: str) -> TypeError:
    return TypeError(
        f"strict device: {where} mixes a device array with a host numpy.ndarray (CuPy raises "
        "'Unsupported type <class numpy.ndarray>'); move it with backend.from_host first"
    )


# --------------------------------------------------------------------- wrapping and unwrapping
def _unwrap(value: Any, originals: dict, where: str, allow_host: bool = False) -> Any:
    """StrictArrays (also inside lists and tuples) as their NumPy arrays; host arrays refused."""
    if type(value) is StrictArray:
        originals[id(value._a)] = value
        return value._a
    if isinstance(value, numpy.ndarray):
        if allow_host:
            return value
        raise _mixing_error(where)
    if type(value) is list or type(value) is tuple:
        return type(value)(_unwrap(v, originals, where, allow_host) for v in value)
    return value


def _wrap(value: Any, originals: dict) -> Any:
    """NumPy results as StrictArrays (NumPy scalars as 0-d arrays, as CuPy returns them)."""
    if isinstance(value, numpy.ndarray):
        original = originals.get(id(value))
        if original is not None and original._a is value:
            return original  # xp.asarray(a) is a, a.astype(a.dtype, copy=False) is a
        return StrictArray(value)
    if isinstance(value, numpy.generic):
        return StrictArray(numpy.asarray(value))
    if type(value) is tuple or type(value) is list:
        return type(value)(_wrap(v, originals) for v in value)
    if isinstance(value, tuple):  # a named tuple
        return type(value)(*(_wrap(v, originals) for v in value))
    return value


def _call(
    fn: Any,
    args: tuple,
    kwargs: dict,
    where: str,
    allow_host: bool = False,
    owner: StrictArray | None = None,
) -> Any:
    """``fn`` on the NumPy arrays behind ``args``; ``owner`` is the array a method was called on."""
    originals: dict = {} if owner is None else {id(owner._a): owner}
    args = _unwrap(args, originals, where, allow_host)
    if kwargs:
        kwargs = {k: _unwrap(v, originals, where, allow_host) for k, v in kwargs.items()}
    # A GPU never warns about 0/0 or an overflow: neither does this device.
    with numpy.errstate(all="ignore"):
        return _wrap(fn(*args, **kwargs), originals)


# cupy.ndarray's methods that compute on the device (checked against CuPy in test_cupy_api.py).
# Left out on purpose: item, tolist, tobytes, tofile, dump, dumps, get (host conversions).
ARRAY_METHODS = frozenset(
    "all any argmax argmin argpartition argsort astype choose clip compress conj conjugate copy "
    "cumprod cumsum diagonal dot fill flatten max mean min nonzero partition prod ptp put ravel "
    "repeat reshape round searchsorted sort squeeze std sum swapaxes take trace transpose var "
    "view".split()
)
ARRAY_ATTRIBUTES = frozenset("shape ndim dtype size itemsize nbytes strides flags".split())


# id(numpy array) -> weak reference to its StrictArray, so that ``a.base`` is the owner itself.
_WRAPPERS: dict[int, Any] = {}


class StrictArray:
    """A device array of the strict backend: NumPy storage behind CuPy's rules."""

    __slots__ = ("_a", "__weakref__")
    __hash__ = None  # type: ignore[assignment]
    # Makes NumPy call __array_ufunc__ / our reflected operators instead of converting us.
    __array_priority__ = 200

    def __init__(self, array: numpy.ndarray) -> None:
        self._a = array
        _WRAPPERS[id(array)] = weakref.ref(self)

    # --------------------------------------------------------------- attributes and methods
    def __getattr__(self, name: str) -> Any:
        if name in ARRAY_ATTRIBUTES:
            return getattr(self._a, name)
        if name in ARRAY_METHODS:
            method = getattr(self._a, name)

            def bound(*args: Any, **kwargs: Any) -> Any:
                return _call(method, args, kwargs, f"StrictArray.{name}", owner=self)

            return bound
        if name in ("item", "tolist", "tobytes", "tofile", "get"):
            raise _refuse_host(f".{name}()")
        # Protocol lookups (__array_interface__, __array_struct__, __dlpack__...) land here too:
        # answering none of them is what keeps NumPy from reading our memory behind our back.
        raise AttributeError(f"'StrictArray' object has no attribute {name!r}")

    @property
    def T(self) -> StrictArray:
        return StrictArray(self._a.T)

    @property
    def mT(self) -> StrictArray:
        return StrictArray(numpy.swapaxes(self._a, -1, -2))

    @property
    def real(self) -> StrictArray:
        return StrictArray(self._a.real)

    @property
    def imag(self) -> StrictArray:
        return StrictArray(self._a.imag)

    @property
    def base(self) -> Any:
        # CuPy's base is the owning array object itself: identity must hold (a.base is x).
        base = self._a.base
        if base is None:
            return None
        ref = _WRAPPERS.get(id(base))
        owner = ref() if ref is not None else None
        return owner if owner is not None and owner._a is base else StrictArray(base)

    # ------------------------------------------------------------ what CuPy refuses or syncs
    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        raise _refuse_host("numpy.asarray / __array__")

    def __float__(self) -> float:
        raise _refuse_host("float()")

    def __int__(self) -> int:
        raise _refuse_host("int()")

    def __index__(self) -> int:
        raise _refuse_host("use as a Python index")

    def __complex__(self) -> complex:
        raise _refuse_host("complex()")

    def __bool__(self) -> bool:
        raise _refuse_host("bool(), an if or a while on a device value")

    def __contains__(self, value: Any) -> bool:
        raise _refuse_host("the in operator")

    def __reduce__(self) -> Any:
        raise _refuse_host("pickling")

    # ------------------------------------------------------------------------ containers
    def __len__(self) -> int:
        if self._a.ndim == 0:
            raise TypeError("len() of unsized object")
        return len(self._a)

    def __iter__(self) -> Any:
        # Like CuPy: rows (0-d arrays for a vector) that stay on the device.
        if self._a.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(len(self._a)))

    def __getitem__(self, index: Any) -> Any:
        result = _call(self._a.__getitem__, (index,), {}, "indexing")
        if result.ndim == 0 and isinstance(index, (int, tuple)) and not _holds_strict(index):
            # NumPy gives a scalar copy for a full integer index; CuPy a 0-d view: so do we.
            view_index = (*index, Ellipsis) if isinstance(index, tuple) else (index, Ellipsis)
            result = StrictArray(self._a[view_index])
        return result

    def __setitem__(self, index: Any, value: Any) -> None:
        originals: dict = {}
        index = _unwrap(index, originals, "indexing")
        value = _unwrap(value, originals, "assignment")
        self._a[index] = value

    def __repr__(self) -> str:
        return f"StrictArray({self._a!r})"

    def __copy__(self) -> StrictArray:
        return StrictArray(self._a.copy())

    def __deepcopy__(self, memo: dict) -> StrictArray:
        return StrictArray(self._a.copy())

    # ----------------------------------------------------------------- NumPy's protocols
    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        return _call(getattr(ufunc, method), inputs, kwargs, f"numpy.{ufunc.__name__}")

    def __array_function__(self, func: Any, types_: Any, args: tuple, kwargs: dict) -> Any:
        return _call(func, args, kwargs, f"numpy.{func.__name__}")


def _binary(ufunc: Any, reflected: bool = False, inplace: bool = False) -> Any:
    def op(self: StrictArray, other: Any) -> Any:
        if not isinstance(other, (StrictArray, numpy.ndarray, numpy.generic, int, float, complex)):
            return NotImplemented  # a Tensor: let its reflected operator answer
        args = (other, self) if reflected else (self, other)
        if inplace:
            _call(ufunc, args, {"out": self}, f"operator {ufunc.__name__}")
            return self
        return _call(ufunc, args, {}, f"operator {ufunc.__name__}")

    return op


_OPERATORS = {
    "add": numpy.add,
    "sub": numpy.subtract,
    "mul": numpy.multiply,
    "truediv": numpy.true_divide,
    "floordiv": numpy.floor_divide,
    "mod": numpy.remainder,
    "pow": numpy.power,
    "matmul": numpy.matmul,
    "and": numpy.bitwise_and,
    "or": numpy.bitwise_or,
    "xor": numpy.bitwise_xor,
    "lshift": numpy.left_shift,
    "rshift": numpy.right_shift,
}
for _name, _ufunc in _OPERATORS.items():
    setattr(StrictArray, f"__{_name}__", _binary(_ufunc))
    setattr(StrictArray, f"__r{_name}__", _binary(_ufunc, reflected=True))
    if _name != "matmul":  # cupy.ndarray has no __imatmul__
        setattr(StrictArray, f"__i{_name}__", _binary(_ufunc, inplace=True))
for _name, _ufunc in {
    "eq": numpy.equal,
    "ne": numpy.not_equal,
    "lt": numpy.less,
    "le": numpy.less_equal,
    "gt": numpy.greater,
    "ge": numpy.greater_equal,
}.items():
    setattr(StrictArray, f"__{_name}__", _binary(_ufunc))
for _name, _ufunc in {
    "neg": numpy.negative,
    "pos": numpy.positive,
    "abs": numpy.absolute,
    "invert": numpy.invert,
}.items():
    setattr(StrictArray, f"__{_name}__", lambda self, _u=_ufunc: _call(_u, (self,), {}, "operator"))


# ------------------------------------------------------------------------------ the namespace
# The keywords a CuPy ufunc call accepts (cupy/_core/_kernel.pyx: ufunc.__call__).
_UFUNC_KEYWORDS = frozenset(("out", "dtype", "casting"))


class _StrictUfunc:
    """A NumPy ufunc whose results are StrictArrays (``xp.add``, ``xp.add.at``, ``.reduce``)."""

    def __init__(self, ufunc: Any, cupy_ufunc: Any = None) -> None:
        self._ufunc = ufunc
        self._cupy_ufunc = cupy_ufunc
        self.__name__ = ufunc.__name__

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        unknown = set(kwargs) - _UFUNC_KEYWORDS
        if unknown:  # NumPy's where=, order=, subok=...: CuPy raises "Wrong arguments"
            raise TypeError(f"xp.{self.__name__}: CuPy's ufuncs take no {sorted(unknown)}")
        return _call(self._ufunc, args, kwargs, f"xp.{self.__name__}")

    def __getattr__(self, name: str) -> Any:
        if self._cupy_ufunc is not None and not hasattr(self._cupy_ufunc, name):
            raise AttributeError(f"CuPy's ufunc {self.__name__} has no {name!r}")
        attr = getattr(self._ufunc, name)
        if not callable(attr):
            return attr

        def method(*args: Any, **kwargs: Any) -> Any:
            return _call(attr, args, kwargs, f"xp.{self.__name__}.{name}")

        return method


# Where data may come from the host (an explicit host-to-device copy, counted as one).
_FROM_HOST_FUNCTIONS = frozenset(("asarray", "array", "asanyarray", "ascontiguousarray"))


class _StrictNamespace(types.SimpleNamespace):
    """``xp`` of the strict device: NumPy's names, with device results (a module look-alike)."""

    def __init__(
        self, module: Any, name: str, backend: StrictBackend | None, cupy_module: Any
    ) -> None:
        super().__init__(__name__=name)
        self._module = module
        self._backend = backend
        self._cupy_module = cupy_module  # None where CuPy is not installed

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        cupy_attr = None
        if self._cupy_module is not None:
            cupy_attr = getattr(self._cupy_module, name, None)
            if cupy_attr is None and name != "newaxis":
                raise AttributeError(
                    f"strict device: {self.__name__}.{name} exists in NumPy but not in CuPy "
                    f"{CUPY.__version__}; use another function or a backend duty"
                )
        attr = getattr(self._module, name)
        if attr is numpy.ndarray:
            value: Any = StrictArray
        elif isinstance(attr, numpy.ufunc):
            value = _StrictUfunc(attr, cupy_attr)
        elif isinstance(attr, type):  # dtypes, scalar types, finfo, iinfo: host objects
            value = attr
        elif isinstance(attr, types.ModuleType):
            value = _StrictNamespace(attr, f"{self.__name__}.{name}", self._backend, cupy_attr)
        elif callable(attr):
            value = self._function(attr, f"{self.__name__}.{name}", name in _FROM_HOST_FUNCTIONS)
        else:
            value = attr  # constants: pi, inf, newaxis
        setattr(self, name, value)
        return value

    def _function(self, fn: Any, where: str, from_host: bool) -> Any:
        backend = self._backend

        def call(*args: Any, **kwargs: Any) -> Any:
            if from_host and args and not _holds_strict(args[0]) and backend is not None:
                backend.transfers.from_host += 1
            return _call(fn, args, kwargs, where, allow_host=from_host)

        call.__name__ = fn.__name__ if hasattr(fn, "__name__") else where
        return call


def _holds_strict(value: Any) -> bool:
    if type(value) is StrictArray:
        return True
    if type(value) is list or type(value) is tuple:
        return any(_holds_strict(v) for v in value)
    return False


# ------------------------------------------------------------------------------- the backend
@dataclasses.dataclass
class Transfers:
    """What crossed between host and device: ``to_host`` calls (``scalar_reads`` of them read a
    single element, like ``.item()``) and host-to-device copies (``from_host``)."""

    to_host: int = 0
    scalar_reads: int = 0
    from_host: int = 0

    def snapshot(self) -> Transfers:
        return dataclasses.replace(self)

    def since(self, before: Transfers) -> Transfers:
        return Transfers(
            self.to_host - before.to_host,
            self.scalar_reads - before.scalar_reads,
            self.from_host - before.from_host,
        )


class _StrictGenerator:
    """NumPy's Generator behind CuPy's Generator's methods, results on the device."""

    METHODS = frozenset(("random", "standard_normal", "integers", "uniform", "exponential"))

    def __init__(self, seed: Any = None) -> None:
        self._rng = numpy.random.default_rng(seed)

    def __getattr__(self, name: str) -> Any:
        if name not in self.METHODS:
            raise AttributeError(f"CuPy's random Generator has no method {name!r}")
        method = getattr(self._rng, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            return _call(method, args, kwargs, f"rng.{name}")

        return call


_HOST_DUTIES = NumPyBackend()


class StrictBackend(Backend):
    """The strict device (see the module's docstring); ``transfers`` counts every crossing."""

    __slots__ = ("transfers",)

    name = "strict"

    def __init__(self) -> None:
        Device.allow(DEVICE)
        self.transfers = Transfers()
        super().__init__(_StrictNamespace(numpy, "strict_numpy", self, CUPY), DEVICE)
        self.rng = _StrictGenerator()

    def seed(self, seed: int) -> None:
        self.rng = _StrictGenerator(seed)

    def to_host(self, array: Any) -> numpy.ndarray:
        if type(array) is not StrictArray:
            raise TypeError(
                f"strict device: to_host expects a device array, got {type(array).__name__}"
            )
        self.transfers.to_host += 1
        if array._a.size == 1:
            self.transfers.scalar_reads += 1
        return array._a.copy()  # a new host array, as cupy.asnumpy gives

    def from_host(self, array: Any, dtype: Any = None) -> StrictArray:
        if _holds_strict(array):
            raise TypeError("strict device: from_host got a device array; it is already here")
        self.transfers.from_host += 1
        return StrictArray(numpy.array(array, dtype=dtype))  # always a copy, as on a GPU

    def scatter_add(self, target: Any, index: Any, values: Any) -> None:
        originals: dict = {}
        numpy.add.at(
            _unwrap(target, originals, "scatter_add"),
            _unwrap(index, originals, "scatter_add"),
            _unwrap(values, originals, "scatter_add"),
        )

    def im2col(self, x: Any, *args: Any, **kwargs: Any) -> Any:
        # The NumPy duty on the unwrapped array (CuPy has kernels of its own for this duty).
        originals: dict = {}
        out = _HOST_DUTIES.im2col(_unwrap(x, originals, "im2col"), *args, **kwargs)
        return _wrap(out, originals)

    def col2im(self, col: Any, *args: Any, **kwargs: Any) -> Any:
        originals: dict = {}
        out = _HOST_DUTIES.col2im(_unwrap(col, originals, "col2im"), *args, **kwargs)
        return _wrap(out, originals)

    def reduce_sum(self, array: Any, axis: Any, keepdims: bool) -> Any:
        # The NumPy duty (BLAS for leading axes), so that a step here equals the CPU's bit for bit.
        originals: dict = {}
        out = _HOST_DUTIES.reduce_sum(_unwrap(array, originals, "reduce_sum"), axis, keepdims)
        return _wrap(out, originals)

    def reduce_mean(self, array: Any, axis: Any, keepdims: bool) -> Any:
        originals: dict = {}
        out = _HOST_DUTIES.reduce_mean(_unwrap(array, originals, "reduce_mean"), axis, keepdims)
        return _wrap(out, originals)

    def scatter_reduce(self, target: Any, index: Any, values: Any, reduce: str) -> None:
        # As CuPyBackend: no atomic multiply on a GPU, so "prod" is refused there and here.
        if reduce == "prod":
            raise NotImplementedError(
                "scatter_reduce: reduce='prod' is not supported on CUDA (CuPy has no "
                "multiply.at); move the tensors to the CPU for it"
            )
        ufunc = {"sum": numpy.add, "amax": numpy.maximum, "amin": numpy.minimum}[reduce]
        originals: dict = {}
        ufunc.at(
            _unwrap(target, originals, "scatter_reduce"),
            _unwrap(index, originals, "scatter_reduce"),
            _unwrap(values, originals, "scatter_reduce"),
        )

    @contextlib.contextmanager
    def counting(self) -> Any:
        """``with backend.counting() as t:`` ... then ``t.to_host``, ``t.scalar_reads``, ...

        ``t`` holds what crossed inside the block (filled in when the block ends).
        """
        before = self.transfers.snapshot()
        result = Transfers()
        try:
            yield result
        finally:
            delta = self.transfers.since(before)
            result.to_host, result.scalar_reads, result.from_host = (
                delta.to_host,
                delta.scalar_reads,
                delta.from_host,
            )


def register() -> StrictBackend:
    """Register the strict device once (the test suite's conftest does it); returns it."""
    existing = backends._registered.get(DEVICE)
    if existing is not None:
        return existing  # type: ignore[return-value]
    backend = StrictBackend()
    backends.register_backend(backend)
    return backend
