"""Optimizers: trajectories against PyTorch's (fixtures), state, checkpoints, groups, errors."""

from __future__ import annotations

import json
import math
import os
import warnings

import numpy as np
import pytest

import autograd as A
import optim

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
with open(os.path.join(FIXTURES, "optim_configs.json")) as _f:
    SPEC = json.load(_f)
REFERENCE = np.load(os.path.join(FIXTURES, "optim_trajectories.npz"))
CONFIGS = SPEC["configs"]


def loss_fn(a, W, c, target):
    # Mirror of make_optim_fixtures.loss_fn: Rosenbrock on a, least squares, penalties.
    rosen = ((1 - a[:-1]) ** 2).sum() + 5 * ((a[1:] - a[:-1] ** 2) ** 2).sum()
    fit = ((W @ a + c - target) ** 2).sum()
    return rosen + fit + 0.1 * (W**2).sum() + (c.tanh() ** 2).sum()


def make_params(dtype=A.float64, device="cpu"):
    return {
        name: A.tensor(REFERENCE[f"init/{name}"], dtype=dtype, device=device, requires_grad=True)
        for name in SPEC["param_order"]
    }


def make_optimizer(name, params):
    config = CONFIGS[name]
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in config["kwargs"].items()}
    if config["groups"] is None:
        spec = list(params.values())
    else:
        spec = [{**g, "params": [params[p] for p in g["params"]]} for g in config["groups"]]
    return getattr(optim, config["optimizer"])(spec, **kwargs)


def flat(params):
    return np.concatenate([p.detach().numpy().ravel() for p in params.values()])


def train(opt, params, steps, dtype=A.float64):
    target = A.tensor(SPEC["target"], dtype=dtype, device=params["a"].device)
    trajectory, losses = [], []
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn(params["a"], params["W"], params["c"], target)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        trajectory.append(flat(params))
    return np.array(trajectory), np.array(losses)


