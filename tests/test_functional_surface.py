"""nn.functional's activations, losses and other functions against PyTorch, with gradchecks,
their modules (names, defaults, parameters), and their error messages.

The cases live in ``tests/functional_cases.py``; PyTorch's outputs and gradients were generated
once by ``tests/fixtures/make_functional_fixtures.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from functional_cases import CASES, _tuple

import autograd as A
import nn
import nn.functional as F

REF = np.load(Path(__file__).parent / "fixtures" / "functional_reference.npz")
GRAD = [c for c in CASES if any(c.grads()) and c.name != "one_hot"]
# Where PyTorch's gradient is NaN and ours is a number (documented in the docstrings).
PYTORCH_NAN = {"kl_div_zero_target"}  # d/dtarget of target * log(target) at target == 0
SMOOTH = [c for c in GRAD if c.smooth and "nearest" not in c.name]


def _inputs(case, device="cpu", dtype=A.float64):
    tensors = []
    for i, wanted in enumerate(case.grads()):
        a = REF[f"{case.name}/in{i}"]
        if a.dtype.kind == "f":
            tensors.append(A.tensor(a, dtype=dtype, device=device, requires_grad=wanted))
        else:
            tensors.append(A.tensor(a, device=device))
    return tensors


def _ramp(shape):
    n = int(np.prod(shape))
    return (np.arange(n, dtype=np.float64) / max(n, 1) - 0.3).reshape(shape)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_values_and_gradients_match_pytorch(case, device):
    xs = _inputs(case, device)
    outs = _tuple(case.fn(F, A, *xs))
    loss = None
    for j, out in enumerate(outs):
        ref = REF[f"{case.name}/out{j}"]
        assert tuple(out.shape) == ref.shape, f"{case.name} output {j}"
        np.testing.assert_allclose(out.detach().numpy(), ref, rtol=1e-9, atol=1e-10)
        if out.dtype.kind == "f" and out.requires_grad:
            term = (out * A.tensor(_ramp(ref.shape), device=device)).sum()
            loss = term if loss is None else loss + term
    if loss is None:
        return
    wanted = [x for x in xs if x.requires_grad]
    grads = iter(A.grad(loss, wanted, allow_unused=True))
    for i, x in enumerate(xs):
        if not x.requires_grad:
            continue
        g = next(grads)
        ref = REF[f"{case.name}/grad{i}"]
        got = np.zeros(ref.shape) if g is None else g.numpy()
        if case.name in PYTORCH_NAN:
            ref = np.where(np.isnan(ref), got, ref)
        # PyTorch computes some float64 slopes with float32 constants (hardsigmoid: 1/6).
        np.testing.assert_allclose(got, ref, rtol=5e-8, atol=1e-9, err_msg=f"grad of input {i}")


def _differentiable(case):
    xs = _inputs(case)
    wanted = [i for i, x in enumerate(xs) if x.requires_grad]

    def fn(*ts):
        full = list(xs)
        for i, t in zip(wanted, ts):
            full[i] = t
        return case.fn(F, A, *full)

    return fn, [xs[i] for i in wanted]


@pytest.mark.parametrize("case", GRAD, ids=[c.name for c in GRAD])
def test_gradcheck(case):
    fn, xs = _differentiable(case)
    assert A.gradcheck(fn, xs)


@pytest.mark.parametrize("case", SMOOTH, ids=[c.name for c in SMOOTH])
def test_gradgradcheck(case):
    fn, xs = _differentiable(case)
    assert A.gradgradcheck(fn, xs)


@pytest.mark.parametrize("case", GRAD, ids=[c.name for c in GRAD])
def test_float32_stays_float32(case):
    xs = _inputs(case, dtype=A.float32)
    outs = [o for o in _tuple(case.fn(F, A, *xs)) if o.dtype.kind == "f"]
    assert outs and all(o.dtype == A.float32 for o in outs), case.name


# ------------------------------------------------------------------ random functions
def test_rrelu_training_draws_slopes_in_range_and_is_seeded():
    x = -A.ones(2000)
    A.manual_seed(1)
    a = F.rrelu(x, 0.1, 0.3, training=True)
    A.manual_seed(1)
    b = F.rrelu(x, 0.1, 0.3, training=True)
    assert (a == b).all().item()
    slopes = -a.numpy()
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3 and abs(slopes.mean() - 0.2) < 0.01
    assert (F.rrelu(A.ones(5), training=True) == 1).all().item()


def test_alpha_dropout_keeps_mean_and_variance_of_selu_outputs():
    A.manual_seed(0)
    x = F.selu(A.randn(200_000, dtype=A.float64))
    y = F.alpha_dropout(x, 0.3, training=True)
    assert abs(y.mean().item()) < 0.02 and abs(y.std().item() - 1) < 0.02
    assert F.alpha_dropout(x, 0.3, training=False) is x
    z = A.randn(10, requires_grad=True)
    F.alpha_dropout(z, 0.5, training=True).sum().backward()
    assert z.grad is not None


# --------------------------------------------------------------------------- modules
MODULES = [
    (nn.ReLU6(), F.relu6, {}),
    (nn.Hardtanh(-2.0, 2.0), lambda x: F.hardtanh(x, -2.0, 2.0), {}),
    (nn.SELU(), F.selu, {}),
    (nn.CELU(0.5), lambda x: F.celu(x, 0.5), {}),
    (nn.GLU(), F.glu, {}),
    (nn.Hardsigmoid(), F.hardsigmoid, {}),
    (nn.Hardswish(), F.hardswish, {}),
    (nn.Hardshrink(0.3), lambda x: F.hardshrink(x, 0.3), {}),
    (nn.Softshrink(0.3), lambda x: F.softshrink(x, 0.3), {}),
    (nn.Softsign(), F.softsign, {}),
    (nn.Softplus(2.0, 5.0), lambda x: F.softplus(x, 2.0, 5.0), {}),
    (nn.Tanhshrink(), F.tanhshrink, {}),
    (nn.Threshold(0.1, 20.0), lambda x: F.threshold(x, 0.1, 20.0), {}),
    (nn.LogSigmoid(), F.logsigmoid, {}),
    (nn.Softmin(1), lambda x: F.softmin(x, 1), {}),
    (nn.SiLU(), F.silu, {}),
    (nn.Mish(), F.mish, {}),
    (nn.RReLU().eval(), F.rrelu, {}),
    (nn.ChannelShuffle(2), lambda x: F.channel_shuffle(x, 2), {}),
    (nn.LocalResponseNorm(2), lambda x: F.local_response_norm(x, 2), {}),
    (nn.RMSNorm(4), lambda x: F.rms_norm(x, (4,), A.ones(4)), {"weight": (4,)}),
    (nn.PReLU(4), lambda x: F.prelu(x, A.full((4,), 0.25)), {"weight": (4,)}),
]


@pytest.mark.parametrize("module, fn, params", MODULES, ids=lambda m: type(m).__name__)
def test_modules_delegate_to_functional_with_pytorch_defaults(module, fn, params):
    x = A.randn(3, 4, 4)
    np.testing.assert_allclose(module(x).detach().numpy(), fn(x).numpy(), rtol=1e-6)
    assert {k: tuple(v.shape) for k, v in module.state_dict().items()} == params
    repr(module)


def test_parametrised_layers_match_pytorch_layout_and_init():
    bil = nn.Bilinear(3, 4, 5)
    assert [(k, tuple(v.shape)) for k, v in bil.state_dict().items()] == [
        ("weight", (5, 3, 4)),
        ("bias", (5,)),
    ]
    assert bil.weight.abs().max().item() <= 1 / 3**0.5
    assert bil(A.randn(2, 3), A.randn(2, 4)).shape == (2, 5)
    bag = nn.EmbeddingBag(10, 3, mode="sum", padding_idx=0)
    assert bag.weight.shape == (10, 3) and (bag.weight[0] == 0).all().item()
    out = bag(A.tensor([1, 2, 0, 4]), A.tensor([0, 2]))
    w = bag.weight.detach().numpy()
    np.testing.assert_allclose(out.detach().numpy(), np.stack([w[1] + w[2], w[4]]), rtol=1e-6)
    assert nn.PReLU().weight.item() == 0.25
    assert nn.RMSNorm([2, 3], elementwise_affine=False).weight is None


LOSS_MODULES = [
    (nn.SmoothL1Loss(beta=0.5), lambda x, y: F.smooth_l1_loss(x, y, beta=0.5)),
    (nn.HuberLoss(delta=0.5), lambda x, y: F.huber_loss(x, y, delta=0.5)),
    (nn.SoftMarginLoss(), F.soft_margin_loss),
    (nn.HingeEmbeddingLoss(), F.hinge_embedding_loss),
    (nn.PoissonNLLLoss(), F.poisson_nll_loss),
    (nn.KLDivLoss(reduction="batchmean"), lambda x, y: F.kl_div(x, y, reduction="batchmean")),
    (nn.MultiLabelSoftMarginLoss(), F.multilabel_soft_margin_loss),
]


@pytest.mark.parametrize("module, fn", LOSS_MODULES, ids=lambda m: type(m).__name__)
def test_loss_modules_delegate(module, fn):
    x = A.randn(4, 3)
    y = A.randn(4, 3).sign()
    assert module(x, y).item() == pytest.approx(fn(x, y).item())


def test_more_loss_modules():
    a, b, n = A.randn(4, 3), A.randn(4, 3), A.randn(4, 3)
    y = A.tensor([1.0, -1.0, 1.0, -1.0])
    assert nn.CosineEmbeddingLoss(0.1)(a, b, y).item() == pytest.approx(
        F.cosine_embedding_loss(a, b, y, 0.1).item()
    )
    assert nn.MarginRankingLoss(0.2)(a[:, 0], b[:, 0], y).item() == pytest.approx(
        F.margin_ranking_loss(a[:, 0], b[:, 0], y, 0.2).item()
    )
    assert nn.TripletMarginWithDistanceLoss()(a, b, n).item() == pytest.approx(
        F.triplet_margin_with_distance_loss(a, b, n).item()
    )
    labels = A.tensor([0, 2, 1, 2])
    assert nn.MultiMarginLoss(p=2)(a, labels).item() == pytest.approx(
        F.multi_margin_loss(a, labels, p=2).item()
    )
    var = A.rand(4, 3) + 0.5
    assert nn.GaussianNLLLoss()(a, b, var).item() == pytest.approx(
        F.gaussian_nll_loss(a, b, var).item()
    )
    targets = A.tensor([[0, 2, -1], [1, -1, 0], [2, 1, 0], [0, -1, 2]])
    assert nn.MultiLabelMarginLoss()(a, targets).item() == pytest.approx(
        F.multilabel_margin_loss(a, targets).item()
    )
    lp = (
        A.randn(5, 2, 4).log_softmax(2)
        if hasattr(A.Tensor, "log_softmax")
        else F.log_softmax(A.randn(5, 2, 4), 2)
    )
    tg = A.tensor([[1, 2], [3, 3]])
    assert nn.CTCLoss()(lp, tg, [5, 5], [2, 2]).item() == pytest.approx(
        F.ctc_loss(lp, tg, [5, 5], [2, 2]).item()
    )


def test_ctc_impossible_alignment_is_inf_or_zero():
    # Two equal labels need a blank between them: 3 frames cannot emit "1 1" plus... 2 frames.
    lp = F.log_softmax(A.randn(2, 1, 3, dtype=A.float64), 2).detach().requires_grad_()
    tg = A.tensor([[1, 1]])
    loss = F.ctc_loss(lp, tg, [2], [2], reduction="sum")
    assert loss.item() == float("inf")
    loss = F.ctc_loss(lp, tg, [2], [2], reduction="sum", zero_infinity=True)
    assert loss.item() == 0.0
    loss.backward()
    assert (lp.grad == 0).all().item()


# ---------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: F.glu(A.ones(2, 3)), RuntimeError, r"glu: Halving dimension must be even"),
        (lambda: F.hardtanh(A.ones(2), 1.0, 0.0), ValueError, r"hardtanh: min_val \(1.0\)"),
        (lambda: F.softshrink(A.ones(2), -1.0), RuntimeError, r"softshrink: lambda must be"),
        (lambda: F.prelu(A.ones(2, 3), A.ones(2)), RuntimeError, r"prelu: mismatch of parameter"),
        (lambda: F.smooth_l1_loss(A.ones(2), A.ones(2), beta=-1), RuntimeError, r"negative"),
        (lambda: F.huber_loss(A.ones(2), A.ones(2), delta=0), RuntimeError, r"non-positive"),
        (lambda: F.kl_div(A.ones(2), A.ones(2), reduction="avg"), ValueError, r"'avg' is not"),
        (
            lambda: F.margin_ranking_loss(A.ones(2), A.ones(2, 1), A.ones(2)),
            RuntimeError,
            r"margin_ranking_loss: All input tensors should have same dimension",
        ),
        (
            lambda: F.cosine_embedding_loss(A.ones(2, 3), A.ones(2, 3), A.ones(2, 1)),
            RuntimeError,
            r"cosine_embedding_loss: 2D target tensor expects 1D target",
        ),
        (
            lambda: F.multi_margin_loss(A.ones(2, 3), A.tensor([0, 1]), p=3),
            ValueError,
            r"only p == 1 and p == 2",
        ),
        (
            lambda: F.multilabel_margin_loss(A.ones(2, 3), A.ones(2, 3)),
            RuntimeError,
            r"multilabel_margin_loss: expected an int64 target",
        ),
        (
            lambda: F.gaussian_nll_loss(A.ones(2, 3), A.ones(2, 3), A.ones(3, 3)),
            ValueError,
            r"gaussian_nll_loss: var of shape",
        ),
        (
            lambda: F.gaussian_nll_loss(A.ones(2), A.ones(2), -A.ones(2)),
            ValueError,
            r"var has negative",
        ),
        (
            lambda: F.triplet_margin_with_distance_loss(A.ones(2), A.ones(2), A.ones(2), margin=0),
            ValueError,
            r"margin must be greater than 0",
        ),
        (
            lambda: F.ctc_loss(A.ones(3, 2, 4), A.tensor([[1], [1]]), [4, 3], [1, 1]),
            RuntimeError,
            r"ctc_loss: Expected input_lengths to have value at most 3",
        ),
        (
            lambda: F.ctc_loss(A.ones(3, 2, 4), A.tensor([[0], [1]]), [3, 3], [1, 1]),
            RuntimeError,
            r"ctc_loss: target labels must be in \[0, 4\) and not the blank",
        ),
        (
            lambda: F.bilinear(A.ones(2, 3), A.ones(2, 4), A.ones(5, 3, 3)),
            RuntimeError,
            r"bilinear: input1 \(2, 3\) and input2 \(2, 4\) do not fit",
        ),
        (
            lambda: F.embedding_bag(A.tensor([1, 2]), A.ones(3, 2)),
            ValueError,
            r"embedding_bag: offsets has to be a 1D Tensor",
        ),
        (
            lambda: F.embedding_bag(A.tensor([[1]]), A.ones(3, 2), mode="median"),
            ValueError,
            r"mode has to be one of sum, mean or max",
        ),
        (lambda: F.local_response_norm(A.ones(2, 3), 2), ValueError, r"Expected 3D or higher"),
        (lambda: F.rms_norm(A.ones(2, 3), (2,)), RuntimeError, r"rms_norm: given normalized"),
        (lambda: F.pdist(A.ones(2, 3, 4)), RuntimeError, r"pdist: only supports 2D tensors"),
        (lambda: F.channel_shuffle(A.ones(1, 3, 2), 2), RuntimeError, r"must be divisible"),
        (
            lambda: F.affine_grid(A.ones(2, 2, 3), [3, 1, 2, 2]),
            ValueError,
            r"affine_grid: Expected a batch of 2D affine matrices of shape Nx2x3",
        ),
        (
            lambda: F.grid_sample(A.ones(1, 1, 2, 2), A.ones(1, 2, 2, 2), mode="cubic"),
            ValueError,
            r"grid_sample: expected mode to be 'bilinear' or 'nearest'",
        ),
        (
            lambda: F.grid_sample(A.ones(1, 1, 2, 2), A.ones(2, 2, 2, 2)),
            RuntimeError,
            r"grid_sample: expected grid and input to have same batch size",
        ),
        (lambda: F.alpha_dropout(A.ones(2), 1.5), ValueError, r"between 0 and 1"),
    ],
)
def test_errors_name_the_op(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ---------------------------------------------------------------- review regressions (values
# generated once with PyTorch 2.13)
def test_hardswish_slope_at_the_kinks_is_pytorchs():
    x = A.tensor([-3.0, 3.0], dtype=A.float64, requires_grad=True)
    F.hardswish(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 1.0])


def test_multilabel_margin_counts_a_repeated_target_twice():
    x = A.tensor([0.1, 0.2, 0.4, 0.8], dtype=A.float64, requires_grad=True)
    loss = F.multilabel_margin_loss(x, A.tensor([3, 3, -1, 1]))
    loss.backward()
    np.testing.assert_allclose(loss.item(), 0.65)
    np.testing.assert_allclose(x.grad.numpy(), [0.5, 0.5, 0.5, -1.5])
    with pytest.raises(RuntimeError, match=r"multilabel_margin_loss: target holds a class index"):
        F.multilabel_margin_loss(x, A.tensor([4, 0, -1, 1]))


@pytest.mark.parametrize(
    "padding_mode, align_corners, out, grad",
    [
        ("border", True, [0, 11, 8, 6], [0, 0, 0, 0, 0, 4, 0, 4]),
        ("border", False, [0, 11, 8.5, 7], [0, 0, 0, 0, 0, 6, 0, 6]),
        ("reflection", True, [0, 11, 8, 6.3], [0, 0, 0, 0, 0, 4, -1.5, 4]),
        ("reflection", False, [0, 11, 8.5, 7], [0, 0, 0, 0, 0, 6, 0, 6]),
    ],
)
def test_grid_sample_points_on_the_border_get_no_gradient(padding_mode, align_corners, out, grad):
    # As PyTorch's sampler, a clipped coordinate exactly on the border counts as outside.
    inp = A.arange(12.0, dtype=A.float64).reshape(1, 1, 3, 4)
    g = A.tensor(
        [[[[-1.0, -1.0], [1.0, 1.0], [1.0, 0.25], [-1.2, 0.5]]]],
        dtype=A.float64,
        requires_grad=True,
    )
    o = F.grid_sample(inp, g, padding_mode=padding_mode, align_corners=align_corners)
    o.sum().backward()
    np.testing.assert_allclose(o.detach().numpy().ravel(), out, atol=1e-12)
    np.testing.assert_allclose(g.grad.numpy().ravel(), grad, atol=1e-12)


def test_module_reprs_and_attributes_follow_pytorch():
    assert repr(nn.AlphaDropout()) == "AlphaDropout(p=0.5, inplace=False)"
    bag = nn.EmbeddingBag(10, 3)
    assert (bag.max_norm, bag.norm_type, bag.scale_grad_by_freq, bag.sparse) == (
        None,
        2.0,
        False,
        False,
    )
