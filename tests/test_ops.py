"""The table-driven op suite: one entry per op drives every check, on every device.

Each ``Case`` names an op, a function applying it to Tensors, the shapes of its inputs (broadcasting
cases are separate entries), how to draw inputs (``domain``), a NumPy reference, and whether the op
is differentiable (``grad``) and twice differentiable at the test points (``smooth``). Every entry
then gets:

- forward values against NumPy, in float32 and float64;
- a float64 ``A.gradcheck`` (when ``grad``) and ``A.gradgradcheck`` (when ``smooth``);
- dtype preservation: float32 in, float32 out, float32 gradients.

Adding an op means adding one entry here (see CONTRIBUTING.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import autograd as A

# ------------------------------------------------------------------------------ inputs


def _away_from_zero(rng, shape):
    # Kinks (abs, relu, sign) sit at 0: stay at least 0.2 away so finite differences are exact.
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.2, 1.5, size=shape)


def _away_from_half(rng, shape):
    # clamp(-0.5, 0.5) has kinks at +-0.5; these values stay at least 0.05 away from them.
    grid = np.array([-1.3, -0.9, -0.3, -0.1, 0.2, 0.35, 0.8, 1.1])
    return rng.choice(grid, size=shape) + rng.uniform(-0.05, 0.05, size=shape)


def _distinct(rng, shape):
    # max/min/amax: ties split the gradient, so keep every value at least 0.2 from the others.
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.3 - 0.15 * n + rng.uniform(-0.05, 0.05, size=n)).reshape(shape)


def _with_zero(rng, shape):
    # prod with one zero per row: the product-of-the-others path of Prod.backward.
    x = rng.uniform(0.5, 1.5, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    x[..., 0] = 0.0
    return x


def _two_zeros(rng, shape):
    x = rng.uniform(0.5, 1.5, size=shape)
    x[..., :2] = 0.0
    return x


DOMAINS: dict[str | None, Callable] = {
    None: lambda rng, shape: rng.standard_normal(shape),
    "positive": lambda rng, shape: rng.uniform(0.5, 2.0, size=shape),
    "away0": _away_from_zero,
    "away_half": _away_from_half,
    "distinct": _distinct,
    "zero": _with_zero,
    "two_zeros": _two_zeros,
    "classes": lambda rng, shape: rng.integers(0, 4, size=shape),
}


@dataclass
class Case:
    """One op under test.

    ``fn(*tensors)`` applies the op, ``ref(*arrays)`` computes the same with NumPy (float64).
    ``smooth``: run gradgradcheck; also True for piecewise-linear ops tested away from their kinks
    (their second derivative is 0 there, and double backward must still run).
    ``integer``: inputs are int64 (ops on class labels); only the value check runs.
    ``differentiable``: per input, whether it gets a gradient (default: all of them); ``view_as``
    only reads its second input's shape.
    """

    name: str
    fn: Callable
    shapes: tuple
    ref: Callable
    domain: str | None | tuple = None
    smooth: bool = True
    grad: bool = True
    integer: bool = False
    differentiable: tuple | None = None

    def domains(self) -> tuple:
        if isinstance(self.domain, tuple):
            return self.domain
        return (self.domain,) * len(self.shapes)


def _on(x: A.Tensor, data) -> A.Tensor:
    """A constant (an index, a mask) on the same device as ``x``."""
    return A.tensor(data, device=x.device)


def _pad_ref(x, pad, mode="constant", value=0.0):
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    if mode == "constant":
        return np.pad(x, widths, mode="constant", constant_values=value)
    numpy_mode = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}[mode]
    return np.pad(x, widths, mode=numpy_mode)


def _gather_ref(x, dim, index):
    return np.take_along_axis(x, np.asarray(index), axis=dim)


def _norm_ref(x, p, axis=None):
    a = np.abs(x)
    if p == np.inf:
        return a.max(axis=axis)
    return (a**p).sum(axis=axis) ** (1.0 / p)


def _logsumexp_ref(x, axis):
    m = x.max(axis=axis, keepdims=True)
    return (np.log(np.exp(x - m).sum(axis=axis, keepdims=True)) + m).squeeze(axis)


def _prod_others(x):
    """Reference gradient of prod over the last dim: the product of the other elements."""
    out = np.empty_like(x)
    for j in range(x.shape[-1]):
        out[..., j] = np.prod(np.delete(x, j, axis=-1), axis=-1)
    return out


MASK = np.array([[True, False, True, False], [False, False, True, True], [True, True, False, True]])
GATHER_INDEX = [[0, 2, 2], [3, 0, 1], [1, 1, 0]]
GATHER_3D = [[[2, 0], [2, 2]], [[0, 1], [1, 1]]]

# fmt: off
CASES = [
    # ------------------------------------------------------------ arithmetic (broadcasting)
    Case("add", lambda a, b: a + b, ((3, 4), (3, 4)), lambda a, b: a + b),
    Case("add_bcast_row", lambda a, b: a + b, ((3, 4), (4,)), lambda a, b: a + b),
    Case("add_bcast_both", lambda a, b: a + b, ((2, 1, 3), (4, 1)), lambda a, b: a + b),
    Case("add_0d", lambda a, b: a + b, ((3, 4), ()), lambda a, b: a + b),
    Case("add_alpha", lambda a, b: a.add(b, alpha=2.0), ((3,), (3,)), lambda a, b: a + 2 * b),
    Case("A.add", lambda a, b: A.add(a, b), ((2, 3), (2, 3)), lambda a, b: a + b),
    Case("add_scalar", lambda a: a + 2.5, ((3, 4),), lambda a: a + 2.5),
    Case("radd_scalar", lambda a: 2.5 + a, ((3, 4),), lambda a: 2.5 + a),
    Case("add_int_scalar", lambda a: a + 2, ((3,),), lambda a: a + 2),
    Case("sub", lambda a, b: a - b, ((3, 4), (3, 1)), lambda a, b: a - b),
    Case("sub_scalar", lambda a: a - 1.5, ((3, 4),), lambda a: a - 1.5),
    Case("rsub_scalar", lambda a: 1.5 - a, ((3, 4),), lambda a: 1.5 - a),
    Case("sub_alpha", lambda a, b: a.sub(b, alpha=3), ((3,), (3,)), lambda a, b: a - 3 * b),
    Case("mul", lambda a, b: a * b, ((3, 4), (3, 4)), lambda a, b: a * b),
    Case("mul_bcast", lambda a, b: a * b, ((2, 3, 4), (3, 1)), lambda a, b: a * b),
    Case("mul_0d", lambda a, b: a * b, ((), (2, 3)), lambda a, b: a * b),
    Case("mul_scalar", lambda a: a * 3.0, ((3, 4),), lambda a: a * 3.0),
    Case("rmul_scalar", lambda a: 3.0 * a, ((3, 4),), lambda a: 3.0 * a),
    Case("mul_self", lambda a: a * a, ((3,),), lambda a: a * a),
    Case("div", lambda a, b: a / b, ((3, 4), (3, 4)), lambda a, b: a / b, (None, "away0")),
    Case("div_bcast", lambda a, b: a / b, ((3, 4), (4,)), lambda a, b: a / b, (None, "away0")),
    Case("div_scalar", lambda a: a / 4.0, ((3, 4),), lambda a: a / 4.0),
    Case("rdiv_scalar", lambda a: 2.0 / a, ((3, 4),), lambda a: 2.0 / a, "away0"),
    Case("pow_scalar", lambda a: a**3, ((3, 4),), lambda a: a**3),
    Case("pow_2", lambda a: a**2, ((3, 4),), lambda a: a**2),
    Case("pow_frac", lambda a: a**1.5, ((3, 4),), lambda a: a**1.5, "positive"),
    Case("pow_neg", lambda a: a**-2, ((3, 4),), lambda a: a**-2.0, "positive"),
    Case("pow_tensor", lambda a, b: a**b, ((3, 4), (3, 4)), lambda a, b: a**b, ("positive", None)),
    Case("pow_tensor_bcast", lambda a, b: a**b, ((3, 4), (4,)), lambda a, b: a**b,
         ("positive", None)),
    Case("rpow_scalar", lambda a: 2.0**a, ((3, 4),), lambda a: 2.0**a),
    Case("A.pow", lambda a: A.pow(a, 2.5), ((3,),), lambda a: a**2.5, "positive"),
    # % is discontinuous where a / b is an integer; random draws sit far from those points.
    Case("remainder", lambda a, b: a % b, ((3, 4), (4,)), np.remainder, (None, "away0")),
    Case("remainder_scalar", lambda a: a % 0.7, ((3, 4),), lambda a: np.remainder(a, 0.7)),
    Case("neg", lambda a: -a, ((3, 4),), lambda a: -a),
    Case("A.neg", lambda a: A.neg(a), ((3, 4),), lambda a: -a),
    # --------------------------------------------------------------------------- unary
    Case("abs", lambda a: a.abs(), ((3, 4),), np.abs, "away0"),
    Case("abs_builtin", lambda a: abs(a), ((3, 4),), np.abs, "away0"),
    Case("exp", lambda a: a.exp(), ((3, 4),), np.exp),
    Case("A.exp", lambda a: A.exp(a), ((3, 4),), np.exp),
    Case("log", lambda a: a.log(), ((3, 4),), np.log, "positive"),
    Case("sqrt", lambda a: a.sqrt(), ((3, 4),), np.sqrt, "positive"),
    Case("rsqrt", lambda a: a.rsqrt(), ((3, 4),), lambda a: 1 / np.sqrt(a), "positive"),
    Case("reciprocal", lambda a: a.reciprocal(), ((3, 4),), lambda a: 1 / a, "away0"),
    Case("sin", lambda a: a.sin(), ((3, 4),), np.sin),
    Case("cos", lambda a: a.cos(), ((3, 4),), np.cos),
    Case("tanh", lambda a: a.tanh(), ((3, 4),), np.tanh),
    Case("sigmoid", lambda a: a.sigmoid(), ((3, 4),), lambda a: 1 / (1 + np.exp(-a))),
    Case("sigmoid_large", lambda a: (a * 40.0).sigmoid(), ((8,),),
         lambda a: 1 / (1 + np.exp(-40.0 * a))),
    Case("relu", lambda a: a.relu(), ((3, 4),), lambda a: np.maximum(a, 0), "away0"),
    Case("A.relu", lambda a: A.relu(a), ((3, 4),), lambda a: np.maximum(a, 0), "away0"),
    Case("clamp", lambda a: a.clamp(-0.5, 0.5), ((3, 4),), lambda a: np.clip(a, -0.5, 0.5),
         "away_half"),
    Case("clamp_min", lambda a: a.clamp(min=-0.5), ((3, 4),), lambda a: np.maximum(a, -0.5),
         "away_half"),
    Case("clamp_max", lambda a: A.clamp(a, max=0.5), ((3, 4),), lambda a: np.minimum(a, 0.5),
         "away_half"),
    Case("clamp_tensor_bounds", lambda a, lo: a.clamp(min=lo), ((3, 4), (4,)), np.maximum,
         ("distinct", "away0")),
    Case("sign", lambda a: a.sign(), ((3, 4),), np.sign, "away0", grad=False),
    Case("maximum", lambda a, b: A.maximum(a, b), ((3, 4), (3, 4)), np.maximum),
    Case("maximum_bcast", lambda a, b: A.maximum(a, b), ((3, 4), (4,)), np.maximum),
    Case("minimum", lambda a, b: A.minimum(a, b), ((3, 4), (3, 1)), np.minimum),
    Case("maximum_scalar", lambda a: a.maximum(0.1), ((3, 4),), lambda a: np.maximum(a, 0.1),
         "away0"),
    Case("where", lambda a, b: A.where(a > 0, a, b), ((3, 4), (3, 4)),
         lambda a, b: np.where(a > 0, a, b), ("away0", None)),
    Case("where_bcast", lambda a, b: A.where(b > 0, a, b), ((3, 4), (4,)),
         lambda a, b: np.where(b > 0, a, b), (None, "away0")),
    Case("where_scalar", lambda a: A.where(a > 0, a, 0.25), ((3, 4),),
         lambda a: np.where(a > 0, a, 0.25), "away0"),
    Case("where_two_scalars", lambda a: a * A.where(a > 0, 1.0, -0.5), ((3, 4),),
         lambda a: a * np.where(a > 0, 1.0, -0.5), "away0"),
    Case("where_method", lambda a, b: a.where(b > 0, b), ((3, 4), (3, 4)),
         lambda a, b: np.where(b > 0, a, b), (None, "away0")),
    # ------------------------------------------------------------ comparisons (no grad)
    Case("gt", lambda a, b: a > b, ((3, 4), (4,)), np.greater, grad=False),
    Case("ge_scalar", lambda a: a >= 0.0, ((3, 4),), lambda a: a >= 0, grad=False),
    Case("lt", lambda a, b: a < b, ((3, 4), (3, 4)), np.less, grad=False),
    Case("le", lambda a, b: a.le(b), ((3, 4), (3, 4)), np.less_equal, grad=False),
    Case("eq", lambda a: a == a, ((3, 4),), lambda a: a == a, grad=False),
    Case("ne", lambda a, b: a != b, ((3, 4), (3, 4)), np.not_equal, grad=False),
    Case("rgt_scalar", lambda a: 0.0 < a, ((3, 4),), lambda a: a > 0, grad=False),
    Case("isfinite", lambda a: A.isfinite(A.where(a > 0, a, float("inf"))), ((6,),),
         lambda a: np.isfinite(np.where(a > 0, a, np.inf)), grad=False),
    Case("isnan", lambda a: A.isnan(A.where(a > 0, a, float("nan"))), ((6,),),
         lambda a: np.isnan(np.where(a > 0, a, np.nan)), grad=False),
    Case("all", lambda a: (a > 0).all(dim=1), ((3, 4),), lambda a: (a > 0).all(axis=1),
         grad=False),
    Case("any", lambda a: (a > 0).any(), ((3, 4),), lambda a: (a > 0).any(), grad=False),
    # ---------------------------------------------------------------------- reductions
    Case("sum", lambda a: a.sum(), ((3, 4),), np.sum),
    Case("sum_dim", lambda a: a.sum(dim=1), ((3, 4),), lambda a: a.sum(axis=1)),
    Case("sum_neg_dim_keepdim", lambda a: a.sum(-1, keepdim=True), ((2, 3, 4),),
         lambda a: a.sum(axis=-1, keepdims=True)),
    Case("sum_dims", lambda a: a.sum(dim=(0, 2)), ((2, 3, 4),), lambda a: a.sum(axis=(0, 2))),
    Case("A.sum", lambda a: A.sum(a, 0), ((3, 4),), lambda a: a.sum(axis=0)),
    Case("mean", lambda a: a.mean(), ((3, 4),), np.mean),
    Case("mean_dim", lambda a: a.mean(dim=0, keepdim=True), ((3, 4),),
         lambda a: a.mean(axis=0, keepdims=True)),
    Case("A.mean_dims", lambda a: A.mean(a, (1, 2)), ((2, 3, 4),), lambda a: a.mean(axis=(1, 2))),
    Case("var", lambda a: a.var(), ((3, 4),), lambda a: np.var(a, ddof=1)),
    Case("var_dim", lambda a: a.var(dim=1), ((3, 4),), lambda a: np.var(a, axis=1, ddof=1)),
    Case("var_correction0", lambda a: a.var(dim=0, correction=0), ((3, 4),),
         lambda a: np.var(a, axis=0)),
    Case("var_unbiased_false", lambda a: A.var(a, 1, unbiased=False, keepdim=True), ((3, 4),),
         lambda a: np.var(a, axis=1, keepdims=True)),
    Case("std", lambda a: a.std(), ((3, 4),), lambda a: np.std(a, ddof=1)),
    Case("std_dim", lambda a: a.std(dim=0), ((3, 4),), lambda a: np.std(a, axis=0, ddof=1)),
    Case("std_correction0", lambda a: A.std(a, dim=1, correction=0), ((3, 4),),
         lambda a: np.std(a, axis=1)),
    Case("max_all", lambda a: a.max(), ((3, 4),), np.max, "distinct"),
    Case("max_dim", lambda a: tuple(a.max(dim=1)), ((3, 4),),
         lambda a: (a.max(axis=1), a.argmax(axis=1)), "distinct"),
    Case("max_dim_keepdim", lambda a: tuple(a.max(0, keepdim=True)), ((3, 4),),
         lambda a: (a.max(axis=0, keepdims=True), a.argmax(axis=0)[None]), "distinct"),
    Case("min_all", lambda a: A.min(a), ((3, 4),), np.min, "distinct"),
    Case("min_dim", lambda a: tuple(a.min(dim=-1)), ((2, 3, 4),),
         lambda a: (a.min(axis=-1), a.argmin(axis=-1)), "distinct"),
    Case("max_elementwise", lambda a, b: a.max(b), ((3, 4), (4,)), np.maximum),
    Case("amax", lambda a: a.amax(dim=(0, 2)), ((2, 3, 4),), lambda a: a.max(axis=(0, 2)),
         "distinct"),
    Case("amax_all", lambda a: A.amax(a), ((3, 4),), np.max, "distinct"),
    Case("amin_keepdim", lambda a: a.amin(dim=1, keepdim=True), ((3, 4),),
         lambda a: a.min(axis=1, keepdims=True), "distinct"),
    Case("argmax", lambda a: a.argmax(), ((3, 4),), np.argmax, grad=False),
    Case("argmax_dim", lambda a: A.argmax(a, dim=1, keepdim=True), ((3, 4),),
         lambda a: a.argmax(axis=1)[:, None], grad=False),
    Case("argmin_dim", lambda a: a.argmin(dim=0), ((3, 4),), lambda a: a.argmin(axis=0),
         grad=False),
    Case("logsumexp", lambda a: a.logsumexp(dim=1), ((3, 4),), lambda a: _logsumexp_ref(a, 1)),
    Case("logsumexp_large", lambda a: A.logsumexp(a * 500.0, dim=0), ((3, 4),),
         lambda a: _logsumexp_ref(a * 500.0, 0)),
    Case("logsumexp_keepdim", lambda a: a.logsumexp(dim=-1, keepdim=True), ((2, 3),),
         lambda a: _logsumexp_ref(a, -1)[..., None]),
    Case("norm", lambda a: a.norm(), ((3, 4),), lambda a: np.sqrt((a * a).sum())),
    Case("norm_dim", lambda a: a.norm(dim=1), ((3, 4),), lambda a: np.sqrt((a * a).sum(axis=1))),
    Case("norm_p1", lambda a: a.norm(p=1), ((3, 4),), lambda a: _norm_ref(a, 1), "away0"),
    Case("norm_inf_dim", lambda a: A.norm(a, p=float("inf"), dim=0), ((3, 4),),
         lambda a: _norm_ref(a, np.inf, 0), "distinct"),
    Case("norm_p3_dim", lambda a: a.norm(p=3, dim=1, keepdim=True), ((3, 4),),
         lambda a: _norm_ref(a, 3, 1)[:, None], "away0"),
    Case("norm_p_half", lambda a: A.norm(a, p=0.5, dim=0), ((3, 4),),
         lambda a: _norm_ref(a, 0.5, 0), "away0"),
    Case("norm_p4", lambda a: a.norm(p=4), ((3, 4),), lambda a: _norm_ref(a, 4)),
    Case("prod", lambda a: a.prod(), ((2, 3),), np.prod),
    Case("prod_dim", lambda a: a.prod(dim=1), ((3, 4),), lambda a: a.prod(axis=1)),
    Case("prod_dim_keepdim", lambda a: A.prod(a, 0, keepdim=True), ((3, 4),),
         lambda a: a.prod(axis=0, keepdims=True)),
    # With zeros, double backward takes the product of the others as a masked product.
    Case("prod_zero", lambda a: a.prod(dim=-1), ((3, 4),), lambda a: a.prod(axis=-1), "zero"),
    Case("prod_two_zeros", lambda a: a.prod(), ((1, 4),), np.prod, "two_zeros"),
    Case("prod_zero_dims", lambda a: a.prod(dim=(0, 2)), ((2, 3, 4),),
         lambda a: a.prod(axis=(0, 2)), "zero"),
    # ------------------------------------------------------------------------- matmul
    Case("matmul", lambda a, b: a @ b, ((3, 4), (4, 5)), np.matmul),
    Case("matmul_batched", lambda a, b: a @ b, ((2, 3, 4), (2, 4, 2)), np.matmul),
    Case("matmul_bcast", lambda a, b: a @ b, ((2, 3, 4), (4, 2)), np.matmul),
    Case("matmul_bcast_batch", lambda a, b: A.matmul(a, b), ((2, 1, 3, 4), (3, 4, 2)),
         np.matmul),
    Case("matmul_vec_vec", lambda a, b: a @ b, ((4,), (4,)), np.matmul),
    Case("matmul_vec_mat", lambda a, b: a @ b, ((4,), (4, 3)), np.matmul),
    Case("matmul_mat_vec", lambda a, b: a.matmul(b), ((3, 4), (4,)), np.matmul),
    Case("matmul_batch_vec", lambda a, b: a @ b, ((2, 3, 4), (4,)), np.matmul),
    Case("matmul_vec_batch", lambda a, b: a @ b, ((4,), (2, 4, 3)), np.matmul),
    # -------------------------------------------------------------------------- shape
    Case("reshape", lambda a: a.reshape(4, 3), ((3, 4),), lambda a: a.reshape(4, 3)),
    Case("reshape_infer", lambda a: A.reshape(a, (2, -1)), ((3, 4),),
         lambda a: a.reshape(2, -1)),
    Case("view", lambda a: a.view(-1), ((3, 4),), lambda a: a.reshape(-1)),
    Case("view_as", lambda a, b: a.view_as(b), ((3, 4), (2, 6)), lambda a, b: a.reshape(2, 6),
         differentiable=(True, False)),
    Case("transpose", lambda a: a.transpose(0, 2), ((2, 3, 4),), lambda a: a.swapaxes(0, 2)),
    Case("A.transpose", lambda a: A.transpose(a, -1, -2), ((2, 3, 4),),
         lambda a: a.swapaxes(-1, -2)),
    Case("permute", lambda a: a.permute(2, 0, 1), ((2, 3, 4),), lambda a: a.transpose(2, 0, 1)),
    Case("A.permute", lambda a: A.permute(a, (1, 2, 0)), ((2, 3, 4),),
         lambda a: a.transpose(1, 2, 0)),
    Case("T", lambda a: a.T, ((3, 4),), lambda a: a.T),
    Case("mT", lambda a: a.mT, ((2, 3, 4),), lambda a: a.swapaxes(-1, -2)),
    Case("t", lambda a: a.t(), ((3, 4),), lambda a: a.T),
    Case("squeeze", lambda a: a.squeeze(), ((3, 1, 4, 1),), np.squeeze),
    Case("squeeze_dim", lambda a: A.squeeze(a, 1), ((3, 1, 4, 1),),
         lambda a: a.squeeze(axis=1)),
    Case("unsqueeze", lambda a: a.unsqueeze(1), ((3, 4),), lambda a: a[:, None]),
    Case("unsqueeze_neg", lambda a: A.unsqueeze(a, -1), ((3, 4),), lambda a: a[..., None]),
    Case("flatten", lambda a: a.flatten(), ((2, 3, 2),), lambda a: a.reshape(-1)),
    Case("flatten_range", lambda a: A.flatten(a, 1), ((2, 3, 2),), lambda a: a.reshape(2, 6)),
    Case("expand", lambda a: a.expand(2, 3, 4), ((3, 1),),
         lambda a: np.broadcast_to(a, (2, 3, 4))),
    Case("expand_minus1", lambda a: A.expand(a, -1, 4), ((3, 1),),
         lambda a: np.broadcast_to(a, (3, 4))),
    Case("expand_as", lambda a, b: a.expand_as(b), ((1, 4), (3, 4)),
         lambda a, b: np.broadcast_to(a, (3, 4)), differentiable=(True, False)),
    Case("repeat", lambda a: a.repeat(2, 3), ((2, 3),), lambda a: np.tile(a, (2, 3))),
    Case("repeat_new_dim", lambda a: A.repeat(a, 2, 1, 2), ((2, 3),),
         lambda a: np.tile(a, (2, 1, 2))),
    Case("cat", lambda a, b, c: A.cat([a, b, c]), ((2, 3), (1, 3), (3, 3)),
         lambda a, b, c: np.concatenate([a, b, c])),
    Case("cat_dim1", lambda a, b: A.cat((a, b), dim=-1), ((2, 3), (2, 2)),
         lambda a, b: np.concatenate([a, b], axis=1)),
    Case("stack", lambda a, b: A.stack([a, b]), ((2, 3), (2, 3)), lambda a, b: np.stack([a, b])),
    Case("stack_last", lambda a, b, c: A.stack([a, b, c], dim=-1), ((2, 3),) * 3,
         lambda a, b, c: np.stack([a, b, c], axis=-1)),
    Case("split_int", lambda a: a.split(2), ((5, 3),), lambda a: tuple(np.split(a, [2, 4]))),
    Case("split_sections", lambda a: A.split(a, [1, 2], dim=1), ((2, 3),),
         lambda a: tuple(np.split(a, [1], axis=1))),
    Case("split_one_used", lambda a: a.split(2)[1], ((5, 3),), lambda a: a[2:4]),
    Case("chunk", lambda a: a.chunk(3, dim=1), ((2, 6),),
         lambda a: tuple(np.split(a, 3, axis=1))),
    Case("chunk_uneven", lambda a: A.chunk(a, 2), ((5, 2),), lambda a: tuple(np.split(a, [3]))),
    Case("pad_constant", lambda a: A.pad(a, (1, 2)), ((2, 3),), lambda a: _pad_ref(a, (1, 2))),
    Case("pad_constant_value", lambda a: A.pad(a, (1, 0, 0, 2), value=1.5), ((2, 3),),
         lambda a: _pad_ref(a, (1, 0, 0, 2), value=1.5)),
    Case("pad_reflect", lambda a: A.pad(a, (2, 1), mode="reflect"), ((2, 4),),
         lambda a: _pad_ref(a, (2, 1), "reflect")),
    Case("pad_reflect_2d", lambda a: A.pad(a, (1, 1, 1, 1), mode="reflect"), ((1, 3, 3),),
         lambda a: _pad_ref(a, (1, 1, 1, 1), "reflect")),
    Case("pad_replicate", lambda a: A.pad(a, (2, 3), mode="replicate"), ((2, 3),),
         lambda a: _pad_ref(a, (2, 3), "replicate")),
    Case("pad_circular", lambda a: A.pad(a, (1, 2, 1, 0), mode="circular"), ((3, 3),),
         lambda a: _pad_ref(a, (1, 2, 1, 0), "circular")),
    Case("pad_reflect_max", lambda a: A.pad(a, (3, 3), mode="reflect"), ((2, 4),),
         lambda a: _pad_ref(a, (3, 3), "reflect")),
    Case("pad_replicate_wide", lambda a: A.pad(a, (4, 5, 2, 0), mode="replicate"), ((2, 3),),
         lambda a: _pad_ref(a, (4, 5, 2, 0), "replicate")),
    Case("pad_circular_full", lambda a: A.pad(a, (3, 3), mode="circular"), ((2, 3),),
         lambda a: _pad_ref(a, (3, 3), "circular")),
    # -------------------------------------------------------------------------- index
    Case("gather", lambda a: a.gather(1, _on(a, GATHER_INDEX)), ((3, 4),),
         lambda a: _gather_ref(a, 1, GATHER_INDEX)),
    Case("gather_dim0", lambda a: A.gather(a, 0, _on(a, [[0, 2, 2, 1]])), ((3, 4),),
         lambda a: _gather_ref(a, 0, [[0, 2, 2, 1]])),
    Case("gather_3d", lambda a: a.gather(1, _on(a, GATHER_3D)), ((2, 3, 2),),
         lambda a: _gather_ref(a, 1, GATHER_3D)),
    Case("index_select", lambda a: a.index_select(0, _on(a, [2, 0, 2])), ((3, 4),),
         lambda a: a[[2, 0, 2]]),
    Case("index_select_dim1", lambda a: A.index_select(a, 1, _on(a, [3, 1])), ((3, 4),),
         lambda a: a[:, [3, 1]]),
    Case("masked_fill", lambda a: a.masked_fill(_on(a, MASK), -1.0), ((3, 4),),
         lambda a: np.where(MASK, -1.0, a)),
    Case("masked_fill_bcast", lambda a: A.masked_fill(a, _on(a, MASK[0]), 0.0), ((3, 4),),
         lambda a: np.where(MASK[0], 0.0, a)),
    Case("one_hot", lambda a: A.one_hot(a, 4), ((5,),), lambda a: np.eye(4, dtype=np.int64)[a],
         "classes", grad=False, integer=True),
    Case("one_hot_infer", lambda a: A.one_hot(a), ((2, 3),),
         lambda a: np.eye(a.max() + 1, dtype=np.int64)[a], "classes", grad=False, integer=True),
    Case("getitem_int", lambda a: a[1], ((3, 4),), lambda a: a[1]),
    Case("getitem_neg_int", lambda a: a[-1, 2], ((3, 4),), lambda a: a[-1, 2]),
    Case("getitem_slice", lambda a: a[1:, ::2], ((3, 4),), lambda a: a[1:, ::2]),
    Case("getitem_neg_step", lambda a: a[::-1], ((3, 4),), lambda a: a[::-1]),
    Case("getitem_none", lambda a: a[None, :, None], ((3, 4),), lambda a: a[None, :, None]),
    Case("getitem_ellipsis", lambda a: a[..., 1], ((2, 3, 4),), lambda a: a[..., 1]),
    Case("getitem_ellipsis_none", lambda a: a[0, ..., None], ((2, 3, 4),),
         lambda a: a[0, ..., None]),
    Case("getitem_list", lambda a: a[[0, 2, 0]], ((3, 4),), lambda a: a[[0, 2, 0]]),
    Case("getitem_int_tensor", lambda a: a[_on(a, [[1, 1], [0, 2]])], ((3, 4),),
         lambda a: a[np.array([[1, 1], [0, 2]])]),
    Case("getitem_two_arrays", lambda a: a[[0, 0, 2], [1, 1, 3]], ((3, 4),),
         lambda a: a[[0, 0, 2], [1, 1, 3]]),
    Case("getitem_slice_array", lambda a: a[1:, [3, 0, 3]], ((3, 4),),
         lambda a: a[1:, [3, 0, 3]]),
    Case("getitem_bool_mask", lambda a: a[_on(a, MASK)], ((3, 4),), lambda a: a[MASK]),
    Case("getitem_bool_rows", lambda a: a[_on(a, [True, False, True])], ((3, 4),),
         lambda a: a[[True, False, True]]),
    Case("getitem_bool_from_compare", lambda a: a[a > 0], ((3, 4),), lambda a: a[a > 0],
         "away0"),
]
# fmt: on

CASE_IDS = [c.name for c in CASES]
GRAD_CASES = [c for c in CASES if c.grad]
SMOOTH_CASES = [c for c in GRAD_CASES if c.smooth]


def _host_inputs(case: Case, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    arrays = [DOMAINS[d](rng, shape) for d, shape in zip(case.domains(), case.shapes)]
    if case.integer:
        return [np.asarray(a, dtype=np.int64) for a in arrays]
    return [np.asarray(a, dtype=np.float64) for a in arrays]


def _tensors(case, arrays, dtype, device, requires_grad):
    if dtype is None:
        return [A.tensor(a, device=device) for a in arrays]
    wanted = case.differentiable or (True,) * len(arrays)
    return [
        A.tensor(a, dtype=dtype, device=device, requires_grad=requires_grad and w)
        for a, w in zip(arrays, wanted)
    ]


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _host(t: A.Tensor) -> np.ndarray:
    return t.detach().numpy()


# ---------------------------------------------------------------------- the table's checks


@pytest.mark.parametrize("dtype", [A.float32, A.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_forward_matches_numpy(case, dtype, device):
    arrays = _host_inputs(case)
    if case.integer:
        if dtype == A.float64:
            pytest.skip("integer-input op: one value check")
        inputs = _tensors(case, arrays, None, device, False)
    else:
        arrays = [a.astype(dtype) for a in arrays]
        inputs = _tensors(case, arrays, dtype, device, case.grad)
    outs = _as_tuple(case.fn(*inputs))
    # The reference runs in float64 on the very values the op saw (already rounded to dtype).
    refs = _as_tuple(
        case.ref(*[a.astype(np.float64) if a.dtype.kind == "f" else a for a in arrays])
    )
    assert len(outs) == len(refs)
    tol = {"rtol": 2e-5, "atol": 1e-5} if dtype == A.float32 else {"rtol": 1e-12, "atol": 1e-12}
    for out, ref in zip(outs, refs):
        ref = np.asarray(ref)
        assert isinstance(out, A.Tensor)
        assert out.device == A.tensor(0.0, device=device).device
        assert out.shape == ref.shape, f"{case.name}: shape {out.shape} != numpy {ref.shape}"
        if ref.dtype.kind == "f":
            assert out.dtype == (A.float32 if case.integer else dtype)
            np.testing.assert_allclose(_host(out), ref, **tol)
        else:
            # Booleans and indices are exact, and keep NumPy's kind (bool, int64).
            assert out.dtype == (A.bool_ if ref.dtype == np.bool_ else A.int64), out.dtype
            np.testing.assert_array_equal(_host(out), ref)
        if not case.grad or ref.dtype.kind != "f":
            assert not out.requires_grad and out.grad_fn is None


@pytest.mark.parametrize("case", GRAD_CASES, ids=[c.name for c in GRAD_CASES])
def test_gradcheck(case, device):
    inputs = _tensors(case, _host_inputs(case), A.float64, device, True)
    assert A.gradcheck(case.fn, inputs)


# Not on the strict device by default: its double backwards are the first-order rules run again
# (which it checks), and this is the table's slowest check (``--device strict`` still runs it).
@pytest.mark.devices("cpu", "cuda")
@pytest.mark.parametrize("case", SMOOTH_CASES, ids=[c.name for c in SMOOTH_CASES])
def test_gradgradcheck(case, device):
    inputs = _tensors(case, _host_inputs(case), A.float64, device, True)
    assert A.gradgradcheck(case.fn, inputs)


@pytest.mark.parametrize("case", GRAD_CASES, ids=[c.name for c in GRAD_CASES])
def test_float32_stays_float32(case, device):
    inputs = _tensors(case, _host_inputs(case), A.float32, device, True)
    outs = [o for o in _as_tuple(case.fn(*inputs)) if o.dtype.kind == "f"]
    assert outs and all(o.dtype == A.float32 for o in outs)
    loss = None
    for o in outs:
        # Weighted (not a plain sum) so that ops whose gradient sums to 0 still send something.
        term = (o * A.arange(o.numel(), dtype=A.float32, device=device).reshape(o.shape)).sum()
        loss = term if loss is None else loss + term
    assert loss.dtype == A.float32
    loss.backward()
    for x in inputs:
        if not x.requires_grad:
            assert x.grad is None
            continue
        assert x.grad is not None, f"{case.name}: no gradient reached an input"
        assert x.grad.dtype == A.float32, f"{case.name}: {x.grad.dtype} gradient"
        assert x.grad.shape == x.shape
        assert x.grad.device == x.device


def test_table_covers_every_listed_op():
    # The brief's op list: a new op without an entry fails here rather than going untested.
    required = (
        "add radd rsub rmul rdiv rpow pow neg abs exp log sqrt rsqrt reciprocal sin cos tanh "
        "sigmoid relu clamp sign maximum minimum where gt ge lt le eq ne sum mean var std "
        "max_dim min_dim amax amin argmax argmin logsumexp norm norm_p1 norm_inf norm_p3 prod "
        "prod_zero matmul matmul_vec_vec matmul_bcast reshape view transpose permute T mT squeeze "
        "unsqueeze flatten expand expand_as repeat cat stack split chunk pad_constant pad_reflect "
        "pad_replicate pad_circular gather index_select masked_fill one_hot getitem_int "
        "getitem_slice getitem_none getitem_ellipsis getitem_list getitem_bool_mask "
        "getitem_two_arrays all any"
    ).split()
    missing = [r for r in required if not any(n == r or n.startswith(r + "_") for n in CASE_IDS)]
    assert not missing, missing
    assert len(set(CASE_IDS)) == len(CASE_IDS), "duplicate case names"


# --------------------------------------------------- PyTorch's conventions (committed fixture)

TORCH_REFERENCE = json.loads((Path(__file__).parent / "fixtures/ops_reference.json").read_text())


@pytest.mark.parametrize(
    "case", TORCH_REFERENCE["cases"], ids=[c["name"] for c in TORCH_REFERENCE["cases"]]
)
def test_matches_pytorch_at_kinks_ties_and_zeros(case, device):
    # Values and gradients that PyTorch produced (tests/fixtures/make_ops_fixtures.py).
    inputs = {
        k: A.tensor(v, dtype=A.float64, device=device, requires_grad=True)
        for k, v in case["inputs"].items()
    }
    result = eval(case["expr"], {"M": A}, dict(inputs))
    np.testing.assert_allclose(_host(result), case["value"], rtol=1e-12, atol=1e-300)
    if "grads" not in case:
        assert result.dtype == A.int64 and not result.requires_grad
        return
    weights = A.arange(1, result.numel() + 1, dtype=A.float64, device=device).reshape(result.shape)
    (result * weights).sum().backward()
    for name, expected in case["grads"].items():
        got = inputs[name].grad
        if expected is None:
            assert got is None
        else:
            np.testing.assert_allclose(_host(got), expected, rtol=1e-12, atol=1e-300, err_msg=name)


# ----------------------------------------------------------- values the table can't express


def test_repeated_index_gradients_accumulate(device):
    x = A.zeros(5, dtype=A.float64, device=device, requires_grad=True)
    x[[0, 0, 1]].sum().backward()
    np.testing.assert_array_equal(_host(x.grad), [2.0, 1.0, 0.0, 0.0, 0.0])
    y = A.zeros(2, 3, device=device, requires_grad=True)
    (y[[1, 1, 1], [2, 2, 0]] * A.tensor([1.0, 2.0, 3.0], device=device)).sum().backward()
    np.testing.assert_array_equal(_host(y.grad), [[0, 0, 0], [3, 0, 3]])
    assert y.grad.dtype == A.float32


def test_index_select_and_gather_repeated_indices_accumulate(device):
    x = A.ones(3, 2, device=device, requires_grad=True)
    x.index_select(0, A.tensor([2, 2, 0], device=device)).sum().backward()
    np.testing.assert_array_equal(_host(x.grad), [[1, 1], [0, 0], [2, 2]])
    z = A.ones(2, 3, device=device, requires_grad=True)
    z.gather(1, A.tensor([[0, 0, 0], [2, 1, 2]], device=device)).sum().backward()
    np.testing.assert_array_equal(_host(z.grad), [[3, 0, 0], [0, 1, 2]])


def test_empty_tensors_and_empty_indices(device):
    e = A.zeros(0, 3, device=device, requires_grad=True)
    assert e.sum().item() == 0.0 and (e @ A.ones(3, 2, device=device)).shape == (0, 2)
    e.sum().backward()
    assert e.grad.shape == (0, 3)
    x = A.ones(3, 2, device=device)
    assert x[[]].shape == (0, 2)
    assert x.index_select(0, []).shape == (0, 2)
    assert A.cat([A.zeros(0, 2, device=device), x]).shape == (3, 2)
    assert A.one_hot(A.tensor([], dtype=A.int64, device=device), 3).shape == (0, 3)
    assert A.zeros(0, device=device).prod().item() == 1.0


def test_clamp_in_place(device):
    x = A.tensor([-2.0, 0.3, 5.0], device=device)
    x.clamp_(min=0.0)
    np.testing.assert_allclose(_host(x), [0.0, 0.3, 5.0])
    x.clamp_(max=1.0)
    np.testing.assert_allclose(_host(x), [0.0, 0.3, 1.0])
    i = A.tensor([-3, 4, 9], device=device)
    i.clamp_(0, 5)
    assert i.tolist() == [0, 4, 5] and i.dtype == A.int64


def test_setitem_on_non_grad_tensor(device):
    x = A.zeros(3, 4, device=device)
    x[0] = 1.0
    x[1, 1:3] = A.tensor([2.0, 3.0], device=device)
    x[x > 2.5] = -1.0
    x[[2, 2], [0, 3]] = 7.0
    expected = np.zeros((3, 4), np.float32)
    expected[0] = 1
    expected[1, 1:3] = [2, -1]
    expected[2, [0, 3]] = 7
    np.testing.assert_array_equal(_host(x), expected)
    assert x.dtype == A.float32


def test_setitem_refused_on_grad_tensor_but_allowed_under_no_grad():
    w = A.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="setitem"):
        w[0] = 1.0
    with A.no_grad():
        w[0] = 1.0
    np.testing.assert_array_equal(_host(w), [1, 0, 0])


def test_max_dim_returns_named_values_and_indices(device):
    x = A.tensor([[1.0, 5.0, 3.0], [7.0, 2.0, 0.0]], device=device, requires_grad=True)
    result = x.max(dim=1)
    values, indices = result
    assert result.values is values and result.indices is indices
    np.testing.assert_array_equal(_host(values), [5.0, 7.0])
    np.testing.assert_array_equal(_host(indices), [1, 0])
    assert indices.dtype == A.int64 and not indices.requires_grad
    values.sum().backward()
    np.testing.assert_array_equal(_host(x.grad), [[0, 1, 0], [1, 0, 0]])
    low = x.min(dim=0)
    np.testing.assert_array_equal(_host(low.indices), [0, 1, 1])


def test_ties_share_the_gradient(device):
    # PyTorch: amax splits evenly among tied maxima; maximum(a, b) gives half to each side.
    x = A.tensor([2.0, 2.0, 1.0, 2.0], device=device, requires_grad=True)
    x.amax().backward()
    np.testing.assert_allclose(_host(x.grad), [1 / 3, 1 / 3, 0, 1 / 3])
    a = A.tensor([1.0, 3.0], device=device, requires_grad=True)
    b = A.tensor([1.0, 2.0], device=device, requires_grad=True)
    A.maximum(a, b).sum().backward()
    np.testing.assert_array_equal(_host(a.grad), [0.5, 1.0])
    np.testing.assert_array_equal(_host(b.grad), [0.5, 0.0])


def test_prod_gradient_with_zeros(device):
    x_np = np.array([[2.0, 0.0, 3.0, 4.0], [0.0, 5.0, 0.0, 1.0], [1.0, 2.0, 3.0, 4.0]])
    x = A.tensor(x_np, dtype=A.float64, device=device, requires_grad=True)
    x.prod(dim=1).sum().backward()
    np.testing.assert_allclose(_host(x.grad), _prod_others(x_np))
    assert np.isfinite(_host(x.grad)).all()


def test_norm_gradient_is_zero_at_zero_vector(device):
    x = A.zeros(3, device=device, requires_grad=True)
    x.norm().backward()
    np.testing.assert_array_equal(_host(x.grad), [0.0, 0.0, 0.0])


def test_relu_and_abs_gradient_at_zero_is_zero(device):
    x = A.tensor([0.0, -1.0, 2.0], device=device, requires_grad=True)
    (x.relu() + x.abs()).sum().backward()
    np.testing.assert_array_equal(_host(x.grad), [0.0, -1.0, 2.0])


def test_clamp_gradient_passes_at_the_bounds(device):
    # PyTorch counts min <= x <= max as inside: the gradient is 1 exactly at the bounds.
    x = A.tensor([-1.0, -0.5, 0.0, 0.5, 1.0], device=device, requires_grad=True)
    x.clamp(-0.5, 0.5).sum().backward()
    np.testing.assert_array_equal(_host(x.grad), [0, 1, 1, 1, 0])


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
def test_sigmoid_and_logsumexp_do_not_overflow(device):
    x = A.tensor([-1000.0, 0.0, 1000.0], device=device, requires_grad=True)
    np.testing.assert_array_equal(_host(x.sigmoid()), [0.0, 0.5, 1.0])
    lse = x.logsumexp(dim=0)
    assert lse.item() == 1000.0
    lse.backward()
    np.testing.assert_array_equal(_host(x.grad), [0.0, 0.0, 1.0])
    inf = A.tensor([-float("inf"), -float("inf")], device=device)
    assert inf.logsumexp(dim=0).item() == -float("inf")


def test_pow_gradient_for_zero_base_and_tensor_exponent(device):
    # d(a^b)/db = a^b log a is taken as 0 where a == 0 (PyTorch), never NaN.
    a = A.tensor([0.0, 2.0], dtype=A.float64, device=device, requires_grad=True)
    b = A.tensor([2.0, 3.0], dtype=A.float64, device=device, requires_grad=True)
    (a**b).sum().backward()
    np.testing.assert_allclose(_host(b.grad), [0.0, 8.0 * np.log(2.0)])
    np.testing.assert_allclose(_host(a.grad), [0.0, 12.0])


def test_pow_gradient_for_zero_exponent_at_zero_base(device):
    a = A.tensor([0.0, 2.0], dtype=A.float64, device=device, requires_grad=True)
    (a**0).sum().backward()
    np.testing.assert_array_equal(_host(a.grad), [0.0, 0.0])
    a.grad = None
    b = A.tensor([0.0, 3.0], dtype=A.float64, device=device)
    (a**b).sum().backward()
    np.testing.assert_array_equal(_host(a.grad), [0.0, 12.0])


def test_split_gradient_when_only_some_pieces_are_used(device):
    x = A.ones(5, 2, device=device, requires_grad=True)
    first, _, last = x.split(2)
    (first.sum() + 3 * last.sum()).backward()
    np.testing.assert_array_equal(_host(x.grad)[:, 0], [1, 1, 0, 0, 3])


def test_integer_and_bool_arithmetic_promote_like_pytorch(device):
    i = A.tensor([1, 2, 3], device=device)
    assert (i + 1).dtype == A.int64
    assert (i / 2).dtype == A.float32
    assert (i * 0.5).dtype == A.float32
    for name in ("exp", "log", "sqrt", "sin", "cos", "tanh", "sigmoid"):
        assert getattr(i, name)().dtype == A.float32, name
    np.testing.assert_allclose(_host(i.sigmoid()), 1 / (1 + np.exp(-np.array([1.0, 2.0, 3.0]))))
    assert (i**2).dtype == A.int64
    assert (i**0.5).dtype == A.float32
    assert i.sum().dtype == A.int64
    assert (i > 1).sum().item() == 2
    np.testing.assert_allclose(_host(i.exp()), np.exp([1, 2, 3]).astype(np.float32))


def test_floor_divide_has_no_gradient_and_remainder_takes_the_divisors_sign(device):
    x = A.tensor([5.0, -7.0], device=device, requires_grad=True)
    np.testing.assert_array_equal(_host(x // 2), [2.0, -4.0])
    np.testing.assert_array_equal(_host(x % 3), [2.0, 2.0])
    np.testing.assert_array_equal(_host(x % -3), [-1.0, -1.0])
    assert not (x // 2).requires_grad
    assert (x % 3).requires_grad


def test_logical_ops_on_bool_tensors(device):
    a = A.tensor([True, True, False], device=device)
    b = A.tensor([True, False, False], device=device)
    np.testing.assert_array_equal(_host(a & b), [True, False, False])
    np.testing.assert_array_equal(_host(a | b), [True, True, False])
    np.testing.assert_array_equal(_host(a ^ b), [False, True, False])
    np.testing.assert_array_equal(_host(~a), [False, False, True])


def test_cat_promotes_mixed_dtypes(device):
    out = A.cat([A.ones(2, device=device), A.tensor([3, 4], device=device)])
    assert out.dtype == A.float32
    np.testing.assert_array_equal(_host(out), [1, 1, 3, 4])


def test_module_functions_match_methods(device):
    x = A.randn(3, 4, device=device)
    for name in ("exp", "sin", "cos", "tanh", "sigmoid", "relu", "abs", "neg", "sign"):
        np.testing.assert_array_equal(_host(getattr(A, name)(x)), _host(getattr(x, name)()))
    np.testing.assert_array_equal(_host(A.sqrt(x.abs())), _host(x.abs().sqrt()))
    np.testing.assert_array_equal(_host(A.log(x.abs())), _host(x.abs().log()))


def test_comparing_with_none_follows_python(device):
    x = A.ones(2, device=device)
    assert (x == None) is False  # noqa: E711  (the operator itself is under test)
    assert (x != None) is True  # noqa: E711
    assert x in [None, x]  # identity first, and no error from the None
    with pytest.raises(TypeError):
        x < None  # noqa: B015
