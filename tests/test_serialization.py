"""``A.save`` / ``A.load``: round trips, atomic writes, corrupt or foreign files, no unpickling."""

from __future__ import annotations

import io
import json
import os
import pickle
import stat
import zipfile

import numpy as np
import pytest

import autograd as A
import backends
from backends import io as backend_io


def _host(t: A.Tensor) -> np.ndarray:
    return t.detach().numpy()


def _sample(device):
    return {
        "weights": A.tensor([[1.5, -2.0], [3.0, 4.0]], device=device, requires_grad=True),
        "double": A.tensor([1.0, 2.0], dtype=A.float64, device=device),
        "ints": A.tensor([1, 2, 3], device=device),
        "int32": A.tensor(np.array([7], np.int32), device=device),
        "mask": A.tensor([True, False], device=device),
        "scalar": A.tensor(2.5, device=device),
        "empty": A.zeros(0, 3, device=device),
        "transposed": A.arange(6, device=device).reshape(2, 3).T,  # not contiguous
        "nested": [1, 2.5, None, "text", True, (A.ones(2, device=device), "x", (3,))],
        "state": {0: {"step": 10, "exp_avg": A.zeros(2, device=device)}, 1: {}},
        "lr": 0.001,
        "nan": float("nan"),
        "big": 2**62,
        "empty_list": [],
        "tuple": (),
        "array": np.arange(4, dtype=np.int16),
        "numpy_scalar": np.float32(1.25),
    }


def _assert_same(a, b):
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, A.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape and a.device == b.device
        assert a.requires_grad == b.requires_grad and b.is_leaf
        np.testing.assert_array_equal(_host(a), _host(b))
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            _assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _assert_same(x, y)
    elif isinstance(a, float) and a != a:
        assert b != b
    else:
        assert a == b


def test_round_trip_preserves_structure_values_and_dtypes(tmp_path, device):
    original = _sample(device)
    path = tmp_path / "checkpoint.chalk"
    A.save(original, path)
    loaded = A.load(path)
    expected = dict(original)
    expected["numpy_scalar"] = 1.25  # NumPy scalars come back as Python numbers
    _assert_same(expected, loaded)
    assert isinstance(loaded["state"], dict) and 0 in loaded["state"]  # int keys stay ints
    assert isinstance(loaded["nested"][5], tuple)


def test_loaded_tensors_are_independent_leaves(tmp_path, device):
    w = A.tensor([1.0, 2.0], device=device, requires_grad=True)
    A.save({"w": w * 2}, str(tmp_path / "a.chalk"))  # a non-leaf is saved as its value
    loaded = A.load(str(tmp_path / "a.chalk"))["w"]
    assert loaded.is_leaf and loaded.requires_grad and loaded.tolist() == [2.0, 4.0]
    assert loaded.device == w.device
    loaded.sum().backward()
    assert loaded.grad.tolist() == [1.0, 1.0]


def test_map_location(tmp_path, device):
    # Saved on one device, loaded on the other: the values travel, the graph flags too.
    A.save([A.ones(2, device=device, requires_grad=True)], tmp_path / "m.chalk")
    (t,) = A.load(tmp_path / "m.chalk", map_location="cpu")
    assert t.device == "cpu" and t.requires_grad and t.tolist() == [1.0, 1.0]
    A.save({"w": A.arange(3.0) * 2}, tmp_path / "c.chalk")
    moved = A.load(tmp_path / "c.chalk", map_location=device)["w"]
    assert moved.device == A.zeros(1, device=device).device and moved.tolist() == [0.0, 2.0, 4.0]
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        A.load(tmp_path / "m.chalk", map_location="tpu")


def test_single_tensor_and_plain_values(tmp_path):
    A.save(A.tensor([1.0, 2.0]), tmp_path / "t.chalk")
    t = A.load(tmp_path / "t.chalk")
    assert isinstance(t, A.Tensor) and t.tolist() == [1.0, 2.0]
    A.save(3, tmp_path / "n.chalk")
    assert A.load(tmp_path / "n.chalk") == 3


def test_saved_file_gets_normal_permissions(tmp_path):
    path = tmp_path / "perm.chalk"
    A.save({"x": A.ones(1)}, path)
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o666 & ~umask


# ---------------------------------------------------------------------- atomic writes


def _only(folder):
    return sorted(p.name for p in folder.iterdir())


def test_failed_save_leaves_existing_file_untouched(tmp_path):
    path = tmp_path / "model.chalk"
    A.save({"w": A.ones(3)}, path)
    before = path.read_bytes()
    with pytest.raises(TypeError, match=r"save: obj\['bad'\]\[1\] is a object"):
        A.save({"w": A.zeros(3), "bad": [1, object()]}, path)
    with pytest.raises(TypeError, match="dtype object, which cannot be stored without pickle"):
        A.save({"w": np.array([None, 1])}, path)
    with pytest.raises(TypeError, match="keys must be str"):
        A.save({(1, 2): A.ones(1)}, path)
    assert path.read_bytes() == before
    assert _only(tmp_path) == ["model.chalk"]


