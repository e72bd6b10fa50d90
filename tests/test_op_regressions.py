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


# ------------------------------------------------------------------- remainder has a gradient


def test_remainder_gradient(device):
    # torch: x = [1.5, 2.5, 3.5]; (x * 2 + x % 1.0).sum().backward() -> x.grad [3, 3, 3]
    x = A.tensor([1.5, 2.5, 3.5], device=device, requires_grad=True)
    (x * 2 + x % 1.0).sum().backward()
    np.testing.assert_array_equal(_host(x.grad), [3, 3, 3])
    # torch: a = [5.5, -7.5], b = [2, 3]; (a % b).sum().backward() -> a.grad [1, 1], b.grad [-2, 3]
    a = A.tensor([5.5, -7.5], device=device, requires_grad=True)
    b = A.tensor([2.0, 3.0], device=device, requires_grad=True)
    out = a % b
    np.testing.assert_array_equal(_host(out), [1.5, 1.5])
    out.sum().backward()
    np.testing.assert_array_equal(_host(a.grad), [1, 1])
    np.testing.assert_array_equal(_host(b.grad), [-2, 3])
    assert b.grad.dtype == A.float32


def test_remainder_dtypes_follow_pytorch(device):
    i = A.tensor([5, -7], device=device)
    assert (i % 3).dtype == A.int64 and (i % 3).tolist() == [2, 2]
    assert (i % 2.5).dtype == A.float32
    np.testing.assert_array_equal(_host(i % 2.5), [0.0, 0.5])


def test_scalar_remainder_by_a_tensor(device):
    from autograd.ops.elementwise import rremainder

    # torch: 7.0 % tensor([5.5, -7.5]) -> [1.5, -0.5] (torch has no gradient here; ours is
    # -floor(7 / a) = [-1, 1]).
    a = A.tensor([5.5, -7.5], dtype=A.float64, device=device, requires_grad=True)
    out = rremainder(a, 7.0)
    np.testing.assert_array_equal(_host(out), [1.5, -0.5])
    out.sum().backward()
    np.testing.assert_array_equal(_host(a.grad), [-1, 1])
    assert A.gradcheck(lambda t: rremainder(t, 7.0), [a.detach().requires_grad_()])


def test_rmod_operator(device):
    a = A.tensor([5.5, -7.5], device=device)
    np.testing.assert_array_equal(_host(7.0 % a), [1.5, -0.5])


# ------------------------------------------------------- clamp with Tensor bounds: no 50/50 ties


def test_clamp_with_tensor_bounds_sends_the_whole_gradient_at_ties(device):
    # torch: x.clamp(min=lo, max=hi).sum().backward() with these values gives the grads below.
    # Columns: tie at min, below min, tie at max, min > max, above max, tie at both bounds.
    x = A.tensor([1.0, 0.5, 2.0, 0.5, 3.0, 1.0], device=device, requires_grad=True)
    lo = A.tensor([1.0, 1.0, 1.0, 2.0, 0.0, 1.0], device=device, requires_grad=True)
    hi = A.tensor([3.0, 3.0, 2.0, 1.0, 2.0, 1.0], device=device, requires_grad=True)
    out = x.clamp(min=lo, max=hi)
    np.testing.assert_array_equal(_host(out), [1, 1, 2, 1, 2, 1])
    out.sum().backward()
    np.testing.assert_array_equal(_host(x.grad), [1, 0, 1, 0, 0, 1])
    np.testing.assert_array_equal(_host(lo.grad), [0, 1, 0, 0, 0, 0])
    np.testing.assert_array_equal(_host(hi.grad), [0, 0, 0, 1, 1, 0])


def test_clamp_with_one_tensor_bound_and_broadcasting(device):
    x = A.tensor([[1.0, -2.0], [0.0, 5.0]], device=device, requires_grad=True)
    hi = A.tensor([0.0, 4.0], device=device, requires_grad=True)
    out = x.clamp(min=-1.0, max=hi)
    np.testing.assert_array_equal(_host(out), [[0, -1], [0, 4]])
    out.sum().backward()
    np.testing.assert_array_equal(_host(x.grad), [[0, 0], [1, 0]])
    np.testing.assert_array_equal(_host(hi.grad), [1, 1])


