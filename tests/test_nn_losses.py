"""Losses (functional and modules): values and gradients against PyTorch fixtures for every
reduction, gradchecks, stability, dtype preservation and error messages.
"""

from pathlib import Path

import numpy as np
import pytest

import autograd as A
import nn
import nn.functional as F

REF = np.load(Path(__file__).parent / "fixtures" / "nn_reference.npz")

# key -> (our function of the fixture inputs, the inputs whose 'mean' gradient was recorded)
CASES = {
    "mse": (lambda x, y, reduction: F.mse_loss(x, y, reduction=reduction), (0, 1)),
    "l1": (lambda x, y, reduction: F.l1_loss(x, y, reduction=reduction), (0, 1)),
    "bce": (lambda x, y, reduction: F.binary_cross_entropy(x, y, reduction=reduction), (0,)),
    "bce_weighted": (
        lambda x, y, w, reduction: F.binary_cross_entropy(x, y, weight=w, reduction=reduction),
        (0, 1),
    ),
    "bce_clamped": (lambda x, y, reduction: F.binary_cross_entropy(x, y, reduction=reduction), ()),
    "bce_logits": (
        lambda x, y, reduction: F.binary_cross_entropy_with_logits(x, y, reduction=reduction),
        (0, 1),
    ),
    "bce_logits_weighted": (
        lambda x, y, w, pw, reduction: F.binary_cross_entropy_with_logits(
            x, y, weight=w, pos_weight=pw, reduction=reduction
        ),
        (0, 1),
    ),
    "ce": (lambda x, y, reduction: F.cross_entropy(x, y, reduction=reduction), (0,)),
    "ce_weight_ignore": (
        lambda x, y, w, reduction: F.cross_entropy(x, y, weight=w, reduction=reduction),
        (0,),
    ),
    "ce_ignore_index": (
        lambda x, y, reduction: F.cross_entropy(x, y, ignore_index=3, reduction=reduction),
        (0,),
    ),
    "ce_smooth": (
        lambda x, y, reduction: F.cross_entropy(x, y, label_smoothing=0.2, reduction=reduction),
        (0,),
    ),
    "ce_smooth_weight": (
        lambda x, y, w, reduction: F.cross_entropy(
            x, y, weight=w, label_smoothing=0.1, reduction=reduction
        ),
        (0,),
    ),
    "ce_probs": (lambda x, y, reduction: F.cross_entropy(x, y, reduction=reduction), (0, 1)),
    "ce_probs_smooth_weight": (
        lambda x, y, w, reduction: F.cross_entropy(
            x, y, weight=w, label_smoothing=0.3, reduction=reduction
        ),
        (0,),
    ),
    "ce_4d": (lambda x, y, reduction: F.cross_entropy(x, y, reduction=reduction), (0,)),
    "ce_unbatched": (lambda x, y, reduction: F.cross_entropy(x, y, reduction=reduction), (0,)),
    "nll": (
        lambda x, y, w, reduction: F.nll_loss(x, y, weight=w, reduction=reduction),
        (0,),
    ),
    "triplet": (
        lambda a, p, n, reduction: F.triplet_margin_loss(a, p, n, margin=2.0, reduction=reduction),
        (0, 1, 2),
    ),
    "triplet_swap_p1": (
        lambda a, p, n, reduction: F.triplet_margin_loss(
            a, p, n, margin=1.5, p=1, swap=True, reduction=reduction
        ),
        (0, 1, 2),
    ),
}


def inputs_of(key, device, grad_inputs=()):
    tensors = []
    i = 0
    while f"loss/{key}/in{i}" in REF:
        value = REF[f"loss/{key}/in{i}"]
        if value.dtype.kind in "iu":
            tensors.append(A.tensor(value, device=device))
        else:
            tensors.append(
                A.tensor(value, dtype=A.float64, device=device, requires_grad=i in grad_inputs)
            )
        i += 1
    return tensors


