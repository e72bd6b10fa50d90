"""Higher-order autograd helpers with PyTorch's ``torch.autograd.functional`` signatures:
``vjp``, ``jvp``, ``jacobian``, ``hessian``, ``vhp``, ``hvp``.

``func`` takes the tensors of ``inputs`` (a Tensor, or a tuple of Tensors, passed as separate
arguments) and returns a Tensor or a tuple of Tensors. Results mirror that structure: a single
Tensor in and out gives a single Tensor, tuples give tuples. The inputs are detached copies that
require grad, so ``func`` never touches the caller's graph unless ``create_graph=True``.

``jvp`` uses the double-vjp trick (a reverse pass whose seed is a dummy tensor that requires
grad, differentiated again with respect to that seed), so it needs every backward on the path
to be differentiable, which chalkgrad's are. ``jacobian`` builds one row per output element by
reverse mode; ``vectorize=True`` and ``strategy="forward-mode"`` are accepted for PyTorch
compatibility and give the same numbers (there is no ``vmap`` here, so no speed-up).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..factories import ones_like, zeros_like
from ..function import grad as _grad
from ..grad_mode import enable_grad
from ..tensor import Tensor

__all__ = ["hessian", "hvp", "jacobian", "jvp", "vhp", "vjp"]


def _as_tuple(value: Any, arg: str, fn: str) -> tuple[bool, tuple]:
    """(was it a tuple, the tensors as a tuple); refuses anything but Tensors."""
    is_tuple = isinstance(value, (tuple, list))
    values = tuple(value) if is_tuple else (value,)
    for i, v in enumerate(values):
        if not isinstance(v, Tensor):
            where = f"{arg}[{i}]" if is_tuple else arg
            raise TypeError(
                f"{fn}: the {where} given must be a Tensor or a tuple of Tensors, got "
                f"{type(v).__name__}"
            )
    return is_tuple, values


def _prepare_inputs(inputs: tuple, create_graph: bool) -> tuple:
    """Leaves for ``func``: a graph-keeping alias with ``create_graph``, else a detached copy."""
    prepared = []
    for x in inputs:
        if x.dtype.kind not in "fc":
            raise RuntimeError(
                f"autograd.functional: inputs must be floating point tensors, got {x.dtype}"
            )
        if create_graph and x.requires_grad:
            prepared.append(x.view_as(x))  # an alias in the caller's graph, as PyTorch
        else:
            prepared.append(x.detach().requires_grad_(True))
    return tuple(prepared)


def _call(func: Callable, inputs: tuple, fn: str) -> tuple[bool, tuple]:
    with enable_grad():
        outputs = func(*inputs)
    is_tuple = isinstance(outputs, (tuple, list))
    values = tuple(outputs) if is_tuple else (outputs,)
    for v in values:
        if not isinstance(v, Tensor):
            raise TypeError(
                f"{fn}: the outputs of the user-provided function must be a Tensor or a tuple of "
                f"Tensors, but got {type(v).__name__}"
            )
    return is_tuple, values


def _check_v(v: tuple, like: tuple, fn: str, what: str) -> tuple:
    if len(v) != len(like):
        raise RuntimeError(f"{fn}: v has {len(v)} Tensors but the {what} have {len(like)}")
    checked = []
    for i, (vi, ti) in enumerate(zip(v, like)):
        if vi.shape != ti.shape:
            raise RuntimeError(
                f"{fn}: entry {i} of v has shape {vi.shape} but the {what}'s entry {i} has shape "
                f"{ti.shape}"
            )
        checked.append(vi.to(ti.dtype) if vi.dtype != ti.dtype else vi)
    return tuple(checked)


def _grads(
    outputs: tuple,
    inputs: tuple,
    grad_outputs: tuple,
    create_graph: bool,
    strict: bool,
    fn: str,
    what: str = "the output",
) -> tuple:
    """``grad`` that skips outputs without a graph and returns zeros for unused inputs
    (``strict=True`` refuses both, naming the input)."""
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if o.requires_grad]
    if pairs:
        with enable_grad():
            found = _grad(
                tuple(o for o, _ in pairs),
                inputs,
                tuple(g for _, g in pairs),
                retain_graph=True,
                create_graph=create_graph,
                allow_unused=True,
            )
    else:
        found = (None,) * len(inputs)
    result = []
    for i, (g, x) in enumerate(zip(found, inputs)):
        if g is None:
            if strict:
                raise RuntimeError(
                    f"{fn}: {what} of the user-provided function is independent of input {i}. "
                    "This is not allowed in strict mode."
                )
            g = zeros_like(x)
        result.append(g)
    return tuple(result)


def _finish(values: tuple, create_graph: bool) -> tuple:
    return values if create_graph else tuple(v.detach() for v in values)


def _one_or_tuple(is_tuple: bool, values: tuple) -> Any:
    return values if is_tuple else values[0]


def vjp(
    func: Callable, inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False
) -> tuple:
    """The vector-Jacobian product ``v^T J`` of ``func`` at ``inputs``.

    Returns ``(func_output, vjp)``; ``v`` has the outputs' shapes (it may be omitted when the
    output is one Tensor of one element). Shape: ``vjp`` has the inputs' shapes.
    """
    fn = "vjp"
    inputs_tuple, inputs = _as_tuple(inputs, "inputs", fn)
    inputs = _prepare_inputs(inputs, create_graph)
    outputs_tuple, outputs = _call(func, inputs, fn)
    if v is None:
        if outputs_tuple or outputs[0].numel() != 1:
            raise RuntimeError(
                f"{fn}: the vector v can only be None if the user-provided function returns a "
                "single Tensor with a single element"
            )
        v = (ones_like(outputs[0]),)
    else:
        v = _check_v(_as_tuple(v, "v", fn)[1], outputs, fn, "outputs")
    grads = _grads(outputs, inputs, v, create_graph, strict, fn)
    return (
        _one_or_tuple(outputs_tuple, _finish(outputs, create_graph)),
        _one_or_tuple(inputs_tuple, _finish(grads, create_graph)),
    )


def jvp(
    func: Callable, inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False
) -> tuple:
    """The Jacobian-vector product ``J v`` of ``func`` at ``inputs`` (forward-mode's answer,
    computed by the double-vjp trick: two reverse passes).

    Returns ``(func_output, jvp)``; ``v`` has the inputs' shapes (it may be omitted when the
    input is one Tensor of one element). Shape: ``jvp`` has the outputs' shapes.
    """
    fn = "jvp"
    inputs_tuple, inputs = _as_tuple(inputs, "inputs", fn)
    inputs = _prepare_inputs(inputs, create_graph)
    if v is None:
        if inputs_tuple or inputs[0].numel() != 1:
            raise RuntimeError(
                f"{fn}: the vector v can only be None if the input to the user-provided function "
                "is a single Tensor with a single element"
            )
        v = (ones_like(inputs[0]),)
    else:
        v = _check_v(_as_tuple(v, "v", fn)[1], inputs, fn, "inputs")
    outputs_tuple, outputs = _call(func, inputs, fn)
    # A seed that requires grad: the input gradient is linear in it, and its derivative with
    # respect to the seed, taken along v, is J v.
    seeds = tuple(zeros_like(o).requires_grad_(True) for o in outputs)
    grad_inputs = _grads(outputs, inputs, seeds, True, strict, fn)
    products = _grads(grad_inputs, seeds, v, create_graph, False, fn)
    if strict and create_graph:
        for i, p in enumerate(products):
            if not p.requires_grad:
                raise RuntimeError(
                    f"{fn}: the jvp of output {i} is independent of the inputs. This is not "
                    "allowed in strict mode when create_graph=True."
                )
    return (
        _one_or_tuple(outputs_tuple, _finish(outputs, create_graph)),
        _one_or_tuple(outputs_tuple, _finish(products, create_graph)),
    )


def jacobian(
    func: Callable,
    inputs: Any,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    strategy: str = "reverse-mode",
) -> Any:
    """The Jacobian of ``func`` at ``inputs``, one reverse pass per output element.

    Shape: for output ``i`` and input ``j`` the block has shape ``out_i.shape + in_j.shape``.
    One Tensor in and out gives that Tensor; a tuple of inputs gives a tuple per output; a tuple
    of outputs gives a tuple of those.
    """
    fn = "jacobian"
    if strategy not in ("reverse-mode", "forward-mode"):
        raise ValueError(
            f'{fn}: expected strategy to be either "forward-mode" or "reverse-mode", got '
            f"{strategy!r}"
        )
    if strategy == "forward-mode" and not vectorize:
        raise NotImplementedError(f'{fn}: strategy="forward-mode" requires vectorize=True')
    if strict and vectorize:
        raise RuntimeError(f"{fn}: strict=True and vectorize=True are not supported together")
    inputs_tuple, inputs = _as_tuple(inputs, "inputs", fn)
    inputs = _prepare_inputs(inputs, create_graph)
    outputs_tuple, outputs = _call(func, inputs, fn)
    blocks = []
    for i, out in enumerate(outputs):
        flat = out.reshape(-1)
        n = flat.shape[0]
        rows: list[list] = [[] for _ in inputs]
        for k in range(n):
            seed = _one_hot(out, k)
            seeds = tuple(seed if j == i else zeros_like(o) for j, o in enumerate(outputs))
            grads = _grads(outputs, inputs, seeds, create_graph, strict, fn, f"output {i}")
            for j, g in enumerate(grads):
                rows[j].append(g)
        per_input = []
        for j, x in enumerate(inputs):
            if n == 0:
                block = x.detach().reshape(-1)[:0].reshape(tuple(out.shape) + tuple(x.shape))
            else:
                block = _stack(rows[j]).reshape(tuple(out.shape) + tuple(x.shape))
            per_input.append(block if create_graph else block.detach())
        blocks.append(_one_or_tuple(inputs_tuple, tuple(per_input)))
    return _one_or_tuple(outputs_tuple, tuple(blocks))


def _one_hot(like: Tensor, k: int) -> Tensor:
    """A tensor shaped like ``like``: zeros with a 1 at flat position ``k`` (a Jacobian seed)."""
    flat = zeros_like(like).reshape(-1)
    flat.data[k] = 1
    return flat.reshape(like.shape)


def _stack(tensors: list) -> Tensor:
    from ..ops.shape import stack

    return stack(tensors)


def hessian(
    func: Callable,
    inputs: Any,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    outer_jacobian_strategy: str = "reverse-mode",
) -> Any:
    """The Hessian of a scalar ``func`` at ``inputs``: the Jacobian of its gradient.

    Shape: for inputs ``i`` and ``j`` the block has shape ``in_i.shape + in_j.shape``.
    """
    fn = "hessian"
    inputs_tuple, inputs = _as_tuple(inputs, "inputs", fn)

    def scalar_output(*args: Tensor) -> Tensor:
        out = func(*args)
        if not isinstance(out, Tensor):
            raise RuntimeError(f"{fn}: the function given to hessian should return a single Tensor")
        if out.numel() != 1:
            raise RuntimeError(
                f"{fn}: the Tensor returned by the function given to hessian should contain a "
                f"single element, got shape {out.shape}"
            )
        return out.reshape(())

    def gradient(*args: Tensor) -> Any:
        return jacobian(scalar_output, args, create_graph=True, strict=strict)

    result = jacobian(
        gradient,
        inputs if inputs_tuple else inputs[0],
        create_graph=create_graph,
        strict=strict,
        vectorize=vectorize,
        strategy=outer_jacobian_strategy,
    )
    # The gradient is a tuple over the inputs, so the outer Jacobian has one block per pair.
    return result if inputs_tuple else result[0]


def vhp(
    func: Callable, inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False
) -> tuple:
    """``v^T H`` for a scalar ``func``; returns ``(func_output, vhp)`` (inputs' shapes)."""
    return _hessian_product(func, inputs, v, create_graph, strict, "vhp")


def hvp(
    func: Callable, inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False
) -> tuple:
    """``H v`` for a scalar ``func`` (equal to ``vhp`` since H is symmetric for smooth func)."""
    return _hessian_product(func, inputs, v, create_graph, strict, "hvp")


def _hessian_product(
    func: Callable, inputs: Any, v: Any, create_graph: bool, strict: bool, fn: str
) -> tuple:
    inputs_tuple, inputs = _as_tuple(inputs, "inputs", fn)
    inputs = _prepare_inputs(inputs, create_graph)
    if v is None:
        if inputs_tuple or inputs[0].numel() != 1:
            raise RuntimeError(
                f"{fn}: the vector v can only be None if the input to the user-provided function "
                "is a single Tensor with a single element"
            )
        v = (ones_like(inputs[0]),)
    else:
        v = _check_v(_as_tuple(v, "v", fn)[1], inputs, fn, "inputs")
    outputs_tuple, outputs = _call(func, inputs, fn)
    if outputs_tuple or outputs[0].numel() != 1:
        raise RuntimeError(
            f"{fn}: the function given to {fn} should return a single Tensor with a single element"
        )
    out = outputs[0]
    grads = _grads((out,), inputs, (ones_like(out),), True, strict, fn)
    products = _grads(grads, inputs, v, create_graph, strict, fn)
    return _finish((out,), create_graph)[0], _one_or_tuple(
        inputs_tuple, _finish(products, create_graph)
    )
