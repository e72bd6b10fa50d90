"""Views: tensors that share their base's memory, and so its version counter, as in PyTorch.

A view op (basic indexing, ``reshape`` when it needs no copy, ``permute``/``transpose``/``.T``,
``expand``, ``squeeze``/``unsqueeze``, ``split``/``chunk`` pieces) is a ``ViewFunction``. Its
output shares the input's version cell (``Tensor._vc``), so an in-place change through any alias
is seen by every saved tensor of the family, and it remembers ``_view = (root, chain,
differentiable)``: the tensor that owns the memory, and the view ops that lead from it here, so
that an in-place op on a view can rebase the root's graph (``CopySlices``) and regenerate the
graph of every live view of the family, as PyTorch's view+inplace does.

The version cell is a list: ``cell[0]`` is the version, the rest are weak references to the
family's views (pruned as they die), so an in-place op can find the views that are still alive.
"""

from __future__ import annotations

import weakref
from typing import Any

from .function import Function
from .grad_mode import _state
from .tensor import Tensor

_apply = Function.apply.__func__


class ViewFunction(Function):
    """A Function whose output may share its (first) input's memory.

    ``_is_view(a, out, *args)`` says whether this call produced a view (basic indexing does,
    advanced indexing copies; ``reshape`` copies when the strides do not allow a view).
    """

    @staticmethod
    def _is_view(a: Any, out: Any, *args: Any) -> bool:
        return True

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        out = _apply(cls, *args, **kwargs)
        base = args[0]
        if isinstance(base, Tensor) and cls._is_view(base.data, out.data, *args[1:]):
            register_view(base, out, (cls, args[1:]))
        return out


def register_view(base: Tensor, out: Tensor, entry: tuple) -> None:
    """Make ``out`` a view of ``base``: one version cell, and the ops that lead from the root."""
    parent = base._view
    if parent is None or parent[1] is None:  # a detach()-ed alias is the root of its own views
        root, chain = base, (entry,)
        differentiable = _state.enabled
    else:
        root, chain = parent[0], parent[1] + (entry,)
        # A view made under no_grad (or of a view made so) has no graph to regenerate.
        differentiable = _state.enabled and parent[2]
    out._view = (root, chain, differentiable)
    cell = base._vc
    out._vc = cell
    cell.append(weakref.ref(out))
    if len(cell) > 32 and not len(cell) & (len(cell) - 1):  # at powers of two: drop dead refs
        cell[1:] = [ref for ref in cell[1:] if ref() is not None]


def register_alias(base: Tensor, out: Tensor) -> None:
    """``detach()``: the same memory and version cell, no graph (chain None: not a view whose
    graph follows its base's)."""
    out._view = (base, None, False)
    cell = base._vc
    out._vc = cell
    cell.append(weakref.ref(out))


def live_views(cell: list) -> list:
    """The views of a family that are still alive."""
    views = []
    for ref in cell[1:]:
        view = ref()
        if view is not None:
            views.append(view)
    return views


def replay(chain: tuple, t: Tensor) -> Tensor:
    """Apply a view chain to ``t`` (without registering new views): the view's graph on ``t``."""
    for cls, args in chain:
        t = _apply(cls, t, *args)
    return t


def rebase_views(cell: list, root: Tensor, skip: Any = None) -> None:
    """After ``root``'s graph changed in place, give each live differentiable view of it the graph
    of the same view taken from the new ``root`` (PyTorch regenerates them lazily)."""
    for view in live_views(cell):
        info = view._view
        if view is skip or not info[2] or info[0] is not root:
            continue
        fresh = replay(info[1], root)
        view.grad_fn = fresh.grad_fn
        view._out_idx = fresh._out_idx
        view.requires_grad = fresh.requires_grad
