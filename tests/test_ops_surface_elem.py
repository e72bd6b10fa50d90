"""Issue 13's op surface, part one: elementwise ops, reductions and scans, softmax, and the
cases that were wrong or refused before.

One table (``CASES``) drives everything. Each entry is an expression evaluated with ``M`` bound
to ``autograd`` here and to ``torch`` in tests/fixtures/make_surface_elem_fixtures.py, which ran
it once with PyTorch 2.13 and stored the inputs, values, dtypes and gradients in
tests/fixtures/surface_elem_reference.json. Every entry then gets:

- its value and dtype against PyTorch's (NaN where PyTorch has NaN);
- its gradient of a fixed weighted sum of the outputs against PyTorch's (``grad``);
- a float64 ``gradcheck`` (``gradcheck``) and ``gradgradcheck`` (``smooth``);
- dtype preservation: float32 in, float32 out and float32 gradients.

Integer inputs to float ops are in ``DTYPE_CASES`` (value and dtype against PyTorch).
"""

from __future__ import annotations

import json
import math
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

import autograd as A
import backends
import nn.functional as F

FIXTURE = Path(__file__).parent / "fixtures" / "surface_elem_reference.json"


# ------------------------------------------------------------------------------ inputs
def _away_from_integers(rng, shape):
    # floor/ceil/round/trunc/frac jump at integers and halves: stay 0.1 away from both.
    return rng.integers(-3, 3, size=shape) + rng.choice([0.15, 0.3, 0.65, 0.85], size=shape)


def _gamma_domain(rng, shape):
    # lgamma/digamma on both sides of 0, away from the poles at 0, -1, -2, ...
    return rng.integers(-3, 5, size=shape) + rng.uniform(0.2, 0.8, size=shape)


def _distinct(rng, shape):
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.3 - 0.15 * n + rng.uniform(-0.05, 0.05, size=n)).reshape(shape)