def test_clamp_in_place_with_tensor_bounds(device):
    x = A.tensor([-3.0, 0.5, 9.0], device=device)
    x.clamp_(A.tensor([-1.0, 0.0, 0.0], device=device), A.tensor([1.0, 1.0, 2.0], device=device))
    np.testing.assert_array_equal(_host(x), [-1.0, 0.5, 2.0])


# ----------------------------------------------------- retain_grad survives a recorded in-place op


def test_retain_grad_follows_the_tensor_through_an_in_place_op(device):
    # torch: h = x * 2; h.retain_grad(); h.mul_(3); h.sum().backward() -> h.grad [1, 1, 1]
    x = A.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    h = x * 2
    h.retain_grad()
    h.mul_(3)
    assert h.retains_grad
    h.sum().backward()
    np.testing.assert_array_equal(_host(h.grad), [1, 1, 1])
    np.testing.assert_array_equal(_host(x.grad), [6, 6, 6])


def test_hooks_registered_before_an_in_place_op_see_the_old_values_gradient(device):
    # torch 2.13 (documented): a hook registered before h.mul_(3) receives the gradient with
    # respect to h's old value ([3, 6, 9] here), while retain_grad follows the new value.
    x = A.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    h = x * 2
    seen = []
    h.register_hook(lambda g: seen.append(("before", _host(g).tolist())))
    h.retain_grad()
    h.mul_(3)
    h.register_hook(lambda g: seen.append(("after", _host(g).tolist())))
    (h * A.tensor([1.0, 2.0, 3.0], device=device)).sum().backward()
    assert seen == [("after", [1.0, 2.0, 3.0]), ("before", [3.0, 6.0, 9.0])]
    np.testing.assert_array_equal(_host(h.grad), [1, 2, 3])
    np.testing.assert_array_equal(_host(x.grad), [6, 12, 18])


# -------------------------------------------------- p-norm and 0 ** x: no NaN gradients at zero


@pytest.mark.parametrize("p", [3, 0.5, 1.5, 4])
def test_p_norm_gradient_is_zero_at_the_zero_vector(p, device):
    # torch: torch.zeros(2, requires_grad=True).norm(p=p).backward() -> grad [0, 0]
    x = A.zeros(2, device=device, requires_grad=True)
    x.norm(p=p).backward()
    np.testing.assert_array_equal(_host(x.grad), [0, 0])


def test_p_norm_gradients_match_pytorch_with_zero_elements(device):
    # torch: x = [0, -1, 2] (float64); g = grad(x.norm(p=3), x, create_graph=True);
    # grad(g.sum(), x) -> [0, 0.6163..., 0.3082...]
    x = A.tensor([0.0, -1.0, 2.0], dtype=A.float64, device=device, requires_grad=True)
    (g,) = A.grad(x.norm(p=3), x, create_graph=True)
    np.testing.assert_allclose(_host(g), [0.0, -0.2311204247835449, 0.9244816991341795])
    (h,) = A.grad(g.sum(), x)
    np.testing.assert_allclose(_host(h), [0.0, 0.6163211327561121, 0.30816056637805604])
    # torch: x = [0, -1, 2]; grad(x.norm(p=0.5), x) -> [0, -2.4142..., 1.7071...]
    (g,) = A.grad(x.norm(p=0.5), x)
    np.testing.assert_allclose(_host(g), [0.0, -2.414213562373095, 1.7071067811865472])
    # torch: x = [[0, 0], [3, -4]]; y = x.norm(p=3, dim=1); (y * [1, 2]).sum().backward()
    x = A.tensor([[0.0, 0.0], [3.0, -4.0]], dtype=A.float64, device=device, requires_grad=True)
    y = x.norm(p=3, dim=1)
    np.testing.assert_allclose(_host(y), [0.0, 4.497941445275415])
    (y * A.tensor([1.0, 2.0], dtype=A.float64, device=device)).sum().backward()
    np.testing.assert_allclose(_host(x.grad), [[0, 0], [0.8897027034610712, -1.5816936950419043]])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_pow_exponent_gradient_at_a_zero_base(device):
    # torch: x = [-1, 0, 2]; (0.0 ** x).sum().backward() -> x.grad [-inf, 0, 0]
    x = A.tensor([-1.0, 0.0, 2.0], device=device, requires_grad=True)
    (0.0**x).sum().backward()
    np.testing.assert_array_equal(_host(x.grad), [-np.inf, 0, 0])
    # torch: a = [0, 2], b = [-1, 2.5]; (a ** b).sum().backward() -> b.grad [-inf, 3.9210...]
    a = A.tensor([0.0, 2.0], device=device, requires_grad=True)
    b = A.tensor([-1.0, 2.5], device=device, requires_grad=True)
    (a**b).sum().backward()
    np.testing.assert_allclose(_host(b.grad), [-np.inf, 3.921032], rtol=1e-6)
    np.testing.assert_allclose(_host(a.grad), [-np.inf, 7.071068], rtol=1e-6)
    # torch: (-2.0) ** x has a NaN exponent gradient (log of a negative base).
    x = A.tensor([1.0, 2.0], device=device, requires_grad=True)
    ((-2.0) ** x).sum().backward()
    assert np.isnan(_host(x.grad)).all()


