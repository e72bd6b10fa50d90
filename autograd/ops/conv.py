"""Convolution, N-d: conv, transposed conv, and im2col / col2im as ops (unfold / fold).

One geometry serves every op here. A convolution maps a "large" image of spatial size
``in_size`` to a "small" one of size ``out_size``; a transposed convolution maps the small one
back to the large one with the same geometry, and is the convolution's input gradient
(Chainer's deconvolution_2d). Three Functions make a closed family under differentiation:

- ``Conv(x, w, b)``:              y = conv(x, w) + b
- ``ConvTranspose(x, w, b)``:     y = conv_transpose(x, w) + b   (the adjoint of conv in x)
- ``ConvWeightGrad(x, g)``:       the weight gradient, a correlation of x with g

Each backward is written with the other two, so every derivative of every order is a
convolution again and ``create_graph=True`` works (a WGAN-GP penalty through a conv critic).

Forward is im2col (``backend.im2col``: a loop over kernel offsets of strided slices on NumPy, an
ElementwiseKernel on CuPy) and one GEMM per call, batched over groups with ``matmul``; a 1x1
stride-1 convolution skips im2col and is a plain matmul. col2im (``backend.col2im``) is the
adjoint: strided slice-adds on NumPy, a gather kernel on CuPy. Which column layout and which
col2im run is chosen by backend and shape (``_folded``, ``use_flat_shifts``); every choice is
tested equal to the others.

Layouts are PyTorch's: input (N, C, *spatial), conv weight (out, in / groups, *kernel),
transposed conv weight (in, out / groups, *kernel).
"""

from __future__ import annotations

import itertools
import math
from typing import Any, NamedTuple

from ..function import Function
from ..grad_mode import is_grad_enabled
from ..tensor import Tensor


class ConvGeometry(NamedTuple):
    """Where each window of a convolution reads: per spatial dim, the large image's size
    ``in_size``, the small one's ``out_size``, ``kernel``, ``stride``, the leading ``padding``
    (the trailing padding is implied by the sizes), ``dilation``; and ``groups``.
    """

    in_size: tuple
    out_size: tuple
    kernel: tuple
    stride: tuple
    padding: tuple
    dilation: tuple
    groups: int = 1

    @property
    def pointwise(self) -> bool:
        """A 1x1 kernel with stride 1 and no padding: the columns are the image itself."""
        return (
            self.in_size == self.out_size
            and all(k == 1 for k in self.kernel)
            and all(s == 1 for s in self.stride)
            and not any(self.padding)
        )


def conv_output_size(
    in_size: tuple, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple
) -> tuple:
    """floor((n + lo + hi - d (k - 1) - 1) / s) + 1 per dim, ``padding`` as (lo, hi) pairs."""
    return tuple(
        (n + lo + hi - d * (k - 1) - 1) // s + 1
        for n, k, s, (lo, hi), d in zip(in_size, kernel, stride, padding, dilation)
    )


# ------------------------------------------------------------------ array-level kernels
# Two column layouts, chosen by backend and shape (``_folded``):
#
# - folded (NumPy, small images): columns (groups, C / groups * prod(kernel), N * L), the batch
#   inside the GEMM's columns: one GEMM per group for the forward, the weight gradient and the
#   input gradient, at the price of transposing the (small) output-sized operands;
# - per sample (CuPy; NumPy for larger images): columns (N, groups, C / groups * prod(kernel), L)
#   straight from im2col, and a batch of per-sample GEMMs (one GEMM over N x L for small images).
#
# Measured on NumPy, one thread (CPU ms for im2col + forward + weight grad + input grad):
# LeNet's conv2 (10 x 10 outputs) 11.8 folded against 13.7 per sample; LeNet's conv1 (28 x 28)
# 6.3 against 5.6 and ResNet's 3x3 (32 x 32) 77 against 67, where the per-sample GEMMs are large
# enough and the transposes of the outputs cost more than they save.
FOLDED_IMAGE = 256


def _folded(backend: Any, geom: ConvGeometry) -> bool:
    """The folded layout: on backends that offer it, for images below ``FOLDED_IMAGE`` pixels."""
    return getattr(backend, "fold_batch", False) and math.prod(geom.out_size) < FOLDED_IMAGE


