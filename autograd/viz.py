"""``autograd.viz``: draw the graph that produced a tensor, for teaching and debugging.

::

    from autograd import viz

    with viz.record():                      # optional: keep intermediate values and gradients
        loss = model(x).sum()
    loss.backward()
    g = viz.draw(loss, model=model, show_values=True, show_grads=True, group_modules=True)
    viz.render(g, "out/graph", format="svg")   # writes out/graph.gv, then out/graph.svg

The picture shows data flow: tensors (boxes) feed ops (ellipses) that produce tensors. Leaves
are blue, parameters green, the outputs orange.

What can be shown depends on what is still alive. The graph itself keeps only each op's
edges and the shapes and dtypes of its inputs, so without recording, intermediate tensors show
shape and dtype; leaves, the outputs passed to ``draw``, tensors the user called
``retain_grad()`` on, and tensors an op saved for backward show their values (and gradients
where they have one). Inside ``viz.record()`` every op's outputs are kept and retain their
gradients, so every tensor shows its value and, after ``backward()``, its gradient.

Where we differ from torchviz: torchviz draws the backward graph (from the loss to the
parameters); we draw the forward data flow with values, gradients and module clusters, and
``backward_steps`` animates the engine's visiting order.
"""

from __future__ import annotations

import heapq
import math
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import graphviz

from . import function as _function
from . import scopes
from .grad_mode import no_grad
from .tensor import Tensor

__all__ = [
    "Graph",
    "GraphvizNotFoundError",
    "backward_steps",
    "dot_available",
    "draw",
    "record",
    "render",
    "save_frames",
]

FORMATS = ("svg", "png", "pdf")
_DOT_FORMATS = ("gv", "dot")

# Fill colours by tensor kind; op nodes are grey ellipses.
_KIND_COLOR = {
    "param": "#d4f0d4",
    "leaf": "#d6e6ff",
    "output": "#ffe0c2",
    "intermediate": "#ffffff",
    "constant": "#f0f0f0",
}
_OP_COLOR = "#ececec"
_BOX_COLOR = "#fff3b0"
_CLUSTER_COLORS = ("#f5f7ff", "#f3faf1", "#fff8f0", "#f7f2fb")
# Viridis, dark (tiny gradients) to yellow (large ones).
_PALETTE = (
    "#440154",
    "#46327e",
    "#365c8d",
    "#277f8e",
    "#1fa187",
    "#4ac16d",
    "#a0da39",
    "#fde725",
)
_NO_GRAD_COLOR = "#dddddd"
_CURRENT_COLOR = "#ff7f7f"
_DONE_COLOR = "#c9c9c9"
_HOT_EDGE = "#d62728"


class GraphvizNotFoundError(RuntimeError):
    """Rendering needs Graphviz's ``dot`` program and it is not installed."""


class Graph(graphviz.Digraph):
    """A ``graphviz.Digraph`` that shows DOT text and an install hint in Jupyter when ``dot`` is
    missing, instead of a traceback. ``backward_steps`` frames also carry ``step`` and ``grad_fn``.
    """

    step: int | None = None
    grad_fn: Any = None

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None, **kwargs: Any) -> dict:
        try:
            return super()._repr_mimebundle_(include, exclude, **kwargs)
        except graphviz.ExecutableNotFound:
            return {"text/plain": _missing_dot_message(None) + "\n\n" + self.source}


# ------------------------------------------------------------------------------ recording
class record:
    """Context manager that keeps every op's outputs so ``draw`` can show intermediate values.

    While active, each op's output tensors are stored on their graph node, and (with
    ``retain_grad=True``) they retain their gradient, so after ``backward()`` ``show_grads``
    works for every tensor, not only leaves. The cost: every intermediate stays alive as long as
    its graph does (freed by Python's garbage collector, as the node and its outputs refer to
    each other). Meant for small teaching graphs. Recording is process-wide (all threads).
    """

    def __init__(self, retain_grad: bool = True) -> None:
        self.retain_grad = retain_grad
        self.count = 0  # ops recorded
        self._previous = None

    def __enter__(self) -> record:
        self._previous = _function._tracer
        _function._tracer = self._trace
        return self

    def __exit__(self, *exc: Any) -> None:
        _function._tracer = self._previous

    def _trace(self, node: Any, outputs: tuple) -> None:
        if self._previous is not None:
            self._previous(node, outputs)
        if node is None:
            return
        scopes.record_outputs(node, outputs, _constant_operands(node))
        self.count += 1
        if self.retain_grad:
            for t in outputs:
                if t.grad_fn is node:
                    _function._retain(t)


def _constant_operands(node: Any) -> tuple:
    """An op's saved operands that are not part of the graph: tensors without grad (the data
    ``x``) and Python numbers (the 3 in ``3 * v``)."""
    constants = []
    for kind, value, _ in _saved_items(node):
        if kind == _function._SAVED_INPUT and isinstance(value, Tensor):
            if not value.requires_grad:
                constants.append(value)
        elif kind not in (_function._SAVED_OUTPUT, _function._SAVED_CONST):
            if type(value) in (int, float):
                constants.append(value)
    return tuple(constants)


# ------------------------------------------------------------------------------ the scene
class _TensorInfo:
    __slots__ = (
        "key",
        "gid",
        "node",
        "idx",
        "producer",
        "shape",
        "dtype",
        "tensor",
        "array",
        "name",
        "kind",
        "consumers",
        "cluster",
        "hidden_in",
        "root_index",
    )

    def __init__(self, key: tuple, gid: str, node: Any, idx: int, shape: tuple, dtype: Any):
        self.key = key
        self.gid = gid
        self.node = node  # producing Function, or None for a leaf
        self.idx = idx
        self.producer = None  # _OpInfo of node
        self.shape = tuple(shape)
        self.dtype = dtype
        self.tensor = None  # a live Tensor holding this value, when we know one
        self.array = None  # or just its array (an output saved for backward)
        self.name = None
        self.kind = "intermediate"
        self.consumers = []
        self.cluster = None
        self.hidden_in = None  # the collapsed cluster that swallows this tensor
        self.root_index = None


class _OpInfo:
    __slots__ = (
        "node",
        "gid",
        "order",
        "inputs",
        "outputs",
        "cluster",
        "hidden_in",
        "constants",
        "numbers",
    )

    def __init__(self, node: Any, gid: str, order: int) -> None:
        self.node = node
        self.gid = gid
        self.order = order
        self.inputs = []  # (argument index, _TensorInfo)
        self.outputs = []  # _TensorInfo, one per used output
        self.cluster = None
        self.hidden_in = None
        self.constants = []  # _TensorInfo of operands without grad (kind "constant")
        self.numbers = []  # Python-number operands


