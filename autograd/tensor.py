"""``Tensor``: an array on a device, plus what the graph needs to send gradients back through it.

Every method that computes is a one-line call into an op in ``autograd/ops/``; the op's forward
and backward sit together there. Tensors are created by ops through ``Tensor._make`` (fast, no
checks) and by users through ``Tensor(data)`` / ``autograd.tensor(data)``.
"""

from __future__ import annotations

import re
from typing import Any

import backends
from backends import dtypes as _dtypes

from .grad_mode import no_grad


class Tensor:
    """A multi-dimensional array that can record the operations applied to it.

    Attributes follow PyTorch: ``data`` (the backend array), ``grad``, ``requires_grad``,
    ``grad_fn`` (the op node that produced it; None for leaves), ``is_leaf``, ``shape``,
    ``dtype``, ``device``. ``name`` is an optional label used by ``autograd.viz``.
    Where we differ: ``dtype`` is a NumPy dtype object (equal to ``autograd.float32`` etc. and to
    ``"float32"``, but printed as NumPy prints it) and ``device`` an ``autograd.device``, a
    string subclass (``"cpu"``, ``"cuda:0"``) printed as ``device(type='cpu')``.
    """

    __slots__ = (
        "data",
        "_grad",
        "requires_grad",
        "grad_fn",
        "_out_idx",
        "_vc",
        "_backend",
        "_hooks",
        "name",
        "_view",
        "__weakref__",
    )

    # Makes NumPy defer to our reflected operators (ndarray + Tensor -> Tensor.__radd__).
    __array_priority__ = 1000

    def __init__(
        self,
        data: Any,
        dtype: Any = None,
        device: Any = None,
        requires_grad: bool = False,
        name: str | None = None,
    ) -> None:
        if isinstance(data, Tensor):
            backend = data._backend if device is None else backends.get_backend(device)
            array = data.data
            if backend is not data._backend:
                array = backend.from_host(data._backend.to_host(array))
            array = array.astype(_dtypes.to_dtype(dtype)) if dtype is not None else array.copy()
        else:
            dtype = None if dtype is None else _dtypes.to_dtype(dtype)
            source = backends.backend_of_array(data)
            backend = source if device is None else backends.get_backend(device)
            if source is backend and backend.is_array(data):
                # A new tensor owns its data, as torch.tensor (from_numpy is the one that shares).
                array = data.copy() if dtype is None else data.astype(dtype)
            else:
                array = backend.from_host(_dtypes.host_array(source.to_host(data), dtype))
        if not array.dtype.isnative:
            # '>f4' data (big-endian files): the tensor owns a copy anyway, so make it native
            # (PyTorch refuses; backward and the backends assume native order).
            array = array.astype(array.dtype.newbyteorder("="))
        if array.dtype.kind not in "biufc":
            raise TypeError(
                f"tensor: can't make a tensor of dtype {array.dtype}; only bool, integer and "
                "floating point data are supported"
            )
        if requires_grad and array.dtype.kind not in "fc":
            raise RuntimeError(
                f"tensor: only floating point tensors can require gradients, got {array.dtype}"
            )
        self.data = array
        self._grad = None
        self.requires_grad = bool(requires_grad)
        self.grad_fn = None
        self._out_idx = 0
        self._vc = [0]
        self._backend = backend
        self._hooks = None
        self.name = name
        self._view = None

    @staticmethod
    def _make(
        data: Any,
        backend: Any,
        requires_grad: bool = False,
        grad_fn: Any = None,
        out_idx: int = 0,
    ) -> Tensor:
        """Wrap a backend array without checks (the ops' fast path)."""
        t = _new(Tensor)
        t.data = data
        t._grad = None
        t.requires_grad = requires_grad
        t.grad_fn = grad_fn
        t._out_idx = out_idx
        t._vc = [0]
        t._backend = backend
        t._hooks = None
        t.name = None
        t._view = None
        return t

    # ------------------------------------------------------------------------ properties
    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> Any:
        return self.data.dtype

    @property
    def device(self) -> str:
        return self._backend.device

    @property
    def backend(self) -> Any:
        return self._backend

    @property
    def xp(self) -> Any:
        return self._backend.xp

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def grad(self) -> Tensor | None:
        """The accumulated gradient (leaves, and non-leaves after ``retain_grad()``)."""
        return self._grad

    @grad.setter
    def grad(self, value: Tensor | None) -> None:
        if value is not None:
            _check_grad_assignment(self, value)
        self._grad = value

    @property
    def _version(self) -> int:
        """How many in-place changes the data has had; shared with ``detach()``-ed aliases."""
        return self._vc[0]

    @_version.setter
    def _version(self, value: int) -> None:
        self._vc[0] = value

    @property
    def is_cuda(self) -> bool:
        return self._backend.device.startswith("cuda")

    @property
    def T(self) -> Tensor:
        return Permute.apply(self, tuple(range(self.data.ndim - 1, -1, -1)))

    @property
    def mT(self) -> Tensor:
        return transpose(self, -2, -1)

    def size(self, dim: int | None = None) -> Any:
        if dim is None:
            return self.data.shape
        return self.data.shape[_normalize_dim(dim, self.data.ndim, "size")]

    def dim(self) -> int:
        return self.data.ndim

    def numel(self) -> int:
        return int(self.data.size)

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    # ------------------------------------------------------------------- host conversion
    def item(self) -> Any:
        if self.data.size != 1:
            raise RuntimeError(
                f"item: a tensor with {self.data.size} elements (shape {self.shape}) cannot be "
                "converted to a Python scalar"
            )
        return self._backend.to_host(self.data).item()

    def tolist(self) -> Any:
        return self._backend.to_host(self.data).tolist()

    def numpy(self) -> Any:
        """The data as a host NumPy array (shares memory on the CPU, like PyTorch)."""
        if self.requires_grad:
            raise RuntimeError(
                "numpy: can't call numpy() on a tensor that requires grad; use detach().numpy()"
            )
        return self._backend.to_host(self.data)

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        array = self._backend.to_host(self.data)
        return array if dtype is None else array.astype(dtype)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.data.dtype.kind not in "iu" or self.data.size != 1:
            raise TypeError("only integer tensors of a single element can be used as an index")
        return int(self.item())

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise RuntimeError(
                f"bool: the truth value of a tensor of shape {self.shape} is ambiguous; "
                "use .any() or .all()"
            )
        return bool(self.item())

    # ---------------------------------------------------------------- device and dtype
    def to(
        self,
        *args: Any,
        dtype: Any = None,
        device: Any = None,
        copy: bool = False,
        non_blocking: bool = False,
        memory_format: Any = None,
    ) -> Tensor:
        """``to(device)``, ``to(dtype)``, ``to(device, dtype)`` or ``to(other_tensor)``.

        ``memory_format`` accepts PyTorch's ``preserve_format``, ``contiguous_format`` and
        ``channels_last``; where we differ: arrays keep their layout (values are the same).
        """
        _check_memory_format(memory_format, "to")
        for arg in args:
            if isinstance(arg, Tensor):
                device, dtype = arg.device, arg.dtype
            elif _is_device(arg):
                device = arg
            else:
                dtype = arg
        out = self
        if device is not None:
            backend = backends.get_backend(device)
            if backend is not self._backend:
                out = ToDevice.apply(out, backend)
        if dtype is not None:
            dtype = _dtypes.to_dtype(dtype)
            if dtype != out.data.dtype:
                out = Cast.apply(out, dtype)
        if copy and out is self:
            out = self.clone()
        return out

    def cpu(self) -> Tensor:
        return self.to("cpu")

    def cuda(self, device: Any = None) -> Tensor:
        return self.to("cuda" if device is None else f"cuda:{int(device)}")

    def float(self, memory_format: Any = None) -> Tensor:
        return self.to(_dtypes.float32, memory_format=memory_format)

    def double(self, memory_format: Any = None) -> Tensor:
        return self.to(_dtypes.float64, memory_format=memory_format)

    def half(self, memory_format: Any = None) -> Tensor:
        return self.to(_dtypes.float16, memory_format=memory_format)

    def long(self, memory_format: Any = None) -> Tensor:
        return self.to(_dtypes.int64, memory_format=memory_format)

    def int(self, memory_format: Any = None) -> Tensor:
        return self.to(_dtypes.int32, memory_format=memory_format)

    def bool(self, memory_format: Any = None) -> Tensor:
        return self.to(_dtypes.bool_, memory_format=memory_format)

    def type(self, dtype: Any = None) -> Any:
        return str(self.dtype) if dtype is None else self.to(dtype)

    def is_floating_point(self) -> bool:
        return self.data.dtype.kind == "f"

    # ------------------------------------------------------------------------ the graph
    def detach(self) -> Tensor:
        """The same data, cut from the graph (shares memory and the version counter)."""
        out = Tensor._make(self.data, self._backend)
        _views.register_alias(self, out)
        return out

    def detach_(self) -> Tensor:
        """Cut this tensor from the graph in place (refused for views, as PyTorch)."""
        if self._view is not None and self._view[2]:
            raise RuntimeError(
                "detach_: can't detach views in-place (this tensor of shape "
                f"{self.shape} is a view of another tensor); use detach() instead"
            )
        self.grad_fn = None
        self.requires_grad = False
        return self

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if not self.is_leaf:
            raise RuntimeError(
                "requires_grad_: you can only change requires_grad of leaf tensors; "
                "use detach().requires_grad_() for a non-leaf"
            )
        if requires_grad and self.data.dtype.kind not in "fc":
            raise RuntimeError(
                f"requires_grad_: only floating point tensors can require gradients, "
                f"got {self.dtype}"
            )
        self.requires_grad = bool(requires_grad)
        return self

    def clone(self) -> Tensor:
        return Clone.apply(self)

    def backward(
        self, gradient: Any = None, retain_graph: bool | None = None, create_graph: bool = False
    ) -> None:
        """Accumulate d(self)/d(leaf) into each leaf's ``.grad`` (``gradient``: d(loss)/d(self))."""
        _function.backward(self, gradient, retain_graph, create_graph)

    def register_hook(self, hook: Any) -> Any:
        """``hook(grad) -> grad or None`` runs when this tensor's gradient is computed."""
        if not self.requires_grad:
            raise RuntimeError(
                "register_hook: cannot register a hook on a tensor that doesn't require gradient"
            )
        if self.grad_fn is None:
            if self._hooks is None:
                self._hooks = []
            self._hooks.append(hook)
            hooks = self._hooks
        else:
            self.grad_fn.register_hook(hook, self._out_idx)
            hooks = self.grad_fn._hooks[self._out_idx]
        return _RemovableHandle(hooks, hook)

    def register_post_accumulate_grad_hook(self, hook: Any) -> Any:
        """``hook(tensor)`` runs after backward has accumulated this leaf's ``.grad`` (PyTorch's
        hook for fusing the optimizer step into backward). Leaves only."""
        if not self.requires_grad:
            raise RuntimeError(
                "register_post_accumulate_grad_hook: cannot register a hook on a tensor that "
                "doesn't require gradient"
            )
        if self.grad_fn is not None:
            raise RuntimeError(
                "register_post_accumulate_grad_hook: post accumulate grad hooks cannot be "
                "registered on non-leaf tensors"
            )
        if self._hooks is None:
            self._hooks = []
        entry = _PostAccumulateGradHook(hook)
        self._hooks.append(entry)
        _function._register_hooked_leaf(self)
        return _RemovableHandle(self._hooks, entry)

    def retain_grad(self) -> None:
        """Keep this non-leaf tensor's gradient in ``.grad`` after backward."""
        if not self.requires_grad:
            raise RuntimeError(
                "retain_grad: can't retain_grad on a tensor that has requires_grad=False"
            )
        if self.grad_fn is not None:
            _function._retain(self)

    @property
    def retains_grad(self) -> bool:
        node = self.grad_fn
        return node is not None and bool(node._retained) and self._out_idx in node._retained

    # ------------------------------------------------------------------------ printing
    def __repr__(self) -> str:
        body = repr(self._backend.to_host(self.data))
        if body.startswith("array("):
            # NumPy prints "array([...], dtype=float32)"; the dtype may wrap onto a new line.
            body = _NUMPY_DTYPE_SUFFIX.sub("", body[len("array(") : -1])
        body = body.replace("\n      ", "\n       ")
        extras = []
        if self.device != "cpu":
            extras.append(f"device='{self.device}'")
        if self.data.dtype not in (_dtypes.float32, _dtypes.int64, _dtypes.bool_):
            extras.append(f"dtype={self.dtype}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn=<{self.grad_fn.name}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body, *extras]) + ")"

    def __deepcopy__(self, memo: dict) -> Tensor:
        """A copy with its own array on the same device (leaves only, as PyTorch)."""
        if self.grad_fn is not None:
            raise RuntimeError(
                "deepcopy: only leaf tensors (created by the user, not by an op) can be deep-copied"
            )
        out = type(self).__new__(type(self))
        for slot in Tensor.__slots__[:-1]:
            setattr(out, slot, getattr(self, slot, None))
        out.data = self.data.copy()
        out._vc = [0]
        out._hooks = None
        out._view = None
        if self.grad is not None:
            out.grad = self.grad.__deepcopy__(memo)
        memo[id(self)] = out
        return out

    __hash__ = object.__hash__

    # -------------------------------------------------------------------- arithmetic
    def __add__(self, other: Any) -> Tensor:
        if isinstance(other, Tensor) and self.data.dtype is other.data.dtype:
            try:  # the hot case (no promotion) without _binary_op's frame
                return Add.apply(self, other)
            except ValueError as exc:
                raise _op_error("add", exc, self, other) from None
        return _binary_op(Add, "add", self, other)

    __radd__ = __add__  # same body: add is commutative, and a Tensor on the left never lands here

    def __sub__(self, other: Any) -> Tensor:
        return sub(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return rsub(self, other)

    def __mul__(self, other: Any) -> Tensor:
        if isinstance(other, Tensor) and self.data.dtype is other.data.dtype:
            try:  # the hot case (no promotion) without _binary_op's frame
                return Mul.apply(self, other)
            except ValueError as exc:
                raise _op_error("mul", exc, self, other) from None
        return _binary_op(Mul, "mul", self, other)

    __rmul__ = __mul__  # same body: mul is commutative, and a Tensor on the left never lands here

    def __truediv__(self, other: Any) -> Tensor:
        return div(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return rdiv(self, other)

    def __floordiv__(self, other: Any) -> Tensor:
        return floor_divide(self, other)

    def __mod__(self, other: Any) -> Tensor:
        return remainder(self, other)

    def __rmod__(self, other: Any) -> Tensor:
        return rremainder(self, other)

    def __pow__(self, exponent: Any) -> Tensor:
        return pow(self, exponent)

    def __rpow__(self, base: Any) -> Tensor:
        return rpow(self, base)

    def __matmul__(self, other: Any) -> Tensor:
        return matmul(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return matmul(_as_tensor(other, self), self)

    def __neg__(self) -> Tensor:
        return Neg.apply(self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return Abs.apply(self)

    def __invert__(self) -> Tensor:
        return bitwise_not(self)

    def __and__(self, other: Any) -> Tensor:
        return bitwise_and(self, other)

    def __rand__(self, other: Any) -> Tensor:
        return bitwise_and(self, other)

    def __or__(self, other: Any) -> Tensor:
        return bitwise_or(self, other)

    def __ror__(self, other: Any) -> Tensor:
        return bitwise_or(self, other)

    def __xor__(self, other: Any) -> Tensor:
        return bitwise_xor(self, other)

    def __rxor__(self, other: Any) -> Tensor:
        return bitwise_xor(self, other)

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return compare(self, other, "equal")

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return compare(self, other, "not_equal")

    def __lt__(self, other: Any) -> Tensor:
        return compare(self, other, "less")

    def __le__(self, other: Any) -> Tensor:
        return compare(self, other, "less_equal")

    def __gt__(self, other: Any) -> Tensor:
        return compare(self, other, "greater")

    def __ge__(self, other: Any) -> Tensor:
        return compare(self, other, "greater_equal")

    def add(self, other: Any, alpha: Any = 1) -> Tensor:
        return add(self, other if alpha == 1 else other * alpha)

    def sub(self, other: Any, alpha: Any = 1) -> Tensor:
        return sub(self, other if alpha == 1 else other * alpha)

    def mul(self, other: Any) -> Tensor:
        return mul(self, other)

    def div(self, other: Any, *, rounding_mode: str | None = None) -> Tensor:
        return divide(self, other, rounding_mode=rounding_mode)

    def pow(self, exponent: Any) -> Tensor:
        return pow(self, exponent)

    def matmul(self, other: Any) -> Tensor:
        return matmul(self, other)

    # --- matrix products and linear algebra (issue 13): one line each into ops/linalg.py
    def mm(self, mat2: Tensor) -> Tensor:
        return _linalg.mm(self, mat2)

    def bmm(self, mat2: Tensor) -> Tensor:
        return _linalg.bmm(self, mat2)

    def mv(self, vec: Tensor) -> Tensor:
        return _linalg.mv(self, vec)

    def dot(self, other: Tensor) -> Tensor:
        return _linalg.dot(self, other)

    def vdot(self, other: Tensor) -> Tensor:
        return _linalg.vdot(self, other)

    def inner(self, other: Tensor) -> Tensor:
        return _linalg.inner(self, other)

    def outer(self, vec2: Tensor) -> Tensor:
        return _linalg.outer(self, vec2)

    def ger(self, vec2: Tensor) -> Tensor:
        return _linalg.outer(self, vec2)

    def addmm(self, mat1: Tensor, mat2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
        return _linalg.addmm(self, mat1, mat2, beta=beta, alpha=alpha)

    def addmv(self, mat: Tensor, vec: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
        return _linalg.addmv(self, mat, vec, beta=beta, alpha=alpha)

    def addr(self, vec1: Tensor, vec2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
        return _linalg.addr(self, vec1, vec2, beta=beta, alpha=alpha)

    def baddbmm(self, batch1: Tensor, batch2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
        return _linalg.baddbmm(self, batch1, batch2, beta=beta, alpha=alpha)

    def addbmm(self, batch1: Tensor, batch2: Tensor, *, beta: Any = 1, alpha: Any = 1) -> Tensor:
        return _linalg.addbmm(self, batch1, batch2, beta=beta, alpha=alpha)

    def kron(self, other: Tensor) -> Tensor:
        return _linalg.kron(self, other)

    def cross(self, other: Tensor, dim: int | None = None) -> Tensor:
        return _linalg.cross(self, other, dim)

    def trace(self) -> Tensor:
        return _linalg.trace(self)

    def det(self) -> Tensor:
        return _linalg.det(self)

    def logdet(self) -> Tensor:
        return _linalg.logdet(self)

    def slogdet(self) -> Any:
        return _linalg.slogdet(self)

    def inverse(self) -> Tensor:
        return _linalg.inv(self)

    def cholesky(self, upper: bool = False) -> Tensor:
        return _linalg.cholesky(self, upper=upper)

    def pinverse(self, rcond: float = 1e-15) -> Tensor:
        return _linalg.pinv(self, rtol=rcond)

    def matrix_power(self, n: int) -> Tensor:
        return _linalg.matrix_power(self, n)

    def eq(self, other: Any) -> Tensor:
        return compare(self, other, "equal")

    def ne(self, other: Any) -> Tensor:
        return compare(self, other, "not_equal")

    def lt(self, other: Any) -> Tensor:
        return compare(self, other, "less")

    def le(self, other: Any) -> Tensor:
        return compare(self, other, "less_equal")

    def gt(self, other: Any) -> Tensor:
        return compare(self, other, "greater")

    def ge(self, other: Any) -> Tensor:
        return compare(self, other, "greater_equal")

    def maximum(self, other: Any) -> Tensor:
        return maximum(self, other)

    def minimum(self, other: Any) -> Tensor:
        return minimum(self, other)

    # ------------------------------------------------------------------------- unary
    def neg(self) -> Tensor:
        return Neg.apply(self)

    def abs(self) -> Tensor:
        return Abs.apply(self)

    def exp(self) -> Tensor:
        return Exp.apply(self)

    def log(self) -> Tensor:
        return Log.apply(self)

    def sqrt(self) -> Tensor:
        return Sqrt.apply(self)

    def rsqrt(self) -> Tensor:
        return Sqrt.apply(self).reciprocal()

    def reciprocal(self) -> Tensor:
        return rdiv(self, 1.0)

    def sin(self) -> Tensor:
        return Sin.apply(self)

    def cos(self) -> Tensor:
        return Cos.apply(self)

    def tanh(self) -> Tensor:
        return Tanh.apply(self)

    def sigmoid(self) -> Tensor:
        return Sigmoid.apply(self)

    def relu(self) -> Tensor:
        return Relu.apply(self)

    def sign(self) -> Tensor:
        return _pointwise.sign(self)

    def clamp(self, min: Any = None, max: Any = None) -> Tensor:
        return clamp(self, min, max)

    clip = clamp

    def where(self, condition: Any, other: Any) -> Tensor:
        return where(condition, self, other)

    def isnan(self) -> Tensor:
        return isnan(self)

    def isfinite(self) -> Tensor:
        return isfinite(self)

    def logical_not(self) -> Tensor:
        return logical_not(self)

    # -------------------------------------------------------------------- reductions
    def sum(self, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
        return sum(self, dim, keepdim, dtype)

    def mean(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return mean(self, dim, keepdim)

    def var(self, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,
            correction: Any = None) -> Tensor:  # fmt: skip
        return var(self, dim, unbiased, keepdim, correction=correction)

    def std(self, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,
            correction: Any = None) -> Tensor:  # fmt: skip
        return std(self, dim, unbiased, keepdim, correction=correction)

    def max(self, dim: Any = None, keepdim: bool = False) -> Any:
        return max(self, dim, keepdim)

    def min(self, dim: Any = None, keepdim: bool = False) -> Any:
        return min(self, dim, keepdim)

    def amax(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return amax(self, dim, keepdim)

    def amin(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return amin(self, dim, keepdim)

    def argmax(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return argmax(self, dim, keepdim)

    def argmin(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return argmin(self, dim, keepdim)

    def logsumexp(self, dim: Any, keepdim: bool = False) -> Tensor:
        return logsumexp(self, dim, keepdim)

    def norm(self, p: Any = "fro", dim: Any = None, keepdim: bool = False) -> Tensor:
        return norm(self, p, dim, keepdim)

    def prod(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return prod(self, dim, keepdim)

    def all(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return all(self, dim, keepdim)

    def any(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return any(self, dim, keepdim)

    # ------------------------------------------------------------------------ shape
    def reshape(self, *shape: Any) -> Tensor:
        return reshape(self, *shape)

    def view(self, *shape: Any) -> Tensor:
        return reshape(self, *shape)

    def view_as(self, other: Tensor) -> Tensor:
        return reshape(self, other.shape)

    def reshape_as(self, other: Tensor) -> Tensor:
        return reshape(self, other.shape)

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        return transpose(self, dim0, dim1)

    def t(self) -> Tensor:
        if self.data.ndim > 2:
            raise ValueError(f"t: expects a tensor with <= 2 dimensions, got {self.data.ndim}")
        return self.T

    def permute(self, *dims: Any) -> Tensor:
        return permute(self, *dims)

    def squeeze(self, dim: Any = None) -> Tensor:
        return squeeze(self, dim)

    def unsqueeze(self, dim: int) -> Tensor:
        return unsqueeze(self, dim)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        return flatten(self, start_dim, end_dim)

    def expand(self, *sizes: Any) -> Tensor:
        return expand(self, *sizes)

    def expand_as(self, other: Tensor) -> Tensor:
        return expand(self, other.shape)

    def repeat(self, *sizes: Any) -> Tensor:
        return repeat(self, *sizes)

    def split(self, split_size: Any, dim: int = 0) -> tuple:
        return split(self, split_size, dim)

    def chunk(self, chunks: int, dim: int = 0) -> tuple:
        return chunk(self, chunks, dim)

    def contiguous(self) -> Tensor:
        return self

    # --------------------------------------------------------------------- indexing
    def __getitem__(self, index: Any) -> Tensor:
        return getitem(self, index)

    def __setitem__(self, index: Any, value: Any) -> None:
        setitem(self, index, value)

    def gather(self, dim: int, index: Any) -> Tensor:
        return gather(self, dim, index)

    def index_select(self, dim: int, index: Any) -> Tensor:
        return index_select(self, dim, index)

    def masked_fill(self, mask: Any, value: Any) -> Tensor:
        return masked_fill(self, mask, value)

    def __iter__(self) -> Any:
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.data.shape[0]))

    # ----------------------------------------------------------------- in place
    def add_(self, other: Any, alpha: Any = 1) -> Tensor:
        return inplace(self, "add", other if alpha == 1 else other * alpha)

    def sub_(self, other: Any, alpha: Any = 1) -> Tensor:
        return inplace(self, "subtract", other if alpha == 1 else other * alpha)

    def mul_(self, other: Any) -> Tensor:
        return inplace(self, "multiply", other)

    def div_(self, other: Any) -> Tensor:
        return inplace(self, "divide", other)

    def clamp_(self, min: Any = None, max: Any = None) -> Tensor:
        return inplace(self, "clamp", (min, max))

    def addcmul_(self, tensor1: Any, tensor2: Any, value: Any = 1) -> Tensor:
        return self.add_(tensor1 * tensor2 * value if value != 1 else tensor1 * tensor2)

    def addcdiv_(self, tensor1: Any, tensor2: Any, value: Any = 1) -> Tensor:
        return self.add_(tensor1 / tensor2 * value if value != 1 else tensor1 / tensor2)

    def lerp_(self, end: Any, weight: Any) -> Tensor:
        return self.add_((end - self) * weight)

    # ``t += x`` is in place, as in PyTorch (views see it, ``w -= lr * w.grad`` keeps the leaf);
    # without these Python would rebind the name to a new tensor.
    def __iadd__(self, other: Any) -> Tensor:
        return inplace(self, "add", other)

    def __isub__(self, other: Any) -> Tensor:
        return inplace(self, "subtract", other)

    def __imul__(self, other: Any) -> Tensor:
        return inplace(self, "multiply", other)

    def __itruediv__(self, other: Any) -> Tensor:
        return inplace(self, "divide", other)

    def copy_(self, src: Any) -> Tensor:
        return inplace(self, "copy", src)

    def zero_(self) -> Tensor:
        return inplace(self, "copy", 0)

    def fill_(self, value: Any) -> Tensor:
        return inplace(self, "copy", value)

    def uniform_(self, a: float = 0.0, b: float = 1.0) -> Tensor:
        from .factories import rand

        with no_grad():
            sample = rand(*self.shape, dtype=self.dtype, device=self.device)
        return inplace(self, "copy", sample * (b - a) + a)

    # sampling
    def multinomial(
        self, num_samples: int, replacement: bool = False, *, generator: Any = None
    ) -> Tensor:
        from .factories import multinomial

        return multinomial(self, num_samples, replacement, generator=generator)

    def normal_(self, mean: float = 0.0, std: float = 1.0) -> Tensor:
        from .factories import randn

        with no_grad():
            sample = randn(*self.shape, dtype=self.dtype, device=self.device)
        return inplace(self, "copy", sample * std + mean)

    # --- op surface: shape, indexing, sorting (issue 13)
    def flip(self, *dims: Any) -> Tensor:
        return _layout.flip(self, _shape_arg(dims, "flip"))

    def fliplr(self) -> Tensor:
        return _layout.fliplr(self)

    def flipud(self) -> Tensor:
        return _layout.flipud(self)

    def roll(self, shifts: Any, dims: Any = None) -> Tensor:
        return _layout.roll(self, shifts, dims)

    def rot90(self, k: int = 1, dims: Any = (0, 1)) -> Tensor:
        return _layout.rot90(self, k, dims)

    def tril(self, diagonal: int = 0) -> Tensor:
        return _diagonal.tril(self, diagonal)

    def triu(self, diagonal: int = 0) -> Tensor:
        return _diagonal.triu(self, diagonal)

    def tril_(self, diagonal: int = 0) -> Tensor:
        return _scatter.inplace_update(self, "tril_", lambda t: _diagonal.tril(t, diagonal))

    def triu_(self, diagonal: int = 0) -> Tensor:
        return _scatter.inplace_update(self, "triu_", lambda t: _diagonal.triu(t, diagonal))

    def diag(self, diagonal: int = 0) -> Tensor:
        return _diagonal.diag(self, diagonal)

    def diagonal(self, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
        return _diagonal.diagonal(self, offset, dim1, dim2)

    def diag_embed(self, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
        return _diagonal.diag_embed(self, offset, dim1, dim2)

    def diagflat(self, offset: int = 0) -> Tensor:
        return _diagonal.diagflat(self, offset)

    def narrow(self, dim: int, start: Any, length: int) -> Tensor:
        return _layout.narrow(self, dim, start, length)

    def select(self, dim: int, index: int) -> Tensor:
        return _layout.select(self, dim, index)

    def movedim(self, source: Any, destination: Any) -> Tensor:
        return _layout.movedim(self, source, destination)

    moveaxis = movedim

    def swapaxes(self, axis0: int, axis1: int) -> Tensor:
        return transpose(self, axis0, axis1)

    swapdims = swapaxes

    def unbind(self, dim: int = 0) -> tuple:
        return _layout.unbind(self, dim)

    def unflatten(self, dim: int, sizes: Any) -> Tensor:
        return _layout.unflatten(self, dim, sizes)

    def ravel(self) -> Tensor:
        return _layout.ravel(self)

    def tile(self, *dims: Any) -> Tensor:
        return _layout.tile(self, *dims)

    def repeat_interleave(
        self, repeats: Any = None, dim: int | None = None, *, output_size: int | None = None
    ) -> Tensor:
        return _layout.repeat_interleave(self, repeats, dim, output_size=output_size)

    def split_with_sizes(self, split_sizes: Any, dim: int = 0) -> tuple:
        return _layout.split_with_sizes(self, split_sizes, dim)

    def tensor_split(self, indices_or_sections: Any, dim: int = 0) -> tuple:
        return _layout.tensor_split(self, indices_or_sections, dim)

    def hsplit(self, sections: Any) -> tuple:
        return _layout.hsplit(self, sections)

    def vsplit(self, sections: Any) -> tuple:
        return _layout.vsplit(self, sections)

    def dsplit(self, sections: Any) -> tuple:
        return _layout.dsplit(self, sections)

    def broadcast_to(self, shape: Any) -> Tensor:
        return _layout.broadcast_to(self, shape)

    def take(self, index: Any) -> Tensor:
        return _scatter.take(self, index)

    def take_along_dim(self, indices: Any, dim: int | None = None) -> Tensor:
        return _scatter.take_along_dim(self, indices, dim)

    def scatter(self, dim: int, index: Any, src: Any = None, *, value: Any = None,
                reduce: str | None = None) -> Tensor:  # fmt: skip
        return _scatter.scatter(self, dim, index, src, value=value, reduce=reduce)

    def scatter_(self, dim: int, index: Any, src: Any = None, *, value: Any = None,
                 reduce: str | None = None) -> Tensor:  # fmt: skip
        def compute(t: Tensor) -> Tensor:
            return _scatter.scatter(t, dim, index, src, value=value, reduce=reduce)

        return _scatter.inplace_update(self, "scatter_", compute, src)

    def scatter_add(self, dim: int, index: Any, src: Tensor) -> Tensor:
        return _scatter.scatter_add(self, dim, index, src)

    def scatter_add_(self, dim: int, index: Any, src: Tensor) -> Tensor:
        def compute(t: Tensor) -> Tensor:
            return _scatter.scatter_add(t, dim, index, src)

        return _scatter.inplace_update(self, "scatter_add_", compute, src)

    def scatter_reduce(self, dim: int, index: Any, src: Tensor, reduce: str, *,
                       include_self: bool = True) -> Tensor:  # fmt: skip
        return _scatter.scatter_reduce(self, dim, index, src, reduce, include_self=include_self)

    def scatter_reduce_(self, dim: int, index: Any, src: Tensor, reduce: str, *,
                        include_self: bool = True) -> Tensor:  # fmt: skip
        def compute(t: Tensor) -> Tensor:
            return _scatter.scatter_reduce(t, dim, index, src, reduce, include_self=include_self)

        return _scatter.inplace_update(self, "scatter_reduce_", compute, src)

    def index_add(self, dim: int, index: Any, source: Tensor, *, alpha: Any = 1) -> Tensor:
        return _scatter.index_add(self, dim, index, source, alpha=alpha)

    def index_add_(self, dim: int, index: Any, source: Tensor, *, alpha: Any = 1) -> Tensor:
        def compute(t: Tensor) -> Tensor:
            return _scatter.index_add(t, dim, index, source, alpha=alpha)

        return _scatter.inplace_update(self, "index_add_", compute, source)

    def index_copy(self, dim: int, index: Any, source: Tensor) -> Tensor:
        return _scatter.index_copy(self, dim, index, source)

    def index_copy_(self, dim: int, index: Any, source: Tensor) -> Tensor:
        def compute(t: Tensor) -> Tensor:
            return _scatter.index_copy(t, dim, index, source)

        return _scatter.inplace_update(self, "index_copy_", compute, source)

    def index_fill(self, dim: int, index: Any, value: Any) -> Tensor:
        return _scatter.index_fill(self, dim, index, value)

    def index_fill_(self, dim: int, index: Any, value: Any) -> Tensor:
        def compute(t: Tensor) -> Tensor:
            return _scatter.index_fill(t, dim, index, value)

        return _scatter.inplace_update(self, "index_fill_", compute, value)

    def index_put(self, indices: Any, values: Any, accumulate: bool = False) -> Tensor:
        return _scatter.index_put(self, indices, values, accumulate)

    def index_put_(self, indices: Any, values: Any, accumulate: bool = False) -> Tensor:
        def compute(t: Tensor) -> Tensor:
            return _scatter.index_put(t, indices, values, accumulate)

        return _scatter.inplace_update(self, "index_put_", compute, values)

    def masked_fill_(self, mask: Any, value: Any) -> Tensor:
        return _scatter.inplace_update(
            self, "masked_fill_", lambda t: masked_fill(t, mask, value).to(t.dtype), value
        )

    def masked_select(self, mask: Any) -> Tensor:
        return _scatter.masked_select(self, mask)

    def masked_scatter(self, mask: Any, source: Tensor) -> Tensor:
        return _scatter.masked_scatter(self, mask, source)

    def masked_scatter_(self, mask: Any, source: Tensor) -> Tensor:
        def compute(t: Tensor) -> Tensor:
            out = _scatter.masked_scatter(t, mask, source)
            if out.shape != t.shape:
                raise RuntimeError(
                    f"masked_scatter_: mask {mask.shape} must broadcast to self {t.shape}"
                )
            return out

        return _scatter.inplace_update(self, "masked_scatter_", compute, source)

    def nonzero(self, *, as_tuple: bool = False) -> Any:
        return _scatter.nonzero(self, as_tuple=as_tuple)

    def argwhere(self) -> Tensor:
        return _scatter.argwhere(self)

    def sort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> Any:
        return _sort.sort(self, dim, descending, stable)

    def argsort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
        return _sort.argsort(self, dim, descending, stable)

    def msort(self) -> Tensor:
        return _sort.msort(self)

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> Any:
        return _sort.topk(self, k, dim, largest, sorted)

    def unique(self, sorted: bool = True, return_inverse: bool = False,
               return_counts: bool = False, dim: int | None = None) -> Any:  # fmt: skip
        return _sort.unique(self, sorted, return_inverse, return_counts, dim)

    def unique_consecutive(self, return_inverse: bool = False, return_counts: bool = False,
                           dim: int | None = None) -> Any:  # fmt: skip
        return _sort.unique_consecutive(self, return_inverse, return_counts, dim)

    def bincount(self, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
        return _sort.bincount(self, weights, minlength)

    def histc(self, bins: int = 100, min: Any = 0, max: Any = 0) -> Tensor:
        return _sort.histc(self, bins, min, max)

    def new_full(self, size: Any, fill_value: Any, *, dtype: Any = None, device: Any = None,
                 requires_grad: bool = False) -> Tensor:  # fmt: skip
        from .factories import full

        return full(size, fill_value, requires_grad=requires_grad, **self._new_like(dtype, device))

    def new_zeros(self, *size: Any, dtype: Any = None, device: Any = None,
                  requires_grad: bool = False) -> Tensor:  # fmt: skip
        from .factories import zeros

        return zeros(*size, requires_grad=requires_grad, **self._new_like(dtype, device))

    def new_ones(self, *size: Any, dtype: Any = None, device: Any = None,
                 requires_grad: bool = False) -> Tensor:  # fmt: skip
        from .factories import ones

        return ones(*size, requires_grad=requires_grad, **self._new_like(dtype, device))

    def new_empty(self, *size: Any, dtype: Any = None, device: Any = None,
                  requires_grad: bool = False) -> Tensor:  # fmt: skip
        from .factories import empty

        return empty(*size, requires_grad=requires_grad, **self._new_like(dtype, device))

    def new_tensor(self, data: Any, *, dtype: Any = None, device: Any = None,
                   requires_grad: bool = False) -> Tensor:  # fmt: skip
        return Tensor(data, requires_grad=requires_grad, **self._new_like(dtype, device))

    def _new_like(self, dtype: Any, device: Any) -> dict:
        """``new_*`` factories take this tensor's dtype and device unless told otherwise."""
        return {
            "dtype": self.dtype if dtype is None else dtype,
            "device": self.device if device is None else device,
        }

    # --- op surface: elementwise, reductions, scans (issue 13)
    def abs_(self) -> Tensor:
        return inplace(self, "copy", Abs.apply(self), "abs_")

    def acos(self) -> Tensor:
        return _pointwise.acos(self)

    arccos = acos

    def asin(self) -> Tensor:
        return _pointwise.asin(self)

    arcsin = asin

    def atan(self) -> Tensor:
        return _pointwise.atan(self)

    arctan = atan

    def atan2(self, other: Any) -> Tensor:
        return _pointwise.atan2(self, other)

    arctan2 = atan2

    def sinh(self) -> Tensor:
        return _pointwise.sinh(self)

    def cosh(self) -> Tensor:
        return _pointwise.cosh(self)

    def tan(self) -> Tensor:
        return _pointwise.tan(self)

    def asinh(self) -> Tensor:
        return _pointwise.asinh(self)

    arcsinh = asinh

    def acosh(self) -> Tensor:
        return _pointwise.acosh(self)

    arccosh = acosh

    def atanh(self) -> Tensor:
        return _pointwise.atanh(self)

    arctanh = atanh

    def erf(self) -> Tensor:
        return _special.erf(self)

    def erfc(self) -> Tensor:
        return _special.erfc(self)

    def erfinv(self) -> Tensor:
        return _special.erfinv(self)

    def lgamma(self) -> Tensor:
        return _special.lgamma(self)

    def digamma(self) -> Tensor:
        return _special.digamma(self)

    def polygamma(self, n: int) -> Tensor:
        return _special.polygamma(n, self)

    def log1p(self) -> Tensor:
        return _pointwise.log1p(self)

    def log2(self) -> Tensor:
        return _pointwise.log2(self)

    def log10(self) -> Tensor:
        return _pointwise.log10(self)

    def expm1(self) -> Tensor:
        return _pointwise.expm1(self)

    def exp2(self) -> Tensor:
        return _pointwise.exp2(self)

    def logit(self, eps: float | None = None) -> Tensor:
        return _pointwise.logit(self, eps)

    def sinc(self) -> Tensor:
        return _pointwise.sinc(self)

    def floor(self) -> Tensor:
        return _pointwise.floor(self)

    def ceil(self) -> Tensor:
        return _pointwise.ceil(self)

    def round(self, decimals: int = 0) -> Tensor:
        return _pointwise.round(self, decimals)

    def trunc(self) -> Tensor:
        return _pointwise.trunc(self)

    fix = trunc

    def frac(self) -> Tensor:
        return _pointwise.frac(self)

    def sgn(self) -> Tensor:
        return _pointwise.sgn(self)

    def signbit(self) -> Tensor:
        return _pointwise.signbit(self)

    def fmod(self, other: Any) -> Tensor:
        return _pointwise.fmod(self, other)

    def remainder(self, other: Any) -> Tensor:
        return remainder(self, other)

    def hypot(self, other: Any) -> Tensor:
        return _pointwise.hypot(self, other)

    def logaddexp(self, other: Any) -> Tensor:
        return _pointwise.logaddexp(self, other)

    def logaddexp2(self, other: Any) -> Tensor:
        return _pointwise.logaddexp2(self, other)

    def xlogy(self, other: Any) -> Tensor:
        return _pointwise.xlogy(self, other)

    def copysign(self, other: Any) -> Tensor:
        return _pointwise.copysign(self, other)

    def heaviside(self, values: Any) -> Tensor:
        return _pointwise.heaviside(self, values)

    def lerp(self, end: Any, weight: Any) -> Tensor:
        return _pointwise.lerp(self, end, weight)

    def addcmul(self, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Tensor:
        return _pointwise.addcmul(self, tensor1, tensor2, value=value)

    def addcdiv(self, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Tensor:
        return _pointwise.addcdiv(self, tensor1, tensor2, value=value)

    def nan_to_num(self, nan: float = 0.0, posinf: Any = None, neginf: Any = None) -> Tensor:
        return _pointwise.nan_to_num(self, nan, posinf, neginf)

    def clamp_min(self, min: Any) -> Tensor:
        return clamp(self, min=min)

    def clamp_max(self, max: Any) -> Tensor:
        return clamp(self, max=max)

    def square(self) -> Tensor:
        return _pointwise.square(self)

    def float_power(self, exponent: Any) -> Tensor:
        return _pointwise.float_power(self, exponent)

    def true_divide(self, other: Any) -> Tensor:
        return div(self, other)

    def divide(self, other: Any, *, rounding_mode: str | None = None) -> Tensor:
        return divide(self, other, rounding_mode=rounding_mode)

    def floor_divide(self, other: Any) -> Tensor:
        return floor_divide(self, other)

    def isinf(self) -> Tensor:
        return _pointwise.isinf(self)

    def isposinf(self) -> Tensor:
        return _pointwise.isposinf(self)

    def isneginf(self) -> Tensor:
        return _pointwise.isneginf(self)

    def isclose(self, other: Any, rtol: float = 1e-05, atol: float = 1e-08,
                equal_nan: bool = False) -> Tensor:  # fmt: skip
        return _pointwise.isclose(self, other, rtol, atol, equal_nan)

    def allclose(self, other: Any, rtol: float = 1e-05, atol: float = 1e-08,
                 equal_nan: bool = False) -> bool:  # fmt: skip
        return _pointwise.allclose(self, other, rtol, atol, equal_nan)

    def equal(self, other: Any) -> bool:
        return _pointwise.equal(self, other)

    def fmax(self, other: Any) -> Tensor:
        return _pointwise.fmax(self, other)

    def fmin(self, other: Any) -> Tensor:
        return _pointwise.fmin(self, other)

    def positive(self) -> Tensor:
        return _pointwise.positive(self)

    def deg2rad(self) -> Tensor:
        return _pointwise.deg2rad(self)

    def rad2deg(self) -> Tensor:
        return _pointwise.rad2deg(self)

    def ldexp(self, other: Any) -> Tensor:
        return _pointwise.ldexp(self, other)

    def bitwise_left_shift(self, other: Any) -> Tensor:
        return _pointwise.bitwise_left_shift(self, other)

    def bitwise_right_shift(self, other: Any) -> Tensor:
        return _pointwise.bitwise_right_shift(self, other)

    def __lshift__(self, other: Any) -> Tensor:
        return _pointwise.bitwise_left_shift(self, other)

    def __rshift__(self, other: Any) -> Tensor:
        return _pointwise.bitwise_right_shift(self, other)

    def cumsum(self, dim: int, *, dtype: Any = None) -> Tensor:
        return _scan.cumsum(self, dim, dtype=dtype)

    def cumprod(self, dim: int, *, dtype: Any = None) -> Tensor:
        return _scan.cumprod(self, dim, dtype=dtype)

    def cummax(self, dim: int) -> Any:
        return _scan.cummax(self, dim)

    def cummin(self, dim: int) -> Any:
        return _scan.cummin(self, dim)

    def logcumsumexp(self, dim: int) -> Tensor:
        return _scan.logcumsumexp(self, dim)

    def diff(self, n: int = 1, dim: int = -1, prepend: Any = None, append: Any = None) -> Tensor:
        return _scan.diff(self, n, dim, prepend, append)

    def median(self, dim: Any = None, keepdim: bool = False) -> Any:
        return _statistics.median(self, dim, keepdim)

    def nanmedian(self, dim: Any = None, keepdim: bool = False) -> Any:
        return _statistics.nanmedian(self, dim, keepdim)

    def mode(self, dim: int = -1, keepdim: bool = False) -> Any:
        return _statistics.mode(self, dim, keepdim)

    def quantile(self, q: Any, dim: Any = None, keepdim: bool = False, *,
                 interpolation: str = "linear") -> Tensor:  # fmt: skip
        return _statistics.quantile(self, q, dim, keepdim, interpolation=interpolation)

    def nanquantile(self, q: Any, dim: Any = None, keepdim: bool = False, *,
                    interpolation: str = "linear") -> Tensor:  # fmt: skip
        return _statistics.nanquantile(self, q, dim, keepdim, interpolation=interpolation)

    def kthvalue(self, k: int, dim: int = -1, keepdim: bool = False) -> Any:
        return _statistics.kthvalue(self, k, dim, keepdim)

    def aminmax(self, *, dim: Any = None, keepdim: bool = False) -> Any:
        return _statistics.aminmax(self, dim=dim, keepdim=keepdim)

    def nansum(self, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
        return _statistics.nansum(self, dim, keepdim, dtype=dtype)

    def nanmean(self, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
        return _statistics.nanmean(self, dim, keepdim, dtype=dtype)

    def count_nonzero(self, dim: Any = None) -> Tensor:
        return _statistics.count_nonzero(self, dim)

    def renorm(self, p: Any, dim: int, maxnorm: Any) -> Tensor:
        return _statistics.renorm(self, p, dim, maxnorm)

    def dist(self, other: Any, p: Any = 2) -> Tensor:
        return _statistics.dist(self, other, p)

    def logical_and(self, other: Any) -> Tensor:
        return logical_and(self, other)

    def logical_or(self, other: Any) -> Tensor:
        return logical_or(self, other)

    def logical_xor(self, other: Any) -> Tensor:
        return logical_xor(self, other)

    def bitwise_and(self, other: Any) -> Tensor:
        return bitwise_and(self, other)

    def bitwise_or(self, other: Any) -> Tensor:
        return bitwise_or(self, other)

    def bitwise_xor(self, other: Any) -> Tensor:
        return bitwise_xor(self, other)

    def bitwise_not(self) -> Tensor:
        return bitwise_not(self)

    def softmax(self, dim: int, dtype: Any = None) -> Tensor:
        return _softmax.softmax(self, dim, dtype)

    def log_softmax(self, dim: int, dtype: Any = None) -> Tensor:
        return _softmax.log_softmax(self, dim, dtype)


class _PostAccumulateGradHook:
    """A leaf hook kept in the same list as the gradient hooks; the engine runs it after
    accumulation (a marker type, so leaves without hooks pay nothing for it)."""

    __slots__ = ("hook",)

    def __init__(self, hook: Any) -> None:
        self.hook = hook


def _check_grad_assignment(t: Tensor, value: Any) -> None:
    """``t.grad = value``: PyTorch's checks, so a wrong gradient can't be planted silently."""
    if not isinstance(value, Tensor):
        raise TypeError(
            f"assigned grad expected to be a Tensor or None but got grad of type "
            f"{type(value).__name__}"
        )
    if value._backend is not t._backend:
        raise RuntimeError(
            f"assigned grad has data located on a different device: the tensor is on {t.device}, "
            f"the grad on {value.device}"
        )
    if value.data.dtype != t.data.dtype:
        raise RuntimeError(
            f"assigned grad has data of a different type: the tensor is {t.dtype}, the grad "
            f"{value.dtype}"
        )
    if value.data.shape != t.data.shape:
        raise RuntimeError(
            f"assigned grad has data of a different size: the tensor has shape {t.shape}, the "
            f"grad {value.shape}"
        )


class _RemovableHandle:
    __slots__ = ("_hooks", "_hook")

    def __init__(self, hooks: list, hook: Any) -> None:
        self._hooks = hooks
        self._hook = hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


_new = object.__new__
_NUMPY_DTYPE_SUFFIX = re.compile(r",\s*dtype=\w+$")


def _is_device(arg: Any) -> bool:
    return backends.is_device(arg) or type(arg).__name__ == "device"


class memory_format:  # noqa: N801  (PyTorch's name)
    """PyTorch's layout requests. Arrays here keep their own layout; the values never change."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"autograd.{self.name}"


preserve_format = memory_format("preserve_format")
contiguous_format = memory_format("contiguous_format")
channels_last = memory_format("channels_last")


def _check_memory_format(value: Any, op: str) -> None:
    if value is not None and not isinstance(value, memory_format):
        raise TypeError(
            f"{op}: memory_format must be autograd.preserve_format, contiguous_format or "
            f"channels_last, got {value!r}"
        )


def _normalize_dim(dim: int, ndim: int, op: str) -> int:
    lo = -ndim if ndim else -1
    hi = ndim - 1 if ndim else 0
    if not isinstance(dim, int) or isinstance(dim, bool):
        raise TypeError(f"{op}: dim must be an int, got {type(dim).__name__}")
    if not lo <= dim <= hi:
        raise IndexError(
            f"{op}: dimension out of range (expected to be in range of [{lo}, {hi}], but got {dim})"
        )
    return dim % ndim if ndim else 0


# The ops import Tensor, so they come last; Tensor's methods find them as module globals.
from . import function as _function  # noqa: E402
from . import views as _views  # noqa: E402
from .ops import diagonal as _diagonal  # noqa: E402
from .ops import layout as _layout  # noqa: E402
from .ops import linalg as _linalg  # noqa: E402
from .ops import pointwise as _pointwise  # noqa: E402
from .ops import scan as _scan  # noqa: E402
from .ops import scatter as _scatter  # noqa: E402
from .ops import softmax as _softmax  # noqa: E402
from .ops import sort as _sort  # noqa: E402
from .ops import special as _special  # noqa: E402
from .ops import statistics as _statistics  # noqa: E402
from .ops.convert import Cast, Clone, ToDevice  # noqa: E402
from .ops.elementwise import (  # noqa: E402
    Abs,
    Add,
    Cos,
    Exp,
    Log,
    Mul,
    Neg,
    Relu,
    Sigmoid,
    Sin,
    Sqrt,
    Tanh,
    _as_tensor,
    _binary_op,
    _op_error,
    add,
    bitwise_and,
    bitwise_not,
    bitwise_or,
    bitwise_xor,
    clamp,
    compare,
    div,
    floor_divide,
    inplace,
    isfinite,
    isnan,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    maximum,
    minimum,
    mul,
    pow,
    rdiv,
    remainder,
    rpow,
    rremainder,
    rsub,
    sub,
    where,
)
from .ops.index import gather, getitem, index_select, masked_fill, setitem  # noqa: E402
from .ops.linalg import matmul  # noqa: E402
from .ops.pointwise import divide  # noqa: E402
from .ops.reduce import (  # noqa: E402
    all,
    amax,
    amin,
    any,
    argmax,
    argmin,
    logsumexp,
    max,
    mean,
    min,
    norm,
    prod,
    std,
    sum,
    var,
)
from .ops.shape import (  # noqa: E402
    Permute,
    _shape_arg,
    chunk,
    expand,
    flatten,
    permute,
    repeat,
    reshape,
    split,
    squeeze,
    transpose,
    unsqueeze,
)
