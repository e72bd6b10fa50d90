"""Module-call records: how ``autograd.viz`` knows which ops belong to which ``nn.Module``.

``nn.Module.__call__`` calls ``record_module_call(module, inputs, outputs)`` after each forward.
It costs one small tuple per module call, never anything per op: the output nodes remember the
module and the nodes (or leaves) its inputs came from; the ops in between belong to the module.
"""

from __future__ import annotations

import weakref
from typing import Any

from .tensor import Tensor


def _flatten(obj: Any) -> list:
    if isinstance(obj, Tensor):
        return [obj]
    if isinstance(obj, (tuple, list)):
        return [t for item in obj for t in _flatten(item)]
    if isinstance(obj, dict):
        return [t for item in obj.values() for t in _flatten(item)]
    return []


def record_module_call(module: Any, inputs: Any, outputs: Any) -> None:
    """Tag each output's ``grad_fn`` with (module, boundary): the input tensors' producers."""
    out_nodes = [t.grad_fn for t in _flatten(outputs) if t.grad_fn is not None]
    if not out_nodes:
        return
    boundary = tuple(t.grad_fn if t.grad_fn is not None else t for t in _flatten(inputs))
    record = (weakref.ref(module), boundary)
    for node in out_nodes:
        if node._viz is None:
            node._viz = [record]
        else:
            node._viz.append(record)


def module_calls(node: Any) -> list:
    """The (module, boundary) records of ``node``, innermost module first; dead modules skipped."""
    records = node._viz or []
    result = []
    for ref, boundary in records:
        module = ref()
        if module is not None:
            result.append((module, boundary))
    return result