class _Cluster:
    __slots__ = (
        "call",
        "module",
        "gid",
        "out_ops",
        "members",
        "boundary_ids",
        "parent",
        "depth",
        "qualname",
        "label",
        "collapsed",
        "owner",
    )

    def __init__(self, call: Any, gid: str) -> None:
        self.call = call
        self.module = call.module
        self.gid = gid
        self.out_ops = []
        self.members = set()  # ids of the nodes inside this call (nested calls included)
        self.boundary_ids = {id(b) for b in call.boundary}
        self.parent = None
        self.depth = 0
        self.qualname = ""
        self.label = ""
        self.collapsed = False
        self.owner = None  # outermost collapsed cluster containing this one (maybe itself)

    @property
    def sort_key(self) -> tuple:
        return (len(self.members), self.call.index)


class _Scene:
    """The graph behind ``outputs``, found once, drawn many times (one per backward frame)."""

    def __init__(self) -> None:
        self.roots = []
        self.ops = []
        self.tensors = {}
        self.clusters = []
        self.box_params = {}
        self.constants = []  # tensors without grad that ops used (drawn grey, dashed edges)


def _tensor_key(t: Tensor) -> tuple:
    return (id(t), -1) if t.grad_fn is None else (id(t.grad_fn), t._out_idx)


def _build_scene(outputs: tuple, params: Any, model: Any) -> _Scene:
    scene = _Scene()
    tensors = scene.tensors
    ops: dict = {}
    stack = []

    def tensor_info(key: tuple, node: Any, idx: int, shape: tuple, dtype: Any) -> _TensorInfo:
        info = tensors.get(key)
        if info is None:
            info = tensors[key] = _TensorInfo(key, f"t{len(tensors)}", node, idx, shape, dtype)
        return info

    for i, out in enumerate(outputs):
        if not isinstance(out, Tensor):
            raise TypeError(f"viz.draw: outputs[{i}] is a {type(out).__name__}, not a Tensor")
        node = out.grad_fn
        info = tensor_info(_tensor_key(out), node, out._out_idx, out.data.shape, out.data.dtype)
        info.tensor = out
        info.kind = "output"
        if info.root_index is None:
            info.root_index = i
            scene.roots.append(info)
        if node is not None:
            stack.append(node)

    # Iterative depth-first search: no recursion limit, however deep the graph.
    while stack:
        node = stack.pop()
        if id(node) in ops:
            continue
        op = ops[id(node)] = _OpInfo(node, f"op{len(ops)}", len(ops))
        for j, edge in enumerate(node._next or ()):
            if edge is None:
                continue
            target, idx, shape, dtype = edge
            if isinstance(target, Tensor):
                info = tensor_info((id(target), -1), None, -1, shape, dtype)
                if info.tensor is None:
                    info.tensor = target
            else:
                info = tensor_info((id(target), idx), target, idx, shape, dtype)
                if id(target) not in ops:
                    stack.append(target)
            op.inputs.append((j, info))
            info.consumers.append(op)

    for info in tensors.values():
        if info.node is not None:
            info.producer = ops[id(info.node)]
            info.producer.outputs.append(info)
    for op in ops.values():
        op.outputs.sort(key=lambda t: t.idx)
    # Producers before consumers: a readable layout and the order DOT text is written in.
    scene.ops = sorted(ops.values(), key=lambda op: (op.node._gen, -op.order))
    _harvest_values(scene)
    _add_constants(scene)
    _name_tensors(scene, params, model)
    return scene


def _add_constants(scene: _Scene) -> None:
    """Operands outside the graph, when the op saved them or ``record()`` kept them."""
    constant_infos: dict = {}
    for op in scene.ops:
        found = list(_constant_operands(op.node))
        record = scopes.recorded(op.node)
        if record is not None:
            found += list(record.constants)
        seen = set()
        for value in found:
            if id(value) in seen:
                continue
            seen.add(id(value))
            if not isinstance(value, Tensor):
                op.numbers.append(value)
                continue
            info = constant_infos.get(id(value))
            if info is None:
                key = (id(value), "constant")
                info = _TensorInfo(
                    key, f"k{len(constant_infos)}", None, -1, value.shape, value.dtype
                )
                info.tensor = value
                info.kind = "constant"
                constant_infos[id(value)] = info
            info.consumers.append(op)
            op.constants.append(info)
    scene.constants = list(constant_infos.values())


def _is_released(node: Any) -> bool:
    return node._saved is getattr(_function, "_RELEASED", None) or bool(
        getattr(node, "_released", False)
    )


def _saved_items(node: Any) -> tuple:
    saved = node._saved
    if not saved or _is_released(node):
        return ()
    return saved


def _saved_output(extra: Any) -> tuple:
    """(output index, live output tensor or None) from a saved output's ``extra`` field."""
    if isinstance(extra, tuple):  # (index, weakref to the output tensor, its version)
        return extra[0], extra[1]()
    return extra, None


def _harvest_values(scene: _Scene) -> None:
    """Find live tensors (or arrays) for intermediates: recorded, retained, or saved ones."""
    tensors = scene.tensors

    def offer(key: tuple, t: Tensor) -> None:
        info = tensors.get(key)
        if info is not None and info.tensor is None:
            info.tensor = t

    for op in scene.ops:
        node = op.node
        record = scopes.recorded(node)
        if record is not None:
            for i, t in enumerate(record.outputs):
                if t.grad_fn is node:
                    offer((id(node), i), t)
        if node._retained:
            for i, ref in node._retained.items():
                t = ref()
                if t is not None and t.grad_fn is node:
                    offer((id(node), i), t)
    for op in scene.ops:
        for kind, value, extra in _saved_items(op.node):
            if kind == _function._SAVED_INPUT and isinstance(value, Tensor):
                if value._version == extra:
                    offer(_tensor_key(value), value)
            elif kind == _function._SAVED_OUTPUT:
                index, output = _saved_output(extra)
                if output is not None and output.grad_fn is op.node:
                    offer((id(op.node), index), output)
                info = tensors.get((id(op.node), index))
                if info is not None and info.tensor is None and info.array is None:
                    info.array = value


def _name_tensors(scene: _Scene, params: Any, model: Any) -> None:
    explicit = {}
    if params is not None:
        items = params.items() if hasattr(params, "items") else params
        for name, t in items:
            explicit[id(t)] = name
    if model is not None and hasattr(model, "named_parameters"):
        for name, p in model.named_parameters():
            explicit.setdefault(id(p), name)
    for info in list(scene.tensors.values()) + scene.constants:
        t = info.tensor
        if t is None:
            continue
        if info.kind == "constant":
            info.name = t.name
            continue
        if info.node is None and id(t) in explicit:
            info.name = explicit[id(t)]
        elif t.name:
            info.name = t.name
        if info.node is None and info.kind != "output":
            is_param = id(t) in explicit or type(t).__name__ == "Parameter"
            info.kind = "param" if is_param else "leaf"


