"""Special functions NumPy lacks (erf, erfc, erfinv, lgamma, digamma, polygamma), on ``xp``.

Each is written with array operations only, so the same code runs on NumPy and CuPy (CuPy has
``cupyx.scipy.special``, NumPy has no special functions at all). Accuracy in float64, measured
against PyTorch and Python's ``math`` in tests/test_ops_surface_elem.py: erf/erfc ~1e-16
(W. J. Cody's rational approximations), erfinv ~1e-15 (Giles' approximation polished by four
Halley / Newton steps), lgamma ~1e-14 absolute (Lanczos, g = 7, with the reflection formula
below 1/2), digamma and polygamma ~1e-15 (recurrence up to x >= 10, then the asymptotic series).
"""

from __future__ import annotations

import math
from typing import Any

from ..function import Function
from ..tensor import Tensor
from .elementwise import _floating
from .index import host_min_max

# W. J. Cody's rational Chebyshev approximations of erf/erfc (SPECFUN CALERF), |error| < 1e-16.
_ERF_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
          3.20937758913846947e03, 1.85777706184603153e-1)  # fmt: skip
_ERF_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
          2.84423683343917062e03)  # fmt: skip
_ERF_C = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
          2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
          2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8)  # fmt: skip
_ERF_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
          1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
          3.43936767414372164e03, 1.23033935480374942e03)  # fmt: skip
_ERF_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
          1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)  # fmt: skip
_ERF_Q = (2.56852019228982242e00, 1.87295284992346725e00, 5.27905102951428412e-1,
          6.05183413124413191e-2, 2.33520497626869185e-3)  # fmt: skip
INV_SQRT_PI = 0.56418958354775628695
INV_SQRT_2PI = 0.39894228040143267794
_SQRT1_2 = 0.70710678118654752440


def _erf_small(z: Any) -> Any:
    """erf(z) for |z| <= 0.46875: z P(z^2) / Q(z^2)."""
    zsq = z * z
    num = _ERF_A[4] * zsq
    den = zsq
    for i in range(3):
        num = (num + _ERF_A[i]) * zsq
        den = (den + _ERF_B[i]) * zsq
    return z * (num + _ERF_A[3]) / (den + _ERF_B[3])


def _erfc_rational_middle(y: Any) -> Any:
    """erfc(y) / exp(-y^2) for 0.46875 < y <= 4: P(y) / Q(y)."""
    num = _ERF_C[8] * y
    den = y
    for i in range(7):
        num = (num + _ERF_C[i]) * y
        den = (den + _ERF_D[i]) * y
    return (num + _ERF_C[7]) / (den + _ERF_D[7])


def _erfc_rational_tail(y: Any) -> Any:
    """erfc(y) / exp(-y^2) for y > 4: (1/sqrt(pi) - P(1/y^2) / (y^2 Q(1/y^2))) / y."""
    inv = 1.0 / (y * y)
    num = _ERF_P[5] * inv
    den = inv
    for i in range(4):
        num = (num + _ERF_P[i]) * inv
        den = (den + _ERF_Q[i]) * inv
    return (INV_SQRT_PI - inv * (num + _ERF_P[4]) / (den + _ERF_Q[4])) / y


def _times_exp_minus_square(xp: Any, y: Any, rational: Any) -> Any:
    """rational * exp(-y^2), with exp(-y^2) split at y rounded to 1/16 (no cancellation)."""
    r = xp.trunc(y * 16.0) / 16.0
    return xp.exp(-r * r) * xp.exp(-(y - r) * (y + r)) * rational


def erf_pieces(xp: Any, z: Any, masked: bool | None = None) -> tuple:
    """W. J. Cody's erf/erfc (SPECFUN CALERF, |error| ~ 1e-16): ``(value, is_small)``, where
    ``value`` is erf(z) where |z| <= 0.46875 and erfc(|z|) elsewhere.

    On the CPU each range is evaluated only on its own elements (boolean gathers are cheap
    there); on a GPU a boolean gather waits for the device, so every range is evaluated on
    clipped copies of the whole array and the results are selected. erfc(|z|) is below the
    smallest double beyond 27.5, so |z| is clipped there (erf(z) is exactly +-1 already at 6).
    """
    if masked is None:
        masked = xp.__name__ == "numpy"
    y = xp.abs(z)
    is_small = y <= 0.46875
    if masked:
        # Integer gathers: several times faster than boolean masks in NumPy. NaN goes "large".
        flat_z = z.reshape(-1)
        flat_small = is_small.reshape(-1)
        small_at = xp.flatnonzero(flat_small)
        large_at = xp.flatnonzero(~flat_small)
        value = xp.empty_like(flat_z)
        value[small_at] = _erf_small(flat_z[small_at])
        y_large = xp.minimum(y.reshape(-1)[large_at], 27.5)
        is_middle = y_large <= 4.0
        middle_at = xp.flatnonzero(is_middle)
        tail_at = xp.flatnonzero(~is_middle)
        rational = xp.empty_like(y_large)
        rational[middle_at] = _erfc_rational_middle(y_large[middle_at])
        rational[tail_at] = _erfc_rational_tail(y_large[tail_at])
        value[large_at] = _times_exp_minus_square(xp, y_large, rational)
        return value.reshape(z.shape), is_small
    small = _erf_small(xp.clip(z, -0.46875, 0.46875))
    y_large = xp.clip(y, 0.46875, 27.5)
    middle = _erfc_rational_middle(xp.minimum(y_large, 4.0))
    tail = _erfc_rational_tail(xp.maximum(y_large, 4.0))
    erfc_abs = _times_exp_minus_square(xp, y_large, xp.where(y_large <= 4.0, middle, tail))
    return xp.where(is_small, small, erfc_abs), is_small