# ---------------------------------------------------------------- trajectories vs PyTorch
@pytest.mark.parametrize("name", list(CONFIGS))
def test_trajectory_matches_pytorch_float64(name, device):
    params = make_params(device=device)
    opt = make_optimizer(name, params)
    trajectory, losses = train(opt, params, SPEC["steps"])
    expected = REFERENCE[f"{name}/float64/traj"]
    np.testing.assert_allclose(flat(make_params()), expected[0], rtol=0, atol=0)
    np.testing.assert_allclose(trajectory, expected[1:], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(losses, REFERENCE[f"{name}/float64/loss"], rtol=1e-10)
    # The unused parameter never had a gradient: untouched, and no state (as PyTorch).
    np.testing.assert_array_equal(params["unused"].detach().numpy(), REFERENCE["init/unused"])
    assert params["unused"] not in opt.state


@pytest.mark.parametrize("name", list(CONFIGS))
def test_final_state_matches_pytorch(name, device):
    params = make_params(device=device)
    opt = make_optimizer(name, params)
    train(opt, params, SPEC["steps"])
    prefix = f"{name}/float64/state/"
    expected = {k[len(prefix) :]: REFERENCE[k] for k in REFERENCE.files if k.startswith(prefix)}
    state = opt.state_dict()["state"]
    got = {f"{i}/{key}": value for i, entries in state.items() for key, value in entries.items()}
    assert sorted(got) == sorted(expected)
    for key, value in got.items():
        if key.endswith("/step"):
            assert value.dtype == A.float32 and value.shape == () and value.device == "cpu"
            assert value.item() == expected[key] == SPEC["steps"]
        else:
            assert value.device == params["a"].device
            np.testing.assert_allclose(value.numpy(), expected[key], rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("name", SPEC["float32_configs"])
def test_float32_params_keep_float32_state_and_match_pytorch(name, device):
    params = make_params(A.float32, device)
    opt = make_optimizer(name, params)
    trajectory, _ = train(opt, params, SPEC["steps"], dtype=A.float32)
    assert trajectory.dtype == np.float32
    for p in params.values():
        assert p.dtype == A.float32 and p.device == params["a"].device
    for p, state in opt.state.items():
        for key, value in state.items():
            if key != "step":
                assert (value.dtype, value.device, value.shape) == (p.dtype, p.device, p.shape)
    expected = REFERENCE[f"{name}/float32/traj"][1:]
    np.testing.assert_allclose(trajectory, expected, rtol=2e-5, atol=2e-6)


# ---------------------------------------------------------------- per-parameter update rules
def test_sgd_update_rule_by_hand(device):
    with A.no_grad():
        p = A.tensor([1.0, -2.0], dtype=A.float64, device=device)
        g = A.tensor([0.5, 0.25], dtype=A.float64, device=device)
        buf = optim.sgd_update(
            p, g, None, lr=0.1, momentum=0.9, dampening=0.5, weight_decay=0.2,
            nesterov=False, maximize=False,
        )  # fmt: skip
        # First step: buffer = g + wd * p (no dampening yet), p -= lr * buffer.
        np.testing.assert_allclose(buf.numpy(), [0.7, -0.15])
        np.testing.assert_allclose(p.detach().numpy(), [1.0 - 0.07, -2.0 + 0.015])
        q = p.detach().numpy().copy()
        buf2 = optim.sgd_update(
            p, g, buf, lr=0.1, momentum=0.9, dampening=0.5, weight_decay=0.2,
            nesterov=False, maximize=False,
        )  # fmt: skip
        expected_buf = 0.9 * np.array([0.7, -0.15]) + 0.5 * (np.array([0.5, 0.25]) + 0.2 * q)
        assert buf2 is buf
        np.testing.assert_allclose(buf.numpy(), expected_buf)
        np.testing.assert_allclose(p.detach().numpy(), q - 0.1 * expected_buf)


def test_adam_update_rule_by_hand(device):
    # After step t with a constant gradient g, m_hat = g and v_hat = g**2 exactly, so each
    # step moves every coordinate by lr * g / (|g| + eps).
    with A.no_grad():
        p = A.tensor([1.0, -2.0, 3.0], dtype=A.float64, device=device)
        g = A.tensor([0.5, -4.0, 1e-3], dtype=A.float64, device=device)
        m, v = A.zeros_like(p), A.zeros_like(p)
        for step in range(1, 4):
            optim.adam_update(
                p, g, m, v, None, step, lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8,
                weight_decay=0, amsgrad=False, maximize=False,
            )  # fmt: skip
        gn = g.numpy()
        expected = np.array([1.0, -2.0, 3.0]) - 3 * 0.01 * gn / (np.abs(gn) + 1e-8)
        np.testing.assert_allclose(p.detach().numpy(), expected, rtol=1e-12)
        np.testing.assert_allclose(m.numpy(), (1 - 0.9**3) * gn, rtol=1e-12)
        np.testing.assert_allclose(v.numpy(), (1 - 0.999**3) * gn**2, rtol=1e-12)


def test_adamw_decay_is_decoupled(device):
    # With a zero gradient Adam's moments stay 0 and only the decay moves the parameter.
    with A.no_grad():
        p = A.tensor([2.0, -1.0], dtype=A.float64, device=device)
        zeros = A.zeros_like(p)
        optim.adam_update(
            p, zeros, A.zeros_like(p), A.zeros_like(p), None, 1, lr=0.1, beta1=0.9,
            beta2=0.999, eps=1e-8, weight_decay=0.5, amsgrad=False, maximize=False,
            decoupled_weight_decay=True,
        )  # fmt: skip
    np.testing.assert_allclose(p.detach().numpy(), [2.0 * 0.95, -1.0 * 0.95], rtol=1e-14)


def test_rmsprop_update_rule_by_hand(device):
    with A.no_grad():
        p = A.tensor([1.0, -1.0], dtype=A.float64, device=device)
        g = A.tensor([0.2, -0.6], dtype=A.float64, device=device)
        s = A.zeros_like(p)
        optim.rmsprop_update(
            p, g, s, None, None, lr=0.01, alpha=0.9, eps=1e-8, weight_decay=0,
            momentum=0, centered=False, maximize=False,
        )  # fmt: skip
    gn = np.array([0.2, -0.6])
    np.testing.assert_allclose(s.numpy(), 0.1 * gn**2, rtol=1e-14)
    expected = np.array([1.0, -1.0]) - 0.01 * gn / (np.sqrt(0.1 * gn**2) + 1e-8)
    np.testing.assert_allclose(p.detach().numpy(), expected, rtol=1e-14)


# ---------------------------------------------------------------- checkpoints
@pytest.mark.parametrize("name", ["sgd_nesterov", "rmsprop_centered", "adam_amsgrad_wd", "adamw"])
@pytest.mark.parametrize("through_file", [False, True])
def test_state_dict_round_trip_continues_identically(name, through_file, tmp_path, device):
    # Trained on the device, resumed on the CPU: the state follows the parameters' device.
    params = make_params(device=device)
    opt = make_optimizer(name, params)
    train(opt, params, 10)
    saved = opt.state_dict()
    if through_file:
        A.save(saved, tmp_path / "opt.bin")
        saved = A.load(tmp_path / "opt.bin")

    resumed_params = {
        k: A.tensor(p.detach(), device="cpu", requires_grad=True) for k, p in params.items()
    }
    resumed = make_optimizer(name, resumed_params)
    resumed.load_state_dict(saved)
    assert resumed.state_dict()["param_groups"] == opt.state_dict()["param_groups"]

    for state in resumed.state.values():
        assert all(v.device == "cpu" for v in state.values())
    expected, _ = train(opt, params, 10)
    got, _ = train(resumed, resumed_params, 10)
    np.testing.assert_allclose(got, expected, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(got[-1], REFERENCE[f"{name}/float64/traj"][-1], rtol=1e-10)


def test_load_state_dict_copies_state_onto_param_dtype_and_device(device):
    params = make_params()
    opt = optim.Adam(params.values(), lr=0.1)
    train(opt, params, 2)
    params32 = {
        k: A.tensor(p.detach(), dtype=A.float32, device=device, requires_grad=True)
        for k, p in params.items()
    }
    opt32 = optim.Adam(params32.values(), lr=0.1)
    opt32.load_state_dict(opt.state_dict())
    for p in list(params32.values())[:3]:
        state = opt32.state[p]
        assert state["exp_avg"].dtype == A.float32 and state["step"].dtype == A.float32
        assert state["exp_avg"].device == p.device and state["step"].device == "cpu"
        assert state["step"].item() == 2
    # A copy: changing the loaded state leaves the source optimizer's alone.
    first = params32["a"]
    opt32.state[first]["exp_avg"].fill_(7.0)
    assert not np.any(opt.state[params["a"]]["exp_avg"].numpy() == 7.0)


def test_state_dict_layout_is_pytorchs():
    params = make_params()
    opt = make_optimizer("sgd_groups", params)
    train(opt, params, 1)
    sd = opt.state_dict()
    assert set(sd) == {"state", "param_groups"}
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1, 2, 3]]
    assert [g["lr"] for g in sd["param_groups"]] == [0.02, 0.01]
    assert [g["momentum"] for g in sd["param_groups"]] == [0.5, 0.9]
    assert sorted(sd["state"]) == [0, 1, 2]  # the unused parameter (3) has no state
    assert set(sd["state"][0]) == {"momentum_buffer"}


def test_load_state_dict_errors():
    params = make_params()
    opt = make_optimizer("adam_groups", params)
    other = optim.Adam(list(params.values()))
    with pytest.raises(ValueError, match="different number of parameter groups"):
        other.load_state_dict(opt.state_dict())
    mismatched = optim.Adam([{"params": [params["a"], params["W"]]}, {"params": [params["c"]]}])
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        mismatched.load_state_dict(opt.state_dict())
    with pytest.raises(ValueError, match="'state' and 'param_groups'"):
        opt.load_state_dict({"state": {}})


def test_adamw_load_state_dict_keeps_decoupled_decay():
    params = make_params()
    adam = optim.Adam(params.values())
    adamw = optim.AdamW(params.values())
    adamw.load_state_dict(adam.state_dict())
    assert adamw.param_groups[0]["decoupled_weight_decay"] is True


# ---------------------------------------------------------------- state, groups, zero_grad
def test_state_is_lazy_and_on_the_parameters_device(device):
    used = A.tensor([1.0, 2.0], device=device, requires_grad=True)
    idle = A.tensor([3.0], device=device, requires_grad=True)
    opt = optim.Adam([used, idle], lr=0.1)
    assert len(opt.state) == 0
    (used * used).sum().backward()
    opt.step()
    assert list(opt.state) == [used]
    for key in ("exp_avg", "exp_avg_sq"):
        value = opt.state[used][key]
        assert (value.device, value.dtype, value.shape) == (used.device, A.float32, (2,))
    assert used.dtype == A.float32 and used.requires_grad is not False
    np.testing.assert_allclose(used.detach().numpy(), [0.9, 1.9], rtol=1e-6)
    np.testing.assert_array_equal(idle.detach().numpy(), [3.0])


def test_param_groups_take_defaults_and_their_own_options():
    a = A.tensor([1.0], requires_grad=True)
    b = A.tensor([1.0], requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5}], lr=0.1, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert [g["momentum"] for g in opt.param_groups] == [0.9, 0.9]
    assert opt.param_groups[1]["params"] == [b]
    (a * 2 + b * 2).sum().backward()
    opt.step()
    np.testing.assert_allclose([a.item(), b.item()], [1.0 - 0.1 * 2, 1.0 - 0.5 * 2], rtol=1e-6)


