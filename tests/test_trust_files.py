"""Checkpoint files that lie, saves that die: inconsistent metadata is refused before anything is
allocated, killed saves' temporaries are cleaned, and errors name the file the user gave."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

import autograd as A
from backends import io as backend_io

ROOT = Path(__file__).resolve().parent.parent


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _archive(path, structure, entries, compression=zipfile.ZIP_STORED):
    """A chalkgrad archive with hand-made structure and .npy entries (bytes)."""
    with zipfile.ZipFile(path, "w", compression) as zf:
        zf.writestr("format", "chalkgrad-archive-1")
        zf.writestr("structure.json", json.dumps(structure))
        for i, data in enumerate(entries):
            zf.writestr(f"arrays/{i}.npy", data)


def _header_claiming(shape, dtype="<f4", data=b"\0" * 16) -> bytes:
    """A .npy entry whose header claims ``shape`` but which holds only ``data``."""
    header = {"descr": dtype, "fortran_order": False, "shape": shape}
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue() + data


@pytest.fixture
def no_array_reads(monkeypatch):
    """Fails the test if load gets as far as reading (allocating) any array's data."""

    def refuse(*args, **kwargs):
        raise AssertionError("an array was read although the file is inconsistent")

    monkeypatch.setattr(backend_io, "_read_array", refuse)


TENSOR = {"$tensor": 0, "device": "cpu", "requires_grad": False}


def test_integer_tensor_marked_requires_grad_is_refused(tmp_path, no_array_reads):
    path = tmp_path / "crafted.chalk"
    _archive(path, {"$dict": [["w", dict(TENSOR, requires_grad=True)]]}, [_npy(np.arange(3))])
    with pytest.raises(ValueError, match=r"crafted\.chalk.*obj\['w'\] is a int64 tensor.*requires"):
        A.load(path)


@pytest.mark.parametrize("shape", [(10**13,), (10**6, 10**7), (1000,)])
def test_header_claiming_more_elements_than_stored_is_refused(tmp_path, no_array_reads, shape):
    path = tmp_path / "huge.chalk"
    _archive(path, TENSOR, [_header_claiming(shape)])
    with pytest.raises(ValueError, match=r"huge\.chalk.*array 0 claims shape .* holds 16 bytes"):
        A.load(path)


def test_header_claiming_fewer_elements_than_stored_is_refused(tmp_path, no_array_reads):
    path = tmp_path / "short.chalk"
    _archive(path, TENSOR, [_header_claiming((2,), data=b"\0" * 64)])
    with pytest.raises(ValueError, match=r"short\.chalk.*claims shape \(2,\)"):
        A.load(path)


def test_entry_sizes_larger_than_the_file_or_compressed_are_refused(tmp_path, no_array_reads):
    path = tmp_path / "zipped.chalk"
    _archive(path, TENSOR, [_npy(np.zeros(1000, np.float32))], zipfile.ZIP_DEFLATED)
    with pytest.raises(ValueError, match=r"zipped\.chalk.*compressed"):
        A.load(path)


def test_other_inconsistencies_name_the_file_and_the_entry(tmp_path, no_array_reads):
    cases = [
        (dict(TENSOR, device=7), [_npy(np.zeros(2))], "device=7"),
        (dict(TENSOR, requires_grad="yes"), [_npy(np.zeros(2))], "requires_grad='yes'"),
        ({"$tuple": [TENSOR, {"$array": 4}]}, [_npy(np.zeros(2))], r"obj\[1\] references array 4"),
        (TENSOR, [_header_claiming((2,), dtype="|O")], "object dtype"),
        (TENSOR, [_header_claiming((2,), dtype="<f4")[:-20]], "array 0"),
        (TENSOR, [b"\x93NUMPY\x09\x00garbage"], "malformed header"),
    ]
    for i, (structure, entries, message) in enumerate(cases):
        path = tmp_path / f"case{i}.chalk"
        _archive(path, structure, entries)
        with pytest.raises(ValueError, match=rf"case{i}\.chalk.*{message}"):
            A.load(path)