# ------------------------------------------------------------------------------ clusters
def _build_clusters(scene: _Scene, model: Any, collapse: Iterable[str], max_depth: Any) -> None:
    """One cluster per module call: the ops between the call's inputs and its outputs."""
    by_call: dict = {}
    for op in scene.ops:
        for call in scopes.calls(op.node):
            cluster = by_call.get(id(call))
            if cluster is None:
                cluster = by_call[id(call)] = _Cluster(call, f"m{len(by_call)}")
            cluster.out_ops.append(op)
    if not by_call:
        return
    op_of = {id(op.node): op for op in scene.ops}
    clusters = []
    for cluster in by_call.values():
        stack = [op.node for op in cluster.out_ops]
        members = cluster.members
        while stack:
            node = stack.pop()
            nid = id(node)
            if nid in members or nid in cluster.boundary_ids or nid not in op_of:
                continue
            members.add(nid)
            for edge in node._next or ():
                if edge is not None and not isinstance(edge[0], Tensor):
                    stack.append(edge[0])
        if members:  # a module that returned its input unchanged owns no op
            clusters.append(cluster)
    clusters.sort(key=lambda c: c.sort_key)

    # containing[node id]: the calls around that node, innermost first.
    containing: dict = {}
    for cluster in clusters:
        for nid in cluster.members:
            containing.setdefault(nid, []).append(cluster)
    for cluster in clusters:
        around = containing[next(iter(cluster.members))]
        position = around.index(cluster)
        cluster.parent = around[position + 1] if position + 1 < len(around) else None
    for op in scene.ops:
        around = containing.get(id(op.node))
        op.cluster = around[0] if around else None

    outer_first = clusters[::-1]
    _name_clusters(outer_first, model)
    collapse = set(collapse or ())
    for cluster in outer_first:
        parent = cluster.parent
        cluster.depth = 0 if parent is None else parent.depth + 1
        module = cluster.module
        cluster.collapsed = (
            cluster.qualname in collapse
            or type(module).__name__ in collapse
            or (max_depth is not None and cluster.depth >= max_depth)
        )
        if parent is not None and parent.owner is not None:
            cluster.owner = parent.owner
        elif cluster.collapsed:
            cluster.owner = cluster
    scene.clusters = outer_first
    _name_params_from_modules(scene)
    _place(scene)


def _name_clusters(outer_first: list, model: Any) -> None:
    known = {}
    if model is not None and hasattr(model, "named_modules"):
        for name, module in model.named_modules():
            known.setdefault(id(module), name)
    calls_per_module: dict = {}
    for cluster in outer_first:
        calls_per_module.setdefault(id(cluster.module), []).append(cluster)
    for cluster in outer_first:
        module = cluster.module
        name = known.get(id(module))
        if name is None and cluster.parent is not None:
            child = _child_name(cluster.parent.module, module)
            if child is not None:
                prefix = cluster.parent.qualname
                name = f"{prefix}.{child}" if prefix else child
        cluster.qualname = name or ""
        kind = type(module).__name__
        label = f"{cluster.qualname} ({kind})" if cluster.qualname else kind
        same = calls_per_module[id(module)]
        if len(same) > 1:
            ordered = sorted(same, key=lambda c: c.call.index)
            label += f" call {ordered.index(cluster) + 1}"
        cluster.label = label


def _child_name(parent: Any, child: Any) -> str | None:
    if not hasattr(parent, "named_children"):
        return None
    for name, module in parent.named_children():
        if module is child:
            return name
    return None


def _name_params_from_modules(scene: _Scene) -> None:
    """Unnamed leaves that a module owns get the module's name for them: ``0.weight``."""
    unnamed = {
        id(info.tensor): info
        for info in scene.tensors.values()
        if info.node is None and info.tensor is not None and info.name is None
    }
    if not unnamed:
        return
    for cluster in scene.clusters:  # outermost first, so names are as full as they get
        module = cluster.module
        if not hasattr(module, "named_parameters"):
            continue
        for name, p in module.named_parameters():
            info = unnamed.pop(id(p), None)
            if info is not None:
                info.name = f"{cluster.qualname}.{name}" if cluster.qualname else name
                if info.kind == "leaf":
                    info.kind = "param"


def _common_cluster(clusters: list) -> Any:
    """The innermost cluster containing all of ``clusters`` (None: the top level)."""
    common = clusters[0]
    for other in clusters[1:]:
        seen = set()
        c = other
        while c is not None:
            seen.add(id(c))
            c = c.parent
        while common is not None and id(common) not in seen:
            common = common.parent
        if common is None:
            return None
    return common


def _place(scene: _Scene) -> None:
    """Put each op and tensor in its cluster, or inside the box of a collapsed module."""
    for op in scene.ops:
        if op.cluster is not None and op.cluster.owner is not None:
            op.hidden_in = op.cluster.owner
    for info in list(scene.tensors.values()) + scene.constants:
        if info.producer is not None:
            cluster = info.producer.cluster
            box = cluster.owner if cluster is not None else None
            if box is not None:
                if any(op is info.producer for op in box.out_ops) or info.root_index is not None:
                    cluster = box.parent  # the module's output stays visible
                else:
                    info.hidden_in = box
        else:
            consumer_clusters = [op.cluster for op in info.consumers]
            if not consumer_clusters or any(c is None for c in consumer_clusters):
                cluster = None
            else:
                cluster = _common_cluster(consumer_clusters)
            # A module's own input is outside it (a parameter is inside).
            while cluster is not None and id(info.tensor) in cluster.boundary_ids:
                cluster = cluster.parent
            if cluster is not None and cluster.owner is not None:
                info.hidden_in = cluster.owner
        info.cluster = cluster
    box_params: dict = {}
    for info in scene.tensors.values():
        if info.hidden_in is not None and info.node is None and info.kind == "param":
            box_params.setdefault(id(info.hidden_in), []).append(info)
    scene.box_params = box_params


# ------------------------------------------------------------------------------ labels
def _escape(text: str) -> str:
    return (
        str(text)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
    )


def _format_number(x: Any) -> str:
    x = float(x)
    if math.isnan(x) or math.isinf(x):
        return str(x)
    if x == int(x) and abs(x) < 1e6:
        return str(int(x))
    return f"{x:.4g}"


