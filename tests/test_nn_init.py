"""nn.init: PyTorch's gains and fans, the statistics of every initialiser (PyTorch's default
Linear init included), in-place behaviour on parameters, seeding, and errors.
"""

import json
import math
from pathlib import Path

import numpy as np
import pytest

import autograd as A
import nn
from nn import init

META = json.loads((Path(__file__).parent / "fixtures" / "nn_reference.json").read_text())


def test_calculate_gain_matches_pytorch():
    for name, param, expected in META["gains"]:
        assert init.calculate_gain(name, param) == pytest.approx(expected, rel=1e-15), name
    with pytest.raises(ValueError, match="unsupported nonlinearity softsign"):
        init.calculate_gain("softsign")
    with pytest.raises(ValueError, match="negative_slope"):
        init.calculate_gain("leaky_relu", "big")


def test_fans():
    assert init._calculate_fan_in_and_fan_out(A.empty(3, 4)) == (4, 3)
    assert init._calculate_fan_in_and_fan_out(A.empty(8, 3, 5, 5)) == (75, 200)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(A.empty(5))


def test_linear_default_init_is_pytorchs(device):
    layer = nn.Linear(400, 300, device=device)
    bound = 1 / math.sqrt(400)
    w = layer.weight.detach().numpy()
    b = layer.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    # U(-bound, bound): std bound / sqrt(3); 120,000 draws pin it to well under 1%
    assert w.std() == pytest.approx(bound / math.sqrt(3), rel=0.01)
    assert abs(w.mean()) < 0.01 * bound
    assert np.abs(w).max() > 0.99 * bound  # it really fills the interval
    assert b.std() == pytest.approx(bound / math.sqrt(3), rel=0.15)
    assert layer.weight.dtype == A.float32


@pytest.mark.parametrize(
    "fn,expected_std",
    [
        (lambda t: init.kaiming_uniform_(t, nonlinearity="relu"), math.sqrt(2 / 250)),
        (lambda t: init.kaiming_normal_(t, nonlinearity="relu"), math.sqrt(2 / 250)),
        (lambda t: init.kaiming_normal_(t, mode="fan_out"), math.sqrt(2 / 500)),
        (lambda t: init.kaiming_uniform_(t, a=math.sqrt(5)), 1 / math.sqrt(3 * 250)),
        (init.xavier_uniform_, math.sqrt(2 / 750)),
        (
            lambda t: init.xavier_normal_(t, gain=init.calculate_gain("tanh")),
            5 / 3 * math.sqrt(2 / 750),
        ),
        (lambda t: init.normal_(t, 1.0, 0.3), 0.3),
        (lambda t: init.uniform_(t, -2.0, 4.0), 6 / math.sqrt(12)),
    ],
)
def test_initialiser_statistics(device, fn, expected_std):
    t = A.empty(500, 250, device=device)  # fan_in 250, fan_out 500
    assert fn(t) is t
    values = t.numpy()
    assert values.std() == pytest.approx(expected_std, rel=0.01)


def test_uniform_bounds_and_constants(device):
    t = A.empty(100, 100, dtype=A.float64, device=device)
    init.uniform_(t, -0.5, 1.5)
    assert t.numpy().min() >= -0.5 and t.numpy().max() < 1.5 and t.dtype == A.float64
    assert t.numpy().mean() == pytest.approx(0.5, abs=0.02)
    init.constant_(t, 2.5)
    np.testing.assert_array_equal(t.numpy(), 2.5)
    init.zeros_(t)
    np.testing.assert_array_equal(t.numpy(), 0.0)
    init.ones_(t)
    np.testing.assert_array_equal(t.numpy(), 1.0)


@pytest.mark.parametrize("shape", [(4, 9), (9, 4), (6, 2, 3, 3)])
def test_orthogonal(device, shape):
    t = A.empty(*shape, dtype=A.float64, device=device)
    init.orthogonal_(t, gain=2.0)
    w = t.numpy().reshape(shape[0], -1) / 2.0
    rows, cols = w.shape
    gram = w @ w.T if rows <= cols else w.T @ w
    np.testing.assert_allclose(gram, np.eye(min(rows, cols)), atol=1e-12)
    with pytest.raises(ValueError, match="2 or more dimensions"):
        init.orthogonal_(A.empty(3))


def test_init_works_on_parameters_in_place_and_is_seeded():
    p = nn.Parameter(A.empty(20, 10))
    data = p.data
    init.kaiming_normal_(p)
    assert p.data is data and p.requires_grad and p.is_leaf
    A.manual_seed(5)
    first = nn.Linear(6, 4).weight.detach().numpy().copy()
    A.manual_seed(5)
    np.testing.assert_array_equal(nn.Linear(6, 4).weight.detach().numpy(), first)
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_uniform_(A.empty(3, 3), mode="fan_avg")
    empty = A.empty(0, 3)
    assert init.kaiming_uniform_(empty) is empty  # nothing to fill, no division by zero
