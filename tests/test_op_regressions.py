"""Regression tests for op bugs found in review, one section per bug.

Expected numbers were produced by PyTorch 2.13 (CPU) and are hard-coded here; the tests never
import torch. Each test says which PyTorch expression gave its numbers.
"""

from __future__ import annotations

import numpy as np
import pytest

import autograd as A


def _host(t: A.Tensor) -> np.ndarray:
    return t.detach().numpy()


# ------------------------------------------------------------ prod: double backward with zeros


def test_prod_second_derivative_with_zeros(device):
    # torch: g = grad(x.prod(1).sum(), x, create_graph=True); grad((g*g).sum() + (x*x).sum(), x)
    x = A.tensor(
        [[0.0, 2.0, 3.0], [0.0, 0.0, 5.0]], dtype=A.float64, device=device, requires_grad=True
    )
    (g,) = A.grad(x.prod(1).sum(), x, create_graph=True)
    np.testing.assert_array_equal(_host(g), [[6, 0, 0], [0, 0, 0]])
    (h,) = A.grad((g * g).sum() + (x * x).sum(), x)
    np.testing.assert_array_equal(_host(h), [[0, 40, 30], [0, 0, 10]])


@pytest.mark.parametrize("dim", [None, 0, -1, (0, 2)], ids=["all", "0", "-1", "0_2"])
def test_prod_gradgradcheck_with_zeros(dim, device):
    rng = np.random.default_rng(1)
    data = rng.uniform(0.5, 1.5, size=(2, 3, 4))
    data[0, 0, :2] = 0.0  # two zeros in one group
    data[1, 2, 3] = 0.0
    x = A.tensor(data, dtype=A.float64, device=device, requires_grad=True)
    assert A.gradgradcheck(lambda t: t.prod() if dim is None else t.prod(dim), [x])


def test_prod_first_order_with_zeros_builds_no_graph(device):
    # Without create_graph the cheap path (the product of the others saved at forward) is used.
    x = A.tensor([[0.0, 2.0, 3.0]], device=device, requires_grad=True)
    x.prod(1).sum().backward()
    np.testing.assert_array_equal(_host(x.grad), [[6, 0, 0]])
    assert not x.grad.requires_grad and x.grad.dtype == A.float32