def _format_nested(values: Any) -> str:
    if isinstance(values, list):
        return "[" + ", ".join(_format_nested(v) for v in values) + "]"
    if isinstance(values, bool):
        return str(values)
    return _format_number(values)


def _describe(array: Any, backend: Any, max_values: int) -> str:
    """Small arrays in full; larger ones as min / mean / max and norm (computed on the device)."""
    if array.size == 0:
        return "(empty)"
    if array.size <= max_values:
        # Only what is shown crosses to the host.
        return _format_nested(backend.to_host(array).tolist())
    xp = backend.xp
    a = array.astype("float64")
    # The four statistics cross to the host together: one transfer, not four.
    stats = xp.stack([xp.min(a), xp.mean(a), xp.max(a), xp.sqrt(xp.sum(a * a))])
    low, mean, high, norm = (_format_number(v) for v in backend.to_host(stats).tolist())
    return f"min {low}  mean {mean}  max {high}  norm {norm}"


def _shape_text(info: _TensorInfo) -> str:
    text = f"{info.shape} {info.dtype}"
    t = info.tensor
    if t is not None and t.device != "cpu":
        text += f" {t.device}"
    return text


def _backend_of(info: _TensorInfo) -> Any:
    if info.tensor is not None:
        return info.tensor._backend
    return info.producer.node._backend


def _value_array(info: _TensorInfo) -> Any:
    if info.tensor is not None:
        return info.tensor.data
    return info.array


def _known_grad(info: _TensorInfo) -> Any:
    t = info.tensor
    if t is None:
        return None
    return t.grad


def _grad_norm(grad: Any) -> float:
    """The 2-norm of a gradient tensor (nan when it is not one); one number crosses to the host."""
    if not isinstance(grad, Tensor):
        return math.nan
    a = grad.data.astype("float64")
    return float(grad._backend.xp.sqrt(grad._backend.xp.sum(a * a)))


def _log10(norm: float) -> float:
    if math.isnan(norm):
        return math.nan
    return math.log10(norm) if norm > 0 else -math.inf


def _grad_norm_log10(grad: Any) -> float:
    return _log10(_grad_norm(grad))


def _shape_edge_text(shape: tuple) -> str:
    """``(64, 16, 14, 14)``; a scalar is ``scalar``."""
    return "(" + ", ".join(str(n) for n in shape) + ")" if shape else "scalar"


def _elided(info: _TensorInfo, opts: Any) -> bool:
    """An unnamed intermediate tensor that ``show_intermediates=False`` draws as an edge."""
    return (
        not opts.show_intermediates
        and info.kind == "intermediate"
        and info.name is None
        and info.producer is not None
    )


def _palette_index(value: float, lo: float, hi: float) -> int:
    if value == -math.inf or value <= lo:
        return 0
    if value >= hi:
        return len(_PALETTE) - 1
    return min(int((value - lo) / (hi - lo) * len(_PALETTE)), len(_PALETTE) - 1)


def _color_range(log_norms: Iterable[float], color_range: Any) -> tuple:
    if color_range is not None:
        lo, hi = float(color_range[0]), float(color_range[1])
        if hi <= lo:
            raise ValueError(
                f"viz.draw: color_range must be (low, high) with low < high, got {color_range}"
            )
        return lo, hi
    finite = [v for v in log_norms if math.isfinite(v)]
    if not finite:
        return -1.0, 0.0
    lo, hi = math.floor(min(finite)), math.ceil(max(finite))
    if hi <= lo:
        hi = lo + 1
    return float(lo), float(hi)


def _saved_rows(op: _OpInfo, scene: _Scene, totals: dict) -> list:
    """What this node keeps alive for backward: its saved tensors and any ctx arrays."""
    node = op.node
    if _is_released(node):
        return ["saved: freed by backward()"]
    rows = []
    node_bytes = 0
    inputs_by_key = {info.key: (j, info) for j, info in op.inputs}
    for kind, value, extra in node._saved or ():
        if kind == _function._SAVED_INPUT and isinstance(value, Tensor):
            found = inputs_by_key.get(_tensor_key(value))
            if found is not None:
                j, info = found
                what = f"input {j}" + (f" {info.name}" if info.name else "")
            else:
                what = "input (no grad)"
            array = value.data
        elif kind == _function._SAVED_OUTPUT:
            index = _saved_output(extra)[0]
            what = f"output {index}" if node._n_out > 1 else "output"
            array = value
        elif kind == _function._SAVED_CONST:
            what = "constant"
            array = value
        else:
            rows.append(f"saved value {_short_repr(value)}")
            continue
        rows.append(f"saved {what}: {tuple(array.shape)} {array.dtype}, {_bytes(array.nbytes)}")
        node_bytes += array.nbytes
        totals[_array_id(array)] = array.nbytes
    for attr, value in sorted(getattr(node, "__dict__", {}).items()):
        if attr.startswith("_") or not (hasattr(value, "nbytes") and hasattr(value, "shape")):
            continue
        rows.append(f"ctx.{attr}: {tuple(value.shape)} {value.dtype}, {_bytes(value.nbytes)}")
        node_bytes += value.nbytes
        totals[_array_id(value)] = value.nbytes
    if rows:
        rows.append(f"kept for backward: {_bytes(node_bytes)}")
    return rows


def _array_id(array: Any) -> int:
    base = getattr(array, "base", None)
    return id(array if base is None else base)


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 24 else text[:21] + "..."