def erf_array(xp: Any, z: Any, masked: bool | None = None) -> Any:
    """erf of a backend array (NumPy has none), to ~1e-16 in float64."""
    value, is_small = erf_pieces(xp, z, masked)
    large = (0.5 - value) + 0.5
    return xp.where(is_small, value, xp.where(z < 0, -large, large))


def normal_cdf_array(xp: Any, x: Any, masked: bool | None = None) -> Any:
    """Phi(x) = erfc(-x / sqrt 2) / 2, accurate in the lower tail too (no 1 + erf cancellation)."""
    z = x * -_SQRT1_2
    value, is_small = erf_pieces(xp, z, masked)
    erfc = xp.where(is_small, 1.0 - value, xp.where(z < 0, 2.0 - value, value))
    return 0.5 * erfc


def erfc_array(xp: Any, z: Any, masked: bool | None = None) -> Any:
    """erfc(z) = 1 - erf(z) without the cancellation for large z (erfc(10) ~ 2e-45)."""
    value, is_small = erf_pieces(xp, z, masked)
    return xp.where(is_small, 1.0 - value, xp.where(z < 0, 2.0 - value, value))


# Giles, "Approximating the erfinv function" (GPU Computing Gems, 2010), single precision:
# a first guess (good to ~1e-7 in the centre, a few percent in the far tail) that four
# Halley / Newton steps take to full double precision.
_GILES_CENTRAL = (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06,
                  0.00021858087, -0.00125372503, -0.00417768164, 0.246640727,
                  1.50140941)  # fmt: skip
_GILES_TAIL = (-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
               -0.0076224613, 0.00943887047, 1.00167406, 2.83297682)  # fmt: skip
_TWO_OVER_SQRT_PI = 1.12837916709551257390
SQRT_PI_OVER_2 = 0.88622692545275801365


def _horner(coefficients: tuple, w: Any) -> Any:
    p = coefficients[0]
    for c in coefficients[1:]:
        p = p * w + c
    return p


def erfinv_array(xp: Any, y: Any, masked: bool | None = None) -> Any:
    """The inverse of erf on [-1, 1]: +-inf at +-1, NaN outside (as PyTorch).

    ``masked``: how erf is evaluated (see ``erf_pieces``; None picks by array library).
    """
    a = xp.abs(y)
    inside = a < 1
    safe = xp.where(inside, a, 0.5)  # no log(0) or log of a negative on the masked elements
    w = -xp.log((1.0 - safe) * (1.0 + safe))
    central = _horner(_GILES_CENTRAL, w - 2.5)
    tail = _horner(_GILES_TAIL, xp.sqrt(xp.maximum(w, 5.0)) - 3.0)
    x = xp.where(w < 5.0, central, tail) * safe
    upper = safe > 0.5
    one_minus = 1.0 - safe  # exact for safe >= 1/2 (Sterbenz): the tail's residual keeps its digits
    log_one_minus = xp.log(one_minus)
    for _ in range(4):
        value, is_small = erf_pieces(xp, x, masked)
        slope = _TWO_OVER_SQRT_PI * xp.exp(-x * x)
        # Below 1/2, Halley's step for erf(x) - a (f'' = -2 x f'); above, Newton's step for
        # log erfc(x) - log(1 - a), nearly quadratic in x, so the far tail converges too.
        residual = xp.where(is_small, value, 1.0 - value) - safe
        halley = x - residual / (slope + x * residual)
        erfc_x = xp.where(is_small, 1.0 - value, value)
        newton = x + (xp.log(erfc_x) - log_one_minus) * erfc_x / slope
        x = xp.where(upper, newton, halley)
    x = xp.where(inside, x, xp.where(a == 1, xp.inf, xp.nan))
    return (xp.where(y < 0, -x, x)).astype(y.dtype, copy=False)