def test_consistent_files_still_load(tmp_path):
    path = tmp_path / "fine.chalk"
    fortran = np.asfortranarray(np.arange(6.0).reshape(2, 3))
    _archive(
        path, {"$tuple": [TENSOR, {"$array": 1}]}, [_npy(fortran), _npy(np.arange(3, dtype=">i4"))]
    )
    t, array = A.load(path)
    np.testing.assert_array_equal(t.numpy(), fortran)
    assert array.dtype == np.dtype("int32") and array.dtype.isnative and array.flags.writeable
    np.testing.assert_array_equal(array, [0, 1, 2])


# ------------------------------------------------------------------- temporaries and errors
def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_stale_temporaries_of_our_naming_are_removed_on_the_next_save(tmp_path):
    path = tmp_path / "model.chalk"
    dead = tmp_path / f".model.chalk.{_dead_pid()}-0123456789ab.tmp"
    alive = tmp_path / f".model.chalk.{os.getppid()}-0123456789ab.tmp"  # a save still running
    legacy_old = tmp_path / ".model.chalk.aaaaaaaaaaaa.tmp"
    legacy_new = tmp_path / ".model.chalk.bbbbbbbbbbbb.tmp"
    other_target = tmp_path / f".other.chalk.{_dead_pid()}-0123456789ab.tmp"
    not_ours = tmp_path / ".model.chalk.notes.tmp"
    for leftover in (dead, alive, legacy_old, legacy_new, other_target, not_ours):
        leftover.write_bytes(b"x" * 100)
    two_hours_ago = time.time() - 7200
    os.utime(legacy_old, (two_hours_ago, two_hours_ago))
    A.save({"w": A.ones(2)}, path)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(
        ["model.chalk", alive.name, legacy_new.name, other_target.name, not_ours.name]
    )


def test_a_save_killed_midway_leaves_a_temporary_that_the_next_save_removes(tmp_path):
    path = tmp_path / "model.chalk"
    script = (
        "import time, numpy, autograd as A\n"
        "from backends import io\n"
        "real = numpy.lib.format.write_array\n"
        "def slow(*a, **k):\n"
        "    real(*a, **k)\n"
        "    print('writing', flush=True)\n"
        "    time.sleep(60)\n"
        "io.numpy.lib.format.write_array = slow\n"
        f"A.save([A.ones(1000), A.ones(1000)], {str(path)!r})\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout.readline().strip() == "writing"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    leftovers = [p.name for p in tmp_path.iterdir()]
    assert len(leftovers) == 1 and leftovers[0].endswith(".tmp")
    A.save({"w": A.ones(2)}, path)
    assert [p.name for p in tmp_path.iterdir()] == ["model.chalk"]


def test_errors_name_the_target_not_the_temporary(tmp_path, monkeypatch):
    missing = tmp_path / "no_such_folder" / "model.chalk"
    with pytest.raises(
        FileNotFoundError,
        match=r"save: cannot write .*no_such_folder/model\.chalk'"
        r".*does not exist",
    ) as info:
        A.save(A.ones(1), missing)
    assert ".tmp" not in str(info.value)
    folder_path = tmp_path / "a_folder"
    folder_path.mkdir()
    with pytest.raises(OSError, match=r"a_folder'.*it is a directory") as info:
        A.save(A.ones(1), folder_path)
    assert ".tmp" not in str(info.value) and info.value.filename == str(folder_path)
    assert [p.name for p in folder_path.parent.iterdir()] == ["a_folder"]

    real_open = os.open

    def denied(name, *args, **kwargs):
        if str(name).endswith(".tmp"):
            raise PermissionError(13, "Permission denied", name)
        return real_open(name, *args, **kwargs)

    monkeypatch.setattr(backend_io.os, "open", denied)
    target = tmp_path / "locked.chalk"
    with pytest.raises(
        PermissionError, match=r"save: cannot write .*locked\.chalk'.*denied"
    ) as info:
        A.save(A.ones(1), target)
    assert ".tmp" not in str(info.value)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root may write anywhere")
def test_unwritable_folder_names_the_target(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(PermissionError, match=r"locked/model\.chalk'"):
            A.save(A.ones(1), locked / "model.chalk")
    finally:
        locked.chmod(0o700)