def _bytes(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KiB"
    return f"{n / (1024 * 1024):.1f} MiB"


# ------------------------------------------------------------------------------ emission
class _Options:
    def __init__(self, **kwargs: Any) -> None:
        self.__dict__.update(kwargs)


class _State:
    """Per-drawing facts: gradients to show, and (for backward frames) the highlighted step."""

    def __init__(self) -> None:
        self.grads = {}  # tensor key -> gradient (Tensor), when known
        self.partial = set()  # keys whose gradient is still accumulating (frames)
        self.current = None  # _OpInfo being processed (frames)
        self.done = set()  # ids of processed ops (frames)
        self.hot = set()  # (tensor key, op gid) edges a gradient just flowed along
        self.title = None
        self.broadcast = {}  # (op gid, argument index) -> (gradient shape, input shape)


def _table(rows: list, fill: str, border: str = "#555555", width: int = 1, bold: bool = False):
    cells = []
    for i, (text, small) in enumerate(rows):
        text = _escape(text)
        if i == 0 and bold:
            text = f"<b>{text}</b>"
        if small:
            text = f'<font point-size="10">{text}</font>'
        cells.append(f"<tr><td>{text}</td></tr>")
    return (
        f'<<table border="{width}" cellborder="0" cellspacing="0" cellpadding="3" '
        f'bgcolor="{fill}" color="{border}">' + "".join(cells) + "</table>>"
    )


def _tensor_label(info: _TensorInfo, opts: _Options, state: _State, fill: str) -> tuple:
    rows = []
    title = info.name
    if title is None and info.kind == "output":
        title = "output" if info.root_index == 0 else f"output {info.root_index}"
    if title:
        rows.append((title, False))
    rows.append((_shape_text(info), True))
    if opts.show_values:
        array = _value_array(info)
        if array is not None:
            rows.append(("data " + _describe(array, _backend_of(info), opts.max_values), False))
    if opts.show_grads:
        grad = state.grads.get(info.key)
        if grad is not None:
            text = "grad " + _describe(grad.data, grad._backend, opts.max_values)
            if info.key in state.partial:
                text += " (so far)"
            rows.append((text, False))
    font = "#ffffff" if fill in _PALETTE[:4] else None  # light text on dark colours
    current = state.current is not None and any(info is t for t in state.current.outputs)
    label = _table(
        rows,
        fill,
        border=_HOT_EDGE if current else "#555555",
        width=3 if current else 1,
        bold=bool(title),
    )
    return label, font


def _op_label(op: _OpInfo, opts: _Options, scene: _Scene, totals: dict) -> str:
    name = op.node.name
    parts = [f"<b>{_escape(name)}</b>"]
    if opts.show_saved:
        for row in _saved_rows(op, scene, totals):
            parts.append(f'<font point-size="9">{_escape(row)}</font>')
    return "<" + "<br/>".join(parts) + ">"


def _box_label(cluster: _Cluster, scene: _Scene, grad_norm: float | None = None) -> str:
    n_ops = sum(1 for op in scene.ops if op.hidden_in is cluster)
    params = scene.box_params.get(id(cluster), [])
    n_values = sum(math.prod(info.shape) for info in params)
    text = f"<b>{_escape(cluster.label)}</b><br/>{n_ops} op{'s' if n_ops != 1 else ''}"
    if params:
        text += f", {len(params)} parameter tensors ({n_values} values)"
    if grad_norm is not None:
        text += f"<br/>|grad| of parameters {grad_norm:.3g}"
    return "<" + text + ">"


def _box_grad_norms(scene: _Scene, state: _State) -> dict:
    """{cluster gid: norm of all its hidden parameters' gradients taken together}."""
    norms = {}
    for cluster in scene.clusters:
        if cluster.owner is not cluster:
            continue
        params = scene.box_params.get(id(cluster), [])
        parts = [_grad_norm(state.grads[p.key]) for p in params if p.key in state.grads]
        if parts:
            norms[cluster.gid] = math.sqrt(sum(n * n for n in parts))
    return norms


def _emit(scene: _Scene, opts: _Options, state: _State) -> Graph:
    graph_attr = {
        "rankdir": opts.rankdir,
        "fontname": "Helvetica",
        "nodesep": "0.25",
        "ranksep": "0.35",
    }
    title = state.title or opts.title
    footer = []
    g = Graph(
        name="autograd",
        graph_attr=graph_attr,
        node_attr={"fontname": "Helvetica", "fontsize": "11"},
        edge_attr={"color": "#555555", "arrowsize": "0.7", "fontname": "Helvetica"},
    )
    drawn = [c for c in scene.clusters if c.owner is None] if opts.group_modules else []
    containers: dict = {None: g}
    for cluster in drawn:
        sub = graphviz.Digraph(name=f"cluster_{cluster.gid}")
        sub.attr(
            label=cluster.label,
            style="rounded,filled",
            color="#8a8a8a",
            fillcolor=_CLUSTER_COLORS[cluster.depth % len(_CLUSTER_COLORS)],
            fontname="Helvetica",
            fontsize="11",
            labeljust="l",
        )
        containers[id(cluster)] = sub

    def container(cluster: Any) -> Any:
        if not opts.group_modules or cluster is None:
            return g
        return containers[id(cluster)]

    # Gradient colours: one shared scale for every tensor whose gradient is known.
    colors = {}
    log_norms = {}
    box_norms = {}
    if opts.color_by == "grad_norm":
        for info in scene.tensors.values():
            grad = state.grads.get(info.key)
            if grad is not None and not _elided(info, opts):
                log_norms[info.key] = _grad_norm_log10(grad)
        if opts.group_modules:
            box_norms = _box_grad_norms(scene, state)
            for gid, norm in box_norms.items():
                log_norms[gid] = _log10(norm)
        lo, hi = _color_range(log_norms.values(), opts.color_range)
        for key, value in log_norms.items():
            if math.isnan(value):
                colors[key] = _NO_GRAD_COLOR
            else:
                colors[key] = _PALETTE[_palette_index(value, lo, hi)]

    totals: dict = {}
    for op in scene.ops:
        if op.hidden_in is not None and opts.group_modules:
            continue
        attrs = {"shape": "ellipse", "style": "filled", "fillcolor": _OP_COLOR}
        if state.current is op:
            attrs.update(fillcolor=_CURRENT_COLOR, penwidth="3", color=_HOT_EDGE)
        elif id(op) in state.done:
            attrs.update(fillcolor=_DONE_COLOR, fontcolor="#666666")
        container(op.cluster).node(op.gid, _op_label(op, opts, scene, totals), **attrs)
        if op.numbers:
            numbers = ", ".join(_format_number(x) for x in op.numbers)
            container(op.cluster).node(
                f"{op.gid}_n", numbers, shape="plaintext", fontcolor="#444444"
            )
    if opts.show_saved:
        for op in scene.ops:
            if op.hidden_in is not None and opts.group_modules:
                _saved_rows(op, scene, totals)  # still counted in the total
        footer.append(f"saved for backward: {len(totals)} arrays, {_bytes(sum(totals.values()))}")

    for info in list(scene.tensors.values()) + scene.constants:
        if (info.hidden_in is not None and opts.group_modules) or _elided(info, opts):
            continue
        fill = colors.get(info.key, _KIND_COLOR[info.kind])
        label, font = _tensor_label(info, opts, state, fill)
        attrs = {"shape": "plain"}
        if font is not None:
            attrs["fontcolor"] = font
        container(info.cluster).node(info.gid, label, **attrs)

    if opts.group_modules:
        for cluster in scene.clusters:
            if cluster.owner is cluster:
                # A backward frame whose node is inside a collapsed module highlights the box.
                running = state.current is not None and state.current.hidden_in is cluster
                fill = colors.get(cluster.gid, _BOX_COLOR)
                attrs = {"fontcolor": "#ffffff"} if fill in _PALETTE[:4] else {}
                container(cluster.parent).node(
                    cluster.gid,
                    _box_label(cluster, scene, box_norms.get(cluster.gid)),
                    shape="box3d",
                    style="filled",
                    fillcolor=_CURRENT_COLOR if running else fill,
                    **attrs,
                )
        for cluster in sorted(drawn, key=lambda c: -c.depth):
            container(cluster.parent).subgraph(containers[id(cluster)])

    if opts.color_by == "grad_norm":
        g.node("legend", _legend_label(lo, hi), shape="plain")
        if not log_norms:
            footer.append("no gradients known: call backward() first (see viz.record)")

    _emit_edges(g, scene, opts, state)
    if title:
        footer.insert(0, title)
    if footer:
        g.attr(label="\n".join(footer), labelloc="t", fontsize="13")
    return g


def _legend_label(lo: float, hi: float) -> str:
    step = (hi - lo) / len(_PALETTE)
    rows = ['<tr><td colspan="2"><b>log10 |grad|</b></td></tr>']
    for i in range(len(_PALETTE) - 1, -1, -1):
        a, b = lo + i * step, lo + (i + 1) * step
        text = f"{a:.2g} to {b:.2g}"
        rows.append(f'<tr><td bgcolor="{_PALETTE[i]}" width="24"> </td><td>{text}</td></tr>')
    rows.append(f'<tr><td bgcolor="{_NO_GRAD_COLOR}"> </td><td>unknown / nan</td></tr>')
    return (
        '<<table border="1" cellborder="0" cellspacing="2" cellpadding="2" color="#888888">'
        + "".join(rows)
        + "</table>>"
    )


def _emit_edges(g: Graph, scene: _Scene, opts: _Options, state: _State) -> None:
    grouped = opts.group_modules

    def op_end(op: _OpInfo) -> str:
        if grouped and op.hidden_in is not None:
            return op.hidden_in.gid
        return op.gid

    def tensor_end(info: _TensorInfo) -> str:
        if grouped and info.hidden_in is not None:
            return info.hidden_in.gid
        if _elided(info, opts):
            return op_end(info.producer)  # the edge starts at the op that made it
        return info.gid

    seen = set()
    for op in scene.ops:
        dst = op_end(op)
        for j, info in op.inputs:
            src = tensor_end(info)
            if src == dst:
                continue
            attrs = {}
            label = {}
            if opts.show_shapes:
                label = {"label": _shape_edge_text(info.shape), "fontsize": "9"}
            broadcast = state.broadcast.get((op.gid, j))
            if broadcast is not None and opts.show_broadcast:
                grad_shape, shape = broadcast
                attrs.update(
                    label=f"grad summed {grad_shape}->{shape}",
                    fontcolor=_HOT_EDGE,
                    fontsize="9",
                    style="dashed",
                )
            if (info.key, op.gid) in state.hot:
                attrs.update(color=_HOT_EDGE, penwidth="2.5")
            if (src, dst) in seen and not attrs:
                continue
            seen.add((src, dst))
            g.edge(src, dst, **{**label, **attrs})
        for info in op.constants:
            src = tensor_end(info)
            if src != dst and (src, dst) not in seen:
                seen.add((src, dst))
                label = {}
                if opts.show_shapes:
                    label = {"label": _shape_edge_text(tuple(info.shape)), "fontsize": "9"}
                g.edge(src, dst, style="dashed", color="#999999", **label)
        if op.numbers and not (grouped and op.hidden_in is not None):
            g.edge(f"{op.gid}_n", dst, style="dashed", color="#999999")
        for info in op.outputs:
            if _elided(info, opts) and not (grouped and info.hidden_in is not None):
                continue  # drawn as the edges from this op to the tensor's consumers
            src, out = dst, tensor_end(info)
            if src == out or (src, out) in seen:
                continue
            seen.add((src, out))
            g.edge(src, out)


# ------------------------------------------------------------------------------ backward replay
class _Step:
    __slots__ = ("op", "grads", "partial", "sent")

    def __init__(self, op: _OpInfo, grads: dict, partial: set, sent: list) -> None:
        self.op = op
        self.grads = grads
        self.partial = partial
        self.sent = sent


def _ones_like(t: Tensor) -> Tensor:
    return Tensor._make(t._backend.xp.ones(t.data.shape, t.data.dtype), t._backend)


def _replay_backward(scene: _Scene, grad_roots: tuple, compute: bool) -> tuple:
    """The engine's loop (``function.run_backward``) replayed on the side: same heap keyed by
    (-generation, insertion counter), same gradients, but nothing is written to ``.grad``, no
    hook runs, and no saved array is released. With ``compute=False`` only the order is found.

    Returns (steps, broadcast): one ``_Step`` per node the engine runs, and the edges whose
    gradient the engine sums back to the input's shape.
    """
    from .ops.shape import sum_to

    grads: dict = {}
    heap: list = []
    counter = 0
    pushed = set()
    pending = {info.key: len(info.consumers) for info in scene.tensors.values()}
    partial = set()
    steps = []
    broadcast = {}

    def push(op: _OpInfo) -> None:
        nonlocal counter
        if id(op) not in pushed:
            pushed.add(id(op))
            heapq.heappush(heap, (-op.node._gen, counter, op))
            counter += 1

    def accumulate(key: tuple, g: Any) -> None:
        old = grads.get(key)
        grads[key] = g if old is None or g is None else old + g

    with no_grad():
        for info, g in zip(scene.roots, grad_roots):
            accumulate(info.key, g)
            if info.producer is not None:
                push(info.producer)
        for info in scene.tensors.values():
            if info.producer is not None and pending[info.key] > 0:
                partial.add(info.key)
        while heap:
            op = heapq.heappop(heap)[2]
            node = op.node
            sent = []
            if compute:
                grad_outs = [None] * node._n_out
                for info in op.outputs:
                    grad_outs[info.idx] = grads.get(info.key)
                if node._n_out > 1:
                    grad_outs = _function._materialize(node, grad_outs)
                grad_ins = node.backward(node, *grad_outs)
                if type(grad_ins) is not tuple:
                    grad_ins = (grad_ins,)
            for j, info in op.inputs:
                pending[info.key] -= 1
                if compute:
                    g = grad_ins[j] if j < len(grad_ins) else None
                    if g is None:
                        continue
                    if g.data.shape != info.shape:
                        broadcast[(op.gid, j)] = (tuple(g.data.shape), info.shape)
                        g = _function._reduce_to_shape(g, info.shape, node, sum_to)
                    accumulate(info.key, g)
                sent.append(info.key)
                if info.producer is not None:
                    push(info.producer)
                # Complete once every consumer has sent its part.
                if pending[info.key] > 0:
                    partial.add(info.key)
                else:
                    partial.discard(info.key)
            snapshot = {k: v for k, v in grads.items() if v is not None}
            steps.append(_Step(op, snapshot, set(partial), sent))
    return steps, broadcast


def _can_replay(scene: _Scene) -> bool:
    return not any(_is_released(op.node) for op in scene.ops)


def _heuristic_broadcast(scene: _Scene) -> dict:
    """Without saved tensors, guess: an input of a multi-input op whose shape broadcasts to the
    op's output shape but differs from it."""
    found = {}
    for op in scene.ops:
        if len(op.node._next or ()) < 2 or len(op.outputs) != 1:
            continue
        out_shape = op.outputs[0].shape
        for j, info in op.inputs:
            shape = info.shape
            if shape != out_shape and _broadcasts_to(shape, out_shape):
                found[(op.gid, j)] = (out_shape, shape)
    return found


def _broadcasts_to(shape: tuple, target: tuple) -> bool:
    if len(shape) > len(target):
        return False
    return all(s == 1 or s == t for s, t in zip(shape[::-1], target[::-1]))


# ------------------------------------------------------------------------------ public API
def draw(
    *outputs: Tensor,
    params: Any = None,
    model: Any = None,
    show_values: bool = False,
    show_grads: bool = False,
    group_modules: bool = False,
    collapse: Iterable[str] = (),
    max_depth: int | None = None,
    color_by: str | None = None,
    color_range: tuple | None = None,
    show_saved: bool = False,
    show_broadcast: bool = False,
    show_shapes: bool = False,
    show_intermediates: bool = True,
    max_values: int = 8,
    rankdir: str = "LR",
    title: str | None = None,
) -> Graph:
    """Draw the graph that produced ``outputs`` as a ``graphviz.Digraph`` (our ``Graph``).

    Tensors are boxes (leaves blue, parameters green, outputs orange), ops are ellipses, and
    edges follow the data: input -> op -> output.

    Args:
        outputs: the tensors whose graph to draw (e.g. the loss).
        params: ``{name: tensor}`` or ``(name, tensor)`` pairs naming leaves, e.g.
            ``dict(model.named_parameters())``. Other names come from ``tensor.name``.
        model: a Module: names its parameters and its submodules' clusters.
        show_values: print each tensor's value: small tensors (up to ``max_values`` elements)
            in full, larger ones as min / mean / max and norm. See the module docstring for
            which intermediates have a value to show.
        show_grads: print each tensor's ``.grad`` the same way (after ``backward()``).
        group_modules: put the ops of each module call in a labelled cluster, nested as the
            modules nest.
        collapse: module names (``"encoder"``, ``"0"``) or class names (``"Linear"``) to draw as
            one box each. Implies ``group_modules``.
        max_depth: collapse every module call nested this deep (0: each top-level call is a
            box; 1: its children are). Implies ``group_modules``.
        color_by: ``"grad_norm"`` colours tensors by log10 of their gradient's norm, with a
            legend (vanishing gradients show up dark). A collapsed module's box is coloured
            by the norm of its parameters' gradients taken together (and says it).
        color_range: (low, high) log10 bounds of the colour scale, to compare two drawings.
        show_saved: list what each op keeps alive for backward, with bytes, and the total.
        show_broadcast: label the edges whose gradient the engine sums back to the input's
            shape (a hidden ``SumTo``). Exact while the graph's saved tensors are alive (it
            replays backward on the side); after a plain ``backward()`` it is inferred from
            shapes.
        show_shapes: label each edge into an op (or into a collapsed module's box) with the
            shape of the tensor it carries, ``(64, 16, 14, 14)``, as torchviz users expect.
        show_intermediates: ``False`` draws no box for unnamed intermediate tensors: the
            producing op (or module box) points straight at its consumers, so a network
            collapsed with ``max_depth`` is one box per module, with shapes on the edges when
            ``show_shapes``. Leaves, parameters, outputs and named tensors are still drawn.
        max_values: how many elements a tensor may have and still be printed in full.
        rankdir: Graphviz layout direction: ``"LR"`` (left to right) or ``"TB"``.
        title: a caption at the top.

    Shape:
        any tensors -> a graph with one node per op and per tensor.
    """
    if not outputs:
        raise ValueError("viz.draw: pass at least one output tensor, e.g. draw(loss)")
    if color_by not in (None, "grad_norm"):
        raise ValueError(f"viz.draw: color_by must be None or 'grad_norm', got {color_by!r}")
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise ValueError(f"viz.draw: rankdir must be 'LR', 'TB', 'RL' or 'BT', got {rankdir!r}")
    if isinstance(collapse, str):
        collapse = (collapse,)
    group_modules = group_modules or bool(collapse) or max_depth is not None
    scene = _build_scene(outputs, params, model)
    _build_clusters(scene, model, collapse, max_depth)
    opts = _Options(
        show_values=show_values,
        show_grads=show_grads,
        group_modules=group_modules,
        color_by=color_by,
        color_range=color_range,
        show_saved=show_saved,
        show_broadcast=show_broadcast,
        show_shapes=show_shapes,
        show_intermediates=show_intermediates,
        max_values=max_values,
        rankdir=rankdir,
        title=title,
    )
    state = _State()
    for info in scene.tensors.values():
        grad = _known_grad(info)
        if grad is not None:
            state.grads[info.key] = grad
    if show_broadcast:
        state.broadcast = _broadcast_edges(scene)
    return _emit(scene, opts, state)


def _broadcast_edges(scene: _Scene) -> dict:
    if _can_replay(scene):
        seeds = tuple(_ones_like(info.tensor) for info in scene.roots)
        try:
            return _replay_backward(scene, seeds, compute=True)[1]
        except RuntimeError:
            pass  # e.g. a saved tensor was changed in place: fall back to shapes
    return _heuristic_broadcast(scene)


def backward_steps(
    *outputs: Tensor, gradient: Any = None, show_grads: bool = True, **draw_options: Any
) -> Iterator[Graph]:
    """Yield one frame per step of ``backward()``: the node being run, highlighted, and the
    gradients accumulated so far.

    Frames follow the engine's order exactly (a heap on decreasing generation, ties in the
    order nodes were reached), so there is one frame per node the engine runs. The replay
    runs each node's backward on the side: leaves' ``.grad`` are not touched, hooks do not run
    and no saved array is freed. It needs the graph's saved tensors: call it before
    ``backward()``, or after ``backward(retain_graph=True)``; on a freed graph the frames
    still show the order, without gradients. Each frame has ``.step`` (1, 2, ...) and
    ``.grad_fn`` (the node run). Other keyword arguments are those of ``draw``.

    Shape:
        outputs -> one frame per graph node reachable from them.
    """
    if not outputs:
        raise ValueError("viz.backward_steps: pass at least one output tensor")
    collapse = draw_options.pop("collapse", ())
    max_depth = draw_options.pop("max_depth", None)
    params = draw_options.pop("params", None)
    model = draw_options.pop("model", None)
    title = draw_options.pop("title", None)
    scene = _build_scene(outputs, params, model)
    _build_clusters(scene, model, collapse, max_depth)
    if gradient is None:
        gradient = (None,) * len(outputs)
    elif isinstance(gradient, Tensor):
        gradient = (gradient,)
    seeds = []
    for info, g in zip(scene.roots, gradient):
        t = info.tensor
        if g is None:
            if t.data.size != 1:
                raise RuntimeError(
                    f"viz.backward_steps: output of shape {t.shape} is not a scalar; pass "
                    "gradient= (one tensor per output), as for backward()"
                )
            g = _ones_like(t)
        seeds.append(g)
    compute = _can_replay(scene)
    steps, broadcast = _replay_backward(scene, tuple(seeds), compute)
    defaults = dict(
        show_values=False,
        group_modules=bool(collapse) or max_depth is not None,
        color_by=None,
        color_range=None,
        show_saved=False,
        show_broadcast=False,
        show_shapes=False,
        show_intermediates=True,
        max_values=8,
        rankdir="LR",
    )
    unknown = set(draw_options) - set(defaults)
    if unknown:
        raise TypeError(f"viz.backward_steps: unexpected keyword arguments {sorted(unknown)}")
    defaults.update(draw_options)
    opts = _Options(show_grads=show_grads, title=None, **defaults)
    note = "" if compute else " (saved tensors were freed by backward(): gradients not shown)"
    done = set()
    total = len(steps)
    for number, step in enumerate(steps, start=1):
        state = _State()
        state.grads = step.grads
        state.partial = step.partial
        state.current = step.op
        state.done = set(done)
        state.hot = {(key, step.op.gid) for key in step.sent}
        state.broadcast = broadcast
        name = step.op.node.name
        caption = f"backward step {number}/{total}: {name} (generation {step.op.node._gen}){note}"
        state.title = f"{title}\n{caption}" if title else caption
        frame = _emit(scene, opts, state)
        frame.step = number
        frame.grad_fn = step.op.node
        done.add(id(step.op))
        yield frame


# ------------------------------------------------------------------------------ output
def dot_available() -> bool:
    """True when Graphviz's ``dot`` program is on PATH (needed for SVG/PNG/PDF, not for .gv)."""
    return shutil.which("dot") is not None


def _missing_dot_message(gv_path: Any, format: str = "svg", out_path: Any = None) -> str:
    """The install hint; the command it suggests renders the format that was asked for."""
    where = f"The DOT text was written to {gv_path}. " if gv_path is not None else ""
    if gv_path is None:
        later = f"`dot -T{format}`"
    elif "*" in str(gv_path):
        later = f'`for f in {gv_path}; do dot -T{format} "$f" -o "${{f%.gv}}.{format}"; done`'
    else:
        target = out_path if out_path is not None else Path(gv_path).with_suffix(f".{format}")
        later = f"`dot -T{format} {gv_path} -o {target}`"
    return (
        "autograd.viz: rendering needs Graphviz's `dot` program, which was not found on PATH. "
        f"{where}Install Graphviz with `apt install graphviz` (Debian/Ubuntu), "
        "`brew install graphviz` (macOS) or `conda install -c conda-forge graphviz`, then "
        f"render again (or run {later})."
    )


def _base_path(path: Any) -> Path:
    path = Path(path)
    if path.suffix.lstrip(".").lower() in FORMATS + _DOT_FORMATS:
        path = path.with_suffix("")
    return path


def render(graph: graphviz.Digraph, path: Any, format: str = "svg") -> Path:
    """Write ``graph`` to ``path`` (suffix optional): always ``<path>.gv``, then, unless
    ``format`` is ``"gv"``, ``<path>.<format>`` through Graphviz's ``dot``. Returns the path of
    the last file written.

    Raises ``GraphvizNotFoundError`` (a RuntimeError) when ``dot`` is missing, naming the DOT
    file that was written and how to install Graphviz.

    Shape:
        a graph -> files ``path.gv`` and ``path.{svg,png,pdf}``.
    """
    format = format.lower()
    if format not in FORMATS + _DOT_FORMATS:
        raise ValueError(f"viz.render: format must be one of {FORMATS + ('gv',)}, got {format!r}")
    base = _base_path(path)
    base.parent.mkdir(parents=True, exist_ok=True)
    gv_path = Path(f"{base}.gv")
    gv_path.write_text(graph.source, encoding="utf-8")
    if format in _DOT_FORMATS:
        return gv_path
    out_path = Path(f"{base}.{format}")
    try:
        graphviz.render("dot", format, gv_path, outfile=out_path, quiet=True)
    except graphviz.ExecutableNotFound as err:
        raise GraphvizNotFoundError(_missing_dot_message(gv_path, format, out_path)) from err
    return out_path


def save_frames(
    frames: Iterable[graphviz.Digraph], directory: Any, format: str = "svg", prefix: str = "frame"
) -> list:
    """Write frames as ``<directory>/<prefix>_000.gv``, ... and render them to ``format``.

    All DOT files are written first, so they exist even when ``dot`` is missing (then
    ``GraphvizNotFoundError`` is raised). Returns the list of rendered (or .gv) paths.

    Shape:
        N frames -> N numbered files.
    """
    format = format.lower()
    if format not in FORMATS + _DOT_FORMATS:
        raise ValueError(
            f"viz.save_frames: format must be one of {FORMATS + ('gv',)}, got {format!r}"
        )
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    gv_paths = [
        render(frame, directory / f"{prefix}_{i:03d}", "gv") for i, frame in enumerate(frames)
    ]
    if format in _DOT_FORMATS:
        return gv_paths
    paths = []
    for gv_path in gv_paths:
        out_path = gv_path.with_suffix(f".{format}")
        try:
            graphviz.render("dot", format, gv_path, outfile=out_path, quiet=True)
        except graphviz.ExecutableNotFound as err:
            pattern = directory / f"{prefix}_*.gv"
            raise GraphvizNotFoundError(_missing_dot_message(pattern, format)) from err
        paths.append(out_path)
    return paths