def _with_nan(rng, shape):
    x = _distinct(rng, shape)
    x.reshape(-1)[:: max(1, x.size // 3)] = np.nan
    return x


def _specials(rng, shape):
    x = rng.standard_normal(shape)
    flat = x.reshape(-1)
    flat[:4] = [np.nan, np.inf, -np.inf, 0.0]
    return x


def _zero_in_middle(rng, shape):
    x = rng.uniform(0.5, 1.5, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    x[..., shape[-1] // 2] = 0.0
    x[0, -1] = 0.0  # two zeros in the first row
    return x


def _repeats(rng, shape):
    return rng.choice([-1.0, 0.5, 2.0, 3.5], size=shape)


def _with_zeros(rng, shape):
    return rng.standard_normal(shape) * (rng.uniform(size=shape) > 0.3)


DOMAINS = {
    None: lambda rng, shape: rng.standard_normal(shape),
    "positive": lambda rng, shape: rng.uniform(0.5, 2.0, size=shape),
    "away0": lambda rng, shape: rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.2, 1.5, shape),
    "unit": lambda rng, shape: rng.uniform(-0.9, 0.9, size=shape),
    "above1": lambda rng, shape: rng.uniform(1.2, 3.0, size=shape),
    "prob": lambda rng, shape: rng.uniform(0.05, 0.95, size=shape),
    "wide": lambda rng, shape: rng.uniform(-6.0, 6.0, size=shape),
    "offint": _away_from_integers,
    "gamma": _gamma_domain,
    "distinct": _distinct,
    "nan": _with_nan,
    "specials": _specials,
    "zero_middle": _zero_in_middle,
    "repeats": _repeats,
    "zeros": _with_zeros,
    "int": lambda rng, shape: rng.integers(-5, 6, size=shape),
    "small_int": lambda rng, shape: rng.integers(0, 4, size=shape),
    "bool": lambda rng, shape: rng.uniform(size=shape) > 0.5,
}


def make_inputs(case) -> dict:
    """The case's inputs as NumPy arrays (the fixture script stores them; the tests read them)."""
    rng = np.random.default_rng(zlib.crc32(case.name.encode()))
    out = {}
    for name, spec in case.inputs.items():
        if isinstance(spec, list):
            out[name] = np.asarray(spec, dtype=np.float64)
            continue
        shape, domain = spec
        out[name] = np.asarray(DOMAINS[domain](rng, shape))
        if out[name].dtype.kind == "f":
            out[name] = out[name].astype(np.float64)
    return out


@dataclass
class Case:
    """``expr`` uses ``M`` (autograd or torch), ``F`` (its functional module) and the inputs.

    ``grad``: compare the gradient with PyTorch's; ``gradcheck``: also check it numerically
    (off for ops whose output jumps under a small change, e.g. mode); ``smooth``: run
    gradgradcheck (also for piecewise-linear ops away from their kinks); ``keeps_dtype``:
    float32 in gives float32 out.
    """

    name: str
    expr: str
    inputs: dict = field(default_factory=dict)
    grad: bool = True
    gradcheck: bool = True
    smooth: bool = True
    keeps_dtype: bool = True
    rtol: float = 1e-12
    atol: float = 1e-12


X34 = {"x": ((3, 4), None)}
XY34 = {"x": ((3, 4), None), "y": ((3, 4), None)}

# fmt: off
CASES = [
    # ---------------------------------------------------- wrong or refused before (regressions)
    Case("cosine_similarity_broadcast_dim", "F.cosine_similarity(x, y, dim=-2)",
         {"x": ((1, 2, 3), None), "y": ((2, 1, 3), None)}),
    Case("gather_0d", "x.gather(0, M.tensor(0))", {"x": ((), None)}, smooth=True),
    Case("gather_0d_empty_index", "x.gather(0, M.zeros(0, dtype=M.int64))", {"x": ((), None)},
         gradcheck=False),
    Case("index_select_0d", "x.index_select(0, M.tensor([0]))", {"x": ((), None)}),
    Case("gather_empty_index", "x.gather(1, M.zeros(3, 0, dtype=M.int64))", X34,
         gradcheck=False),
    Case("index_select_empty_index", "x.index_select(1, M.tensor([], dtype=M.int64))", X34,
         gradcheck=False),
    Case("transpose_00_0d", "x.transpose(0, 0) * 2", {"x": ((), None)}),
    Case("cat_skips_legacy_empty", "M.cat([x, M.zeros(0, dtype=M.float64), y])",
         {"x": ((2, 3), None), "y": ((1, 3), None)}),
    Case("batch_norm_empty_batch",
         "F.batch_norm(x, M.zeros(3, dtype=M.float64), M.ones(3, dtype=M.float64), w, b, True)",
         {"x": ((0, 3), None), "w": ((3,), None), "b": ((3,), None)}, gradcheck=False),
    Case("sign_gradient_zero", "x.sign() * 3 + x", X34 | {"x": ((3, 4), "away0")}),
    Case("rounding_under_where", "M.where(x > 0, x.floor(), x.round()) + x.ceil() * x.trunc()",
         {"x": ((3, 4), "offint")}),
    Case("comparisons_under_where", "M.where(x > y, x, y) + (x >= 0) * x",
         {"x": ((3, 4), "distinct"), "y": ((3, 4), None)}),
    Case("norm_p0", "x.norm(p=0)", {"x": ((3, 4), "zeros")}),
    Case("norm_p_minus1", "x.norm(p=-1, dim=1)", {"x": ((3, 4), "away0")}),
    Case("norm_p_minus1_zero", "x.norm(p=-1)", {"x": [0.0, 2.0, -1.0]}, gradcheck=False),
    Case("norm_p_minus2_5", "x.norm(p=-2.5)", {"x": ((2, 3), "away0")}),
    Case("norm_nuc", "x.norm(p='nuc')", X34, smooth=False, rtol=1e-10),
    Case("norm_nuc_dims_keepdim", "M.norm(x, p='nuc', dim=(0, 2), keepdim=True)",
         {"x": ((3, 2, 4), None)}, smooth=False, rtol=1e-10),
    Case("std_positional_unbiased", "x.std(False)", X34),
    Case("var_dim_unbiased", "x.var(1, True)", X34),
    Case("var_correction2", "x.var(correction=2)", X34),
    Case("std_correction0_keepdim", "M.std(x, dim=1, correction=0, keepdim=True)", X34),
    Case("div_trunc", "x.div(y, rounding_mode='trunc') + x", {"x": ((3, 4), "wide"),
         "y": ((3, 4), "away0")}),
    Case("div_floor", "M.div(x, y, rounding_mode='floor') * 2 + y", {"x": ((3, 4), "wide"),
         "y": ((3, 4), "away0")}),
    Case("div_trunc_int", "M.tensor([5, -7, 7, -8]).div(2, rounding_mode='trunc')", grad=False),
    Case("div_floor_int", "M.tensor([5, -7, 7, -8]).div(M.tensor([2, 2, -2, 3]), "
         "rounding_mode='floor')", grad=False),
    Case("to_memory_format", "x.to(M.float64, memory_format=M.preserve_format)", X34,
         keeps_dtype=False),
    Case("float_memory_format", "x.float(memory_format=M.contiguous_format).double()", X34,
         rtol=1e-7, atol=1e-7, keeps_dtype=False, gradcheck=False),
    Case("double_memory_format", "x.double(memory_format=M.preserve_format)", X34,
         keeps_dtype=False),
    Case("long_memory_format", "x.long(memory_format=M.preserve_format)", X34, grad=False),
    Case("int_memory_format", "x.int(memory_format=M.contiguous_format)", X34, grad=False),
    Case("bool_memory_format", "x.bool(memory_format=M.preserve_format)", X34, grad=False),
    Case("half_memory_format", "x.half(memory_format=M.preserve_format)", X34, grad=False,
         rtol=1e-3, atol=1e-3),
    # ------------------------------------------------------------------------- elementwise
    Case("abs_", "(x * 1).abs_()", {"x": ((3, 4), "away0")}),
    Case("acos", "x.acos()", {"x": ((3, 4), "unit")}),
    Case("arccos", "M.arccos(x)", {"x": ((3, 4), "unit")}),
    Case("asin", "M.asin(x)", {"x": ((3, 4), "unit")}),
    Case("atan", "x.atan()", X34),
    Case("atan2", "M.atan2(x, y)", XY34),
    Case("atan2_bcast", "x.atan2(y)", {"x": ((3, 4), None), "y": ((4,), None)}),
    Case("sinh", "x.sinh()", X34),
    Case("cosh", "M.cosh(x)", X34),
    Case("tan", "x.tan()", {"x": ((3, 4), "unit")}),
    Case("asinh", "x.asinh()", X34),
    Case("acosh", "M.acosh(x)", {"x": ((3, 4), "above1")}),
    Case("atanh", "x.atanh()", {"x": ((3, 4), "unit")}),
    Case("erf", "x.erf()", {"x": ((3, 4), "wide")}),
    Case("erfc", "M.erfc(x)", {"x": ((3, 4), "wide")}),
    Case("erfc_tail", "x.erfc()", {"x": [5.0, 10.0, 26.0, -3.0]}, rtol=1e-13, atol=0.0),
    Case("erfinv", "x.erfinv()", {"x": ((3, 4), "unit")}),
    Case("erfinv_edges", "M.erfinv(x)", {"x": [-1.0, 1.0, 1.5, 0.0, 0.999999999, -1e-300]},
         grad=False),
    Case("lgamma", "x.lgamma()", {"x": ((3, 4), "gamma")}, atol=1e-13),
    Case("lgamma_poles", "M.lgamma(x)", {"x": [0.0, -1.0, -2.0, 1.0, 2.0, 1e-8, 171.5, 1e5]},
         grad=False, rtol=1e-13, atol=1e-13),
    # Its gradient is trigamma, where PyTorch is good to ~1e-9 only (see polygamma1).
    Case("digamma", "x.digamma()", {"x": ((3, 4), "gamma")}, rtol=1e-8, atol=1e-12),
    Case("digamma_poles", "M.digamma(x)", {"x": [0.0, -1.0, -3.0, 1.0, 0.5, 30.5]}, grad=False,
         rtol=1e-11),
    # PyTorch's own trigamma is good to ~1e-9 only (6 recurrence steps, 3 series terms).
    Case("polygamma1", "M.polygamma(1, x)", {"x": ((3, 4), "positive")}, rtol=1e-8, atol=1e-9),
    Case("polygamma2", "x.polygamma(2)", {"x": ((3, 4), "positive")}, rtol=1e-8, atol=1e-9),
    Case("log1p", "x.log1p()", {"x": ((3, 4), "positive")}),
    Case("log1p_tiny", "M.log1p(x)", {"x": [1e-20, -1e-17, 3e-10]}, rtol=1e-15, atol=0.0),
    Case("log2", "x.log2()", {"x": ((3, 4), "positive")}),
    Case("log10", "M.log10(x)", {"x": ((3, 4), "positive")}),
    Case("expm1", "x.expm1()", X34),
    Case("expm1_tiny", "M.expm1(x)", {"x": [1e-20, -1e-17, 3e-10]}, rtol=1e-15, atol=0.0),
    Case("exp2", "M.exp2(x)", X34),
    Case("logit", "x.logit()", {"x": ((3, 4), "prob")}),
    Case("logit_eps", "M.logit(x, eps=0.2)", {"x": ((3, 4), "prob")}),
    Case("sinc", "x.sinc()", {"x": ((3, 4), "wide")}),
    Case("sinc_at_zero", "M.sinc(x)", {"x": [0.0, 1.0, -2.5]}, smooth=False),
    Case("floor", "x.floor()", {"x": ((3, 4), "offint")}),
    Case("ceil", "M.ceil(x)", {"x": ((3, 4), "offint")}),
    Case("round", "x.round()", {"x": ((3, 4), "offint")}),
    Case("round_half_even", "M.round(x)", {"x": [0.5, 1.5, 2.5, -0.5, -1.5]}, gradcheck=False),
    Case("round_decimals", "x.round(decimals=1)", {"x": [0.123, -2.471, 10.04, 3.14159]}),
    Case("trunc", "M.trunc(x)", {"x": ((3, 4), "offint")}),
    Case("fix", "x.fix()", {"x": ((3, 4), "offint")}),
    Case("frac", "x.frac()", {"x": ((3, 4), "offint")}),
    Case("sgn", "x.sgn() + x", {"x": ((3, 4), "away0")}),
    Case("sign_at_zero", "M.sign(x)", {"x": [0.0, -0.0, 2.0, -3.0]}, gradcheck=False),
    Case("signbit", "x.signbit()", {"x": [0.0, -0.0, 2.0, -3.0]}, grad=False),
    Case("fmod", "M.fmod(x, y)", {"x": ((3, 4), "wide"), "y": ((3, 4), "away0")}),
    Case("fmod_scalar", "x.fmod(1.5)", {"x": ((3, 4), "wide")}),
    Case("remainder", "M.remainder(x, y)", {"x": ((3, 4), "wide"), "y": ((4,), "away0")}),
    Case("remainder_method", "x.remainder(0.7)", {"x": ((3, 4), "wide")}),
    Case("hypot", "M.hypot(x, y)", XY34),
    Case("logaddexp", "M.logaddexp(x, y)", {"x": ((3, 4), None), "y": ((4,), None)}),
    Case("logaddexp_large", "x.logaddexp(y * 800)", XY34),
    Case("logaddexp2", "M.logaddexp2(x, y)", XY34),
    Case("xlogy", "M.xlogy(x, y)", {"x": ((3, 4), "zeros"), "y": ((3, 4), "positive")}),
    Case("xlogy_at_zero", "x.xlogy(y)", {"x": [0.0, 0.0, 2.0], "y": [0.0, 3.0, 0.5]},
         gradcheck=False),
    Case("copysign", "M.copysign(x, y)", {"x": ((3, 4), "away0"), "y": ((3, 4), "away0")}),
    Case("copysign_scalar", "x.copysign(-1.0)", {"x": ((3, 4), "away0")}),
    Case("heaviside", "M.heaviside(x, y)", {"x": [-1.0, 0.0, 2.0, 0.0], "y": [0.5, 0.25, 3.0,
         7.0]}, grad=False),
    Case("lerp_scalar", "M.lerp(x, y, 0.3)", XY34),
    Case("lerp_tensor", "x.lerp(y, w)", XY34 | {"w": ((4,), "prob")}),
    Case("addcmul", "M.addcmul(x, y, z, value=0.5)", XY34 | {"z": ((4,), None)}),
    Case("addcdiv", "x.addcdiv(y, z, value=-2)", XY34 | {"z": ((3, 4), "away0")}),
    Case("nan_to_num", "x.nan_to_num()", {"x": ((3, 4), "specials")}, gradcheck=False),
    Case("nan_to_num_values", "M.nan_to_num(x, nan=1.5, posinf=9.0, neginf=-9.0)",
         {"x": ((3, 4), "specials")}, gradcheck=False),
    Case("clamp_min", "M.clamp_min(x, 0.1)", {"x": ((3, 4), "away0")}),
    Case("clamp_max", "x.clamp_max(-0.1)", {"x": ((3, 4), "away0")}),
    Case("square", "x.square()", X34),
    Case("rsqrt", "M.rsqrt(x)", {"x": ((3, 4), "positive")}),
    Case("float_power", "M.float_power(x, y)", {"x": ((3, 4), "positive"), "y": ((3, 4), None)},
         keeps_dtype=False),
    Case("float_power_scalar", "x.float_power(2)", X34, keeps_dtype=False),
    Case("true_divide", "M.true_divide(x, y)", {"x": ((3, 4), None), "y": ((3, 4), "away0")}),
    Case("floor_divide", "M.floor_divide(x, y)", {"x": ((3, 4), "wide"), "y": ((3, 4), "away0")},
         grad=False),
    Case("isinf", "x.isinf()", {"x": ((3, 4), "specials")}, grad=False),
    Case("isposinf", "M.isposinf(x)", {"x": ((3, 4), "specials")}, grad=False),
    Case("isneginf", "x.isneginf()", {"x": ((3, 4), "specials")}, grad=False),
    Case("isclose", "M.isclose(x, x + y * 1e-6)", XY34, grad=False),
    Case("isclose_nan", "x.isclose(x, equal_nan=True)", {"x": ((3, 4), "specials")}, grad=False),
    Case("fmax", "M.fmax(x, y)", XY34),
    Case("fmin", "x.fmin(y)", XY34),
    Case("fmax_nan", "M.fmax(x, y)", {"x": [1.0, float("nan"), 2.0], "y": [float("nan"), 3.0,
         2.0]}, gradcheck=False),
    Case("positive", "M.positive(x) * 2", X34),
    Case("deg2rad", "x.deg2rad()", X34),
    Case("rad2deg", "M.rad2deg(x)", X34),
    # Non-negative exponents: PyTorch's gradient is 0 for negative integer ones (see ldexp).
    Case("ldexp", "M.ldexp(x, e)", {"x": ((3, 4), None), "e": ((3, 4), "small_int")}),
    Case("ldexp_float_exponent", "x.ldexp(y)", XY34),
    Case("bitwise_left_shift", "M.bitwise_left_shift(i, s)",
         {"i": ((3, 4), "int"), "s": ((3, 4), "small_int")}, grad=False),
    Case("bitwise_right_shift_op", "i >> 1", {"i": ((3, 4), "int")}, grad=False),
    Case("lshift_op", "i << 2", {"i": ((3, 4), "int")}, grad=False),
    # ------------------------------------------------------------------ reductions and scans
    Case("cumsum", "x.cumsum(1)", X34),
    Case("cumsum_dim0", "M.cumsum(x, dim=0)", X34),
    Case("cumsum_dtype", "x.cumsum(-1, dtype=M.float32)", X34, rtol=1e-6, atol=1e-6,
         keeps_dtype=False, gradcheck=False),
    Case("cumprod", "x.cumprod(1)", X34),
    Case("cumprod_one_zero", "M.cumprod(x, 1)", {"x": ((3, 4), "zero_middle")}),
    Case("cumprod_zero_first", "x.cumprod(0)", {"x": [[0.0, 2.0], [3.0, 0.0], [4.0, 5.0]]}),
    Case("cummax", "x.cummax(1)", {"x": ((3, 4), "distinct")}),
    Case("cummax_ties", "M.cummax(x, 0)", {"x": [1.0, 3.0, 3.0, 2.0, 5.0]}, gradcheck=False),
    Case("cummin", "M.cummin(x, dim=0)", {"x": ((3, 4), "distinct")}),
    Case("cummin_ties", "x.cummin(0)", {"x": [1.0, 3.0, 1.0, 2.0, 0.0]}, gradcheck=False),
    Case("cummax_nan", "x.cummax(0)", {"x": [1.0, float("nan"), 3.0]}, gradcheck=False),
    Case("logcumsumexp", "x.logcumsumexp(1)", X34),
    Case("logcumsumexp_dim0", "M.logcumsumexp(x, 0)", X34),
    Case("logcumsumexp_wide", "M.logcumsumexp(x * 400, 1)", X34, smooth=False, rtol=1e-10),
    Case("median_all", "x.median()", {"x": ((3, 4), "distinct")}),
    Case("median_dim", "M.median(x, dim=1)", {"x": ((3, 4), "distinct")}),
    Case("median_dim_keepdim", "x.median(0, keepdim=True)", {"x": ((4, 3), "distinct")}),
    Case("median_nan", "x.median(1)", {"x": ((3, 4), "nan")}, gradcheck=False),
    Case("nanmedian", "x.nanmedian()", {"x": ((3, 4), "nan")}),
    Case("nanmedian_dim", "M.nanmedian(x, 1)", {"x": ((3, 4), "nan")}),
    Case("mode", "x.mode(1)", {"x": ((3, 6), "repeats")}, gradcheck=False),
    Case("mode_dim0", "M.mode(x, 0)", {"x": ((5, 3), "repeats")}, gradcheck=False),
    Case("quantile", "x.quantile(0.3)", {"x": ((3, 4), "distinct")}),
    Case("quantile_dim", "M.quantile(x, 0.75, dim=1, keepdim=True)", {"x": ((3, 4), "distinct")}),
    Case("quantile_q_tensor", "M.quantile(x, M.tensor([0.1, 0.5, 1.0], dtype=M.float64), dim=0)",
         {"x": ((4, 3), "distinct")}),
    Case("quantile_all_keepdim", "x.quantile(0.3, keepdim=True)", {"x": ((3, 4), "distinct")}),
    Case("quantile_q_tensor_keepdim",
         "M.quantile(x, M.tensor([0.2, 0.8], dtype=M.float64), dim=1, keepdim=True)",
         {"x": ((3, 4), "distinct")}),
    Case("median_0d", "x.median()", {"x": ((), None)}),
    Case("cumsum_0d", "x.cumsum(0)", {"x": ((), None)}),
    Case("quantile_lower", "x.quantile(0.4, 1, interpolation='lower')",
         {"x": ((3, 4), "distinct")}),
    Case("quantile_higher", "x.quantile(0.4, 1, interpolation='higher')",
         {"x": ((3, 4), "distinct")}),
    Case("quantile_midpoint", "x.quantile(0.4, 1, interpolation='midpoint')",
         {"x": ((3, 4), "distinct")}),
    Case("quantile_nearest", "x.quantile(0.4, 0, interpolation='nearest')",
         {"x": ((5, 2), "distinct")}),
    Case("quantile_nan", "x.quantile(0.5, 1)", {"x": ((3, 4), "nan")}, gradcheck=False),
    Case("nanquantile", "M.nanquantile(x, 0.25, dim=1)", {"x": ((3, 4), "nan")}),
    Case("nanquantile_all", "x.nanquantile(0.6)", {"x": ((3, 4), "nan")}),
    Case("kthvalue", "x.kthvalue(2, 1)", {"x": ((3, 4), "distinct")}),
    Case("kthvalue_keepdim", "M.kthvalue(x, 3, dim=0, keepdim=True)", {"x": ((4, 3), "distinct")}),
    Case("aminmax", "M.aminmax(x)", {"x": ((3, 4), "distinct")}),
    Case("aminmax_dim", "x.aminmax(dim=1, keepdim=True)", {"x": ((3, 4), "distinct")}),
    Case("nansum", "x.nansum()", {"x": ((3, 4), "nan")}),
    Case("nansum_dim", "M.nansum(x, dim=1)", {"x": ((3, 4), "nan")}),
    Case("nanmean", "M.nanmean(x, 1)", {"x": ((3, 4), "nan")}),
    Case("nanmean_all", "x.nanmean()", {"x": ((3, 4), "nan")}),
    Case("std_mean", "M.std_mean(x, 1)", X34),
    Case("std_mean_correction", "M.std_mean(x, dim=0, correction=0, keepdim=True)", X34),
    Case("var_mean", "M.var_mean(x)", X34),
    Case("count_nonzero", "M.count_nonzero(x, dim=0)", {"x": ((3, 4), "zeros")}, grad=False),
    Case("count_nonzero_method", "x.count_nonzero()", {"x": ((3, 4), "zeros")}, grad=False),
    Case("diff", "x.diff()", X34),
    Case("diff_n2_dim0", "M.diff(x, n=2, dim=0)", {"x": ((4, 3), None)}),
    Case("diff_prepend_append", "x.diff(dim=1, prepend=y, append=z)",
         {"x": ((3, 4), None), "y": ((3, 1), None), "z": ((3, 2), None)}),
    Case("trapezoid", "M.trapezoid(x)", X34),
    Case("trapezoid_dx", "M.trapezoid(x, dx=0.5, dim=0)", X34),
    Case("trapezoid_x", "M.trapezoid(y, t)", {"y": ((3, 4), None), "t": ((4,), "distinct")}),
    Case("cumulative_trapezoid", "M.cumulative_trapezoid(x, dim=1)", X34),
    Case("cumulative_trapezoid_x", "M.cumulative_trapezoid(y, t, dim=0)",
         {"y": ((4, 3), None), "t": ((4,), "distinct")}),
    Case("renorm", "x.renorm(2, 0, 1.5)", X34 | {"x": ((3, 4), "wide")}),
    Case("renorm_p1_dim1", "M.renorm(x, 1, 1, 2.0)", {"x": ((3, 4), "wide")}),
    Case("dist", "M.dist(x, y)", XY34),
    Case("dist_p1", "x.dist(y, 1)", {"x": ((3, 4), "distinct"), "y": ((4,), "distinct")}),
    Case("dist_inf", "M.dist(x, y, float('inf'))", {"x": ((3, 4), "distinct"),
         "y": ((3, 4), "distinct")}),
    Case("dist_p3", "x.dist(y, 3)", XY34),
    # ------------------------------------------------------------- softmax as Tensor methods
    Case("softmax_method", "x.softmax(1)", X34),
    Case("softmax_function", "M.softmax(x, dim=0)", X34),
    Case("log_softmax_method", "x.log_softmax(-1)", X34),
    Case("log_softmax_function_dtype", "M.log_softmax(x, 1, dtype=M.float64)", X34,
         keeps_dtype=False),
]
# fmt: on

# Integer and bool inputs: PyTorch's result dtype (ints to float32 for float functions).
DTYPE_CASES = [
    ("erf", "i.erf()"),
    ("lgamma", "M.lgamma(i + 6)"),
    ("digamma", "(i + 6).digamma()"),
    ("erfinv", "M.erfinv(i * 0)"),
    ("expm1_bool", "b.expm1()"),
    ("log1p", "(i + 6).log1p()"),
    ("asin", "M.asin(i * 0)"),
    ("sinh", "i.sinh()"),
    ("floor_int", "i.floor()"),
    ("ceil_int", "M.ceil(i)"),
    ("trunc_int", "i.trunc()"),
    ("sign_int", "i.sign()"),
    ("sign_bool", "b.sign()"),
    ("sgn_int", "i.sgn()"),
    ("signbit_int", "M.signbit(i)"),
    ("square_int", "i.square()"),
    ("square_bool", "b.square()"),
    ("deg2rad_int", "i.deg2rad()"),
    ("atan2_int", "M.atan2(i, i + 10)"),
    ("xlogy_int", "M.xlogy(i, i + 10)"),
    ("copysign_int", "M.copysign(i, -i)"),
    ("fmod_int", "M.fmod(i, 3)"),
    ("fmax_int", "M.fmax(i, -i)"),
    ("ldexp_int", "M.ldexp(i, i)"),
    ("true_divide_int", "M.true_divide(i, 2)"),
    ("nan_to_num_int", "i.nan_to_num()"),
    ("logit_int", "(i * 0).logit()"),
    ("cumsum_int", "i.cumsum(0)"),
    ("cumsum_bool", "b.cumsum(0)"),
    ("cumprod_bool", "b.cumprod(0)"),
    ("nansum_int", "i.nansum()"),
    ("diff_int", "i.diff()"),
    ("diff_bool", "b.diff()"),
    ("trapezoid_int", "M.trapezoid(i)"),
    ("median_int", "i.median()"),
    ("count_nonzero_bool", "M.count_nonzero(b)"),
    ("float_power_int", "M.float_power(i, 2)"),
    ("addcmul_int", "M.addcmul(i, i, i, value=2)"),
]
DTYPE_INPUTS = {"i": [3, -2, 0, 5, 1, -4], "b": [True, False, True, True, False, True]}

# fmt: off
ERROR_CASES = [
    ("x.quantile(1.5)", ValueError, r"quantile: q values must be in the range \[0, 1\]"),
    ("x.quantile(0.5, interpolation='cubic')", ValueError, "quantile: interpolation must be"),
    ("i.quantile(0.5)", TypeError, r"quantile: input must be a float.*int64"),
    ("x.kthvalue(5, 1)", IndexError, r"kthvalue: k \(5\) is out of range for dimension 1 of "
     "size 4"),
    ("i.logcumsumexp(0)", TypeError, r"logcumsumexp: expected a floating point.*int64"),
    ("x.cumsum(None)", TypeError, "cumsum: missing the required argument 'dim'"),
    ("x.cumsum(3)", IndexError, r"cumsum: dimension out of range"),
    ("x.div(x, rounding_mode='round')", ValueError, "div: rounding_mode must be"),
    ("i.div(0, rounding_mode='floor')", RuntimeError, "div: integer division by zero"),
    ("M.fmod(i, 0)", RuntimeError, "fmod: integer division by zero"),
    ("M.polygamma(-1, x)", ValueError, "polygamma: n must be a non-negative int"),
    ("i.frac()", TypeError, r"frac: expected a floating point tensor, got \(6,\) int64"),
    ("x.round(decimals=1.5)", TypeError, "round: decimals must be an int"),
    ("b.floor()", TypeError, "floor: not implemented for bool"),
    ("x.norm(p='nuc')", RuntimeError, r"norm: 'nuc' needs a 2-D input.*\(3, 4, 2\)"),
    ("x.norm(p='nuc', dim=(0, 0))", RuntimeError, "norm: 'nuc' needs two different dims"),
    ("x.diff(n=-1)", ValueError, "diff: order n must be a non-negative int"),
    ("M.trapezoid(x, x, dx=1.0)", ValueError, "trapezoid: give the sample points x or"),
    ("x.renorm(0, 0, 1.0)", ValueError, "renorm: p must be a positive number"),
    ("x.to(memory_format='channels_last')", TypeError, "to: memory_format must be"),
    ("i.softmax(0)", TypeError, r"softmax: expected a floating point tensor.*int64"),
    ("M.addcdiv(x, i, i)", RuntimeError, "addcdiv: integer division is not supported"),
    ("x << 1", TypeError, r"bitwise_left_shift: only integer tensors can be shifted.*float32"),
    ("b.positive()", TypeError, "positive: the \\+ operator on a bool tensor"),
    ("M.atan2(x, M.ones(5))", RuntimeError, r"atan2: shapes cannot be broadcast.*\(3, 4, 2\).*"
     r"\(5,\)"),
    ("M.median(M.zeros(0))", RuntimeError, "median: cannot compute the median of an empty"),
    ("x.median(1, keepdim=True)[0].mode(5)", IndexError, "mode: dimension out of range"),
    ("M.equal(x, 1.0)", TypeError, "equal: expected a Tensor, got float"),
    ("x.var(True, unbiased=False)", TypeError, "var: unbiased given twice"),
    ("x.var(0, unbiased=True, correction=0)", ValueError, "var: give either unbiased or"),
    ("M.ones(2, requires_grad=True).abs_()", RuntimeError, "abs_: a leaf tensor of shape"),
    ("M.aminmax(M.zeros(0))", RuntimeError, r"aminmax: cannot reduce an empty tensor"),
    ("M.tensor(2.0).index_select(0, M.tensor([0, 0]))", IndexError,
     "index_select: index to a 0-d input must have one value, got 2"),
]
# fmt: on


# ------------------------------------------------------------------------- the checks
REFERENCE = json.loads(FIXTURE.read_text()) if FIXTURE.exists() else {"cases": {}, "dtypes": {}}
CASE_IDS = [c.name for c in CASES]


def _namespace(device):
    # ``M.tensor``/``M.zeros`` in an expression build constants on the device under test.
    return {"M": _OnDevice(device), "F": F}


class _OnDevice:
    """``autograd`` with tensor factories defaulting to one device."""

    _FACTORIES = ("tensor", "zeros", "ones")

    def __init__(self, device):
        self._device = device

    def __getattr__(self, name):
        value = getattr(A, name)
        if name in self._FACTORIES:
            return lambda *args, **kwargs: value(*args, **{"device": self._device, **kwargs})
        return value


def _inputs(case, dtype, device, requires_grad=True):
    stored = REFERENCE["cases"][case.name]["inputs"]
    out = {}
    for name, entry in stored.items():
        array = np.asarray(entry["data"], dtype=entry["dtype"]).reshape(entry["shape"])
        if array.dtype.kind == "f":
            out[name] = A.tensor(
                array, dtype=dtype, device=device, requires_grad=requires_grad and case.grad
            )
        else:
            out[name] = A.tensor(array, device=device)
    return out


def _evaluate(case, inputs, device):
    result = eval(case.expr, _namespace(device), dict(inputs))
    return tuple(result) if isinstance(result, tuple) else (result,)


def _as_host(value):
    if isinstance(value, A.Tensor):
        return value.detach().numpy()
    return np.asarray(value)


def _reference(case):
    if case.name not in REFERENCE["cases"]:
        pytest.fail(f"{case.name}: no PyTorch reference; run tests/fixtures/"
                    "make_surface_elem_fixtures.py")  # fmt: skip
    return REFERENCE["cases"][case.name]


def _weighted_loss(outputs, device):
    loss = None
    for out in outputs:
        if isinstance(out, A.Tensor) and out.dtype.kind == "f" and out.requires_grad:
            weights = A.arange(1, out.numel() + 1, dtype=out.dtype, device=device)
            term = (out * weights.reshape(out.shape)).sum()
            loss = term if loss is None else loss + term
    return loss


def test_reference_covers_the_table():
    missing = [c.name for c in CASES if c.name not in REFERENCE["cases"]]
    assert not missing, f"regenerate the fixture for {missing}"
    assert len(set(CASE_IDS)) == len(CASE_IDS), "duplicate case names"
    assert REFERENCE["torch_version"].startswith("2.13")


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_value_and_gradient_match_pytorch(case, device):
    reference = _reference(case)
    inputs = _inputs(case, A.float64, device)
    outputs = _evaluate(case, inputs, device)
    assert len(outputs) == len(reference["values"]), case.name
    for out, expected, dtype in zip(outputs, reference["values"], reference["dtypes"]):
        got = _as_host(out)
        assert str(got.dtype) == dtype, f"{case.name}: dtype {got.dtype}, PyTorch {dtype}"
        expected = np.asarray(expected, dtype=dtype).reshape(got.shape)
        assert got.shape == expected.shape
        if got.dtype.kind == "f":
            np.testing.assert_allclose(got, expected, rtol=case.rtol, atol=case.atol)
        else:
            np.testing.assert_array_equal(got, expected)
    if not case.grad:
        return
    loss = _weighted_loss(outputs, device)
    if loss is None:  # nothing differentiable came out (an empty result): no gradient anywhere
        assert all(g is None for g in reference["grads"].values())
        return
    loss.backward()
    for name, expected in reference["grads"].items():
        got = inputs[name].grad
        if expected is None:
            # PyTorch leaves .grad unset where the op has no path back; ours may send zeros.
            assert got is None or not _as_host(got).any(), f"{case.name}: grad of {name}"
            continue
        assert got is not None, f"{case.name}: no gradient reached {name}"
        np.testing.assert_allclose(
            _as_host(got),
            np.asarray(expected).reshape(got.shape),
            rtol=max(case.rtol, 1e-10),
            atol=max(case.atol, 1e-12),
            err_msg=f"{case.name}: gradient of {name}",
        )


def _differentiable_fn(case, names, device):
    def fn(*tensors):
        outputs = _evaluate(case, dict(zip(names, tensors)), device)
        return tuple(o for o in outputs if isinstance(o, A.Tensor) and o.dtype.kind == "f")

    return fn


CHECKED = [c for c in CASES if c.grad and c.gradcheck]


@pytest.mark.parametrize("case", CHECKED, ids=[c.name for c in CHECKED])
def test_gradcheck(case, device):
    inputs = _inputs(case, A.float64, device)
    names = list(inputs)
    assert A.gradcheck(_differentiable_fn(case, names, device), [inputs[n] for n in names])


SMOOTH = [c for c in CHECKED if c.smooth]


@pytest.mark.parametrize("case", SMOOTH, ids=[c.name for c in SMOOTH])
def test_gradgradcheck(case, device):
    inputs = _inputs(case, A.float64, device)
    names = list(inputs)
    assert A.gradgradcheck(_differentiable_fn(case, names, device), [inputs[n] for n in names])


FLOAT32 = [c for c in CASES if c.grad and c.keeps_dtype]


@pytest.mark.parametrize("case", FLOAT32, ids=[c.name for c in FLOAT32])
def test_float32_stays_float32(case, device):
    inputs = _inputs(case, A.float32, device)
    outputs = [o for o in _evaluate(case, inputs, device) if isinstance(o, A.Tensor)]
    floats = [o for o in outputs if o.dtype.kind == "f"]
    assert all(o.dtype == A.float32 for o in floats), [o.dtype for o in floats]
    loss = _weighted_loss(floats, device)
    if loss is None:
        return
    loss.backward()
    for name, x in inputs.items():
        if x.grad is not None:
            assert x.grad.dtype == A.float32, f"{case.name}: {name}.grad is {x.grad.dtype}"
            assert x.grad.shape == x.shape


@pytest.mark.parametrize("name,expr", DTYPE_CASES, ids=[n for n, _ in DTYPE_CASES])
def test_integer_inputs_promote_as_pytorch(name, expr, device):
    expected = REFERENCE["dtypes"][name]
    inputs = {k: A.tensor(v, device=device) for k, v in DTYPE_INPUTS.items()}
    out = _as_host(eval(expr, _namespace(device), inputs))
    assert str(out.dtype) == expected["dtype"], f"{expr}: {out.dtype}, PyTorch {expected['dtype']}"
    want = np.asarray(expected["value"], dtype=expected["dtype"])
    if out.dtype.kind == "f":
        np.testing.assert_allclose(out, want, rtol=2e-6, atol=1e-6)
    else:
        np.testing.assert_array_equal(out, want)


@pytest.mark.parametrize("expr,error,message", ERROR_CASES, ids=[e for e, _, _ in ERROR_CASES])
def test_bad_arguments_name_the_op(expr, error, message, device):
    names = {
        "x": A.ones(3, 4, 2, device=device),
        "i": A.tensor([1, 2, 3, 4, 5, 6], device=device),
        "b": A.tensor([True, False], device=device),
    }
    if expr.startswith("x.quantile") or expr.startswith("x.kthvalue"):
        names["x"] = A.ones(3, 4, device=device)
    with pytest.raises(error, match=message):
        eval(expr, _namespace(device), names)


# ----------------------------------------------------------- values the table can't express
def test_special_functions_match_math_on_a_grid():
    x = np.concatenate([np.linspace(-9.77, 25.3, 350), [1e-10, 0.5, 1.0, 2.0, 3.0, 170.2]])
    t = A.tensor(x, dtype=A.float64)
    lgamma = np.array([math.lgamma(v) for v in x])
    np.testing.assert_allclose(t.lgamma().numpy(), lgamma, rtol=1e-13, atol=3e-14)
    np.testing.assert_allclose(t.erf().numpy(), [math.erf(v) for v in x], rtol=1e-15, atol=1e-16)
    np.testing.assert_allclose(t.erfc().numpy(), [math.erfc(v) for v in x], rtol=1e-13, atol=0)


def test_special_functions_match_high_precision_values():
    # mpmath values stored by the fixture script (PyTorch's trigamma is good to ~1e-9 only).
    for name, entry in REFERENCE["mpmath"].items():
        x = A.tensor(entry["x"], dtype=A.float64)
        got = eval(entry["expr"], {"M": A}, {"x": x}).numpy()
        # atol: near digamma's root (1.4616...) only the absolute error is meaningful.
        np.testing.assert_allclose(
            got, entry["value"], rtol=entry["rtol"], atol=1e-15, err_msg=name
        )


def test_erfinv_inverts_erf_in_the_tails():
    y = np.concatenate([1 - np.logspace(-16, -1, 40), -1 + np.logspace(-16, -1, 40)])
    x = A.tensor(y, dtype=A.float64).erfinv()
    one_minus = A.tensor(1 - np.abs(y), dtype=A.float64)
    # erfc(|x|) recovers 1 - |y| to full relative precision, deep into the tail.
    np.testing.assert_allclose(x.abs().erfc().numpy(), one_minus.numpy(), rtol=1e-13)


@pytest.mark.parametrize("masked", [True, False], ids=["cpu_path", "gpu_path"])
def test_erfc_and_erfinv_agree_on_both_evaluation_paths(masked):
    # CuPy evaluates every range of erf on the whole array (no boolean gathers); NumPy gathers.
    from autograd.ops import special

    y = np.concatenate([np.linspace(-0.999, 0.999, 201), 1 - np.logspace(-15, -2, 20)])
    np.testing.assert_allclose(
        special.erfinv_array(np, y, masked), special.erfinv_array(np, y, not masked), rtol=1e-15
    )
    z = np.linspace(-8, 30, 301)
    np.testing.assert_allclose(
        special.erfc_array(np, z, masked), special.erfc_array(np, z, not masked), rtol=1e-15
    )


def test_sign_and_rounding_backward_give_zeros_not_an_error(device):
    x = A.tensor([1.5, -2.0, 0.0], device=device, requires_grad=True)
    for name in ("sign", "sgn", "floor", "ceil", "round", "trunc"):
        x.grad = None
        getattr(x, name)().sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 0.0], err_msg=name)


def test_batch_norm_on_an_empty_batch_keeps_running_statistics(device):
    mean = A.zeros(3, device=device)
    var = A.ones(3, device=device)
    out = F.batch_norm(A.zeros(0, 3, device=device), mean, var, training=True)
    assert out.shape == (0, 3)
    np.testing.assert_array_equal(mean.numpy(), [0, 0, 0])
    np.testing.assert_array_equal(var.numpy(), [1, 1, 1])


def test_memory_formats_are_exported_and_ignored():
    x = A.ones(2, 3)
    assert x.to(memory_format=A.channels_last) is x
    assert repr(A.preserve_format) == "autograd.preserve_format"
    assert x.float(memory_format=A.contiguous_format).dtype == A.float32


def test_cumprod_second_derivative_with_zeros(device):
    x = A.tensor([[2.0, 0.0, 3.0, 0.5], [0.0, 1.5, 2.0, -1.0]], dtype=A.float64, device=device,
                 requires_grad=True)  # fmt: skip
    assert A.gradgradcheck(lambda t: t.cumprod(1), [x])


def test_accumulate_fallback_matches_numpy():
    # CuPy's ufuncs have no accumulate for maximum / logaddexp: the base Backend's log-step scan
    # is what runs there. Check it against NumPy's ufunc.accumulate on the host.
    plain = backends.base.Backend(np, "cpu")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 9, 5))
    for name in ("maximum", "minimum", "logaddexp"):
        for axis in (0, 1, 2, -1):
            np.testing.assert_allclose(
                plain.accumulate(name, x, axis), getattr(np, name).accumulate(x, axis=axis)
            )


def test_ldexp_gradient_with_negative_integer_exponents(device):
    x = A.tensor([1.0, 3.0], dtype=A.float64, device=device, requires_grad=True)
    A.ldexp(x, A.tensor([-2, 3], device=device)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.25, 8.0])


def test_allclose_and_equal_return_python_bools(device):
    x = A.tensor([1.0, 2.0], device=device)
    assert A.allclose(x, x + 1e-9) is True
    assert x.allclose(x + 1e-3) is False
    assert A.allclose(A.tensor([float("nan")]), A.tensor([float("nan")]), equal_nan=True)
    assert A.equal(x, x.clone()) is True
    assert x.equal(A.tensor([1.0, 2.0, 3.0], device=device)) is False


def test_logcumsumexp_does_not_overflow(device):
    x = A.tensor([-1000.0, 0.0, 1000.0, 1000.0], dtype=A.float64, device=device,
                 requires_grad=True)  # fmt: skip
    out = x.logcumsumexp(0)
    np.testing.assert_allclose(out.detach().numpy(), [-1000.0, 0.0, 1000.0, 1000.0 + math.log(2)])
    out.sum().backward()
    assert np.isfinite(x.grad.numpy()).all()
