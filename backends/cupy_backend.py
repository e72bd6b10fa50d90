"""The CUDA backend: CuPy, imported lazily so that a CPU-only install never needs it."""

from __future__ import annotations

import functools
from typing import Any

import numpy

from .base import Backend


def import_cupy(device: str) -> Any:
    """Import CuPy and check that a GPU is really there, with a message that says what to do."""
    try:
        import cupy
    except ImportError as exc:
        raise RuntimeError(
            f"device {device!r} needs CuPy, which is not installed: "
            "pip install 'chalkgrad[cuda]' (CUDA 12) or 'chalkgrad[cuda13]' (CUDA 13)"
        ) from exc
    # CuPy imports fine without a GPU and fails only at the first allocation.
    if not cupy.is_available():
        raise RuntimeError(
            f"device {device!r}: CuPy is installed but no CUDA device was found "
            "(check the driver with nvidia-smi, or use device='cpu')"
        )
    return cupy


class CuPyBackend(Backend):
    """Arrays in one GPU's memory, computed by CuPy (cuBLAS for matmul)."""

    __slots__ = ("index",)

    name = "cupy"

    def __init__(self, index: int = 0) -> None:
        cupy = import_cupy(f"cuda:{index}")
        count = cupy.cuda.runtime.getDeviceCount()
        if not 0 <= index < count:
            raise RuntimeError(f"device 'cuda:{index}': only {count} CUDA device(s) found")
        super().__init__(cupy, f"cuda:{index}")
        self.index = index
        with cupy.cuda.Device(index):
            self.rng = cupy.random.default_rng()

    def seed(self, seed: int) -> None:
        with self.xp.cuda.Device(self.index):
            self.rng = self.xp.random.default_rng(seed)

    def to_host(self, array: Any) -> Any:
        return self.xp.asnumpy(array)

    def from_host(self, array: Any, dtype: Any = None) -> Any:
        with self.xp.cuda.Device(self.index):
            return self.xp.asarray(array, dtype=dtype)

    def synchronize(self) -> None:
        self.xp.cuda.Device(self.index).synchronize()

    def scatter_add(self, target: Any, index: Any, values: Any) -> None:
        # cupy.add.at (CuPy >= 13) replaces the deprecated cupyx.scatter_add; both use atomics.
        add_at = getattr(self.xp.add, "at", None)
        if add_at is not None:
            add_at(target, index, values)
            return
        import cupyx

        cupyx.scatter_add(target, index, values)

    def scatter_reduce(self, target: Any, index: Any, values: Any, reduce: str) -> None:
        # CuPy's ufunc.at covers the reductions that have atomics (add, max, min); there is no
        # atomic multiply, so "prod" is refused rather than computed a slower, different way.
        if reduce == "prod":
            raise NotImplementedError(
                "scatter_reduce: reduce='prod' is not supported on CUDA (CuPy has no "
                "multiply.at); move the tensors to the CPU for it"
            )
        if reduce == "sum":
            self.scatter_add(target, index, values)
            return
        ufunc = self.xp.maximum if reduce == "amax" else self.xp.minimum
        if getattr(ufunc, "at", None) is not None:
            ufunc.at(target, index, values)
            return
        import cupyx

        (cupyx.scatter_max if reduce == "amax" else cupyx.scatter_min)(target, index, values)

    def im2col(
        self,
        x: Any,
        kernel: tuple,
        stride: tuple,
        padding: tuple,
        dilation: tuple,
        out_size: tuple,
        fill: float = 0.0,
        batch_inner: bool = False,
    ) -> Any:
        # One thread per column element; padding is a bounds check, not a padded copy.
        n, c = x.shape[:2]
        img = self.xp.ascontiguousarray(x)
        col = self.xp.empty((n, c) + tuple(kernel) + tuple(out_size), dtype=x.dtype)
        sizes = _as_3d(x.shape[2:], 1) + _as_3d(kernel, 1) + _as_3d(out_size, 1)
        steps = _as_3d(stride, 1) + _as_3d(padding, 0) + _as_3d(dilation, 1)
        args = [numpy.int32(v) for v in sizes + steps]
        _im2col_kernel(self.xp)(img, *args, x.dtype.type(fill), col)
        if batch_inner:  # (N, C, *kernel, *out) -> (C, *kernel, N, *out), one copy
            return self.xp.ascontiguousarray(self.xp.moveaxis(col, 0, 1 + len(kernel)))
        return col

    def col2im(
        self,
        col: Any,
        in_size: tuple,
        stride: tuple,
        padding: tuple,
        dilation: tuple,
        batch_inner: bool = False,
    ) -> Any:
        # A gather: one thread per input pixel sums the column entries that read it (no atomics,
        # so the result is deterministic), as Chainer's col2im_gpu.
        d = len(in_size)
        if batch_inner:  # (C, *kernel, N, *out) -> (N, C, *kernel, *out)
            col = self.xp.moveaxis(col, 1 + d, 0)
        n, c = col.shape[:2]
        kernel = col.shape[2 : 2 + d]
        out_size = col.shape[2 + d :]
        col = self.xp.ascontiguousarray(col)
        image = self.xp.empty((n, c) + tuple(in_size), dtype=col.dtype)
        sizes = _as_3d(in_size, 1) + _as_3d(kernel, 1) + _as_3d(out_size, 1)
        steps = _as_3d(stride, 1) + _as_3d(padding, 0) + _as_3d(dilation, 1)
        args = [numpy.int32(v) for v in sizes + steps]
        _col2im_kernel(self.xp)(col, *args, image)
        return image


