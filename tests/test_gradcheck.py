"""Gradient checks must catch wrong backward rules, not only pass the right ones."""

from __future__ import annotations

import numpy as np
import pytest

import autograd as A
from autograd.gradcheck import GradcheckError, numerical_gradients, relative_difference


class Square(A.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out * 2.0 * x


class SquareMissingFactor(A.Function):
    """d(x^2)/dx written as x instead of 2x: the classic bug."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out * x


class WrongAtOneElement(A.Function):
    """Correct except at flat position 4 (index (1, 1) of a 3x3 input)."""

    @staticmethod
    def forward(ctx, x):
        return x * 3.0

    @staticmethod
    def backward(ctx, grad_out):
        mask = A.zeros(grad_out.shape, dtype=grad_out.dtype, device=grad_out.device)
        mask[1, 1] = 1.0
        return grad_out * 3.0 + grad_out * mask


class MulWrongSecondInput(A.Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, grad_out):
        a, b = ctx.saved_tensors
        return grad_out * b, grad_out * b  # the second should be grad_out * a


class CubeWithConstantBackward(A.Function):
    """First derivative right, but computed from a detached input: second derivatives are lost."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out * 3.0 * x.detach() ** 2


def _f64(data, device="cpu"):
    return A.tensor(data, dtype=A.float64, device=device, requires_grad=True)


def test_passes_a_correct_backward(device):
    x = _f64([[1.0, -2.0], [0.5, 3.0]], device)
    assert A.gradcheck(Square.apply, (x,)) is True
    assert A.gradgradcheck(Square.apply, (x,)) is True
    assert A.gradcheck(lambda a, b: (a @ b).tanh(), (_f64(np.ones((2, 3))), _f64(np.eye(3))))


def test_catches_a_wrong_backward_and_names_the_element(device):
    x = _f64([1.0, 2.0, 3.0], device)
    with pytest.raises(
        GradcheckError, match=r"input 0 \(shape \(3,\)\) is wrong at element \(0,\)"
    ):
        A.gradcheck(SquareMissingFactor.apply, (x,))
    assert A.gradcheck(SquareMissingFactor.apply, (x,), raise_exception=False) is False


def test_reports_the_first_wrong_element_of_a_matrix(device):
    x = _f64(np.arange(9.0).reshape(3, 3) / 10, device)
    with pytest.raises(GradcheckError, match=r"shape \(3, 3\)\) is wrong at element \(1, 1\)"):
        A.gradcheck(WrongAtOneElement.apply, (x,))


def test_names_the_wrong_input_among_several(device):
    a = _f64([1.0, 2.0], device)
    b = _f64([3.0, -4.0], device)
    with pytest.raises(GradcheckError, match=r"input 1 \(shape \(2,\)\)"):
        A.gradcheck(MulWrongSecondInput.apply, (a, b))
    # An input that does not require grad is skipped, but positions keep counting it.
    constant = A.tensor([3.0, -4.0], dtype=A.float64, device=device)
    assert A.gradcheck(MulWrongSecondInput.apply, (a, constant))
    with pytest.raises(GradcheckError, match=r"input 1 "):
        A.gradcheck(
            MulWrongSecondInput.apply, (A.tensor([1.0, 2.0], dtype=A.float64, device=device), b)
        )


def test_gradgradcheck_catches_a_backward_that_is_not_differentiable(device):
    x = _f64([1.0, -2.0, 0.5], device)
    assert A.gradcheck(CubeWithConstantBackward.apply, (x,))
    with pytest.raises(GradcheckError, match="wrong at element"):
        A.gradgradcheck(CubeWithConstantBackward.apply, (x,))


def test_refuses_float32_inputs():
    x = A.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(GradcheckError, match="input 0 is float32; use float64"):
        A.gradcheck(Square.apply, (x,))
    assert issubclass(GradcheckError, RuntimeError)


def test_refuses_inputs_without_grad_and_outputs_without_graph():
    with pytest.raises(GradcheckError, match="no input requires grad"):
        A.gradcheck(Square.apply, (A.tensor([1.0], dtype=A.float64),))
    with pytest.raises(GradcheckError, match="no output depends on an input"):
        A.gradcheck(lambda a: a.detach() * 2, (_f64([1.0]),))


def test_message_reports_the_course_relative_difference():
    x = _f64([1.0, 2.0, 3.0])
    with pytest.raises(GradcheckError) as info:
        A.gradcheck(SquareMissingFactor.apply, (x,))
    message = str(info.value)
    assert "||g_approx - g|| / (||g_approx|| + ||g||)" in message
    # backward gives half the true gradient, g = g_approx / 2: ||g/2|| / (1.5 ||g||) = 1/3.
    assert message.endswith("= 0.333")


def test_relative_difference_is_the_course_formula():
    approx = np.array([3.0, 4.0])
    exact = np.array([3.0, 4.0 + 1e-3])
    expected = 1e-3 / (5.0 + np.linalg.norm(exact))
    assert relative_difference(approx, exact) == pytest.approx(expected, rel=1e-12)
    assert relative_difference(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_difference(np.ones(2), -np.ones(2)) == 1.0


def test_numerical_gradients_of_a_known_function():
    # f = sum(w * x^2) with weights w: df/dx = 2 w x, central differences are exact to O(eps^2).
    x = _f64([[1.0, -2.0], [0.5, 3.0]])
    weights = (A.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=A.float64),)
    (approx,) = numerical_gradients(lambda t: t * t, (x,), weights, 1e-6)
    np.testing.assert_allclose(approx, 2 * weights[0].numpy() * x.detach().numpy(), rtol=1e-8)
    assert x.tolist() == [[1.0, -2.0], [0.5, 3.0]]  # every perturbation is undone


def test_non_contiguous_input_is_perturbed_for_real():
    # A transposed input has no flat view: the perturbation must still reach the function.
    x = A.tensor(np.arange(6.0).reshape(2, 3), dtype=A.float64).T.requires_grad_()
    assert not x.data.flags.c_contiguous
    assert A.gradcheck(Square.apply, (x,))
    with pytest.raises(GradcheckError):
        A.gradcheck(SquareMissingFactor.apply, (x,))


def test_multiple_outputs_and_integer_outputs():
    x = _f64([[3.0, 1.0, 2.0], [0.0, 5.0, 4.0]])
    assert A.gradcheck(lambda t: tuple(t.max(dim=1)), (x,))  # values and int64 indices
    assert A.gradcheck(lambda t: t.split(1, dim=1), (x,))
