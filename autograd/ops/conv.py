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
adjoint: strided slice-adds on NumPy, a gather kernel on CuPy.

Layouts are PyTorch's: input (N, C, *spatial), conv weight (out, in / groups, *kernel),
transposed conv weight (in, out / groups, *kernel).
"""

from __future__ import annotations

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
def _columns(backend: Any, x: Any, geom: ConvGeometry) -> Any:
    """im2col of x (N, C, *in_size) as (N, groups, C / groups * prod(kernel), L)."""
    n, c = x.shape[:2]
    if geom.pointwise:
        return x.reshape(n, geom.groups, c // geom.groups, -1)
    col = backend.im2col(x, geom.kernel, geom.stride, geom.padding, geom.dilation, geom.out_size)
    return col.reshape(n, geom.groups, -1, math.prod(geom.out_size))


def _image(backend: Any, col: Any, geom: ConvGeometry) -> Any:
    """col2im of columns (N, groups, C / groups * prod(kernel), L) as (N, C, *in_size)."""
    n = col.shape[0]
    if geom.pointwise:
        return col.reshape((n, -1) + tuple(geom.in_size))
    col = col.reshape((n, -1) + tuple(geom.kernel) + tuple(geom.out_size))
    return backend.col2im(col, geom.in_size, geom.stride, geom.padding, geom.dilation)


def _add_bias(y: Any, b: Any) -> Any:
    if b is not None:
        y += b.reshape((1, -1) + (1,) * (y.ndim - 2))
    return y


# Below this many output pixels per sample, one GEMM over (batch x pixels) beats a batch of
# thin per-sample GEMMs (DCGAN's 1x1 -> 3x3 -> 6x6 layers), at the price of one transposed copy.
SMALL_IMAGE = 64


def _conv(backend: Any, x: Any, w: Any, geom: ConvGeometry, col: Any = None) -> tuple:
    """(y (N, O, *out_size), the columns of x): one GEMM per group, batched by matmul."""
    g = geom.groups
    n = x.shape[0]
    if col is None:
        col = _columns(backend, x, geom)
    w = w.reshape(g, w.shape[0] // g, -1)
    length = col.shape[-1]
    if length < SMALL_IMAGE:
        flat = col.transpose(1, 2, 0, 3).reshape(g, col.shape[2], n * length)
        y = (w @ flat).reshape(g, w.shape[1], n, length).transpose(2, 0, 1, 3)
        y = y.reshape((n, g * w.shape[1]) + tuple(geom.out_size))
    else:
        y = (w @ col).reshape((n, g * w.shape[1]) + tuple(geom.out_size))
    return y, col


def _conv_transpose(backend: Any, x: Any, w: Any, geom: ConvGeometry) -> Any:
    """x (N, C_in, *out_size), w (C_in, C_out / groups, *kernel) -> (N, C_out, *in_size)."""
    g = geom.groups
    n = x.shape[0]
    w_t = w.reshape(g, w.shape[0] // g, -1).transpose(0, 2, 1)
    x = x.reshape(n, g, x.shape[1] // g, -1)
    length = x.shape[-1]
    if length < SMALL_IMAGE:
        flat = x.transpose(1, 2, 0, 3).reshape(g, x.shape[2], n * length)
        col = (w_t @ flat).reshape(g, w_t.shape[1], n, length).transpose(2, 0, 1, 3)
    else:
        col = w_t @ x
    return _image(backend, col, geom)


def _weight_grad(backend: Any, x: Any, g: Any, geom: ConvGeometry, shape: tuple, col: Any) -> Any:
    """sum over batch and pixels of g (N, O, *out) times the columns of x: the conv weight's
    gradient, of ``shape`` (O, C / groups, *kernel)."""
    groups = geom.groups
    if col is None:
        col = _columns(backend, x, geom)
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