@pytest.mark.parametrize("key", list(CASES))
def test_loss_matches_torch(device, key):
    fn, grad_inputs = CASES[key]
    for reduction in ("mean", "sum", "none"):
        tensors = inputs_of(key, device, grad_inputs)
        out = fn(*tensors, reduction=reduction)
        expected = REF[f"loss/{key}/{reduction}"]
        assert out.shape == expected.shape
        np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-10, atol=1e-12)
        if reduction == "mean" and grad_inputs:
            out.backward()
            for i in grad_inputs:
                np.testing.assert_allclose(
                    tensors[i].grad.numpy(), REF[f"loss/{key}/grad{i}"], rtol=1e-8, atol=1e-12
                )


def _floats(*shape, device, low=0.0, high=1.0):
    x = A.rand(*shape, dtype=A.float64, device=device) * (high - low) + low
    return x.requires_grad_()


def _f64(values, device):
    return A.tensor(values, dtype=A.float64, device=device)


def _classes(device):
    return A.tensor([0, 2, 1, 2], device=device)


def case_mse(d):
    return F.mse_loss, [_floats(3, 4, device=d), _floats(3, 4, device=d)]


def case_mse_weight(d):
    target, weight = A.ones(3, 4, dtype=A.float64, device=d), _floats(3, 4, device=d).detach()
    return lambda x: F.mse_loss(x, target, weight=weight), [_floats(3, 4, device=d)]


def case_l1(d):
    # the target is far from the input: |x - y| has no kink nearby
    inputs = [_floats(3, 4, device=d), _floats(3, 4, device=d, low=2, high=3)]
    return lambda x, y: F.l1_loss(x, y, reduction="sum"), inputs


def case_bce(d):
    return F.binary_cross_entropy, [
        _floats(3, 4, device=d, low=0.1, high=0.9),
        _floats(3, 4, device=d),
    ]


def case_bce_with_logits(d):
    def fn(x, y, pos_weight):
        return F.binary_cross_entropy_with_logits(x, y, pos_weight=pos_weight, reduction="sum")

    inputs = [
        _floats(3, 4, device=d, low=-3, high=3),
        _floats(3, 4, device=d),
        _floats(4, device=d, low=0.5, high=2),
    ]
    return fn, inputs


def case_cross_entropy(d):
    return lambda x: F.cross_entropy(x, _classes(d)), [_floats(4, 3, device=d, low=-2, high=2)]


def case_cross_entropy_smooth_weight(d):
    weight = _f64([1.0, 2.0, 0.5], d)

    def fn(x):
        return F.cross_entropy(x, _classes(d), weight=weight, label_smoothing=0.2)

    return fn, [_floats(4, 3, device=d, low=-2, high=2)]


def case_cross_entropy_probs(d):
    return F.cross_entropy, [_floats(4, 3, device=d, low=-2, high=2), _floats(4, 3, device=d)]


def case_cross_entropy_4d(d):
    target = A.tensor([[[0, 1], [2, 2]]], device=d)
    return (
        lambda x: F.cross_entropy(x, target, reduction="none"),
        [_floats(1, 3, 2, 2, device=d, low=-2, high=2)],
    )


def case_nll(d):
    return (
        lambda x: F.nll_loss(x, _classes(d), reduction="sum"),
        [_floats(4, 3, device=d, low=-3, high=0)],
    )


def case_triplet(d):
    # a large margin keeps every hinge active (no kink)
    inputs = [_floats(3, 4, device=d) for _ in range(3)]
    return lambda a, p, n: F.triplet_margin_loss(a, p, n, margin=5.0), inputs


GRADCHECKS = {name[5:]: fn for name, fn in list(globals().items()) if name.startswith("case_")}
SECOND_ORDER = [
    "mse",
    "bce_with_logits",
    "cross_entropy",
    "cross_entropy_smooth_weight",
    "cross_entropy_probs",
    "cross_entropy_4d",
    "nll",
]