def test_failure_while_writing_removes_the_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "model.chalk"
    A.save({"w": A.ones(3)}, path)
    before = path.read_bytes()
    real_write = np.lib.format.write_array
    calls = []

    def fail_on_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk full")
        return real_write(*args, **kwargs)

    monkeypatch.setattr(backend_io.numpy.lib.format, "write_array", fail_on_second)
    with pytest.raises(OSError, match="disk full"):
        A.save([A.zeros(3), A.zeros(4)], path)
    assert len(calls) == 2  # the failure came half-way through the archive
    assert path.read_bytes() == before
    assert _only(tmp_path) == ["model.chalk"]


# ------------------------------------------------------------ corrupt and foreign files


def test_truncated_file_is_a_clear_value_error(tmp_path):
    path = tmp_path / "model.chalk"
    A.save({"w": A.randn(64)}, path)
    data = path.read_bytes()
    for cut in (0, 10, len(data) // 2, len(data) - 10):
        broken = tmp_path / f"cut{cut}.chalk"
        broken.write_bytes(data[:cut])
        with pytest.raises(ValueError, match="corrupt or truncated"):
            A.load(broken)


def test_corrupted_bytes_are_a_clear_value_error(tmp_path):
    path = tmp_path / "model.chalk"
    A.save({"w": A.randn(64)}, path)
    data = bytearray(path.read_bytes())
    offset = data.index(b"\x93NUMPY") + 200  # inside the stored array's bytes
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="corrupt or truncated.*CRC"):
        A.load(path)


def test_foreign_files_are_refused(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello, not a checkpoint")
    with pytest.raises(ValueError, match="not a chalkgrad file"):
        A.load(text)
    pickled = tmp_path / "model.pt"
    pickled.write_bytes(pickle.dumps({"w": [1.0, 2.0]}))
    with pytest.raises(ValueError, match="not a chalkgrad file.*never unpickles"):
        A.load(pickled)
    other_zip = tmp_path / "other.zip"
    with zipfile.ZipFile(other_zip, "w") as zf:
        zf.writestr("data.pkl", pickle.dumps([1]))
    with pytest.raises(ValueError, match="not a chalkgrad file"):
        A.load(other_zip)
    with pytest.raises(FileNotFoundError):
        A.load(tmp_path / "missing.chalk")


class _Boom:
    """Unpickling this would run code: the test checks that it never happens."""

    ran = False

    def __reduce__(self):
        return (_Boom._trigger, ())

    @staticmethod
    def _trigger():
        _Boom.ran = True
        return "pwned"


def _crafted_archive(path, structure, arrays):
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("format", "chalkgrad-archive-1")
        zf.writestr("structure.json", json.dumps(structure))
        for i, array in enumerate(arrays):
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, array, allow_pickle=True)
            zf.writestr(f"arrays/{i}.npy", buffer.getvalue())


def test_loading_never_unpickles(tmp_path):
    path = tmp_path / "evil.chalk"
    evil = np.empty(1, dtype=object)
    evil[0] = _Boom()
    _crafted_archive(path, {"$tensor": 0, "device": "cpu", "requires_grad": False}, [evil])
    with pytest.raises(ValueError, match="allow_pickle=False"):
        A.load(path)
    assert not _Boom.ran


@pytest.mark.parametrize(
    "structure",
    [
        {"$tensor": 3, "device": "cpu", "requires_grad": False},  # no such array
        {"$tensor": 0},  # missing fields
        {"$dict": 5},
        {"$dict": [[1]]},
        {"unknown": 1},
        {"$tuple": None},
    ],
)
def test_malformed_structure_is_a_clear_value_error(tmp_path, structure):
    path = tmp_path / "bad.chalk"
    _crafted_archive(path, structure, [np.zeros(2, np.float32)])
    with pytest.raises(ValueError, match="malformed structure"):
        A.load(path)


def test_structure_that_is_not_json_is_a_clear_value_error(tmp_path):
    path = tmp_path / "bad.chalk"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("format", "chalkgrad-archive-1")
        zf.writestr("structure.json", "{not json")
    with pytest.raises(ValueError, match="malformed structure"):
        A.load(path)


@pytest.mark.skipif(backends.cuda_available(), reason="this machine has a usable GPU")
def test_loading_a_cuda_checkpoint_without_gpu_suggests_map_location(tmp_path):
    path = tmp_path / "gpu.chalk"
    _crafted_archive(path, {"$tensor": 0, "device": "cuda:0", "requires_grad": False}, [np.ones(2)])
    with pytest.raises(RuntimeError, match="map_location='cpu'"):
        A.load(path)
    assert A.load(path, map_location="cpu").tolist() == [1.0, 1.0]
