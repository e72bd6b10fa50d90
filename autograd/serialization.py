"""``save(obj, path)`` and ``load(path)``: nested dicts, lists and tuples of tensors and numbers.

Stored without pickle (a zip of .npy arrays plus a JSON description), so loading a file never
executes code. Saving writes a temporary file and renames it: a failed save leaves the old file.
"""

from __future__ import annotations

import json
import os
from typing import Any

import backends
from backends import io as _io

from .tensor import Tensor

_SCALARS = (str, int, float, bool, type(None))


def save(obj: Any, path: str | os.PathLike) -> None:
    arrays: list = []
    structure = json.dumps(_encode(obj, arrays, "obj"))
    _io.write_archive(path, structure, arrays)


def load(path: str | os.PathLike, map_location: Any = None) -> Any:
    """Tensors come back on the device they were saved from, or on ``map_location``."""
    structure, arrays = _io.read_archive(path)
    try:
        return _decode(json.loads(structure), arrays, map_location)
    except (KeyError, IndexError, TypeError, json.JSONDecodeError) as exc:
        raise ValueError(f"load: {os.fspath(path)!r} has a malformed structure ({exc})") from None


def _encode(obj: Any, arrays: list, where: str) -> Any:
    if isinstance(obj, Tensor):
        arrays.append(obj._backend.to_host(obj.data))
        return {
            "$tensor": len(arrays) - 1,
            "device": obj.device,
            "requires_grad": obj.requires_grad,
        }
    if isinstance(obj, _SCALARS):
        return obj
    if isinstance(obj, list):
        return [_encode(v, arrays, f"{where}[{i}]") for i, v in enumerate(obj)]
    if isinstance(obj, tuple):
        return {"$tuple": [_encode(v, arrays, f"{where}[{i}]") for i, v in enumerate(obj)]}
    if isinstance(obj, dict):
        items = []
        for k, v in obj.items():
            if not isinstance(k, _SCALARS):
                raise TypeError(
                    f"save: {where} has a key of type {type(k).__name__}; keys must be str, int, float, bool or None"
                )
            items.append([k, _encode(v, arrays, f"{where}[{k!r}]")])
        return {"$dict": items}
    if hasattr(obj, "shape") and hasattr(obj, "dtype") and hasattr(obj, "tolist"):
        if obj.dtype.kind == "O":
            raise TypeError(
                f"save: {where} is an object array, which cannot be stored without pickle"
            )
        arrays.append(backends.backend_of_array(obj).to_host(obj))
        return {"$array": len(arrays) - 1}
    if hasattr(obj, "item") and hasattr(obj, "dtype"):
        return obj.item()
    raise TypeError(
        f"save: {where} is a {type(obj).__name__}; only tensors, arrays, numbers, strings, None, "
        "lists, tuples and dicts can be saved (no pickle)"
    )


def _decode(obj: Any, arrays: list, map_location: Any) -> Any:
    if isinstance(obj, list):
        return [_decode(v, arrays, map_location) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if "$tensor" in obj:
        device = map_location if map_location is not None else obj["device"]
        t = Tensor(arrays[obj["$tensor"]], device=device)
        if obj["requires_grad"]:
            t.requires_grad_(True)
        return t
    if "$array" in obj:
        return arrays[obj["$array"]]
    if "$tuple" in obj:
        return tuple(_decode(v, arrays, map_location) for v in obj["$tuple"])
    return {k: _decode(v, arrays, map_location) for k, v in obj["$dict"]}