# Lanczos' approximation with g = 7 and 9 coefficients (Godfrey's), relative error ~1e-15.
_LANCZOS_G = 7.0
_LANCZOS = (0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
            -176.61502916214059, 12.507343278686905, -0.13857109526572012,
            9.9843695780195716e-6, 1.5056327351493116e-7)  # fmt: skip
_HALF_LOG_2PI = 0.91893853320467274178
_LOG_PI = 1.14472988584940017414


def _is_integer(xp: Any, x: Any) -> Any:
    return x == xp.floor(x)


def _sin_pi(xp: Any, x: Any) -> Any:
    """|sin(pi x)| with the argument reduced first (pi * 1e6 is not a multiple of pi in floats)."""
    r = x - 2.0 * xp.floor(x * 0.5)
    return xp.abs(xp.sin(math.pi * r))


def lgamma_array(xp: Any, x: Any) -> Any:
    """log |Gamma(x)|; +inf at the poles 0, -1, -2, ... (as PyTorch and ``math.lgamma``)."""
    reflect = x < 0.5
    pole = reflect & _is_integer(xp, x)
    z = xp.where(reflect, 1.0 - x, x) - 1.0
    acc = _LANCZOS[0] + xp.zeros_like(z)
    for i in range(1, len(_LANCZOS)):
        acc = acc + _LANCZOS[i] / (z + i)
    t = z + (_LANCZOS_G + 0.5)
    log_gamma = _HALF_LOG_2PI + (z + 0.5) * xp.log(t) - t + xp.log(acc)
    sin_pi = _sin_pi(xp, xp.where(reflect & ~pole, x, 0.5))
    reflected = _LOG_PI - xp.log(sin_pi) - log_gamma
    out = xp.where(reflect, xp.where(pole, xp.inf, reflected), log_gamma)
    return out.astype(x.dtype, copy=False)


# Bernoulli numbers B_2, B_4, ..., B_16 for the asymptotic series.
_BERNOULLI = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510)
_ASYMPTOTIC_FROM = 10.0


def digamma_array(xp: Any, x: Any) -> Any:
    """psi(x) = d log Gamma / dx. At 0 it is -inf, at negative integers NaN (as PyTorch)."""
    reflect = x < 0.5
    pole = _is_integer(xp, x) & reflect
    w = xp.where(reflect, 1.0 - x, x)
    w = xp.where(pole, 1.0, w)
    # psi(w) = psi(w + 1) - 1 / w: step every element up to the asymptotic range (<= 10 steps).
    acc = xp.zeros_like(w)
    for _ in range(int(_ASYMPTOTIC_FROM)):
        below = w < _ASYMPTOTIC_FROM
        acc = acc - xp.where(below, 1.0 / w, 0.0)
        w = xp.where(below, w + 1.0, w)
    inv2 = 1.0 / (w * w)
    series = xp.zeros_like(w)
    for k in range(len(_BERNOULLI), 0, -1):
        series = (series + _BERNOULLI[k - 1] / (2 * k)) * inv2 if k > 1 else series
    series = (series + _BERNOULLI[0] / 2) * inv2
    psi = xp.log(w) - 0.5 / w - series + acc
    # Reflection: psi(x) = psi(1 - x) - pi / tan(pi x), with tan's argument reduced mod 1.
    r = x - xp.floor(x)
    cot = 1.0 / xp.tan(math.pi * xp.where(reflect & ~pole, r, 0.5))
    reflected = psi - math.pi * cot
    out = xp.where(reflect, reflected, psi)
    out = xp.where(pole, xp.where(x == 0, -xp.inf, xp.nan), out)
    return out.astype(x.dtype, copy=False)