# ------------------------------------------------------- & | ^ ~: bitwise on integers, like torch


def test_bitwise_functions_on_integers_and_bools(device):
    from autograd.ops.elementwise import bitwise_and, bitwise_not, bitwise_or, bitwise_xor

    i = A.tensor([5, 6], device=device)
    # torch: tensor([5, 6]) & 3 -> [1, 2]; | 2 -> [7, 6]; ^ 3 -> [6, 5]; ~ -> [-6, -7]
    assert bitwise_and(i, 3).tolist() == [1, 2]
    assert bitwise_or(i, 2).tolist() == [7, 6]
    assert bitwise_xor(i, 3).tolist() == [6, 5]
    assert bitwise_not(i).tolist() == [-6, -7]
    assert bitwise_and(i, A.tensor([4, 4], device=device)).tolist() == [4, 4]
    assert bitwise_and(i, 3).dtype == A.int64
    b = A.tensor([True, False], device=device)
    # torch: bool & True stays bool; bool & 1 -> int64 [1, 0]; bool | tensor([3]) -> int64 [3, 3]
    out = bitwise_and(b, True)
    assert out.dtype == A.bool_ and out.tolist() == [True, False]
    out = bitwise_and(b, 1)
    assert out.dtype == A.int64 and out.tolist() == [1, 0]
    assert bitwise_or(b, A.tensor([3], device=device)).tolist() == [3, 3]
    assert bitwise_xor(b, A.tensor([True, True], device=device)).tolist() == [False, True]
    out = bitwise_not(b)
    assert out.dtype == A.bool_ and out.tolist() == [False, True]
    assert not out.requires_grad


def test_bitwise_functions_refuse_floats(device):
    from autograd.ops.elementwise import bitwise_and, bitwise_not, bitwise_or, bitwise_xor

    f = A.tensor([1.0, 2.0], device=device)
    with pytest.raises(TypeError, match=r"bitwise_and: .*integer and bool.*\(2,\) float32"):
        bitwise_and(f, 1)
    with pytest.raises(TypeError, match=r"bitwise_or: .*\(1,\) int64 and float"):
        bitwise_or(A.tensor([1], device=device), 1.5)
    with pytest.raises(TypeError, match=r"bitwise_xor: .*float64"):
        bitwise_xor(A.tensor([1], device=device), A.tensor([1.0], dtype=A.float64, device=device))
    with pytest.raises(TypeError, match=r"bitwise_not: .*\(2,\) float32"):
        bitwise_not(f)
    with pytest.raises(RuntimeError, match=r"bitwise_and: shapes cannot be broadcast.*\(3,\)"):
        bitwise_and(A.tensor([1, 2], device=device), A.tensor([1, 2, 3], device=device))


def test_bitwise_operators_on_integers(device):
    i = A.tensor([5, 6], device=device)
    assert (i & 3).tolist() == [1, 2]
    assert (~A.tensor([5], device=device)).tolist() == [-6]
    assert (A.tensor([5], device=device) | 2).tolist() == [7]
    assert (i ^ 3).tolist() == [6, 5]


def test_bitwise_operators_refuse_floats(device):
    with pytest.raises(TypeError, match="bitwise_not"):
        ~A.tensor([1.0], device=device)


# ---------------------------------------------------------- division and pow promote like torch