@pytest.mark.parametrize("name", list(GRADCHECKS))
def test_loss_gradcheck(device, name):
    fn, inputs = GRADCHECKS[name](device)
    assert A.gradcheck(fn, inputs)
    if name in SECOND_ORDER:
        assert A.gradgradcheck(fn, inputs)


def test_bce_with_logits_is_stable_for_huge_logits(device):
    x = A.tensor([1e4, -1e4, 80.0, -80.0], device=device, requires_grad=True)
    t = A.tensor([0.0, 1.0, 1.0, 0.0], device=device)
    losses = F.binary_cross_entropy_with_logits(x, t, reduction="none")
    np.testing.assert_allclose(losses.detach().numpy(), [1e4, 1e4, 0.0, 0.0], atol=1e-6)
    losses.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, -1.0, 0.0, 0.0], atol=1e-6)


def test_cross_entropy_is_stable_and_keeps_float32(device):
    x = A.tensor([[1e4, 0.0, -1e4], [3.0, 1.0, 0.5]], device=device, requires_grad=True)
    target = A.tensor([2, 0], device=device)
    assert target.dtype == A.int64
    loss = F.cross_entropy(x, target)
    assert loss.dtype == A.float32
    second = np.log(np.exp([3.0, 1.0, 0.5]).sum()) - 3.0
    np.testing.assert_allclose(loss.item(), (2e4 + second) / 2, rtol=1e-6)
    loss.backward()
    assert x.grad.dtype == A.float32
    np.testing.assert_allclose(x.grad.numpy()[0], [0.5, 0.0, -0.5], atol=1e-6)


@pytest.mark.parametrize(
    "loss_fn,target",
    [
        (lambda x, t: F.mse_loss(x, t), lambda d: A.randn(4, 3, device=d)),
        (lambda x, t: F.l1_loss(x, t), lambda d: A.randn(4, 3, device=d)),
        (lambda x, t: F.binary_cross_entropy(x.sigmoid(), t), lambda d: A.rand(4, 3, device=d)),
        (lambda x, t: F.binary_cross_entropy_with_logits(x, t), lambda d: A.rand(4, 3, device=d)),
        (
            lambda x, t: F.nll_loss(F.log_softmax(x, 1), t),
            lambda d: A.tensor([0, 1, 2, 1], device=d),
        ),
        (
            lambda x, t: F.cross_entropy(
                x, t, weight=A.ones(3, device=x.device), label_smoothing=0.1
            ),
            lambda d: A.tensor([0, 1, 2, -100], device=d),
        ),
        (lambda x, t: F.triplet_margin_loss(x, t, t * 2.0), lambda d: A.randn(4, 3, device=d)),
    ],
)
def test_losses_keep_float32(device, loss_fn, target):
    x = A.randn(4, 3, device=device, requires_grad=True)
    loss = loss_fn(x, target(device))
    assert loss.dtype == A.float32
    loss.backward()
    assert x.grad.dtype == A.float32