def polygamma_array(xp: Any, n: int, x: Any) -> Any:
    """The n-th derivative of digamma, n >= 1: (-1)^(n+1) n! sum_k 1 / (x + k)^(n+1).

    Computed by the recurrence up to x >= 10 + n, then the asymptotic series; inputs below -1000
    would need too many steps and are refused. At the poles 0, -1, ... it is +inf for odd n and
    -inf for even n (PyTorch's values at 0).
    """
    if n == 0:
        return digamma_array(xp, x)
    start = _ASYMPTOTIC_FROM + n
    lowest = host_min_max(x)[0] if x.size else start
    if lowest < -1000:
        raise ValueError(
            f"polygamma: inputs below -1000 are not supported (got {lowest}); the recurrence "
            "used here would take too many steps"
        )
    sign = 1.0 if n % 2 == 1 else -1.0
    n_factorial = math.factorial(n)
    pole = (x <= 0) & _is_integer(xp, x)
    w = xp.where(pole, 1.0, x)
    acc = xp.zeros_like(w)
    steps = int(math.ceil(start - lowest)) if lowest < start else 0
    for _ in range(steps):
        below = w < start
        acc = acc + xp.where(below, 1.0 / w ** (n + 1), 0.0)
        w = xp.where(below, w + 1.0, w)
    # (n-1)!/w^n + n!/(2 w^(n+1)) + sum_k B_2k (2k+n-1)! / ((2k)! w^(2k+n))
    inv = 1.0 / w
    series = math.factorial(n - 1) * inv**n + 0.5 * n_factorial * inv ** (n + 1)
    for k, b in enumerate(_BERNOULLI, start=1):
        coefficient = b * math.factorial(2 * k + n - 1) / math.factorial(2 * k)
        series = series + coefficient * inv ** (2 * k + n)
    out = sign * (series + n_factorial * acc)
    out = xp.where(pole, sign * xp.inf, out)
    return out.astype(x.dtype, copy=False)


# ----------------------------------------------------------------------------------- the ops
class Erf(Function):
    @staticmethod
    def forward(ctx, a):
        a = _floating(ctx, a)
        ctx.save_for_backward(a)
        return erf_array(ctx.xp, a)

    @staticmethod
    def backward(ctx, grad_out):
        (a,) = ctx.saved_tensors
        return grad_out * (a * a).neg().exp() * _TWO_OVER_SQRT_PI


class Erfc(Function):
    @staticmethod
    def forward(ctx, a):
        a = _floating(ctx, a)
        ctx.save_for_backward(a)
        return erfc_array(ctx.xp, a)

    @staticmethod
    def backward(ctx, grad_out):
        (a,) = ctx.saved_tensors
        return grad_out * (a * a).neg().exp() * -_TWO_OVER_SQRT_PI


class Erfinv(Function):
    @staticmethod
    def forward(ctx, a):
        out = erfinv_array(ctx.xp, _floating(ctx, a))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        (out,) = ctx.saved_tensors
        return grad_out * (out * out).exp() * SQRT_PI_OVER_2


class Lgamma(Function):
    @staticmethod
    def forward(ctx, a):
        a = _floating(ctx, a)
        ctx.save_for_backward(a)
        return lgamma_array(ctx.xp, a)

    @staticmethod
    def backward(ctx, grad_out):
        (a,) = ctx.saved_tensors
        return grad_out * Digamma.apply(a)


class Digamma(Function):
    @staticmethod
    def forward(ctx, a):
        a = _floating(ctx, a)
        ctx.save_for_backward(a)
        return digamma_array(ctx.xp, a)

    @staticmethod
    def backward(ctx, grad_out):
        (a,) = ctx.saved_tensors
        return grad_out * Polygamma.apply(a, 1)


class Polygamma(Function):
    @staticmethod
    def forward(ctx, a, n):
        a = _floating(ctx, a)
        ctx.save_for_backward(a)
        ctx.n = n
        return polygamma_array(ctx.xp, n, a)

    @staticmethod
    def backward(ctx, grad_out):
        (a,) = ctx.saved_tensors
        return grad_out * Polygamma.apply(a, ctx.n + 1), None


def erf(input: Tensor) -> Tensor:
    """The error function 2/sqrt(pi) int_0^x exp(-t^2) dt. Shape: any -> same (ints -> float)."""
    return Erf.apply(input)


def erfc(input: Tensor) -> Tensor:
    """1 - erf(x), accurate where erf(x) is close to 1. Shape: any -> same."""
    return Erfc.apply(input)


def erfinv(input: Tensor) -> Tensor:
    """The inverse error function on [-1, 1] (+-inf at +-1, NaN outside). Shape: any -> same."""
    return Erfinv.apply(input)


def lgamma(input: Tensor) -> Tensor:
    """log |Gamma(x)| (inf at 0, -1, -2, ...). Shape: any -> same."""
    return Lgamma.apply(input)


def digamma(input: Tensor) -> Tensor:
    """d/dx log Gamma(x) (-inf at 0, NaN at negative integers, as PyTorch). Shape: any -> same."""
    return Digamma.apply(input)


def polygamma(n: int, input: Tensor) -> Tensor:
    """The n-th derivative of digamma (``polygamma(0, x)`` is digamma). Shape: any -> same."""
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise ValueError(f"polygamma: n must be a non-negative int, got {n!r}")
    if n == 0:
        return Digamma.apply(input)
    return Polygamma.apply(input, n)