def _columns(backend: Any, x: Any, geom: ConvGeometry) -> Any:
    """im2col of x (N, C, *in_size) in the backend's layout (see above)."""
    n, c = x.shape[:2]
    g = geom.groups
    if _folded(backend, geom):
        if geom.pointwise:
            return _batch_inner(x, g)
        col = backend.im2col(
            x, geom.kernel, geom.stride, geom.padding, geom.dilation, geom.out_size,
            batch_inner=True,
        )  # fmt: skip
        return col.reshape(g, -1, n * math.prod(geom.out_size))
    if geom.pointwise:
        return x.reshape(n, g, c // g, -1)
    col = backend.im2col(x, geom.kernel, geom.stride, geom.padding, geom.dilation, geom.out_size)
    return col.reshape(n, g, -1, math.prod(geom.out_size))


def _image(backend: Any, col: Any, geom: ConvGeometry, n: int) -> Any:
    """col2im of columns in the backend's layout as (N, C, *in_size)."""
    if _folded(backend, geom):
        if geom.pointwise:
            c = col.shape[0] * col.shape[1]
            return col.reshape(c, n, -1).transpose(1, 0, 2).reshape((n, c) + tuple(geom.in_size))
        col = col.reshape((-1,) + tuple(geom.kernel) + (n,) + tuple(geom.out_size))
        return backend.col2im(
            col, geom.in_size, geom.stride, geom.padding, geom.dilation, batch_inner=True
        )
    if geom.pointwise:
        return col.reshape((n, -1) + tuple(geom.in_size))
    col = col.reshape((n, -1) + tuple(geom.kernel) + tuple(geom.out_size))
    return backend.col2im(col, geom.in_size, geom.stride, geom.padding, geom.dilation)


def _add_bias(y: Any, b: Any) -> Any:
    if b is not None:
        y += b.reshape((1, -1) + (1,) * (y.ndim - 2))
    return y


def _batch_inner(x: Any, groups: int) -> Any:
    """(N, C, *spatial) -> (groups, C / groups, N * pixels): one transposed copy."""
    n, c = x.shape[:2]
    return (
        x.reshape(n, groups, c // groups, -1).transpose(1, 2, 0, 3).reshape(groups, c // groups, -1)
    )


def _batch_outer(y: Any, n: int, spatial: tuple) -> Any:
    """(groups, C / groups, N * pixels) -> (N, C, *spatial), contiguous: one transposed copy."""
    g, c = y.shape[:2]
    y = y.reshape(g, c, n, -1).transpose(2, 0, 1, 3)
    return y.reshape((n, g * c) + tuple(spatial))


# Below this many output pixels per sample, one GEMM over (batch x pixels) beats a batch of
# thin per-sample GEMMs (DCGAN's 1x1 -> 3x3 -> 6x6 layers), at the price of one transposed copy.
# (The per-sample layout only: the folded one always runs one GEMM.)
SMALL_IMAGE = 64


def _conv(backend: Any, x: Any, w: Any, geom: ConvGeometry, col: Any = None) -> tuple:
    """(y (N, O, *out_size), the columns of x): one GEMM per group."""
    g = geom.groups
    n = x.shape[0]
    if col is None:
        col = _columns(backend, x, geom)
    w = w.reshape(g, w.shape[0] // g, -1)
    if _folded(backend, geom):
        return _batch_outer(w @ col, n, geom.out_size), col
    length = col.shape[-1]
    if length < SMALL_IMAGE:
        flat = col.transpose(1, 2, 0, 3).reshape(g, col.shape[2], n * length)
        y = (w @ flat).reshape(g, w.shape[1], n, length).transpose(2, 0, 1, 3)
        y = y.reshape((n, g * w.shape[1]) + tuple(geom.out_size))
    else:
        y = (w @ col).reshape((n, g * w.shape[1]) + tuple(geom.out_size))
    return y, col


def _conv_transpose(backend: Any, x: Any, w: Any, geom: ConvGeometry, flat: Any = None) -> Any:
    """x (N, C_in, *out_size), w (C_in, C_out / groups, *kernel) -> (N, C_out, *in_size).

    ``flat`` picks the col2im strategy (default: ``use_flat_shifts``): the shifted flat layout
    (see ``FlatShifts``) or columns of the exact size and ``backend.col2im``.
    """
    g = geom.groups
    n = x.shape[0]
    folded = _folded(backend, geom)
    if flat is None:
        flat = use_flat_shifts(backend, geom)
    layout = FlatShifts(geom) if flat else None
    w_t = w.reshape(g, w.shape[0] // g, -1).transpose(0, 2, 1)
    if layout is not None:
        x = layout.spread(backend.xp, x, g, folded)
    elif folded:
        x = _batch_inner(x, g)
    else:
        x = x.reshape(n, g, x.shape[1] // g, -1)
    if folded:
        col = w_t @ x
    elif x.shape[-1] < SMALL_IMAGE:
        length = x.shape[-1]
        flat_x = x.transpose(1, 2, 0, 3).reshape(g, x.shape[2], n * length)
        col = (w_t @ flat_x).reshape(g, w_t.shape[1], n, length).transpose(2, 0, 1, 3)
    else:
        col = w_t @ x
    if layout is not None:
        return layout.add_back(backend.xp, col, n, folded)
    return _image(backend, col, geom, n)


# A shifted flat layout costs (padded row length / output row length) more GEMM work; past this
# ratio the plain columns are cheaper (measured on LeNet's 10 -> 14 and ResNet's 32 -> 34 rows).
FLAT_SHIFTS_MAX_WASTE = 1.5


def use_flat_shifts(backend: Any, geom: ConvGeometry) -> bool:
    """Whether col2im of this geometry goes through ``FlatShifts``: stride 1, a real kernel,
    a backend whose col2im is a loop of slice-adds (NumPy), and little wasted GEMM work."""
    if not getattr(backend, "flat_shifts", False) or geom.pointwise:
        return False
    if any(s != 1 for s in geom.stride):
        return False
    return FlatShifts(geom).waste <= FLAT_SHIFTS_MAX_WASTE


class FlatShifts:
    """col2im for stride 1 as contiguous slice-adds: the "shifted flat" layout.

    Per (sample, channel), the padded large image is one flat row with strides ``steps``; an
    output pixel o sits at flat position sum(o_i * steps_i), and kernel offset k reads or writes
    ``shift_k = sum(k_i * dilation_i * steps_i)`` further on. Laying the small image out with
    the padded strides (zeros in the ``padded - out`` extra positions of each trailing dim)
    turns every kernel offset of col2im into one contiguous slice-add ``image[shift_k :
    shift_k + length] += col[k]``, instead of an N-d strided one. The extra positions are zero in
    the small image, so their columns are zero too and add nothing where they land: the result
    is exact. The price is ``waste`` = length / prod(out_size) more GEMM columns.
    """

    def __init__(self, geom: ConvGeometry) -> None:
        reach = [o + d * (k - 1) for o, k, d in zip(geom.out_size, geom.kernel, geom.dilation)]
        self.geom = geom
        self.padded = tuple(max(p + n, r) for p, n, r in zip(geom.padding, geom.in_size, reach))
        self.steps = tuple(math.prod(self.padded[i + 1 :]) for i in range(len(self.padded)))
        self.length = geom.out_size[0] * self.steps[0]
        self.shifts = [
            sum(k * d * s for k, d, s in zip(offset, geom.dilation, self.steps))
            for offset in itertools.product(*(range(k) for k in geom.kernel))
        ]
        self.total = max(max(self.shifts) + self.length, math.prod(self.padded))
        self.waste = self.length / math.prod(geom.out_size)

    def spread(self, xp: Any, x: Any, groups: int, folded: bool) -> Any:
        """The small image (N, C, *out_size) on the padded strides, as the GEMM's right operand:
        (groups, C / groups, N * length) when ``folded``, else (N, groups, C / groups, length)."""
        n, c = x.shape[:2]
        out = self.geom.out_size
        if self.length == math.prod(out):
            wide = x
        else:
            wide = xp.zeros((n, c, out[0]) + self.padded[1:], dtype=x.dtype)
            wide[(slice(None),) * 3 + tuple(slice(0, o) for o in out[1:])] = x
        if folded:
            return _batch_inner(wide, groups)
        return wide.reshape(n, groups, c // groups, self.length)

    def add_back(self, xp: Any, col: Any, n: int, folded: bool) -> Any:
        """Columns (``spread``'s layout, kernel rows) -> the large image (N, C, *in_size)."""
        kernels = len(self.shifts)
        if folded:  # (groups, C / groups * K, N * length) -> per offset (N, C, length) views
            col = col.reshape(-1, kernels, n, self.length).transpose(2, 0, 1, 3)
        else:
            col = col.reshape(n, -1, kernels, self.length)
        c = col.shape[1]
        flat = xp.zeros((n, c, self.total), dtype=col.dtype)
        for k, shift in enumerate(self.shifts):
            flat[:, :, shift : shift + self.length] += col[:, :, k]
        image = flat[:, :, : math.prod(self.padded)].reshape((n, c) + self.padded)
        geom = self.geom
        inside = tuple(slice(p, p + s) for p, s in zip(geom.padding, geom.in_size))
        return image[(slice(None), slice(None)) + inside]


def _weight_grad(backend: Any, x: Any, g: Any, geom: ConvGeometry, shape: tuple, col: Any) -> Any:
    """sum over batch and pixels of g (N, O, *out) times the columns of x: the conv weight's
    gradient, of ``shape`` (O, C / groups, *kernel)."""
    groups = geom.groups
    if col is None:
        col = _columns(backend, x, geom)
    if _folded(backend, geom):
        # One (O x N L) @ (N L x C k) GEMM per group; only g is transposed.
        return (_batch_inner(g, groups) @ col.swapaxes(-1, -2)).reshape(shape)
    n = g.shape[0]
    g = g.reshape(n, groups, g.shape[1] // groups, -1)
    out, length = g.shape[2:]
    ck = col.shape[2]
    if out * ck > length * (ck + out):
        # Per-sample products would be bigger than copying both operands: one GEMM over N x L.
        g_flat = g.transpose(1, 2, 0, 3).reshape(groups, out, n * length)
        col_flat = col.transpose(1, 0, 3, 2).reshape(groups, n * length, ck)
        grad = g_flat @ col_flat
    else:
        # One (out x L) @ (L x C k) GEMM per sample and group, then a small batch sum.
        grad = (g @ col.swapaxes(-1, -2)).sum(axis=0)
    return grad.reshape(shape)


def _bias_grad(grad_out: Tensor) -> Tensor:
    return grad_out.sum(dim=(0,) + tuple(range(2, grad_out.ndim)))


# ---------------------------------------------------------------------------- the ops
class Conv(Function):
    """y = conv(x, w) + b. ``col`` may carry x's columns when the caller has them already."""

    @staticmethod
    def forward(ctx, x, w, b, geom, col=None):
        need_x, need_w = ctx.needs_input_grad[:2]
        y, col = _conv(ctx.backend, x, w, geom, col)
        ctx.geom = geom
        ctx.weight_shape = w.shape
        # Backward keeps at most one im2col buffer: x's columns, for the weight gradient.
        ctx.save_for_backward(x if need_w else None, w if need_x else None, col if need_w else None)
        return _add_bias(y, b)

    @staticmethod
    def backward(ctx, grad_out):
        x, w, col = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        geom = ctx.geom
        grad_x = ConvTranspose.apply(grad_out, w, None, geom) if need_x else None
        grad_w = None
        if need_w:
            grad_w = ConvWeightGrad.apply(
                x, grad_out, geom, weight_shape=ctx.weight_shape, col=col.data
            )
        grad_b = _bias_grad(grad_out) if need_b else None
        return grad_x, grad_w, grad_b, None


class ConvTranspose(Function):
    """y = conv_transpose(x, w) + b: conv's adjoint in its input, with the same geometry."""

    @staticmethod
    def forward(ctx, x, w, b, geom):
        need_x, need_w = ctx.needs_input_grad[:2]
        ctx.geom = geom
        ctx.weight_shape = w.shape
        ctx.save_for_backward(x if need_w else None, w if need_x else None)
        return _add_bias(_conv_transpose(ctx.backend, x, w, geom), b)

    @staticmethod
    def backward(ctx, grad_out):
        x, w = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        geom = ctx.geom
        col = None
        if need_x and need_w and not is_grad_enabled():
            # Both gradients read the columns of grad_out: build them once.
            col = _columns(ctx.backend, grad_out.data, geom)
        grad_x = Conv.apply(grad_out, w, None, geom, col=col) if need_x else None
        grad_w = None
        if need_w:
            grad_w = ConvWeightGrad.apply(grad_out, x, geom, weight_shape=ctx.weight_shape, col=col)
        grad_b = _bias_grad(grad_out) if need_b else None
        return grad_x, grad_w, grad_b, None


class ConvWeightGrad(Function):
    """The conv weight gradient: the correlation of x (N, C, *in_size) with g (N, O, *out_size).

    Bilinear in (x, g), so its own gradients are a transposed conv and a conv.
    """

    @staticmethod
    def forward(ctx, x, g, geom, weight_shape, col=None):
        need_x, need_g = ctx.needs_input_grad[:2]
        ctx.geom = geom
        ctx.save_for_backward(x if need_g else None, g if need_x else None)
        return _weight_grad(ctx.backend, x, g, geom, weight_shape, col)

    @staticmethod
    def backward(ctx, grad_out):
        x, g = ctx.saved_tensors
        need_x, need_g = ctx.needs_input_grad[:2]
        geom = ctx.geom
        grad_x = ConvTranspose.apply(g, grad_out, None, geom) if need_x else None
        grad_g = Conv.apply(x, grad_out, None, geom) if need_g else None
        return grad_x, grad_g, None


class Unfold(Function):
    """im2col as an op: x (N, C, *in_size) -> (N, C, *kernel, *out_size), zeros at padding."""

    @staticmethod
    def forward(ctx, x, geom):
        ctx.geom = geom
        return ctx.backend.im2col(
            x, geom.kernel, geom.stride, geom.padding, geom.dilation, geom.out_size
        )

    @staticmethod
    def backward(ctx, grad_out):
        return Fold.apply(grad_out, ctx.geom), None


class Fold(Function):
    """col2im as an op, the adjoint of ``Unfold``: overlapping entries add up."""

    @staticmethod
    def forward(ctx, col, geom):
        ctx.geom = geom
        return ctx.backend.col2im(col, geom.in_size, geom.stride, geom.padding, geom.dilation)

    @staticmethod
    def backward(ctx, grad_out):
        return Unfold.apply(grad_out, ctx.geom), None
