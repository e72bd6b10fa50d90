"""No NaN where PyTorch gives a number: reductions and losses at 0 / 0 and sqrt(0).

Every case of tests/fixtures/trust_numerics_cases.py is compared with PyTorch 2.13's output and
gradients (tests/fixtures/trust_numerics_reference.json, made by
make_trust_numerics_fixtures.py), NaN where PyTorch has NaN and nowhere else.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

import autograd as A
import nn.functional as F
import optim
from autograd import Tensor

FIXTURES = Path(__file__).parent / "fixtures"
_spec = importlib.util.spec_from_file_location(
    "trust_numerics_cases", FIXTURES / "trust_numerics_cases.py"
)
cases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cases)
REFERENCE = json.loads((FIXTURES / "trust_numerics_reference.json").read_text())["cases"]


def test_every_case_has_a_reference():
    assert sorted(name for name, _, _ in cases.CASES) == sorted(REFERENCE)


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("name, inputs, fn", cases.CASES, ids=[c[0] for c in cases.CASES])
def test_matches_pytorch(name, inputs, fn):
    leaves = [A.tensor(x, dtype=A.float64, requires_grad=True) for x in inputs]
    out = fn(A, F, *leaves)
    out.sum().backward()
    expected = REFERENCE[name]
    np.testing.assert_allclose(
        out.detach().numpy(), np.array(expected["out"], dtype=np.float64), rtol=1e-6, atol=1e-9
    )
    for i, (leaf, grad) in enumerate(zip(leaves, expected["grads"])):
        if grad is None:
            assert leaf.grad is None, f"{name}: input {i} got a gradient, PyTorch's has none"
            continue
        ours = leaf.grad.numpy()
        # assert_allclose treats NaN as equal to NaN only where both have it: no NaN of our own.
        np.testing.assert_allclose(
            ours,
            np.array(grad, dtype=np.float64).reshape(ours.shape),
            rtol=1e-6,
            atol=1e-9,
            err_msg=f"{name}: gradient of input {i}",
        )


def test_std_of_a_constant_has_zero_gradient_in_float32():
    x = A.full((4, 5), 0.3, requires_grad=True)
    x.std(1).sum().backward()
    assert np.isfinite(x.grad.numpy()).all()


def test_layer_norm_of_a_constant_row_keeps_training_finite():
    layer = A.tensor(np.ones((3, 4)), dtype=A.float32, requires_grad=True)
    x = A.ones(2, 3)
    out = F.layer_norm(x @ layer, (4,))
    out.pow(2).sum().backward()
    assert np.isfinite(layer.grad.numpy()).all()


def test_one_sgd_step_on_an_all_padding_batch_keeps_weights_finite():
    w = A.tensor(np.arange(6.0).reshape(2, 3) / 10, dtype=A.float32, requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    loss = F.cross_entropy(A.ones(4, 2) @ w, A.tensor([-100, -100, -100, -100]))
    assert np.isnan(loss.item())  # 0 / 0, as PyTorch
    loss.backward()
    opt.step()
    np.testing.assert_array_equal(w.grad.numpy(), 0.0)
    assert np.isfinite(w.detach().numpy()).all()


def test_std_gradient_is_unchanged_away_from_zero():
    x = A.tensor([1.0, 2.0, 4.0], dtype=A.float64, requires_grad=True)
    assert A.gradcheck(lambda t: t.std(), (x,))
    assert A.gradgradcheck(lambda t: t.std(), (x,))
    assert isinstance(x.std(), Tensor)
