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
_ref = weakref.ref


class ViewFunction(Function):
    """A Function whose output may share its first argument's memory (a Tensor).

    ``_is_view(a, out, *args)`` says whether this call produced a view (basic indexing does,
    advanced indexing copies; ``reshape`` copies when the strides do not allow a view); None
    means always (``permute``, ``expand``).
    """

    _is_view = None

    @classmethod
    def apply(cls, base: Tensor, *args: Any) -> Any:
        out = _apply(cls, base, *args)
        is_view = cls._is_view
        if is_view is None or is_view(base.data, out.data, *args):
            register_view(base, out, (cls, args))
        return out


def register_view(base: Tensor, out: Tensor, entry: tuple) -> None:
    """Make ``out`` a view of ``base``: one version cell, and the ops that lead from the root."""
    parent = base._view
    enabled = _state.enabled
    if parent is None or parent[1] is None:  # a detach()-ed alias is the root of its own views
        out._view = (base, (entry,), enabled)
    else:
        # A view made under no_grad (or of a view made so) has no graph to regenerate.
        out._view = (parent[0], parent[1] + (entry,), enabled and parent[2])
    cell = base._vc
    out._vc = cell
    cell.append(_ref(out))
    n = len(cell)
    if n > 32 and not n & (n - 1):  # at powers of two: drop the references that died
        cell[1:] = [ref for ref in cell[1:] if ref() is not None]


def register_alias(base: Tensor, out: Tensor) -> None:
    """``detach()``: the same memory and version cell, no graph (chain None: not a view whose
    graph follows its base's). No reference to ``base``: a kept ``loss.detach()`` must not keep
    the loss's graph alive."""
    out._view = (None, None, False)
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