def test_add_param_group_and_duplicates():
    a = A.tensor([1.0], requires_grad=True)
    b = A.tensor([1.0], requires_grad=True)
    opt = optim.Adam([a])
    opt.add_param_group({"params": [b], "lr": 0.5})
    assert opt.param_groups[1]["betas"] == (0.9, 0.999) and opt.param_groups[1]["lr"] == 0.5
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(TypeError, match="ordered collections"):
        opt.add_param_group({"params": {A.tensor([1.0], requires_grad=True)}})
    with pytest.raises(TypeError, match="param_group must be a dict"):
        opt.add_param_group([a])
    with pytest.warns(UserWarning, match="duplicate parameters"):
        optim.SGD([a, a])


def test_named_parameters_are_accepted():
    a = A.tensor([1.0], requires_grad=True)
    b = A.tensor([2.0], requires_grad=True)
    opt = optim.SGD([("weight", a), ("bias", b)], lr=0.1)
    assert opt.param_groups[0]["params"] == [a, b]
    assert opt.param_groups[0]["param_names"] == ["weight", "bias"]
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["weight", "bias"]


def test_zero_grad_semantics(device):
    w = A.tensor([1.0, 2.0], device=device, requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    opt.zero_grad()  # no grad yet: nothing to do
    assert w.grad is None
    (w * 3).sum().backward()
    grad = w.grad
    opt.zero_grad(set_to_none=False)
    assert w.grad is grad
    np.testing.assert_array_equal(w.grad.numpy(), [0.0, 0.0])
    (w * 3).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [3.0, 3.0])
    opt.zero_grad()
    assert w.grad is None


