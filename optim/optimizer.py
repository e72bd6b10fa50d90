"""``Optimizer``: the base class of every optimizer (PyTorch's ``torch.optim.Optimizer``).

An optimizer holds ``param_groups`` (a list of dicts: the tensors of the group under ``"params"``
plus that group's options) and ``state`` (a dict keyed by parameter tensor, filled lazily by the
first ``step`` that sees a gradient for the parameter, on that parameter's device and dtype).
Subclasses write ``step`` as a loop over groups and parameters that calls one small update
function per parameter (``sgd_update``, ``adam_update``...), which is testable on its own.
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable
from itertools import chain
from typing import Any

import autograd as A
from autograd import Tensor


class _RequiredParameter:
    """The default of an option that every param group must set (PyTorch's ``required``)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


class Optimizer:
    """Base class for optimizers.

    Args:
        params: an iterable of Tensors (that require grad), of ``(name, Tensor)`` pairs, or of
            dicts, each a param group: ``{"params": [...], "lr": ...}``; options missing from a
            group are taken from ``defaults``.
        defaults: the default value of each option.

    Where we differ from PyTorch: no ``foreach``/``fused``/``capturable``/``differentiable``
    options (one implementation, always run under ``no_grad``), no step/state_dict hooks, and
    a ``set`` of parameters is refused outright (its order is not stable between runs, which
    would scramble ``state_dict`` indices).
    """

    def __init__(self, params: Any, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or "
                "dicts, but got autograd.Tensor"
            )
        if isinstance(params, set):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or "
                "dicts, but got set (sets have no stable order: use a list)"
            )
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []

        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for param_group in param_groups:
            self.add_param_group(param_group)
        A.replay.register_stateful(self)  # compiled steps guard our hyperparameters and state

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines.extend(f"    {key}: {group[key]}" for key in sorted(group) if key != "params")
        return "\n".join(lines) + "\n)"

    # ------------------------------------------------------------------ param groups
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters (with its own options) to ``param_groups``."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError("param_group must have a 'params' entry (the tensors to optimize)")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the "
                "ordering of tensors in sets will change between runs. Please use a list instead."
            )
        else:
            params = list(params)

        # (name, tensor) pairs, as from Module.named_parameters(), keep their names.
        names = [p[0] for p in params if isinstance(p, tuple)]
        params = [p[1] if isinstance(p, tuple) else p for p in params]
        if names and len(names) != len(params):
            raise ValueError(
                "all optimizer params should be with/without names. Some param names are missing"
            )
        if names:
            param_group["param_names"] = names
        param_group["params"] = params

        for param in params:
            if not isinstance(param, Tensor):
                raise TypeError(
                    "optimizer can only optimize Tensors, but one of the params is "
                    f"{type(param).__module__}.{type(param).__name__}"
                )
            if not (param.is_leaf or param.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")

        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(
                    "parameter group didn't specify a value of required optimization "
                    f"parameter {name}"
                )
            param_group.setdefault(name, default)

        if len(params) != len(set(params)):
            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; "
                "each is updated once per occurrence",
                stacklevel=3,
            )
        seen: set[Tensor] = set()
        for group in self.param_groups:
            seen.update(group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                with_names = "with names" if "param_names" in param_group else "without names"
                raise ValueError(
                    "all optimizer param groups should be with/without names. "
                    f"cannot add param group {with_names} to the optimizer"
                )
        if not seen.isdisjoint(params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # ------------------------------------------------------------------ compiled steps
    def _compile_params(self) -> list[Tensor]:
        return [p for group in self.param_groups for p in group["params"]]

    def _compile_guard(self) -> tuple:
        """What a replayed step assumed: every group's options, and the state dict itself (a
        scheduler changing ``lr``, or ``load_state_dict``, makes the step record again)."""
        options = tuple(
            tuple((k, v) for k, v in group.items() if k not in ("params", "param_names"))
            for group in self.param_groups
        )
        return options, id(self.state), len(self.state)

    # ------------------------------------------------------------------ gradients
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset every parameter's ``.grad``: to None (default), or to zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    if p.grad.grad_fn is not None:
                        p.grad.detach_()
                    else:
                        p.grad.requires_grad_(False)
                    p.grad.zero_()

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update the parameters once; ``closure`` re-evaluates the model and returns the loss."""
        raise NotImplementedError

    @staticmethod
    def _evaluate(closure: Callable[[], Any] | None) -> Any:
        # The closure runs forward and backward, so it needs grad mode even if the caller is
        # inside no_grad.
        if closure is None:
            return None
        with A.enable_grad():
            return closure()

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        """``{"state": {index: {...}}, "param_groups": [{..., "params": [index, ...]}]}``.

        Parameters are replaced by their position across all groups (PyTorch's layout); the
        state tensors are the optimizer's own (not copies), as in PyTorch.
        """
        index_of: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index_of.setdefault(id(p), len(index_of))
            packed["params"] = [index_of[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {
            (index_of[id(k)] if isinstance(k, Tensor) else k): v for k, v in self.state.items()
        }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a ``state_dict()``: groups must match in number and sizes.

        State tensors are copied onto each parameter's device (and dtype, for floating point
        parameters); the ``step`` counters stay float32 scalars, as in PyTorch.
        """
        if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= set(state_dict):
            raise ValueError(
                "load_state_dict: expected a dict with 'state' and 'param_groups' entries, as "
                "returned by Optimizer.state_dict()"
            )
        groups = self.param_groups
        saved_groups = [dict(g) for g in state_dict["param_groups"]]
        if len(groups) != len(saved_groups):
            raise ValueError(
                "loaded state dict has a different number of parameter groups "
                f"({len(saved_groups)} saved, {len(groups)} in the optimizer)"
            )
        for i, (group, saved) in enumerate(zip(groups, saved_groups)):
            if len(group["params"]) != len(saved["params"]):
                raise ValueError(
                    "loaded state dict contains a parameter group that doesn't match the size "
                    f"of optimizer's group (group {i}: {len(saved['params'])} saved parameters, "
                    f"{len(group['params'])} in the optimizer)"
                )
        param_of = dict(
            zip(
                chain.from_iterable(g["params"] for g in saved_groups),
                chain.from_iterable(g["params"] for g in groups),
            )
        )
        state: defaultdict[Any, dict[str, Any]] = defaultdict(dict)
        for key, value in state_dict["state"].items():
            if key in param_of:
                param = param_of[key]
                state[param] = {k: _cast_state(param, k, v) for k, v in value.items()}
            else:
                state[key] = value
        for group, saved in zip(groups, saved_groups):
            saved["params"] = group["params"]
            if "param_names" in group and "param_names" not in saved:
                saved["param_names"] = group["param_names"]
        self.state = state
        self.param_groups = saved_groups


_LABELS = {
    "lr": "learning rate",
    "eps": "epsilon value",
    "momentum": "momentum value",
    "weight_decay": "weight_decay value",
    "alpha": "alpha value",
}


def _check_non_negative(**options: float) -> None:
    """Refuse negative hyperparameters with PyTorch's messages ("Invalid learning rate: -0.1"),
    checked in the order given."""
    for name, value in options.items():
        if not 0.0 <= value:
            raise ValueError(f"Invalid {_LABELS[name]}: {value}")


def _cast_state(param: Tensor, key: str, value: Any) -> Any:
    """A copy of one state entry, on ``param``'s device (and dtype, when both are floating)."""
    if key == "step":
        # float32 scalar on the host like PyTorch's (file formats may have stored it as (1,)).
        return A.tensor(float(value), dtype=A.float32)
    if isinstance(value, Tensor):
        floating = param.is_floating_point() and value.is_floating_point()
        dtype = param.dtype if floating else value.dtype
        return A.tensor(value.detach(), dtype=dtype, device=param.device)
    if isinstance(value, dict):
        return {k: _cast_state(param, k, v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cast_state(param, "", v) for v in value)
    return value


def _params_with_grad(group: dict[str, Any]) -> Iterable[Tensor]:
    """The parameters of ``group`` that have a gradient (the others are skipped, as in PyTorch)."""
    return [p for p in group["params"] if p.grad is not None]
