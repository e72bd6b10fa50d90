"""``Function``: one op's forward and backward, and the graph node it leaves behind.

A Function subclass defines two static methods, PyTorch style::

    class Exp(Function):
        @staticmethod
        def forward(ctx, x):                 # backend arrays in, backend array(s) out
            y = ctx.xp.exp(x)
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, grad_out):         # Tensors in, Tensors out (so it is differentiable)
            (y,) = ctx.saved_tensors
            return grad_out * y

``Exp.apply(t)`` runs ``forward`` on the tensors' arrays and, when a gradient will be wanted,
keeps the ``ctx`` object as the output's ``grad_fn``: the node of the graph. ``ctx`` is an
instance of the Function subclass, so ``y.grad_fn`` prints as ``<Exp>``.

Where we differ from PyTorch: ``forward`` receives the backend arrays (``ctx.xp`` is their array
module), not Tensors, and returns arrays. ``backward`` works on Tensors, which is what makes
higher-order gradients come for free. ``ctx.save_for_backward`` takes arrays: an input's array
comes back from ``ctx.saved_tensors`` as that input Tensor (with its graph), the output's array
as the output, and any other array as a constant.
"""

from __future__ import annotations

import heapq
import threading
import weakref
from typing import Any

from .grad_mode import _state, no_grad, set_grad_enabled
from .tensor import Tensor, _PostAccumulateGradHook

_FREED = (
    "Trying to backward through the graph a second time (or to read saved tensors after they "
    "were freed). Saved arrays are released after backward; pass retain_graph=True to the first "
    "backward() or autograd.grad() if you need to backward through the graph again."
)

# Called as _tracer(node, outputs) for every recorded op while set (autograd.viz uses it).
_tracer = None

# A node's _saved once backward has freed it (None means it saved nothing).
_RELEASED = ("<released>",)
_SAVED_INPUT = 0
_SAVED_OUTPUT = 1
_SAVED_CONST = 2
_SAVED_NOTHING = (3, None, None)  # a saved None (kind 3: any non-array value, kept as it is)


