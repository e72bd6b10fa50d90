"""Array backends: the only package that imports numpy or cupy for computation.

``get_backend("cpu")`` returns the NumPy backend; ``get_backend("cuda")`` / ``"cuda:N"`` the CuPy
backend of GPU N. Backends are created once per device and shared.
"""

from __future__ import annotations

import threading
from typing import Any

from .base import Backend, Device
from .numpy_backend import NumPyBackend

__all__ = [
    "Backend",
    "Device",
    "NumPyBackend",
    "backend_of_array",
    "cuda_available",
    "get_backend",
    "is_device",
    "manual_seed",
    "normalize_device",
    "register_backend",
]

_backends: dict[str, Backend] = {}
_lock = threading.Lock()
_seed: int | None = None
cpu = NumPyBackend()
_backends["cpu"] = cpu
# Backends registered under a device name of their own (the test suite's strict device).
_registered: dict[str, Backend] = {}


def normalize_device(device: Any) -> str:
    """``"cuda"`` -> ``"cuda:0"``; also accepts Backend objects and device-like objects."""
    if isinstance(device, Backend):
        return device.device
    name = str(device).strip().lower()
    if name == "cpu":
        return "cpu"
    if name == "cuda" or name == "gpu":
        return "cuda:0"
    if name.startswith("cuda:") and name[5:].isdigit():
        return name
    if name in _registered:
        return name
    raise ValueError(f"unknown device {device!r}: expected 'cpu', 'cuda' or 'cuda:N'")


def get_backend(device: Any = "cpu") -> Backend:
    """The shared backend for ``device``; raises a clear RuntimeError when CUDA is unusable."""
    if isinstance(device, Backend):
        return device
    backend = _backends.get(device)
    if backend is not None:
        return backend
    name = normalize_device(device)
    with _lock:
        backend = _backends.get(name)
        if backend is None:
            if name in _registered:
                return _registered[name]
            from .cupy_backend import CuPyBackend

            backend = CuPyBackend(int(name[5:]))
            if _seed is not None:
                backend.seed(_seed)
            _backends[name] = backend
        _backends[device] = backend
    return backend


def backend_of_array(array: Any) -> Backend:
    """The backend that owns ``array`` (NumPy arrays and scalars -> cpu)."""
    module = type(array).__module__
    if module.startswith("cupy"):
        return get_backend(f"cuda:{array.device.id}")
    for backend in _registered.values():
        if isinstance(array, backend.ndarray):
            return backend
    return cpu


def is_device(arg: Any) -> bool:
    """True for a Backend or a device name (``"cpu"``, ``"cuda:1"``, a registered name)."""
    if isinstance(arg, Backend):
        return True
    if not isinstance(arg, str):
        return False
    name = arg.strip().lower()
    return name.split(":")[0] in ("cpu", "cuda", "gpu") or name in _registered


def register_backend(backend: Backend) -> None:
    """Make ``backend`` the device named ``backend.device`` (its arrays: ``backend.ndarray``).

    chalkgrad registers nothing itself: this is for test doubles such as the test suite's
    strict device (tests/strict_backend.py). Registering the same name again replaces it.
    """
    name = backend.device
    if name == "cpu" or name == "gpu" or name.split(":")[0] == "cuda":
        raise ValueError(f"register_backend: {name!r} is a built-in device name")
    with _lock:
        _registered[name] = backend
        _backends[name] = backend
        if _seed is not None:
            backend.seed(_seed)


def cuda_available() -> bool:
    """True when CuPy is installed and sees at least one GPU (never raises)."""
    try:
        import cupy
    except ImportError:
        return False
    try:
        return bool(cupy.is_available())
    except Exception:
        return False


def manual_seed(seed: int) -> None:
    """Seed the random generator of every backend, those created later included."""
    global _seed
    _seed = int(seed)
    for backend in set(_backends.values()):
        backend.seed(_seed)


from . import dtypes  # noqa: E402
