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
col2im run is chosen by backend and shape (``_folded``, ``use_flat_shifts``). On NumPy a
stride-1 conv with many channels skips im2col altogether: one GEMM per kernel offset on shifted
slices of the padded image (``KernelOffsets``, chosen by ``use_kernel_offsets``). Every choice
is tested equal to the others.

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


def _columns(backend: Any, x: Any, geom: ConvGeometry, offsets: bool = True) -> Any:
    """im2col of x (N, C, *in_size) in the backend's layout (see above); for kernel offsets
    (unless ``offsets`` is False), no columns but the padded image in ``KernelOffsets.large``'s
    layout."""
    n, c = x.shape[:2]
    g = geom.groups
    if n == 0:  # an empty batch: x stands for its empty columns (_conv, _weight_grad know)
        return x
    if offsets and use_kernel_offsets(backend, geom, c // g, x.dtype):
        return KernelOffsets(geom).large(backend.xp, x, g)
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


def _all_finite(xp: Any, a: Any) -> bool:
    """Whether every entry of ``a`` is finite (one pass and a host read; the shifted layouts,
    which need it, run on NumPy only). Those layouts multiply the zeros between an image's
    pixels by real entries of the other operand, products the column path never forms: a
    non-finite operand would turn them into NaN (0 x inf), so it takes the column path and
    gives PyTorch's values."""
    return bool(xp.isfinite(a).all())


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
    if n == 0:  # an empty batch: an empty output (x stands for its empty columns)
        return backend.xp.zeros((0, w.shape[0]) + tuple(geom.out_size), x.dtype), x
    if use_kernel_offsets(backend, geom, x.shape[1] // g, x.dtype):
        return _conv_offsets(backend, x, w, geom, col)
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

    By default the strategy is chosen by shape: kernel offsets (``use_kernel_offsets``), else
    columns and a col2im through ``FlatShifts`` (``use_flat_shifts``) or ``backend.col2im``.
    ``flat`` forces one of the latter two: the shifted flat layout or exact-size columns.
    """
    g = geom.groups
    n = x.shape[0]
    if n == 0:
        return backend.xp.zeros((0, w.shape[1] * g) + tuple(geom.in_size), x.dtype)
    if flat is None:
        offsets = use_kernel_offsets(backend, geom, x.shape[1] // g, x.dtype)
        flat = not offsets and use_flat_shifts(backend, geom)
        if (offsets or flat) and not _all_finite(backend.xp, w):
            offsets = flat = False  # the shifted layouts would multiply zeros by inf/NaN weights
        if offsets:
            return _conv_transpose_offsets(backend, x, w, geom)
    folded = _folded(backend, geom)
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


# ------------------------------------------------------------- the kernel-offset strategy
# For stride 1 with many channels, NumPy skips im2col (see ``KernelOffsets``). Measured per
# call on NumPy, float32, one thread, CPU ms (process_time, columns and kernel offsets
# alternating, median of 7-9; the 2-core machine shared with other jobs, so +-15%):
#
#   layer, batch: C contracted, waste      forward       weight grad   input grad    all
#   ResNet 3x3 32->32 32x32 p1, 32: 32 1.13  17.6 -> 11.9  13.4 -> 15.2  21.7 -> 12.0  0.75x
#   3x3 16->16 32x32 p1, 32: 16 1.13          5.8 -> 4.0    4.5 -> 5.4    6.8 -> 3.7   0.77x
#   3x3 8->8 32x32 p1, 32: 8 1.13             1.7 -> 1.7    0.6 -> 2.9    3.7 -> 1.6   1.08x
#   5x5 16->16 14x14, 128: 16 1.96            9.8 -> 8.2    6.6 -> 11.4  16.7 -> 8.0   0.81x
#   3x3 64->64 16x16 p1, 32: 64 1.27         12.3 -> 12.7  11.4 -> 12.0  13.2 -> 12.5  1.01x
#   3x3 128->128 8x8 p1, 32: 128 1.56         9.4 -> 13.3   7.6 -> 12.0  11.9 -> 13.5  1.35x
#   3x3 256->256 4x4 p1, 32: 256 2.25         8.9 -> 18.9   7.1 -> 16.2  13.0 -> 19.5  1.88x
#   LeNet conv1 1->6 28x28 p2, 128: 1 1.31    1.9 -> 26.8   0.7 -> 2.2   (not needed)  11x
#   LeNet conv2 6->16 14x14, 128: 6 1.96      2.4 -> 4.4    1.7 -> 4.9   (16) 3.8 -> 2.7
#   DCGAN convT 256->128 3x3->6x6, 64:        10.0 -> 35.8   7.3 -> 27.8  13.4 -> 32.4  3.0x
#     128 (input grad 256) 4.0
#
# (The contracted channels C are the large image's for the forward and the weight gradient,
# the small image's for the input gradient; waste = padded block / output pixels.) The shifted
# adds cost (kernel x out channels) per output pixel against (kernel x out x C) multiply-adds
# in the GEMM, so few contracted channels lose (LeNet's 1 and 6, and 8 about even); the wasted
# columns (padded rows' ends, the gaps between samples) cost (waste - 1) x the whole GEMM,
# which outweighs the im2col saved once there are many channels (im2col is cheap next to a
# GEMM over 128 channels). Hence the rule: C >= 16 and (waste - 1) x C <= 16. The weight
# gradient alone is slower than from im2col columns, but the forward no longer builds them.
KERNEL_OFFSETS_MIN_CHANNELS = 16
KERNEL_OFFSETS_MAX_WASTED_CHANNELS = 16.0
# Columns per GEMM of the kernel-offset loop: its (kernel x out) rows times this many columns
# fill about this many bytes, so that the shifted adds read them from cache (ResNet's 3x3: 4096
# columns of 288 rows; 4096 and 8192 ran 10.5-11 ms, 2048 13, all at once 12-13).
KERNEL_OFFSETS_CHUNK_BYTES = 4 << 20


def use_kernel_offsets(backend: Any, geom: ConvGeometry, channels: int, dtype: Any = None) -> bool:
    """Whether this geometry runs as a kernel-offset loop of GEMMs (``KernelOffsets``): stride
    1, a real kernel, a backend that asks for it (NumPy), at least
    ``KERNEL_OFFSETS_MIN_CHANNELS`` contracted ``channels`` per group (the large image's for
    conv and its weight gradient, the small image's for the transposed conv), and wasted GEMM
    columns times ``channels`` at most ``KERNEL_OFFSETS_MAX_WASTED_CHANNELS`` (see above).
    Half precision keeps the columns: the shifted adds round once per kernel offset in
    float16 (3x the error of the column path's GEMM, measured against float64)."""
    if not getattr(backend, "kernel_offsets", False) or geom.pointwise:
        return False
    if dtype is not None and backend.xp.dtype(dtype).itemsize < 4:
        return False
    if any(s != 1 for s in geom.stride) or channels < KERNEL_OFFSETS_MIN_CHANNELS:
        return False
    return (KernelOffsets(geom).waste - 1) * channels <= KERNEL_OFFSETS_MAX_WASTED_CHANNELS


class KernelOffsets(FlatShifts):
    """Stride-1 convolutions as one GEMM per kernel offset on shifted slices, without im2col.

    The large image, padded, is laid out channels first with the batch inside the columns:
    (groups, C / groups, N x block), block = prod(padded), every sample a block of ``padded``
    strides (``FlatShifts``'s flat layout, one block after the other). An output pixel at flat
    position o reads kernel offset k at o + shift_k, so

    - conv:            y[:, o]       = sum_k W_k @ x[:, o + shift_k]
    - transposed conv: x[:, p]       = sum_k W_k^T @ y[:, p - shift_k]
    - weight grad:     dW_k          = y @ x[:, shift_k :]^T   (sum over every column)

    with y on the same strides, zeros between its pixels. Each is a GEMM per offset on a
    contiguous-row slice; the first two run as one GEMM of all offsets' weights stacked,
    (kernel x out, in) @ (in, columns), in chunks of columns, then a sum of the stacked rows
    shifted by shift_k, read from cache. The GEMMs also compute the columns between the
    output pixels (the padded rows' ends, the gap between samples), which are dropped: that is
    ``waste`` = block / prod(out_size) more work. Layouts at the edges stay PyTorch's: the
    arrays in and out are (N, C, *spatial), and the moves to and from this layout are one
    copy each.
    """

    def __init__(self, geom: ConvGeometry) -> None:
        super().__init__(geom)
        self.block = math.prod(self.padded)
        self.waste = self.block / math.prod(geom.out_size)

    def rows(self, n: int) -> int:
        """The columns a conv computes for n samples: up to the last sample's last output row."""
        return (n - 1) * self.block + self.length

    def large(self, xp: Any, x: Any, groups: int) -> Any:
        """x (N, C, *in_size) -> (groups, C / groups, (N - 1) block + total), zero padded."""
        n, c = x.shape[:2]
        buf = xp.zeros((c, (n - 1) * self.block + self.total), dtype=x.dtype)
        image = buf[:, : n * self.block].reshape((c, n) + self.padded)
        inside = tuple(slice(p, p + s) for p, s in zip(self.geom.padding, self.geom.in_size))
        image[(slice(None), slice(None)) + inside] = x.swapaxes(0, 1)
        return buf.reshape(groups, c // groups, -1)

    def small(self, xp: Any, y: Any, groups: int, front: int = 0) -> Any:
        """y (N, C, *out_size) -> (groups, C / groups, front + N block) on the padded strides,
        after ``front`` zero columns, zeros between the pixels."""
        n, c = y.shape[:2]
        buf = xp.zeros((c, front + n * self.block), dtype=y.dtype)
        image = buf[:, front:].reshape((c, n) + self.padded)
        image[(slice(None), slice(None)) + tuple(slice(0, o) for o in self.geom.out_size)] = (
            y.swapaxes(0, 1)
        )
        return buf.reshape(groups, c // groups, -1)

    def image(self, out: Any, n: int, window: tuple) -> Any:
        """(groups, C / groups, N block) -> (N, C, *extents), the ``window`` slices of every
        block: one transposed copy."""
        c = out.shape[0] * out.shape[1]
        image = out.reshape((c, n) + self.padded)[(slice(None), slice(None)) + window]
        return image.swapaxes(0, 1).copy()

    def shifted_gemms(self, xp: Any, w: Any, src: Any, shifts: list, cols: int) -> Any:
        """out[:, :, j] = sum_k w[:, k] @ src[:, :, j + shifts[k]] for j < ``cols`` (the rest of
        the N x block columns left unset); w (groups, kernel, O, C), src (groups, C, ...)."""
        g, kernels, o, c = w.shape
        n = -(-cols // self.block)
        out = xp.empty((g, o, n * self.block), dtype=src.dtype)
        lo, span = min(shifts), max(shifts) - min(shifts)
        chunk = max(KERNEL_OFFSETS_CHUNK_BYTES // (g * kernels * o * src.itemsize), 1)
        if 4 * span > chunk:
            # Each chunk's stacked GEMM also computes ``span`` columns past it: past a quarter
            # more work (big kernels, many output channels), one GEMM per offset instead.
            return self._gemm_per_offset(xp, w, src, shifts, cols, out)
        stacked = xp.empty((g, kernels * o, min(chunk, cols) + span), dtype=src.dtype)
        w = w.reshape(g, kernels * o, c)
        for a in range(0, cols, chunk):
            b = min(a + chunk, cols)
            part = stacked[..., : b - a + span]
            xp.matmul(w, src[..., a + lo : b + lo + span], out=part)
            part = part.reshape(g, kernels, o, -1)
            acc = out[..., a:b]
            for k, shift in enumerate(shifts):
                s = shift - lo
                if k == 0:
                    xp.copyto(acc, part[:, k, :, s : s + b - a])
                else:
                    acc += part[:, k, :, s : s + b - a]
        return out

    def _gemm_per_offset(self, xp: Any, w: Any, src: Any, shifts: list, cols: int, out: Any) -> Any:
        """``shifted_gemms`` as one (O, C) @ (C, chunk) GEMM per kernel offset, added up:
        no column computed twice, at the price of re-reading each chunk of ``src``."""
        g, kernels, o, c = w.shape
        chunk = max(KERNEL_OFFSETS_CHUNK_BYTES // (g * o * src.itemsize), 1)
        part = xp.empty((g, o, min(chunk, cols)), dtype=src.dtype)
        for a in range(0, cols, chunk):
            b = min(a + chunk, cols)
            acc, tmp = out[..., a:b], part[..., : b - a]
            for k, shift in enumerate(shifts):
                xp.matmul(w[:, k], src[..., a + shift : b + shift], out=tmp)
                if k == 0:
                    xp.copyto(acc, tmp)
                else:
                    acc += tmp
        return out


def _conv_offsets(backend: Any, x: Any, w: Any, geom: ConvGeometry, col: Any = None) -> tuple:
    """``_conv`` by kernel offsets; ``col`` is x in ``KernelOffsets.large``'s layout."""
    layout = KernelOffsets(geom)
    xp, g, n = backend.xp, geom.groups, x.shape[0]
    if col is None:
        col = layout.large(xp, x, g)
    kernels = len(layout.shifts)
    w_k = w.reshape(g, w.shape[0] // g, -1, kernels).transpose(0, 3, 1, 2).copy()
    out = layout.shifted_gemms(xp, w_k, col, layout.shifts, layout.rows(n))
    return layout.image(out, n, tuple(slice(0, o) for o in geom.out_size)), col


def _conv_transpose_offsets(backend: Any, x: Any, w: Any, geom: ConvGeometry) -> Any:
    """``_conv_transpose`` by kernel offsets: the gather form, x shifted back by shift_k."""
    layout = KernelOffsets(geom)
    xp, g, n = backend.xp, geom.groups, x.shape[0]
    kernels = len(layout.shifts)
    w_k = w.reshape(g, w.shape[0] // g, -1, kernels).transpose(0, 3, 2, 1).copy()
    front = max(layout.shifts)
    src = layout.small(xp, x, g, front)
    shifts = [front - s for s in layout.shifts]
    out = layout.shifted_gemms(xp, w_k, src, shifts, n * layout.block)
    inside = tuple(slice(p, p + s) for p, s in zip(geom.padding, geom.in_size))
    return layout.image(out, n, inside)


def _weight_grad_offsets(
    backend: Any, x: Any, g: Any, geom: ConvGeometry, shape: tuple, col: Any
) -> Any:
    """``_weight_grad`` by kernel offsets: one (O, columns) @ (columns, C) GEMM per offset."""
    layout = KernelOffsets(geom)
    xp, groups = backend.xp, geom.groups
    if col is None:
        col = layout.large(xp, x, groups)
    rows = layout.rows(x.shape[0])
    g = layout.small(xp, g, groups)[..., :rows]
    grad = xp.empty((len(layout.shifts),) + g.shape[:2] + col.shape[1:2], dtype=g.dtype)
    for k, shift in enumerate(layout.shifts):
        xp.matmul(g, col[..., shift : shift + rows].swapaxes(-1, -2), out=grad[k])
    return grad.transpose(1, 2, 3, 0).reshape(shape)


def _times_transposed(a: Any, b: Any) -> Any:
    """``a @ b.swapaxes(-1, -2)`` for a long inner dimension (batch x pixels), with the operand of
    more rows on the GEMM's left: ``(b @ a.T).T`` when b has more rows. Used by the folded
    layout (NumPy's), whose weight gradient is one such GEMM per group.

    Same products, bit for bit on NumPy's OpenBLAS (checked on float32 and float64); measured
    on NumPy, one thread, float32, CPU ms for (rows of a, rows of b, inner) as a @ b.T against
    (b @ a.T).T, 8 alternating rounds, medians: LeNet's conv2 (16, 150, 12800) 3.5 against
    1.9 (2.0 against 1.3 in another run); (6, 150, 12800) 1.8 against 1.0; (16, 54, 8192) 0.49
    against 0.32; (64, 512, 3136) 3.3 against 2.8; (128, 576, 2048) 4.6 against 4.5; the other
    way round, (150, 16, 12800) 1.4 against 2.1 and (32, 16, 3136) 0.08 against 0.11. Not for
    the per-sample GEMMs (inner = pixels): LeNet's conv1 (6, 25, 784) x 128 measured 0.92
    against 0.91 (30 rounds), so they stay as they are.
    """
    if b.shape[-2] > a.shape[-2]:
        return (b @ a.swapaxes(-1, -2)).swapaxes(-1, -2)
    return a @ b.swapaxes(-1, -2)


def _weight_grad(backend: Any, x: Any, g: Any, geom: ConvGeometry, shape: tuple, col: Any) -> Any:
    """sum over batch and pixels of g (N, O, *out) times the columns of x: the conv weight's
    gradient, of ``shape`` (O, C / groups, *kernel)."""
    groups = geom.groups
    if x.shape[0] == 0:  # an empty batch adds nothing
        return backend.xp.zeros(shape, g.dtype)
    if use_kernel_offsets(backend, geom, x.shape[1] // groups, x.dtype):
        if _all_finite(backend.xp, x):
            return _weight_grad_offsets(backend, x, g, geom, shape, col)
        # The zeros between g's pixels would meet x's inf or NaN pixels (0 x inf = NaN where
        # the column path has no product): columns after all, made here from x.
        col = _columns(backend, x, geom, offsets=False)
    if col is None:
        col = _columns(backend, x, geom)
    if _folded(backend, geom):
        # One (O x N L) @ (N L x C k) GEMM per group; only g is transposed.
        return _times_transposed(_batch_inner(g, groups), col).reshape(shape)
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
        # One (out x L) @ (L x C k) GEMM per sample and group, then a small batch sum. Measured
        # on NumPy, one thread, float32, LeNet's conv1 (6, 25, 784) x 128, CPU ms, medians of
        # 5-30 alternating rounds: 0.85-1.2 (0.54-1.5 spread) here, against one GEMM over N x L
        # on batch-inner columns with g transposed, 2.2 (col @ g.T) or 3.2-3.3 (g @ col.T), of
        # which the transpose of g 0.16; 5.1 with both operands transposed; einsum 5.9;
        # (col @ g.T).T per sample 0.91 against 0.92, bit-equal. So the per-sample GEMMs stay.
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
