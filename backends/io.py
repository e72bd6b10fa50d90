"""Host-side file I/O for ``autograd.save``/``load``: a zip of .npy arrays and one JSON structure.

No pickle anywhere: loading reads numbers and arrays, and never executes code. Every array's
header is checked against the archive (its dtype, its shape's byte count, the bytes actually
stored) before any array is allocated, so a crafted header cannot make ``load`` reserve memory.
"""

from __future__ import annotations

import io
import math
import os
import re
import secrets
import time
import zipfile
from collections.abc import Callable
from typing import Any

import numpy

_STRUCTURE = "structure.json"
_MAGIC = "chalkgrad-archive-1"
# A leftover of the legacy naming (no pid) is stale once it has not been written for this long.
_STALE_AFTER_S = 3600.0
_CHUNK = 1 << 22


def _temporary_name(path: str) -> str:
    """``.<name>.<pid>-<random>.tmp`` beside ``path``: the pid tells a crashed save's leftover
    from a save still running in another process."""
    folder, name = os.path.split(os.path.abspath(path))
    return os.path.join(folder, f".{name}.{os.getpid()}-{secrets.token_hex(6)}.tmp")


def _process_alive(pid: int) -> bool:
    if os.name != "posix":
        return True  # os.kill(pid, 0) would terminate the process on Windows: assume alive
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists but belongs to someone else
    return True


def _remove_stale_temporaries(path: str) -> None:
    """Delete temporaries of earlier saves to ``path`` that died midway (SIGKILL, power loss).

    Only files of our own naming for this exact target: ``.<name>.<pid>-<12 hex>.tmp`` whose
    process no longer exists, or the legacy ``.<name>.<12 hex>.tmp`` untouched for an hour.
    """
    folder, name = os.path.split(os.path.abspath(path))
    pattern = re.compile(r"\." + re.escape(name) + r"\.(?:(\d+)-)?[0-9a-f]{12}\.tmp")
    try:
        entries = os.listdir(folder)
    except OSError:
        return
    for entry in entries:
        match = pattern.fullmatch(entry)
        if match is None:
            continue
        leftover = os.path.join(folder, entry)
        try:
            if match.group(1) is not None:
                stale = int(match.group(1)) != os.getpid() and not _process_alive(
                    int(match.group(1))
                )
            else:
                stale = time.time() - os.path.getmtime(leftover) > _STALE_AFTER_S
            if stale:
                os.unlink(leftover)
        except OSError:
            pass  # gone already, or not ours to remove: never fail a save over a leftover


def _save_error(path: str, exc: OSError) -> OSError:
    """The OS error reworded to name the file the user asked for, not our temporary."""
    reason = exc.strerror or str(exc)
    folder = os.path.dirname(os.path.abspath(path))
    if isinstance(exc, FileNotFoundError) and not os.path.isdir(folder):
        reason = f"the folder {folder!r} does not exist"
    elif os.path.isdir(path):
        reason = "it is a directory"
    # OSError(errno, ...) becomes the matching subclass (PermissionError, FileNotFoundError...).
    error = OSError(exc.errno, f"save: cannot write {path!r}: {reason}")
    error.filename = path
    return error


def write_archive(path: Any, structure: str, arrays: list) -> None:
    """Write atomically: a temporary file in the same folder, renamed over ``path`` at the end.

    The temporary file is created with the usual ``0o666 & ~umask`` permissions (``mkstemp``
    would make every checkpoint private to its owner), and flushed to disk before the rename so
    that a crash never leaves a half-written file under ``path``. Temporaries left by saves to
    the same path that were killed midway are removed first.
    """
    path = os.fspath(path)
    _remove_stale_temporaries(path)
    tmp = _temporary_name(path)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as exc:
        raise _save_error(path, exc) from None
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
        try:
            os.replace(tmp, path)
        except OSError as exc:
            raise _save_error(path, exc) from None
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_archive(path: Any, check: Callable[[str, list], Any] | None = None) -> tuple[Any, list]:
    """The JSON structure and the arrays; a clear ValueError for anything corrupt or foreign.

    ``check(structure, headers)`` (``headers``: one ``(dtype, shape)`` per array) runs after
    every header was validated and before any array is read; what it returns replaces the
    structure text in the result, and a ValueError it raises is reported with the file's name.
    """
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
        archive_size = os.path.getsize(path)
        with zipfile.ZipFile(path, "r") as zf:
            infos = {info.filename: info for info in zf.infolist()}
            if "format" not in infos or zf.read("format") != _MAGIC.encode():
                raise ValueError("not a chalkgrad file (no chalkgrad format marker)")
            for info in infos.values():
                _check_entry(info, archive_size)
            structure = zf.read(_STRUCTURE).decode("utf-8")
            count = sum(1 for n in infos if n.startswith("arrays/"))
            entries = [infos.get(f"arrays/{i}.npy") for i in range(count)]
            if None in entries:
                missing = entries.index(None)
                raise KeyError(f"arrays/{missing}.npy is missing")
            headers = [_read_header(zf, info, i) for i, info in enumerate(entries)]
            if check is not None:
                structure = check(structure, [(dtype, shape) for dtype, shape, _, _ in headers])
            arrays = [_read_array(zf, info, header) for info, header in zip(entries, headers)]
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, KeyError, EOFError, OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"load: {path!r} is corrupt or truncated ({exc})") from None
    except ValueError as exc:
        raise ValueError(f"load: {path!r}: {exc}") from None
    return structure, arrays