def _as_3d(values: tuple, neutral: int) -> tuple:
    """1-D and 2-D geometry as 3-D with leading size-1 dims: one kernel serves all three."""
    return (neutral,) * (3 - len(values)) + tuple(values)


_GEOMETRY_PARAMS = (
    "int32 d, int32 h, int32 w, int32 kd, int32 kh, int32 kw, int32 od, int32 oh, int32 ow, "
    "int32 sd, int32 sh, int32 sw, int32 pd, int32 ph, int32 pw, int32 dd, int32 dh, int32 dw"
)


@functools.cache
def _im2col_kernel(cupy: Any) -> Any:
    return cupy.ElementwiseKernel(
        "raw T img, " + _GEOMETRY_PARAMS + ", T fill",
        "T col",
        """
        long long t = i;
        const int ox = t % ow; t /= ow;
        const int oy = t % oh; t /= oh;
        const int oz = t % od; t /= od;
        const int kx = t % kw; t /= kw;
        const int ky = t % kh; t /= kh;
        const int kz = t % kd;
        const long long nc = t / kd;
        const int iz = oz * sd + kz * dd - pd;
        const int iy = oy * sh + ky * dh - ph;
        const int ix = ox * sw + kx * dw - pw;
        if (0 <= iz && iz < d && 0 <= iy && iy < h && 0 <= ix && ix < w) {
            col = img[((nc * d + iz) * h + iy) * w + ix];
        } else {
            col = fill;
        }
        """,
        "chalkgrad_im2col_3d",
    )


@functools.cache
def _col2im_kernel(cupy: Any) -> Any:
    return cupy.ElementwiseKernel(
        "raw T col, " + _GEOMETRY_PARAMS,
        "T img",
        """
        long long t = i;
        const int x = t % w; t /= w;
        const int y = t % h; t /= h;
        const int z = t % d;
        const long long nc = t / d;
        T total = 0;
        for (int kz = 0; kz < kd; ++kz) {
            const int tz = z + pd - kz * dd;
            if (tz < 0 || tz % sd != 0 || tz / sd >= od) continue;
            const int oz = tz / sd;
            for (int ky = 0; ky < kh; ++ky) {
                const int ty = y + ph - ky * dh;
                if (ty < 0 || ty % sh != 0 || ty / sh >= oh) continue;
                const int oy = ty / sh;
                for (int kx = 0; kx < kw; ++kx) {
                    const int tx = x + pw - kx * dw;
                    if (tx < 0 || tx % sw != 0 || tx / sw >= ow) continue;
                    const int ox = tx / sw;
                    total += col[((((nc * kd + kz) * kh + ky) * kw + kx) * od + oz) * oh * ow
                                 + oy * ow + ox];
                }
            }
        }
        img = total;
        """,
        "chalkgrad_col2im_3d",
    )
