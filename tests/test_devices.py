"""Devices: the strict device itself (the net must hold), and no hidden host round trips.

The strict device (tests/strict_backend.py) refuses what CuPy refuses and counts every transfer.
The first tests prove the net has no holes; the others count what a training step, an inference
pass and a data loader move between host and device.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import strict_backend
from conftest import available_devices, chosen_device
from strict_backend import HostConversionError, StrictArray

import autograd as A
import backends
import nn
import nn.functional as F
import optim
from autograd.data import DataLoader, TensorDataset

ROOT = Path(__file__).resolve().parent.parent


# ------------------------------------------------------------------------- the net holds
def test_mixing_with_host_arrays_raises_type_error(strict):
    xp = strict.xp
    a = xp.ones(3)
    host = np.ones(3)
    for mix in (
        lambda: a + host,
        lambda: host + a,
        lambda: a * np.float64(2.0) + host[0:1],
        lambda: np.add(a, host),
        lambda: np.concatenate([a, host]),
        lambda: xp.concatenate([a, host]),
        lambda: xp.where(a > 0, host, a),
        lambda: a.__setitem__(0, host[:1]),
        lambda: a[np.array([0, 1])],
        lambda: strict.scatter_add(a, xp.asarray([0]), np.ones(1)),
    ):
        with pytest.raises(TypeError, match="mixes a device array with a host numpy.ndarray"):
            mix()
    # What CuPy accepts: Python and NumPy scalars, and NumPy functions on device arrays alone.
    assert type(a * 2.0 + np.float32(1.0)) is StrictArray
    assert type(np.exp(a)) is StrictArray and type(np.stack([a, a])) is StrictArray


def test_implicit_conversion_to_the_host_raises(strict):
    a = strict.xp.arange(3.0)
    s = a.sum()
    for convert in (
        lambda: np.asarray(a),
        lambda: np.array(a),
        lambda: float(s),
        lambda: int(s),
        lambda: bool(s),
        lambda: s.item(),
        lambda: a.tolist(),
        lambda: range(s),
        lambda: 1.0 in a,
        lambda: [float(v) for v in a],
        lambda: memoryview(a),
    ):
        with pytest.raises(TypeError):
            convert()
    with pytest.raises(HostConversionError, match="use backend.to_host"):
        float(s)
    assert not isinstance(a, np.ndarray)


def test_results_stay_on_the_device_as_cupy_returns_them(strict):
    xp = strict.xp
    a = xp.arange(6.0).reshape(2, 3)
    # Reductions, full indexing and iteration give 0-d device arrays, never NumPy scalars.
    for value in (a.sum(), xp.max(a), a[1, 2], a.argmax(), next(iter(a[0])), xp.linalg.norm(a)):
        assert type(value) is StrictArray and value.shape == ()
    assert [type(row) for row in a] == [StrictArray, StrictArray]
    assert type(xp.nonzero(a > 2)[0]) is StrictArray
    assert xp.asarray(a) is a and a.astype(a.dtype, copy=False) is a
    b = a.copy()
    b += 1.0
    np.testing.assert_array_equal(strict.to_host(b), np.arange(6.0).reshape(2, 3) + 1)


def test_transfers_are_counted_and_copy(strict):
    host = np.arange(4.0)
    with strict.counting() as moved:
        device = strict.from_host(host)
        back = strict.to_host(device)
        strict.to_host(device.sum())
        strict.xp.asarray([1.0, 2.0])  # a host list: one more host-to-device copy
    assert (moved.to_host, moved.scalar_reads, moved.from_host) == (2, 1, 2)
    host[0] = 99.0
    back[1] = 99.0
    assert strict.to_host(device).tolist() == [0.0, 1.0, 2.0, 3.0]  # neither side aliases
    with pytest.raises(TypeError, match="to_host expects a device array"):
        strict.to_host(host)
    with pytest.raises(TypeError, match="already here"):
        strict.from_host(device)


def test_ufuncs_take_only_cupys_keywords(strict):
    a = strict.xp.ones(3)
    strict.xp.add(a, 1.0, out=a, casting="unsafe")
    with pytest.raises(TypeError, match=r"CuPy's ufuncs take no \['where'\]"):
        strict.xp.add(a, 1.0, where=a > 0)


def test_random_generator_has_only_cupys_methods(strict):
    assert type(strict.rng.standard_normal((2,), dtype=np.float32)) is StrictArray
    for missing in ("permutation", "choice", "shuffle", "normal"):
        with pytest.raises(AttributeError, match="CuPy's random Generator"):
            getattr(strict.rng, missing)
    perm = A.randperm(5, device="strict")  # goes around the missing permutation()
    assert sorted(perm.tolist()) == [0, 1, 2, 3, 4]


# ----------------------------------------------------------- the device among the others
def test_strict_is_a_device_like_the_others():
    assert "strict" in available_devices() and "cpu" in available_devices()
    assert backends.normalize_device("STRICT") == "strict"
    assert backends.is_device("strict") and not backends.is_device("float32")
    t = A.tensor([1.0, 2.0]).to("strict")
    assert t.device == "strict" and not t.is_cuda and type(t.data) is StrictArray
    model = nn.Linear(2, 1).to("strict")
    assert model.weight.device == "strict"
    assert backends.backend_of_array(t.data) is t.backend
    with pytest.raises(ValueError, match="built-in device name"):
        backends.register_backend(backends.NumPyBackend())
    assert strict_backend.register() is backends.get_backend("strict")


def test_tensor_conversions_go_through_to_host(strict):
    t = A.tensor([[1.0, 2.0], [3.0, 4.0]], device="strict")
    with strict.counting() as moved:
        assert np.asarray(t).tolist() == [[1.0, 2.0], [3.0, 4.0]]
        assert t.tolist() == [[1.0, 2.0], [3.0, 4.0]]
        assert float(t.sum()) == 10.0
        assert repr(t).startswith("tensor([[1., 2.]")
    assert (moved.to_host, moved.scalar_reads) == (4, 1)
    # A host array operand is copied to the device explicitly, once.
    with strict.counting() as moved:
        out = t + np.ones((2, 2), np.float32)
    assert out.device == "strict" and moved.from_host == 1 and moved.to_host == 0


# ------------------------------------------------------------- no hidden round trips
def _mlp():
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)).to("strict")


OPTIMIZERS = {
    "sgd_momentum": lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
    "adam": lambda p: optim.Adam(p, lr=1e-3, weight_decay=1e-4),
    "adamw_amsgrad": lambda p: optim.AdamW(p, amsgrad=True),
    "rmsprop_centered": lambda p: optim.RMSprop(p, momentum=0.5, centered=True),
}

# Each loss with the device reads it makes on purpose: class-index targets and BCE's
# probabilities are validated with one explicit read (a GPU would otherwise index out of range
# silently, or take the log of a negative number); PyTorch uses a device-side assert instead.
LOSSES = {
    "mse": (lambda out, y: F.mse_loss(out, A.zeros(16, 3, device="strict")), 0),
    "cross_entropy": (lambda out, y: F.cross_entropy(out, y), 1),
    "nll": (lambda out, y: F.nll_loss(F.log_softmax(out, dim=1), y), 1),
    "smooth_ce": (lambda out, y: F.cross_entropy(out, y, label_smoothing=0.1), 1),
    "bce": (
        lambda out, y: F.binary_cross_entropy(out.sigmoid(), A.ones(16, 3, device="strict")),
        1,
    ),
    "bce_logits": (
        lambda out, y: F.binary_cross_entropy_with_logits(out, A.ones(16, 3, device="strict")),
        0,
    ),
}


@pytest.mark.parametrize("loss_name", list(LOSSES))
@pytest.mark.parametrize("opt_name", list(OPTIMIZERS))
def test_a_training_step_makes_no_hidden_round_trip(strict, opt_name, loss_name):
    model = _mlp()
    opt = OPTIMIZERS[opt_name](model.parameters())
    loss_fn, validation_reads = LOSSES[loss_name]
    x = A.randn(16, 4, device="strict")
    y = A.randint(0, 3, (16,), device="strict")
    for step in range(3):  # the first step creates the optimizer state: count the later ones
        with strict.counting() as moved:
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
            opt.step()
        assert (moved.to_host, moved.from_host) == (validation_reads, 0), step
        with strict.counting() as moved:
            value = loss.item()
        assert moved.to_host == moved.scalar_reads == 1 and np.isfinite(value)


def test_embedding_checks_its_indices_with_one_read(strict):
    emb = nn.Embedding(10, 4, padding_idx=0).to("strict")
    words = A.randint(0, 10, (8, 5), device="strict")
    with strict.counting() as moved:
        emb(words).sum().backward()
    assert (moved.to_host, moved.from_host) == (1, 0)
    with pytest.raises(IndexError, match=r"got min 0 and max 10"):
        emb(A.tensor([0, 10], device="strict"))


def test_inference_and_evaluation_make_no_round_trip(strict):
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Dropout(0.5), nn.Tanh())
    model = model.to("strict")
    x = A.randn(16, 4, device="strict")
    with strict.counting() as moved:
        model(x).sum().backward()  # training mode: batch statistics, dropout masks
        model.eval()
        with A.no_grad():
            out = model(x)
            accuracy = (out.argmax(dim=1) == A.zeros(16, dtype=A.int64, device="strict")).float()
            accuracy = accuracy.mean()
    assert (moved.to_host, moved.from_host) == (0, 0)
    assert 0.0 <= accuracy.item() <= 1.0


def test_loading_device_batches_makes_no_host_read(strict):
    data = TensorDataset(A.randn(10, 3, device="strict"), A.arange(10, device="strict"))
    loader = DataLoader(data, batch_size=4, shuffle=True)
    with strict.counting() as moved:
        batches = list(loader)
    assert [b[0].shape for b in batches] == [(4, 3), (4, 3), (2, 3)]
    assert all(b[0].device == b[1].device == "strict" for b in batches)
    # Each batch's row indices are sent once per tensor; nothing comes back.
    assert moved.to_host == 0 and moved.from_host == 2 * len(batches)


def test_host_batches_moved_by_the_loader_are_one_copy_each(strict):
    data = TensorDataset(A.randn(10, 3), A.arange(10))
    with strict.counting() as moved:
        batches = list(DataLoader(data, batch_size=5, device="strict"))
    assert all(b[0].device == "strict" for b in batches)
    assert moved.to_host == 0 and moved.from_host == 2 * len(batches)


def test_save_and_load_move_each_tensor_once(strict, tmp_path):
    model = _mlp()
    with strict.counting() as moved:
        A.save(model.state_dict(), tmp_path / "m.chalk")
    assert moved.to_host == len(model.state_dict()) and moved.from_host == 0
    with strict.counting() as moved:
        state = A.load(tmp_path / "m.chalk")
    assert moved.from_host == len(state) and moved.to_host == 0
    assert all(t.device == "strict" for t in state.values())


# ------------------------------------------------------------- choosing the device to run on
def test_device_option_runs_every_generic_test_on_one_device():
    # End to end once (a subprocess is slow): --device wins over the environment variable.
    env = {**os.environ, "CHALKGRAD_TEST_DEVICE": "cpu"}
    target = "tests/test_devices.py::test_parametrized_once_per_device"
    command = [sys.executable, "-m", "pytest", target, "-p", "no:cacheprovider", "-o", "addopts="]
    result = subprocess.run(
        [*command, "--collect-only", "-q", "--device", "strict"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert [line for line in result.stdout.split() if "[" in line] == [f"{target}[strict]"]


class _Config:
    def __init__(self, option):
        self.option = option

    def getoption(self, name):
        return self.option


def test_the_environment_variable_chooses_the_device_when_the_option_does_not(monkeypatch):
    monkeypatch.delenv("CHALKGRAD_TEST_DEVICE", raising=False)
    assert chosen_device(_Config(None)) is None  # every available device
    monkeypatch.setenv("CHALKGRAD_TEST_DEVICE", "cpu")
    assert chosen_device(_Config(None)) == "cpu"
    assert chosen_device(_Config("strict")) == "strict"


def test_parametrized_once_per_device(device):
    assert A.ones(1, device=device).device == backends.get_backend(device).device


# ------------------------------------------------------------------- an example, end to end
def test_an_example_trains_on_the_strict_device(tmp_path, strict):
    # A course example, unchanged, on the strict device: the same numbers as on the CPU (the
    # storage is NumPy's), and every host read is one the example asks for.
    pytest.importorskip("sklearn", reason="the example's digits data ships with scikit-learn")
    if str(ROOT) not in sys.path:  # `pytest` (not `python -m pytest`) does not add the root
        sys.path.insert(0, str(ROOT))
    from examples import softmax_digits

    args = ["--quick", "--out", str(tmp_path), "--no-progress", "--device"]
    with strict.counting() as moved:
        result = softmax_digits.main([*args, "strict"])
    assert moved.to_host > 0 and moved.from_host > 0
    on_cpu = softmax_digits.main([*args, "cpu"])
    for name, row in result["results"].items():
        assert row == on_cpu["results"][name], name
