"""``save(obj, path)`` and ``load(path)``: nested dicts, lists and tuples of tensors and numbers.

Stored without pickle (a zip of .npy arrays plus a JSON description), so loading a file never
executes code. Loading checks every array header and the structure against each other and
against the file's size before it allocates anything: an inconsistent or crafted file is a
ValueError naming the file and the entry. Saving writes a temporary file and renames it: a
failed save leaves the old file, and the next save to that path removes temporaries left by
saves that were killed midway.
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
    """Tensors come back on the device they were saved from, or on ``map_location``.

    A file that is corrupt, truncated, not ours, or would need unpickling raises ValueError.
    """
    if map_location is not None:
        backends.get_backend(map_location)  # a bad device is the caller's error, not the file's
    structure, arrays = _io.read_archive(path, check=_parse_and_check)
    try:
        return _decode(structure, arrays, map_location)
    except (KeyError, IndexError, TypeError, ValueError, AttributeError, RecursionError) as exc:
        raise ValueError(
            f"load: {os.fspath(path)!r} has a malformed structure ({type(exc).__name__}: {exc})"
        ) from None


def _parse_and_check(text: str, headers: list) -> Any:
    """The structure, parsed and checked against the arrays' headers before any is read.

    An inconsistent file (a tensor index out of range, an integer tensor marked
    ``requires_grad``, a device that is not a string) is refused here, naming the entry.
    """
    try:
        structure = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"malformed structure ({type(exc).__name__}: {exc})") from None
    pending = [(structure, "obj")]
    while pending:
        node, where = pending.pop()
        if isinstance(node, list):
            pending += [(v, f"{where}[{i}]") for i, v in enumerate(node)]
            continue
        if not isinstance(node, dict):
            continue
        if "$tensor" in node or "$array" in node:
            key = "$tensor" if "$tensor" in node else "$array"
            index = node[key]
            if type(index) is not int or not 0 <= index < len(headers):
                raise ValueError(
                    f"malformed structure: {where} references array {index!r}, but the file "
                    f"holds {len(headers)}"
                )
            if key == "$tensor":
                _check_tensor_entry(node, headers[index], where)
        elif isinstance(node.get("$tuple"), list):
            pending += [(v, f"{where}[{i}]") for i, v in enumerate(node["$tuple"])]
        elif isinstance(node.get("$dict"), list):
            for item in node["$dict"]:
                if isinstance(item, list) and len(item) == 2:
                    pending.append((item[1], f"{where}[{item[0]!r}]"))
    return structure


def _check_tensor_entry(node: dict, header: tuple, where: str) -> None:
    dtype, shape = header
    requires_grad = node.get("requires_grad")
    device = node.get("device")
    if type(requires_grad) is not bool:
        raise ValueError(
            f"malformed structure: {where} has requires_grad={requires_grad!r}, not true/false"
        )
    if not isinstance(device, str):
        raise ValueError(f"malformed structure: {where} has device={device!r}, not a string")
    if requires_grad and dtype.kind not in "fc":
        raise ValueError(
            f"inconsistent: {where} is a {dtype} tensor of shape {shape} marked requires_grad, "
            "but only floating point tensors can require gradients"
        )


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
                    f"save: {where} has a key of type {type(k).__name__}; keys must be str, int, "
                    "float, bool or None"
                )
            items.append([k, _encode(v, arrays, f"{where}[{k!r}]")])
        return {"$dict": items}
    owner = backends.backend_of_array(obj)
    if owner.is_array(obj):
        if obj.dtype.kind not in "biufc":
            raise TypeError(
                f"save: {where} is an array of dtype {obj.dtype}, which cannot be stored "
                "without pickle"
            )
        arrays.append(owner.to_host(obj))
        return {"$array": len(arrays) - 1}
    if hasattr(obj, "item") and hasattr(obj, "dtype") and getattr(obj, "shape", None) == ():
        return obj.item()  # a NumPy/CuPy scalar: stored as the Python number
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
        try:
            backend = backends.get_backend(device)
        except RuntimeError as exc:
            raise RuntimeError(
                f"load: a tensor was saved on {device!r}, which is not usable here ({exc}); "
                "pass map_location='cpu' to load it on the CPU"
            ) from None
        t = Tensor(_array(arrays, obj["$tensor"]), device=backend)
        if obj["requires_grad"]:
            t.requires_grad_(True)
        return t
    if "$array" in obj:
        return _array(arrays, obj["$array"])
    if "$tuple" in obj:
        return tuple(_decode(v, arrays, map_location) for v in obj["$tuple"])
    return {k: _decode(v, arrays, map_location) for k, v in obj["$dict"]}


def _array(arrays: list, index: Any) -> Any:
    if type(index) is not int or not 0 <= index < len(arrays):
        raise IndexError(f"array {index!r} is referenced, but the file holds {len(arrays)}")
    return arrays[index]
