"""The CUDA backend: CuPy, imported lazily so that a CPU-only install never needs it."""

from __future__ import annotations

from typing import Any

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
