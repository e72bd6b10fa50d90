"""dtypes: chalkgrad uses NumPy's dtype objects on every backend (CuPy does the same)."""

from __future__ import annotations

from typing import Any

import numpy

float16 = numpy.dtype("float16")
float32 = numpy.dtype("float32")
float64 = numpy.dtype("float64")
int8 = numpy.dtype("int8")
int16 = numpy.dtype("int16")
int32 = numpy.dtype("int32")
int64 = numpy.dtype("int64")
uint8 = numpy.dtype("uint8")
bool_ = numpy.dtype("bool")

_aliases = {
    "float": float32,
    "half": float16,
    "double": float64,
    "long": int64,
    "int": int32,
    "bool": bool_,
}


def to_dtype(dtype: Any) -> numpy.dtype:
    """Normalise ``float32``, ``"float32"``, ``"torch.float32"``, ``numpy.float32``, ``float``."""
    if isinstance(dtype, numpy.dtype):
        return dtype
    if dtype is float:
        return float32
    if dtype is int:
        return int64
    if dtype is bool:
        return bool_
    if isinstance(dtype, str):
        name = dtype.removeprefix("torch.")
        if name in _aliases:
            return _aliases[name]
        dtype = name
    try:
        return numpy.dtype(dtype)
    except TypeError:
        raise TypeError(f"not a dtype: {dtype!r}") from None


def result_type(a: numpy.dtype, b: numpy.dtype) -> numpy.dtype:
    """NumPy's promotion of two dtypes (used only after PyTorch's category rules are applied)."""
    return numpy.promote_types(a, b)


def host_array(data: Any, dtype: Any = None) -> numpy.ndarray:
    """Host data (lists, scalars, NumPy arrays) as a NumPy array; Python floats become float32."""
    array = numpy.asarray(data, dtype=dtype)
    if array.dtype.kind not in "biufc":
        raise TypeError(
            f"tensor: cannot make a tensor from {type(data).__name__} data of dtype "
            f"{array.dtype}; expected numbers or bools"
        )
    if dtype is None and not isinstance(data, numpy.ndarray | numpy.generic):
        if array.dtype == float64:
            array = array.astype(float32)
        elif array.dtype.kind in "iu" and array.dtype != int64:
            array = array.astype(int64)
    return array
