"""Host-side file I/O for ``autograd.save``/``load``: a zip of .npy arrays and one JSON structure.

No pickle anywhere: loading reads numbers and arrays, and never executes code.
"""

from __future__ import annotations

import io
import os
import tempfile
import zipfile
from typing import Any

import numpy

_STRUCTURE = "structure.json"
_MAGIC = "chalkgrad-archive-1"


def write_archive(path: Any, structure: str, arrays: list) -> None:
    """Write atomically: a temporary file in the same folder, renamed over ``path`` at the end."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".chalkgrad-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f, zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as zf:
            zf.writestr("format", _MAGIC)
            zf.writestr(_STRUCTURE, structure)
            for i, array in enumerate(arrays):
                buffer = io.BytesIO()
                numpy.lib.format.write_array(
                    buffer, numpy.ascontiguousarray(array), allow_pickle=False
                )
                zf.writestr(f"arrays/{i}.npy", buffer.getvalue())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_archive(path: Any) -> tuple[str, list]:
    """The JSON structure and the arrays; a clear ValueError for anything corrupt or foreign."""
    path = os.fspath(path)
    try:
        with zipfile.ZipFile(path, "r") as zf:
            names = set(zf.namelist())
            if "format" not in names or zf.read("format").decode() != _MAGIC:
                raise ValueError("not a chalkgrad file (no chalkgrad format marker)")
            structure = zf.read(_STRUCTURE).decode("utf-8")
            count = sum(1 for n in names if n.startswith("arrays/"))
            arrays = []
            for i in range(count):
                with zf.open(f"arrays/{i}.npy") as f:
                    arrays.append(
                        numpy.lib.format.read_array(io.BytesIO(f.read()), allow_pickle=False)
                    )
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, KeyError, EOFError, OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"load: {path!r} is corrupt or truncated ({exc})") from None
    except ValueError as exc:
        raise ValueError(f"load: {path!r}: {exc}") from None
    return structure, arrays