def test_zero_grad_detaches_a_gradient_with_history(device):
    w = A.tensor([1.0, 2.0], dtype=A.float64, device=device, requires_grad=True)
    (w**3).sum().backward(create_graph=True)
    assert w.grad.grad_fn is not None
    optim.SGD([w]).zero_grad(set_to_none=False)
    assert w.grad.grad_fn is None and not w.grad.requires_grad
    np.testing.assert_array_equal(w.grad.numpy(), [0.0, 0.0])


def test_step_with_closure_runs_under_grad_mode(device):
    w = A.tensor([3.0], dtype=A.float64, device=device, requires_grad=True)
    opt = optim.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with A.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 9.0
    assert w.item() == 3.0 - 0.25 * 6.0
    assert opt.step() is None


def test_step_updates_in_place_and_keeps_leaves(device):
    w = A.tensor([1.0, 2.0], device=device, requires_grad=True)
    data_before = w.data
    opt = optim.Adam([w])
    (w * w).sum().backward()
    opt.step()
    assert w.data is data_before and w.is_leaf and w.requires_grad and w.grad_fn is None


def test_repr_lists_group_options():
    opt = optim.SGD([A.tensor([1.0], requires_grad=True)], lr=0.1, momentum=0.9)
    text = repr(opt)
    assert text.startswith("SGD (\nParameter Group 0\n") and "    momentum: 0.9\n" in text
    assert "    lr: 0.1\n" in text and text.endswith(")")


