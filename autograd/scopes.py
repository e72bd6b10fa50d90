"""Records on graph nodes that ``autograd.viz`` reads: module calls and recorded op outputs.

``nn.Module.__call__`` calls ``record_module_call(module, inputs, outputs)`` after each forward.
It costs one small object per module call, never anything per op: the output nodes remember the
module and the nodes (or leaves) its inputs came from; the ops in between belong to the module.

``autograd.viz.record()`` calls ``record_outputs(node, outputs)`` for every op while it is
active, so intermediate values can be drawn later. Both kinds live in the node's ``_viz`` list.
"""

from __future__ import annotations

import itertools
import weakref
from typing import Any

from .tensor import Tensor

# Module calls finish inner-first, so this counter orders nested calls on the same output node.
_call_counter = itertools.count()


class ModuleCall:
    """One call of one module: its output nodes carry this object in their ``_viz`` list."""

    __slots__ = ("_module", "boundary", "index")

    def __init__(self, module: Any, boundary: tuple) -> None:
        self._module = weakref.ref(module)
        self.boundary = boundary  # the producers (nodes, or leaf tensors) of the call's inputs
        self.index = next(_call_counter)

    @property
    def module(self) -> Any:
        """The module, or None once it has been garbage collected."""
        return self._module()

    def __repr__(self) -> str:
        module = self.module
        name = type(module).__name__ if module is not None else "<dead module>"
        return f"<ModuleCall {name} #{self.index}>"


class RecordedOutputs:
    """The output tensors of one op, kept by ``viz.record()`` so their values can be drawn, and
    its constant operands (tensors without grad, Python numbers) that backward would free."""

    __slots__ = ("outputs", "constants")

    def __init__(self, outputs: tuple, constants: tuple = ()) -> None:
        self.outputs = outputs
        self.constants = constants


def _flatten(obj: Any) -> list:
    if isinstance(obj, Tensor):
        return [obj]
    if isinstance(obj, (tuple, list)):
        return [t for item in obj for t in _flatten(item)]
    if isinstance(obj, dict):
        return [t for item in obj.values() for t in _flatten(item)]
    return []


def _append(node: Any, record: Any) -> None:
    if node._viz is None:
        node._viz = [record]
    else:
        node._viz.append(record)


def record_module_call(module: Any, inputs: Any, outputs: Any) -> None:
    """Tag each output's ``grad_fn`` with a ``ModuleCall``: the module and its inputs' producers."""
    if isinstance(outputs, Tensor):  # the common case, without the recursive walk
        node = outputs.grad_fn
        if node is None:
            return
        out_nodes = (node,)
    else:
        out_nodes = []
        for t in _flatten(outputs):
            node = t.grad_fn
            if node is not None and all(node is not seen for seen in out_nodes):
                out_nodes.append(node)
        if not out_nodes:
            return
    if type(inputs) is tuple and len(inputs) == 1 and isinstance(inputs[0], Tensor):
        t = inputs[0]
        boundary = (t if t.grad_fn is None else t.grad_fn,)
    else:
        boundary = tuple(t.grad_fn if t.grad_fn is not None else t for t in _flatten(inputs))
    record = ModuleCall(module, boundary)
    for node in out_nodes:
        _append(node, record)


def record_outputs(node: Any, outputs: tuple, constants: tuple = ()) -> None:
    """Keep ``outputs`` (strongly) on their node, for drawing values; used by ``viz.record()``."""
    _append(node, RecordedOutputs(tuple(outputs), tuple(constants)))


def calls(node: Any) -> list:
    """The ``ModuleCall`` records of ``node``, innermost first; calls of dead modules skipped."""
    records = node._viz or ()
    return [r for r in records if type(r) is ModuleCall and r.module is not None]


def module_calls(node: Any) -> list:
    """The (module, boundary) pairs of ``node``, innermost module first; dead modules skipped."""
    return [(r.module, r.boundary) for r in calls(node)]


def recorded(node: Any) -> RecordedOutputs | None:
    """What ``viz.record()`` kept for ``node``, or None when it was not recording."""
    for record in node._viz or ():
        if type(record) is RecordedOutputs:
            return record
    return None