def test_true_division_promotes_before_going_to_float(device):
    i = A.tensor([1, 2], device=device)
    # torch: int / float16 -> float16; int (shaped) / float64 0-d -> float64; int / int -> float32
    half = A.tensor([1.0, 2.0], dtype=A.float16, device=device)
    assert (i / half).dtype == A.float16
    assert (
        A.tensor([3, 4], device=device) / A.tensor(2.0, dtype=A.float64, device=device)
    ).dtype == A.float64
    assert (i / i).dtype == A.float32
    assert (2 / i).dtype == A.float32 and (i / 2).dtype == A.float32
    np.testing.assert_array_equal(_host(2 / i), [2.0, 1.0])
    np.testing.assert_array_equal(_host(i / half), [1.0, 1.0])
    # torch: float tensor / int 0-d tensor stays float32; bool / True -> float32
    assert (A.tensor([1.0], device=device) / A.tensor(2, device=device)).dtype == A.float32
    assert (A.tensor([True, False], device=device) / True).tolist() == [1.0, 0.0]


def test_scalar_base_power_of_an_integer_tensor_stays_integer(device):
    i = A.tensor([1, 2, 3], device=device)
    # torch: 2 ** tensor([1, 2, 3]) -> tensor([2, 4, 8]) (int64); 2.0 ** it -> float32
    out = 2**i
    assert out.dtype == A.int64 and out.tolist() == [2, 4, 8]
    assert (2.0**i).dtype == A.float32
    # torch: 2 ** tensor([True]) -> int64
    assert (2 ** A.tensor([True], device=device)).dtype == A.int64


def test_bool_scalar_keeps_a_bool_tensor_bool(device):
    b = A.tensor([True, False], device=device)
    # torch: bool + True -> bool [True, True]; bool * True -> bool; bool + 1 -> int64
    assert (b + True).dtype == A.bool_ and (b + True).tolist() == [True, True]
    assert (b * True).dtype == A.bool_ and (b * True).tolist() == [True, False]
    assert (b + 1).dtype == A.int64 and (b + 1).tolist() == [2, 1]
    assert (A.tensor([1.5], device=device) + True).tolist() == [2.5]


def test_subtraction_with_a_bool_operand_is_refused_like_pytorch(device):
    b = A.tensor([True, False], device=device)
    for expr in (lambda: b - True, lambda: True - b, lambda: b - b, lambda: b - 1,
                 lambda: A.tensor([1.0], device=device) - True):  # fmt: skip
        with pytest.raises(RuntimeError, match=r"sub: .*bool.*logical_not"):
            expr()


# ------------------------------------------------------------ reductions over dim 0 of a 0-d tensor


@pytest.mark.parametrize(
    "reduce",
    [
        lambda t: t.sum(0),
        lambda t: t.sum(-1, keepdim=True),
        lambda t: t.mean(0),
        lambda t: t.amax(0),
        lambda t: t.amin(-1),
        lambda t: t.prod(0),
        lambda t: t.logsumexp(0),
        lambda t: t.norm(dim=0),
        lambda t: t.norm(p=1, dim=0),
        lambda t: t.norm(p=3, dim=-1),
        lambda t: t.sum((0,)),
    ],
    ids=[
        "sum",
        "sum_keepdim",
        "mean",
        "amax",
        "amin",
        "prod",
        "logsumexp",
        "norm",
        "norm_p1",
        "norm_p3",
        "sum_tuple",
    ],  # fmt: skip
)
def test_reducing_a_0d_tensor_over_dim_0(reduce, device):
    # torch: tensor(2.).sum(0) -> tensor(2.) (0-d), and likewise for each reduction here.
    t = A.tensor(2.0, dtype=A.float64, device=device, requires_grad=True)
    out = reduce(t)
    assert out.shape == () and out.item() == 2.0
    out.backward()
    assert t.grad.item() == 1.0


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
def test_var_and_std_of_a_0d_tensor_over_dim_0_are_nan(device):
    # torch: tensor(2.).var(0) -> nan (one element, unbiased); correction=0 gives 0.
    t = A.tensor(2.0, device=device)
    assert np.isnan(t.var(0).item()) and np.isnan(t.std(-1).item())
    assert t.var(0, correction=0).item() == 0.0