def _check_entry(info: zipfile.ZipInfo, archive_size: int) -> None:
    """chalkgrad writes stored (uncompressed) entries: sizes can be checked against the file."""
    if info.compress_type != zipfile.ZIP_STORED:
        raise ValueError(
            f"entry {info.filename!r} is compressed; chalkgrad writes uncompressed archives"
        )
    if info.file_size != info.compress_size or info.file_size > archive_size:
        raise ValueError(
            f"entry {info.filename!r} claims {info.file_size} bytes, but the archive holds "
            f"{archive_size} bytes in all (corrupt or crafted)"
        )


def _read_header(zf: zipfile.ZipFile, info: zipfile.ZipInfo, index: int) -> tuple:
    """(dtype, shape, fortran_order, header length) of one .npy entry, checked, data unread."""
    with zf.open(info) as fp:
        try:
            version = numpy.lib.format.read_magic(fp)
            if version == (1, 0):
                shape, fortran, dtype = numpy.lib.format.read_array_header_1_0(fp)
            elif version == (2, 0):
                shape, fortran, dtype = numpy.lib.format.read_array_header_2_0(fp)
            else:
                raise ValueError(f"unsupported .npy version {version}")
        except (ValueError, SyntaxError, TypeError) as exc:
            raise ValueError(f"array {index} has a malformed header ({exc})") from None
        header_length = fp.tell()
    if dtype.hasobject or dtype.kind not in "biufc" or dtype.fields is not None:
        raise ValueError(
            f"array {index} has dtype {dtype}, which chalkgrad never writes (an object dtype "
            "would need unpickling, and loading uses allow_pickle=False)"
        )
    if not all(type(n) is int and n >= 0 for n in shape):
        raise ValueError(f"array {index} has an invalid shape {shape!r}")
    nbytes = math.prod(shape) * dtype.itemsize
    if header_length + nbytes != info.file_size:
        raise ValueError(
            f"array {index} claims shape {shape} of {dtype} ({nbytes} bytes), but its entry "
            f"holds {info.file_size - header_length} bytes of data (corrupt or crafted)"
        )
    return dtype, tuple(shape), fortran, header_length


def _read_array(zf: zipfile.ZipFile, info: zipfile.ZipInfo, header: tuple) -> Any:
    """The array of a checked entry: exactly its byte count, read into one buffer."""
    dtype, shape, fortran, header_length = header
    nbytes = math.prod(shape) * dtype.itemsize
    buffer = bytearray(nbytes)
    with zf.open(info) as fp:
        fp.read(header_length)
        filled = 0
        while filled < nbytes:
            # In chunks, so that no second whole-array copy exists while reading.
            chunk = fp.read(min(_CHUNK, nbytes - filled))
            if not chunk:
                raise EOFError(f"{info.filename} ends after {filled} of {nbytes} data bytes")
            buffer[filled : filled + len(chunk)] = chunk
            filled += len(chunk)
        fp.read(1)  # reaching the end makes zipfile check the entry's CRC
    array = numpy.frombuffer(buffer, dtype=dtype).reshape(shape, order="F" if fortran else "C")
    if not dtype.isnative:
        array = array.astype(dtype.newbyteorder("="))
    return array