def test_loss_modules_match_functional_and_register_weights(device):
    x = A.randn(5, 4, device=device)
    t = A.tensor([0, 3, 1, 3, 2], device=device)
    w = A.tensor([1.0, 2.0, 0.5, 1.5], device=device)
    module = nn.CrossEntropyLoss(weight=w, ignore_index=1, label_smoothing=0.1)
    expected = F.cross_entropy(x, t, weight=w, ignore_index=1, label_smoothing=0.1)
    np.testing.assert_allclose(module(x, t).item(), expected.item(), rtol=1e-6)
    assert list(module.state_dict()) == ["weight"]
    assert list(nn.CrossEntropyLoss().state_dict()) == []
    assert list(nn.BCEWithLogitsLoss(pos_weight=w).state_dict()) == ["pos_weight"]
    logp = F.log_softmax(x, 1)
    np.testing.assert_allclose(
        nn.NLLLoss(reduction="sum")(logp, t).item(), F.nll_loss(logp, t, reduction="sum").item()
    )
    y = A.rand(5, 4, device=device)
    np.testing.assert_allclose(nn.MSELoss()(x, y).item(), F.mse_loss(x, y).item())
    np.testing.assert_allclose(
        nn.L1Loss(reduction="sum")(x, y).item(), F.l1_loss(x, y, reduction="sum").item()
    )
    np.testing.assert_allclose(
        nn.BCELoss()(y, (y > 0.5).float()).item(),
        F.binary_cross_entropy(y, (y > 0.5).float()).item(),
    )
    np.testing.assert_allclose(
        nn.BCEWithLogitsLoss(pos_weight=w)(x, y).item(),
        F.binary_cross_entropy_with_logits(x, y, pos_weight=w).item(),
    )
    a, p, n = A.randn(3, 4), A.randn(3, 4), A.randn(3, 4)
    np.testing.assert_allclose(
        nn.TripletMarginLoss(swap=True)(a, p, n).item(),
        F.triplet_margin_loss(a, p, n, swap=True).item(),
    )
    assert nn.MSELoss(size_average=False).reduction == "sum"  # PyTorch's legacy flags
    assert nn.MSELoss(reduce=False).reduction == "none"


def test_loss_errors(device):
    x = A.randn(3, 4, device=device)
    with pytest.raises(ValueError, match="'average' is not a valid value for reduction"):
        F.mse_loss(x, x, reduction="average")
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        nn.CrossEntropyLoss(reduction="avg")
    with pytest.warns(
        UserWarning,
        match=r"target size \(\(4,\)\) that is different to the input size \(\(3, 4\)\)",
    ):
        F.mse_loss(x, A.randn(4, device=device))
    with pytest.raises(RuntimeError, match="all elements of input should be between 0 and 1"):
        F.binary_cross_entropy(x, A.rand(3, 4, device=device))
    with pytest.raises(ValueError, match=r"target size \(\(3, 1\)\).*input size \(\(3, 4\)\)"):
        F.binary_cross_entropy(x.sigmoid(), A.rand(3, 1, device=device))
    with pytest.raises(ValueError, match=r"must be the same as input size"):
        F.binary_cross_entropy_with_logits(x, A.rand(4, 3, device=device))
    with pytest.raises(IndexError, match=r"Target 4 is out of bounds.*\[0, 4\)"):
        F.cross_entropy(x, A.tensor([0, 4, 1], device=device))
    with pytest.raises(
        ValueError, match=r"Expected input batch_size \(3\) to match target batch_size \(2\)"
    ):
        F.cross_entropy(x, A.tensor([0, 1], device=device))
    with pytest.raises(RuntimeError, match="class-probability targets must have the input's shape"):
        F.cross_entropy(x, A.rand(3, 5, device=device))
    with pytest.raises(RuntimeError, match=r"nll_loss: expected class indices of an integer dtype"):
        F.nll_loss(x, A.tensor([0.0, 1.0, 2.0], device=device))
    with pytest.raises(
        RuntimeError, match=r"weight of shape \(3,\) should have one entry per class"
    ):
        F.cross_entropy(x, A.tensor([0, 1, 2], device=device), weight=A.ones(3, device=device))
    with pytest.raises(RuntimeError, match="same number of dimensions, but got: anchor 2D"):
        F.triplet_margin_loss(x, x, A.randn(4, device=device))
    with pytest.raises(ValueError, match="expected margin to be greater than 0"):
        nn.TripletMarginLoss(margin=0.0)
    with pytest.raises(TypeError, match="mse_loss: target must be a Tensor"):
        F.mse_loss(x, [1.0, 2.0])


def test_cross_entropy_all_ignored_mean_is_nan(device):
    loss = F.cross_entropy(A.randn(2, 3, device=device), A.tensor([-100, -100], device=device))
    assert np.isnan(loss.item())  # 0 / 0, as PyTorch