def test_max_min_and_arg_of_a_0d_tensor_over_dim_0(device):
    # torch: tensor(2.).max(0) -> (values=tensor(2.), indices=tensor(0)); argmax(0) -> tensor(0)
    t = A.tensor(2.0, device=device, requires_grad=True)
    values, indices = t.max(0)
    assert values.shape == () and values.item() == 2.0
    assert indices.shape == () and indices.item() == 0 and indices.dtype == A.int64
    low = t.min(-1, keepdim=True)
    assert low.values.item() == 2.0 and low.indices.item() == 0
    values.backward()
    assert t.grad.item() == 1.0
    assert t.argmax(0).item() == 0 and t.argmin(-1, keepdim=True).shape == ()
    assert A.tensor(True, device=device).all(0).item() is True


def test_reducing_a_0d_tensor_over_dim_1_is_an_index_error(device):
    t = A.tensor(2.0, device=device)
    for reduce in (lambda: t.sum(1), lambda: t.max(1), lambda: t.argmax(-2), lambda: t.mean(1)):
        with pytest.raises(IndexError, match=r"expected to be in range of \[-1, 0\]"):
            reduce()


# ------------------------------------------- zero_/fill_/copy_ on a graph tensor stay in the graph


def test_zero_fill_and_copy_keep_a_non_leaf_in_the_graph(device):
    # torch: h = x * 2; h.zero_(); (h + x).sum().backward() -> x.grad [1, 1], h.requires_grad
    x = A.tensor([1.0, 2.0], device=device, requires_grad=True)
    h = x * 2
    h.zero_()
    assert h.requires_grad and h.grad_fn is not None
    np.testing.assert_array_equal(_host(h), [0, 0])
    (h + x).sum().backward()
    np.testing.assert_array_equal(_host(x.grad), [1, 1])
    # torch: h.retain_grad(); h.fill_(3.0); (h * x).sum().backward() -> x.grad [3, 3], h.grad [1, 2]
    x = A.tensor([1.0, 2.0], device=device, requires_grad=True)
    h = x * 2
    h.retain_grad()
    h.fill_(3.0)
    (h * x).sum().backward()
    np.testing.assert_array_equal(_host(x.grad), [3, 3])
    np.testing.assert_array_equal(_host(h.grad), [1, 2])
    # torch: h.copy_(s) with s = [5.] requiring grad -> x.grad [5, 5], s.grad [3]
    x = A.tensor([1.0, 2.0], device=device, requires_grad=True)
    s = A.tensor([5.0], device=device, requires_grad=True)
    h = x * 2
    h.copy_(s)
    (h * x).sum().backward()
    np.testing.assert_array_equal(_host(x.grad), [5, 5])
    np.testing.assert_array_equal(_host(s.grad), [3])


# --------------------------------------------- in place: no silent truncation of a float result


@pytest.mark.parametrize(
    ("update", "message"),
    [
        (lambda t: t.div_(2), r"div_: result type float32 can't be cast to .*int64"),
        (lambda t: t.add_(1.5), r"add_: result type float32 can't be cast to .*int64"),
        (lambda t: t.mul_(A.tensor([1.0, 2.0, 3.0], device=t.device)), r"mul_: .*float32.*int64"),
        (lambda t: t.sub_(0.5), r"sub_: result type float32"),
        (lambda t: t.clamp_(0.5), r"clamp_: result type float32"),
        (lambda t: t.bool().add_(1), r"add_: result type int64 can't be cast to .*bool"),
    ],
    ids=["div_", "add_float", "mul_tensor", "sub_float", "clamp_float", "bool_add_int"],
)
def test_in_place_refuses_a_result_the_integer_tensor_cannot_hold(update, message, device):
    # torch: tensor([1, 2, 3]).div_(2) -> RuntimeError "result type Float can't be cast to the
    # desired output type Long" (likewise add_(1.5), clamp_(0.5), bool add_(1)).
    t = A.tensor([1, 2, 3], device=device)
    with pytest.raises(RuntimeError, match=message):
        update(t)
    assert t.tolist() == [1, 2, 3]


