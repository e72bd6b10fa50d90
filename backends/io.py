"""Host-side file I/O for ``autograd.save``/``load``: a zip of .npy arrays and one JSON structure.

No pickle anywhere: loading reads numbers and arrays, and never executes code.
"""

from __future__ import annotations

import io
import os
import secrets
import zipfile
from typing import Any

import numpy

_STRUCTURE = "structure.json"
_MAGIC = "chalkgrad-archive-1"


def write_archive(path: Any, structure: str, arrays: list) -> None:
    """Write atomically: a temporary file in the same folder, renamed over ``path`` at the end.

    The temporary file is created with the usual ``0o666 & ~umask`` permissions (``mkstemp``
    would make every checkpoint private to its owner), and flushed to disk before the rename so
    that a crash never leaves a half-written file under ``path``.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(folder, f".{os.path.basename(path)}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as zf:
                zf.writestr("format", _MAGIC)
                zf.writestr(_STRUCTURE, structure)
                for i, array in enumerate(arrays):
                    buffer = io.BytesIO()
                    numpy.lib.format.write_array(
                        buffer, numpy.asarray(array, order="C"), allow_pickle=False
                    )
                    zf.writestr(f"arrays/{i}.npy", buffer.getvalue())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_archive(path: Any) -> tuple[str, list]:
    """The JSON structure and the arrays; a clear ValueError for anything corrupt or foreign."""
    path = os.fspath(path)
    if not zipfile.is_zipfile(path):
        with open(path, "rb") as f:
            head = f.read(4)
        if head.startswith(b"PK") or not head:
            raise ValueError(f"load: {path!r} is corrupt or truncated (not a complete zip archive)")
        raise ValueError(
            f"load: {path!r} is not a chalkgrad file (not a zip archive; files written by "
            "torch.save or pickle cannot be loaded, by design: loading never unpickles)"
        )
    try:
        with zipfile.ZipFile(path, "r") as zf:
            names = set(zf.namelist())
            if "format" not in names or zf.read("format") != _MAGIC.encode():
                raise ValueError("not a chalkgrad file (no chalkgrad format marker)")
            structure = zf.read(_STRUCTURE).decode("utf-8")
            count = sum(1 for n in names if n.startswith("arrays/"))
            arrays = []
            for i in range(count):
                data = zf.read(f"arrays/{i}.npy")
                arrays.append(numpy.lib.format.read_array(io.BytesIO(data), allow_pickle=False))
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, KeyError, EOFError, OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"load: {path!r} is corrupt or truncated ({exc})") from None
    except ValueError as exc:
        raise ValueError(f"load: {path!r}: {exc}") from None
    return structure, arrays