# ---------------------------------------------------------------- validation messages
def test_params_validation_messages():
    w = A.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="^optimizer got an empty parameter list$"):
        optim.SGD([], lr=0.1)
    with pytest.raises(
        TypeError,
        match="^params argument given to the optimizer should be an iterable of Tensors or "
        "dicts, but got set",
    ):
        optim.SGD({w}, lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors or dicts, but got autograd.Tensor"):
        optim.Adam(w)
    with pytest.raises(
        TypeError,
        match="optimizer can only optimize Tensors, but one of the params is builtins.float",
    ):
        optim.Adam([w, 1.0])
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        optim.Adam([w * 2])


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: optim.SGD(p, lr=-0.1), "Invalid learning rate: -0.1"),
        (lambda p: optim.SGD(p, momentum=-0.5), "Invalid momentum value: -0.5"),
        (lambda p: optim.SGD(p, weight_decay=-1), "Invalid weight_decay value: -1"),
        (
            lambda p: optim.SGD(p, nesterov=True),
            "Nesterov momentum requires a momentum and zero dampening",
        ),
        (lambda p: optim.SGD(p, momentum=0.9, dampening=0.1, nesterov=True), "Nesterov momentum"),
        (lambda p: optim.Adam(p, lr=-0.1), "Invalid learning rate: -0.1"),
        (lambda p: optim.Adam(p, eps=-1e-8), "Invalid epsilon value: -1e-08"),
        (lambda p: optim.Adam(p, betas=(1.0, 0.999)), "Invalid beta parameter at index 0: 1.0"),
        (lambda p: optim.Adam(p, betas=(0.9, -0.1)), "Invalid beta parameter at index 1: -0.1"),
        (lambda p: optim.AdamW(p, weight_decay=-0.01), "Invalid weight_decay value: -0.01"),
        (lambda p: optim.AdamW(p, lr=float("nan")), "Invalid learning rate: nan"),
        (lambda p: optim.RMSprop(p, lr=-0.1), "Invalid learning rate: -0.1"),
        (lambda p: optim.RMSprop(p, alpha=-0.9), "Invalid alpha value: -0.9"),
        (lambda p: optim.RMSprop(p, eps=-1.0), "Invalid epsilon value: -1.0"),
        (lambda p: optim.RMSprop(p, momentum=-1.0), "Invalid momentum value: -1.0"),
    ],
)
def test_option_validation_messages(make, message):
    with pytest.raises(ValueError) as info:
        make([A.tensor([1.0], requires_grad=True)])
    assert str(info.value).startswith(message)


def test_optimizers_reach_the_minimum_of_a_quadratic(device):
    # A sanity check independent of the fixtures: each optimizer solves min |x - 3|^2.
    for make, steps in [
        (lambda p: optim.SGD(p, lr=0.1, momentum=0.5), 100),
        (lambda p: optim.RMSprop(p, lr=0.05), 300),
        (lambda p: optim.Adam(p, lr=0.1), 300),
        (lambda p: optim.AdamW(p, lr=0.1, weight_decay=0.0), 300),
    ]:
        x = A.zeros(3, dtype=A.float64, device=device, requires_grad=True)
        opt = make([x])
        for _ in range(steps):
            opt.zero_grad()
            ((x - 3.0) ** 2).sum().backward()
            opt.step()
        assert math.isclose(x.detach().numpy().mean(), 3.0, abs_tol=0.05), (opt, x)


def test_no_warning_on_plain_use():
    w = A.tensor([1.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt = optim.SGD([w], lr=0.1)
        (w * 2).sum().backward()
        opt.step()