def test_in_place_casts_that_pytorch_allows(device):
    # torch: int add_(True) -> [2]; int32 add_(int64 tensor) stays int32; float32 mul_(float64)
    # stays float32; int copy_(float) truncates; bool mul_(True) stays bool.
    i = A.tensor([1], device=device)
    assert i.add_(True).tolist() == [2]
    i32 = A.tensor([1], dtype=A.int32, device=device).add_(A.tensor([5], device=device))
    assert i32.dtype == A.int32 and i32.tolist() == [6]
    f = A.tensor([1.0], device=device).mul_(A.tensor([2.0], dtype=A.float64, device=device))
    assert f.dtype == A.float32 and f.tolist() == [2.0]
    c = A.tensor([1, 2], device=device).copy_(A.tensor([1.5, 2.5], device=device))
    assert c.tolist() == [1, 2]
    assert A.tensor([True], device=device).mul_(True).tolist() == [True]
    with pytest.raises(RuntimeError, match="sub: .*bool"):
        A.tensor([True], device=device).sub_(True)


# --------------------------------------------------------- out-of-range ints wrap like PyTorch


def test_out_of_range_python_ints_wrap_in_integer_arithmetic(device):
    # torch: tensor([1, 200], dtype=uint8) + 300 -> [45, 244]; * 300 -> [44, 96]; - 300 ->
    # [213, 156]; 300 - u -> [43, 100]; u % 300 -> [1, 24]; int8 [1] + 200 -> [-55];
    # u.add_(300) -> [45, 244]; u / 300 divides in float (no wrap).
    u = A.tensor([1, 200], dtype=A.uint8, device=device)
    assert (u + 300).dtype == A.uint8 and (u + 300).tolist() == [45, 244]
    assert (u * 300).tolist() == [44, 96]
    assert (u - 300).tolist() == [213, 156]
    assert (300 - u).tolist() == [43, 100]
    assert (u % 300).tolist() == [1, 24]
    assert (A.tensor([1], dtype=A.int8, device=device) + 200).tolist() == [-55]
    np.testing.assert_allclose(_host(u / 300), [1 / 300, 200 / 300], rtol=1e-6)
    assert u.clone().add_(300).tolist() == [45, 244]
    assert u.clone().sub_(300).tolist() == [213, 156]
    assert (A.tensor([True], device=device) + 300).tolist() == [301]


def test_out_of_range_python_ints_are_refused_where_pytorch_refuses(device):
    # torch: where(u > 0, u, 300), u ** 300, u.clamp(0, 300), u.fill_(300) -> RuntimeError
    # "value cannot be converted to type uint8_t without overflow"; int64 + 2**64 ->
    # OverflowError.
    u = A.tensor([1, 200], dtype=A.uint8, device=device)
    with pytest.raises(RuntimeError, match=r"where: value 300 cannot be converted to uint8"):
        A.where(u > 0, u, 300)
    with pytest.raises(RuntimeError, match=r"pow: value 300 cannot be converted to uint8"):
        u**300
    with pytest.raises(RuntimeError, match=r"clamp: value 300 cannot be converted to uint8"):
        u.clamp(0, 300)
    with pytest.raises(RuntimeError, match=r"clamp_: value 300"):
        u.clamp_(0, 300)
    with pytest.raises(RuntimeError, match=r"copy_: value 300"):
        u.fill_(300)
    with pytest.raises(OverflowError, match=r"add: .*18446744073709551616.*int64"):
        A.tensor([1], device=device) + 2**64
    assert u.tolist() == [1, 200]


def test_in_place_into_an_expanded_tensor_is_refused_as_pytorch(device):
    base = A.tensor([[1.0], [2.0]], device=device)
    wide = base.expand(2, 3)
    with pytest.raises(RuntimeError, match=r"add_: .*single memory location.*clone\(\)"):
        wide.add_(1.0)
    with pytest.raises(RuntimeError, match=r"setitem: .*single memory location"):
        wide[0, 0] = 5.0
    np.testing.assert_array_equal(base.tolist(), [[1.0], [2.0]])  # nothing was written
    owned = wide.clone()
    owned.add_(1.0)
    assert owned.tolist() == [[2.0, 2.0, 2.0], [3.0, 3.0, 3.0]]


def test_gradients_of_reductions_can_be_updated_in_place(device):
    # sum()'s gradient is a broadcast view inside the engine; the leaf's .grad owns its memory.
    x = A.ones(2, 3, device=device, requires_grad=True)
    x.sum().backward()
    x.grad.mul_(2.0)
    x.grad.zero_()
    assert x.grad.tolist() == [[0.0] * 3] * 2