class Function:
    """Base class of every op. Subclass it, define ``forward`` and ``backward``, call ``apply``."""

    __slots__ = ("_backend", "_next", "_gen", "_saved", "_n_out", "__weakref__")

    # Rarely set, so class-level defaults: an op pays nothing for them (instances get them in
    # their __dict__ only when used).
    _out_meta = None  # ((shape, dtype), ...) for multi-output nodes
    _non_differentiable = None
    _hooks = None  # {output index: [hook, ...]}; {} at least once _retained is set
    _retained = None  # {output index: weakref to the tensor} for retain_grad
    _viz = None  # module-call records (autograd.scopes)

    # ----------------------------------------------------------------------------- the op
    @staticmethod
    def forward(ctx: Function, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("Function subclasses must define forward(ctx, ...)")

    @staticmethod
    def backward(ctx: Function, *grad_outs: Tensor) -> Any:
        raise NotImplementedError(f"{type(ctx).__name__} does not define backward")

    # ------------------------------------------------------------------------ ctx helpers
    @property
    def xp(self) -> Any:
        """The array module of this op's inputs (numpy or cupy)."""
        return self._backend.xp

    @property
    def backend(self) -> Any:
        return self._backend

    @property
    def needs_input_grad(self) -> tuple:
        """One bool per forward argument: does a gradient for it need computing?"""
        edges = self._next
        n = len(edges)
        if n == 2:  # the common cases spelled out: read in every binary op's forward/backward
            return (edges[0] is not None, edges[1] is not None)
        if n == 1:
            return (edges[0] is not None,)
        return tuple([edge is not None for edge in edges])

    def save_for_backward(self, *arrays: Any) -> None:
        self._saved = arrays

    def mark_non_differentiable(self, *arrays: Any) -> None:
        self._non_differentiable = arrays

    @property
    def saved_tensors(self) -> tuple:
        saved = self._saved
        if saved is _RELEASED:
            raise RuntimeError(_FREED)
        if not saved:
            return ()
        result = []
        for kind, value, extra in saved:
            if kind == _SAVED_INPUT:
                tensor, version = value, extra
                if tensor._vc[0] != version:
                    raise RuntimeError(_modified_message(self, tensor, version))
                result.append(tensor)
            elif kind == _SAVED_OUTPUT:
                index, ref, version = extra
                output = ref()
                # Only an in-place change of this very array corrupts it; a recorded in-place op
                # on a tensor without views rebases it onto a new array, leaving this one intact.
                if output is not None and output._vc[0] != version and output.data is value:
                    raise RuntimeError(_modified_message(self, output, version))
                result.append(Tensor._make(value, self._backend, _state.enabled, self, index))
            elif kind == _SAVED_CONST:
                result.append(Tensor._make(value, self._backend, False, None, 0))
            else:
                result.append(value)
        return tuple(result)

    @property
    def next_functions(self) -> tuple:
        """``((node_or_leaf, output_index), ...)`` per input; None for inputs without gradient.

        A leaf appears as the tensor itself, where PyTorch shows its AccumulateGrad node.
        """
        return tuple(None if e is None else (e[0], max(e[1], 0)) for e in self._next)

    @property
    def name(self) -> str:
        """The op's name for people: the class name without a private underscore (``Linear``)."""
        return type(self).__name__.lstrip("_")

    def __repr__(self) -> str:
        return f"<{self.name}>"

    def register_hook(self, hook: Any, output_index: int = 0) -> None:
        if self._hooks is None:
            self._hooks = {}
        self._hooks.setdefault(output_index, []).append(hook)

    def _release(self) -> None:
        self._saved = _RELEASED

    @property
    def released(self) -> bool:
        """True once backward has freed this node's saved arrays (no retain_graph)."""
        return self._saved is _RELEASED

    # ------------------------------------------------------------------------------ apply
    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        """Run ``forward`` on the arrays of ``args``; record the node if a gradient is wanted."""
        enabled = _state.enabled
        backend = None
        arrays = []
        # Edges, one per argument: None, or (node, output index, shape, dtype) for an op's
        # output, or (leaf tensor, -1, shape, dtype) for a leaf.
        edges = []
        requires_grad = False
        gen = 0
        for arg in args:
            if isinstance(arg, Tensor):
                arg_backend = arg._backend
                if arg_backend is not backend:
                    if backend is None:
                        backend = arg_backend
                    else:
                        _device_error(cls, args)
                data = arg.data
                arrays.append(data)
                if enabled and arg.requires_grad:
                    requires_grad = True
                    node = arg.grad_fn
                    if node is None:
                        edges.append((arg, -1, data.shape, data.dtype))
                    else:
                        edges.append((node, arg._out_idx, data.shape, data.dtype))
                        node_gen = node._gen
                        if node_gen >= gen:
                            gen = node_gen + 1
                    continue
            else:
                arrays.append(arg)
            edges.append(None)
        if backend is None:
            raise TypeError(f"{cls.__name__}: expected at least one Tensor argument")

        ctx = _new(cls)
        ctx._backend = backend
        ctx._saved = None
        ctx._next = edges
        if kwargs:
            out = raw = cls.forward(ctx, *arrays, **kwargs)
        else:
            out = raw = cls.forward(ctx, *arrays)
        backend = ctx._backend  # a device move (ToDevice) sets the output's backend
        if type(out) is not tuple:  # one output: the common case
            if type(out) is not backend.ndarray:
                out = backend.xp.asarray(out)  # NumPy gives scalars for 0-d results
            # Tensor._make, inlined (the hottest line of the engine).
            result = _new(Tensor)
            result.data = out
            result._grad = None
            result._out_idx = 0
            result._vc = [0]
            result._backend = backend
            result._hooks = None
            result.name = None
            result._view = None
            if requires_grad and out.dtype.kind in "fc" and ctx._non_differentiable is None:
                ctx._gen = gen
                ctx._n_out = 1
                result.requires_grad = True
                result.grad_fn = ctx
                if ctx._saved:
                    ctx._saved = _resolve_saved(ctx._saved, args, arrays, (raw,), (out,), (result,))
            else:
                result.requires_grad = False
                result.grad_fn = ctx = None
            if _tracer is not None:
                _tracer(ctx, (result,))
            return result

        ndarray = backend.ndarray
        outs = tuple(o if type(o) is ndarray else backend.xp.asarray(o) for o in out)
        if not requires_grad:
            results = tuple(_make(o, backend, False, None, 0) for o in outs)
            if _tracer is not None:
                _tracer(None, results)
            return results
        ctx._gen = gen
        ctx._n_out = len(outs)
        non_diff = ctx._non_differentiable or ()
        results = []
        for i, o in enumerate(outs):
            if o.dtype.kind in "fc" and not any(o is nd for nd in non_diff):
                results.append(_make(o, backend, True, ctx, i))
            else:
                results.append(_make(o, backend, False, None, 0))
        ctx._out_meta = tuple((o.shape, o.dtype) for o in outs)
        if ctx._saved:
            ctx._saved = _resolve_saved(ctx._saved, args, arrays, raw, outs, results)
        if _tracer is not None:
            _tracer(ctx, results)
        return tuple(results)


_new = object.__new__
_make = Tensor._make


def _resolve_saved(
    items: tuple, args: tuple, arrays: list, raw: tuple, outs: tuple, results: Any
) -> tuple:
    """Map saved arrays back to input Tensors (version-checked), outputs, or constants.

    ``raw`` is what forward returned (NumPy gives scalars for 0-d results), ``outs`` the arrays.
    """
    resolved = []
    for item in items:
        if item is None:  # an operand kept only when another one needs a gradient
            resolved.append(_SAVED_NOTHING)
            continue
        for j, array in enumerate(arrays):
            if item is array and isinstance(args[j], Tensor):
                resolved.append((_SAVED_INPUT, args[j], args[j]._vc[0]))
                break
        else:
            for j, o in enumerate(raw):
                if item is o:
                    # A weakref, not the tensor: no cycle node -> output -> node at forward time.
                    extra = (j, weakref.ref(results[j]), results[j]._vc[0])
                    resolved.append((_SAVED_OUTPUT, outs[j], extra))
                    break
            else:
                if isinstance(item, Tensor):
                    resolved.append((_SAVED_INPUT, item, item._vc[0]))
                elif hasattr(item, "shape") and hasattr(item, "dtype"):
                    resolved.append((_SAVED_CONST, item, None))
                else:
                    resolved.append((3, item, None))
    return tuple(resolved)


def _modified_message(node: Function, tensor: Tensor, version: int) -> str:
    """PyTorch's words for a saved tensor changed in place, naming our ops."""
    producer = tensor.grad_fn
    made_by = "" if producer is None else f", which is output {tensor._out_idx} of {producer.name},"
    return (
        f"{node.name}.backward: one of the variables needed for gradient computation has been "
        f"modified by an inplace operation: [{tensor.dtype} tensor of shape {tuple(tensor.shape)}]"
        f"{made_by} is at version {tensor._vc[0]}; expected version {version} instead. Do the "
        "in-place change (an optimizer step, an update through a view or .detach()) after "
        "backward(), or clone() the tensor first."
    )


def _device_error(cls: type, args: tuple) -> None:
    devices = [a.device for a in args if isinstance(a, Tensor)]
    raise RuntimeError(
        f"{cls.__name__.lstrip('_').lower()}: expected all tensors on the same device, found "
        f"{', '.join(devices)}; move them with .to(device) first"
    )


# ------------------------------------------------------------------------------ the engine
def run_backward(
    roots: tuple,
    grad_roots: tuple,
    retain_graph: bool,
    create_graph: bool,
    inputs: tuple | None = None,
    allow_unused: bool = False,
) -> tuple | None:
    """Backpropagate from ``roots``; into leaves' ``.grad``, or into a tuple when ``inputs``.

    Nodes are visited in decreasing generation (a node's generation exceeds its inputs'), from
    a heap, so a node runs only after every consumer has sent its gradient; one pass, no
    recursion, linear in the graph's size.
    """
    from .ops.shape import sum_to

    buffers: dict = {}  # node -> list of gradients, one per output
    leaf_grads: dict = {}  # leaf tensor -> its gradient contributions, summed at the end
    heap: list = []
    counter = 0
    captured = None
    wanted_nodes = None
    if inputs is not None:
        captured = {}
        wanted_nodes = {(t.grad_fn, t._out_idx): t for t in inputs if t.grad_fn is not None}

    heappush = heapq.heappush
    heappop = heapq.heappop
    accumulate = _add_graph if create_graph else _add_arrays
    assigned: set = set()
    # Leaves with post-accumulate hooks (DistributedDataParallel's) are finished as soon as their
    # last contribution arrives, so their hooks can start communication while backward goes on.
    early = _count_hooked_deliveries(roots) if captured is None and _hooked_leaves else None
    with set_grad_enabled(create_graph):
        for root, grad in zip(roots, grad_roots):
            node = root.grad_fn
            if node is None:
                leaf_grads.setdefault(root, []).append(grad)
                continue
            if node._n_out == 1:
                old = buffers.get(node)
                if old is None:
                    buffers[node] = grad
                    heappush(heap, (-node._gen, counter, node))
                    counter += 1
                else:
                    buffers[node] = accumulate(old, grad)
                continue
            buf = buffers.get(node)
            if buf is None:
                buf = buffers[node] = [None] * node._n_out
                heappush(heap, (-node._gen, counter, node))
                counter += 1
            idx = root._out_idx
            buf[idx] = grad if buf[idx] is None else accumulate(buf[idx], grad)

        # A single-output node's buffer is its gradient itself; a multi-output node's is a list
        # with one gradient (or None) per output.
        while heap:
            node = heappop(heap)[2]
            if node._n_out == 1:
                grad_out = buffers.pop(node)
                if captured is not None or node._hooks is not None:
                    grad_outs = [grad_out]
                    _node_hooks_and_capture(node, grad_outs, captured, wanted_nodes)
                    grad_out = grad_outs[0]
                grad_ins = node.backward(node, grad_out)
            else:
                grad_outs = buffers.pop(node)
                if captured is not None or node._hooks is not None:
                    _node_hooks_and_capture(node, grad_outs, captured, wanted_nodes)
                grad_ins = node.backward(node, *_materialize(node, grad_outs))
            if type(grad_ins) is not tuple:
                grad_ins = (grad_ins,)
            edges = node._next
            if len(grad_ins) != len(edges):
                raise RuntimeError(
                    f"{type(node).__name__}.backward returned {len(grad_ins)} gradients for "
                    f"{len(edges)} inputs"
                )
            for edge, g in zip(edges, grad_ins):
                if edge is None or g is None:
                    continue
                target, idx, shape, dtype = edge
                data = g.data
                if data.shape != shape:
                    g = _reduce_to_shape(g, shape, node, sum_to)
                    data = g.data
                if data.dtype is not dtype and data.dtype != dtype:
                    raise RuntimeError(
                        f"{type(node).__name__}.backward returned a {data.dtype} gradient for a "
                        f"{dtype} input of shape {shape}: gradients keep their input's dtype"
                    )
                if idx < 0:
                    parts = leaf_grads.get(target)
                    if parts is None:
                        leaf_grads[target] = parts = [g]
                    else:
                        parts.append(g)
                    if early is not None and target in early:
                        early[target] -= 1
                        if not early[target]:
                            del early[target]
                            del leaf_grads[target]
                            _finish_leaves(
                                {target: _total(parts, create_graph)}, create_graph, assigned
                            )
                    continue
                if target._n_out == 1:
                    old = buffers.get(target)
                    if old is None:
                        buffers[target] = g
                        heappush(heap, (-target._gen, counter, target))
                        counter += 1
                    else:
                        buffers[target] = accumulate(old, g)
                    continue
                buf = buffers.get(target)
                if buf is None:
                    buf = buffers[target] = [None] * target._n_out
                    heappush(heap, (-target._gen, counter, target))
                    counter += 1
                    buf[idx] = g
                else:
                    old = buf[idx]
                    buf[idx] = g if old is None else accumulate(old, g)
            if not retain_graph:
                node._saved = _RELEASED

        leaf_grads = {leaf: _total(parts, create_graph) for leaf, parts in leaf_grads.items()}
        if captured is not None:
            for leaf, g in leaf_grads.items():
                if leaf._hooks:  # leaf hooks see the total gradient, for grad() as backward()
                    leaf_grads[leaf] = _run_hooks(leaf._hooks, g)
            return _collect(inputs, captured, leaf_grads, allow_unused)
        _finish_leaves(leaf_grads, create_graph, assigned)
    return None


def _finish_leaves(leaf_grads: dict, create_graph: bool, assigned: set) -> None:
    """Each leaf's total gradient: its hooks, then into ``.grad``, then post-accumulate hooks."""
    accumulate = _add_graph if create_graph else _add_arrays
    for leaf, g in leaf_grads.items():
        if leaf._hooks:  # leaf hooks see the total gradient
            leaf_grads[leaf] = _run_hooks(leaf._hooks, g)
    post_hooks = None
    # One lock around the read-add-write of every .grad: threads that backpropagate into
    # the same leaves must not lose each other's updates (PyTorch's AccumulateGrad locks).
    with _accumulate_lock:
        for leaf, g in leaf_grads.items():
            if not create_graph and g.requires_grad:
                g = g.detach()
            data = g.data
            old = leaf._grad
            if old is None:
                # .grad owns its memory: not a (read-only, broadcast) view of another
                # gradient, and never shared by two leaves (in-place clipping would hit both).
                if getattr(data, "base", None) is not None or id(data) in assigned:
                    g = _owned(g)
                leaf._grad = g
            elif create_graph or not _accumulate_in_place(old, data):
                leaf._grad = accumulate(old, g)
            assigned.add(id(data))
            if leaf._hooks:
                post_hooks = [] if post_hooks is None else post_hooks
                post_hooks.append(leaf)
    if post_hooks is not None:
        for leaf in post_hooks:
            _run_post_accumulate_hooks(leaf)


_accumulate_lock = threading.Lock()
# Leaves that have a post-accumulate-grad hook (weakly held): only then does backward count
# each such leaf's incoming edges first, to finish it as soon as its last gradient arrives.
_hooked_leaves: dict = {}  # id(leaf) -> weakref.ref(leaf), removed when the leaf dies


def _register_hooked_leaf(leaf: Tensor) -> None:
    key = id(leaf)
    _hooked_leaves[key] = weakref.ref(leaf, lambda _: _hooked_leaves.pop(key, None))


def _count_hooked_deliveries(roots: tuple) -> dict | None:
    """For each hooked leaf the graph of ``roots`` reaches: how many edges lead into it."""
    counts: dict = {}
    seen: set = set()
    stack = [r.grad_fn for r in roots if r.grad_fn is not None]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        for edge in node._next:
            if edge is None:
                continue
            target = edge[0]
            if edge[1] < 0:
                if id(target) in _hooked_leaves:
                    counts[target] = counts.get(target, 0) + 1
            else:
                stack.append(target)
    return counts or None


def _owned(g: Tensor) -> Tensor:
    """A copy of ``g`` that owns its memory (one place, so ``A.compile`` can record it)."""
    return _make(g.data.copy(), g._backend, g.requires_grad, g.grad_fn, g._out_idx)


def _hook_name(hook: Any) -> str:
    return getattr(hook, "__name__", None) or repr(hook)


def _run_hooks(hooks: list, grad: Tensor) -> Tensor:
    """Gradient hooks in order; one that changes the gradient's shape or dtype is refused, naming
    the hook (as PyTorch), rather than letting the op that receives it fail or broadcast."""
    for hook in hooks:
        if type(hook) is _PostAccumulateGradHook:
            continue
        result = hook(grad)
        if result is None:
            continue
        if not isinstance(result, Tensor):
            raise TypeError(
                f"hook '{_hook_name(hook)}' returned a {type(result).__name__}; a gradient hook "
                "must return a Tensor or None"
            )
        if result.data.shape != grad.data.shape:
            raise RuntimeError(
                f"hook '{_hook_name(hook)}' has changed the size of value: it returned a gradient "
                f"of shape {tuple(result.shape)} for one of shape {tuple(grad.shape)}"
            )
        if result.data.dtype != grad.data.dtype:
            raise RuntimeError(
                f"hook '{_hook_name(hook)}' has changed the type of value (was {grad.dtype} got "
                f"{result.dtype})"
            )
        if result._backend is not grad._backend:
            raise RuntimeError(
                f"hook '{_hook_name(hook)}' has changed the device of value (was {grad.device} "
                f"got {result.device})"
            )
        grad = result
    return grad


def _run_post_accumulate_hooks(leaf: Tensor) -> None:
    for hook in list(leaf._hooks):
        if type(hook) is _PostAccumulateGradHook:
            result = hook.hook(leaf)
            if result is not None:
                raise TypeError(
                    f"post accumulate grad hook '{_hook_name(hook.hook)}' returned a "
                    f"{type(result).__name__}; it must return None (it acts on tensor.grad)"
                )


def _add_arrays(a: Tensor, b: Tensor) -> Tensor:
    """Sum two gradients when no graph of the gradient is wanted: plain arrays, no op recorded."""
    return _make(a.data + b.data, a._backend, False, None, 0)


def _accumulate_in_place(grad: Tensor, data: Any) -> bool:
    """``grad += data`` into the existing buffer (PyTorch's ``zero_grad(set_to_none=False)``
    path: no new array each step), when ``grad`` is a plain gradient that owns memory of the same
    layout; False leaves the caller to build a new sum."""
    buffer = grad.data
    if grad.requires_grad or grad.grad_fn is not None or getattr(buffer, "base", None) is not None:
        return False
    if buffer.shape != data.shape or buffer.dtype != data.dtype:
        return False
    grad._backend.xp.add(buffer, data, out=buffer)
    grad._version += 1
    return True


def _add_graph(a: Tensor, b: Tensor) -> Tensor:
    return a + b


def _total(parts: list, create_graph: bool) -> Tensor:
    """Sum a leaf's gradient contributions: one stacked sum for many (e.g. an RNN's weights)."""
    if len(parts) == 1:
        return parts[0]
    if create_graph or len(parts) == 2:
        total = parts[0]
        for g in parts[1:]:
            total = total + g if create_graph else _add_arrays(total, g)
        return total
    backend = parts[0]._backend
    return _make(backend.stack([g.data for g in parts]).sum(axis=0), backend, False, None, 0)


def _reduce_to_shape(g: Tensor, shape: tuple, node: Function, sum_to: Any) -> Tensor:
    """The one place where a broadcast gradient is summed back to its input's shape."""
    gshape = g.data.shape
    lead = len(gshape) - len(shape)
    if lead < 0 or any(s != 1 and s != gs for s, gs in zip(shape, gshape[lead:])):
        raise RuntimeError(
            f"{type(node).__name__}.backward returned a gradient of shape {gshape} for an input "
            f"of shape {shape}, and it cannot be summed to that shape"
        )
    return sum_to(g, shape)


def _materialize(node: Function, grad_outs: list) -> list:
    """Outputs that received no gradient get zeros, so backward sees one Tensor per output."""
    if all(g is not None for g in grad_outs):
        return grad_outs
    xp = node._backend.xp
    return [
        Tensor._make(xp.zeros(shape, dtype), node._backend) if g is None else g
        for g, (shape, dtype) in zip(grad_outs, node._out_meta)
    ]


def _node_hooks_and_capture(
    node: Function, grad_outs: list, captured: dict | None, wanted_nodes: dict | None
) -> None:
    """A node's tensor hooks and ``retain_grad`` (in place on ``grad_outs``), then the gradients
    ``autograd.grad`` asked for."""
    if node._hooks is not None or node._retained is not None:
        _run_tensor_hooks(node, grad_outs)
    if captured is not None:
        for i, g in enumerate(grad_outs):
            t = wanted_nodes.get((node, i))
            if t is not None:
                captured[t] = g


def _run_tensor_hooks(node: Function, grad_outs: list) -> None:
    """Hooks registered on non-leaf tensors, then ``retain_grad``, for each output."""
    if node._hooks:
        for i, hooks in node._hooks.items():
            if grad_outs[i] is not None:
                grad_outs[i] = _run_hooks(hooks, grad_outs[i])
    if node._retained:
        for i, ref in node._retained.items():
            tensor = ref()
            if tensor is not None and grad_outs[i] is not None:
                # A copy: the same array flows on to other nodes and leaves.
                g = Tensor._make(grad_outs[i].data.copy(), node._backend)
                with _accumulate_lock:
                    old = tensor._grad
                    tensor._grad = g if old is None else _add_arrays(old, g)


def _collect(inputs: tuple, captured: dict, leaf_grads: dict, allow_unused: bool) -> tuple:
    result = []
    for i, t in enumerate(inputs):
        g = captured.get(t) if t.grad_fn is not None else leaf_grads.get(t)
        if g is None and not allow_unused:
            raise RuntimeError(
                f"autograd.grad: input {i} (shape {t.shape}) was not used in the graph of the "
                "outputs; pass allow_unused=True to get None for it"
            )
        result.append(g)
    return tuple(result)


def _retain(tensor: Tensor) -> None:
    node = tensor.grad_fn
    if node._retained is None:
        node._retained = {}
    if node._hooks is None:
        node._hooks = {}  # backward checks _hooks alone to find nodes with hooks or retain_grad
    node._retained[tensor._out_idx] = weakref.ref(tensor)


def backward(
    tensors: Any,
    grad_tensors: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
) -> None:
    """``autograd.backward``: accumulate the gradients of ``tensors`` into the leaves' ``.grad``."""
    roots, grads = _roots_and_grads(tensors, grad_tensors, "backward", create_graph)
    if retain_graph is None:
        retain_graph = create_graph
    run_backward(roots, grads, retain_graph, create_graph)


def grad(
    outputs: Any,
    inputs: Any,
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple:
    """``autograd.grad``: the gradients of ``outputs`` with respect to ``inputs``, as a tuple.

    Leaves' ``.grad`` are left untouched. With ``create_graph=True`` the result is itself
    differentiable (second derivatives, Hessian-vector products, gradient penalties).
    """
    roots, grads = _roots_and_grads(outputs, grad_outputs, "grad", create_graph)
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"autograd.grad: inputs[{i}] is a {type(t).__name__}, not a Tensor")
        if not t.requires_grad:
            raise RuntimeError(
                f"autograd.grad: inputs[{i}] (shape {t.shape}) does not require grad"
            )
    if retain_graph is None:
        retain_graph = create_graph
    return run_backward(roots, grads, retain_graph, create_graph, inputs, allow_unused)


def _roots_and_grads(tensors: Any, grads: Any, op: str, create_graph: bool) -> tuple:
    tensors = (tensors,) if isinstance(tensors, Tensor) else tuple(tensors)
    if grads is None:
        grads = (None,) * len(tensors)
    elif isinstance(grads, Tensor):
        grads = (grads,)
    else:
        grads = tuple(grads)
    if len(grads) != len(tensors):
        raise ValueError(f"{op}: got {len(grads)} gradients for {len(tensors)} outputs")
    out_grads = []
    for t, g in zip(tensors, grads):
        if not t.requires_grad:
            raise RuntimeError(
                f"{op}: a tensor of shape {t.shape} does not require grad and has no grad_fn "
                "(did you build it inside no_grad, or forget requires_grad=True?)"
            )
        if g is None:
            if t.data.size != 1:
                raise RuntimeError(
                    f"{op}: grad can be implicitly created only for scalar outputs; this output "
                    f"has shape {t.shape}: pass gradient= (e.g. torch-style ones_like(out))"
                )
            with no_grad():
                g = Tensor._make(t._backend.xp.ones(t.data.shape, t.data.dtype), t._backend)
        else:
            if not isinstance(g, Tensor):
                g = Tensor(g, dtype=t.dtype, device=t.device)
            if g.shape != t.shape:
                raise RuntimeError(
                    f"{op}: gradient of shape {g.shape} does not match its output's shape {t.shape}"
                )
            if g.device != t.device:
                raise RuntimeError(
                    f"{op}: gradient on {g.device} for an output on {t.device}; move it first"
                )
            if g.dtype != t.dtype:
                g = g.to(t.dtype)  # as PyTorch: the seed gradient takes its output's dtype
            if not (create_graph and g.requires_grad):
                # The caller keeps their tensor: a leaf's .grad must not alias it.
                g = _owned(g)
        out_grads.append(g)
    return tuple(tensors), tuple(out_grads)
