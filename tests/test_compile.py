"""``A.compile``: a replayed step gives eager mode's numbers bit for bit, for every example's
model, and its guards re-record or fall back rather than replay a wrong schedule."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import autograd as A
import nn
import nn.functional as F
import optim
from autograd import replay

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from examples import (  # noqa: E402
    batch_norm,
    demo,
    gradient_checking,
    initialization,
    optimizers,
    planar_classification,
    regularization,
    softmax_digits,
)

STEPS = 7


def _batches(n_features, m, n_classes=None, count=3, seed=0, dtype=np.float32):
    """``count`` different batches of the same shape: replays must read the new data."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        x = A.tensor(rng.standard_normal((m, n_features)).astype(dtype))
        if n_classes is None:
            y = A.tensor((rng.random((m, 1)) > 0.5).astype(dtype))
        else:
            y = A.tensor(rng.integers(0, n_classes, m))
        out.append((x, y))
    return out


def _logistic_regression():
    w = A.zeros(6, 1, dtype=A.float64, requires_grad=True)
    b = A.zeros(1, dtype=A.float64, requires_grad=True)
    opt = optim.SGD([w, b], lr=0.5)

    def step(X, Y):
        opt.zero_grad()
        cost = F.binary_cross_entropy(A.sigmoid(X @ w + b), Y)
        cost.backward()
        opt.step()
        return cost

    return step, [w, b], _batches(6, 20, dtype=np.float64), True


def _sgd_step(model, opt, loss_fn):
    def step(X, Y):
        opt.zero_grad()
        cost = loss_fn(model(X), Y)
        cost.backward()
        opt.step()
        return cost

    return step


def _planar():
    model = planar_classification.one_hidden_layer(4, "cpu", A.float64)
    step = _sgd_step(model, optim.SGD(model.parameters(), lr=1.2), F.binary_cross_entropy)
    return step, list(model.parameters()), _batches(2, 30, dtype=np.float64), True


def _initialization():
    model = initialization.three_layer_net(2.0, "cpu", A.float32)
    opt = optim.SGD(model.parameters(), lr=0.01)
    return (
        _sgd_step(model, opt, F.binary_cross_entropy_with_logits),
        list(model.parameters()),
        _batches(2, 30),
        True,
    )


def _regularization():
    A.manual_seed(3)
    model = regularization.three_layer_net("cpu", A.float32, keep_prob=0.86)
    model.train()

    def cost(scores, Y):
        return F.binary_cross_entropy_with_logits(scores, Y) + regularization.l2_penalty(
            model, 0.7, 30
        )

    step = _sgd_step(model, optim.SGD(model.parameters(), lr=0.3), cost)
    return step, list(model.parameters()), _batches(2, 30), True


def _optimizers_momentum():
    model = optimizers.he_initialized_net("cpu", A.float32)
    opt = optim.SGD(model.parameters(), lr=0.0007, momentum=0.9, dampening=0.9)
    step = _sgd_step(model, opt, F.binary_cross_entropy_with_logits)
    return step, list(model.parameters()), _batches(2, 64), True


def _optimizers_adam():
    model = optimizers.he_initialized_net("cpu", A.float32)
    opt = optim.Adam(model.parameters(), lr=0.0007)
    step = _sgd_step(model, opt, F.binary_cross_entropy_with_logits)
    return step, list(model.parameters()), _batches(2, 64), True


def _batch_norm():
    model = batch_norm.deep_mlp(True, "cpu", depth=2, hidden=16)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    step = _sgd_step(model, opt, F.cross_entropy)
    state = list(model.parameters()) + list(model.buffers())
    return step, state, _batches(64, 32, n_classes=10), True


def _softmax_digits():
    model = softmax_digits.models("cpu")["MLP 64-64-10"]
    opt = optim.Adam(model.parameters(), lr=0.01)
    step = _sgd_step(model, opt, F.cross_entropy)
    return step, list(model.parameters()), _batches(64, 32, n_classes=10), True


def _demo():
    model = demo.make_model()
    opt = optim.Adam(model.parameters(), lr=0.01)
    step = _sgd_step(model, opt, F.cross_entropy)
    return step, list(model.parameters()), _batches(64, 32, n_classes=10), True


def _sgd_demo():
    model = demo.make_model()
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    step = _sgd_step(model, opt, F.cross_entropy)
    return step, list(model.parameters()), _batches(64, 32, n_classes=10), True


def _amsgrad():
    model = demo.make_model()
    opt = optim.Adam(model.parameters(), lr=0.01, amsgrad=True)
    step = _sgd_step(model, opt, F.cross_entropy)
    return step, list(model.parameters()), _batches(64, 32, n_classes=10), False


def _gradient_checking():
    model = gradient_checking.DeepNet(
        linear_ops=[gradient_checking.CourseLinear, None, None], dtype=A.float64
    )
    opt = optim.SGD(model.parameters(), lr=0.1)
    step = _sgd_step(model, opt, F.binary_cross_entropy_with_logits)
    return step, list(model.parameters()), _batches(4, 10, dtype=np.float64), True


MODELS = {
    "logistic_regression": _logistic_regression,
    "planar_classification": _planar,
    "initialization": _initialization,
    "regularization (dropout + L2)": _regularization,
    "optimizers (SGD momentum)": _optimizers_momentum,
    "optimizers (Adam)": _optimizers_adam,
    "batch_norm": _batch_norm,
    "softmax_digits (Adam)": _softmax_digits,
    "demo (Adam)": _demo,
    "demo (SGD momentum)": _sgd_demo,
    "gradient_checking (own Function)": _gradient_checking,
    "Adam with amsgrad (general path)": _amsgrad,
}


def _train(make, compiled):
    A.manual_seed(0)
    step, state, batches, replayable = make()
    run = A.compile(step) if compiled else step
    losses = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for i in range(STEPS):
            X, Y = batches[i % len(batches)]
            losses.append(run(X, Y).item())
    grads = [None if t.grad is None else t.grad.numpy() for t in state]
    return losses, [t.detach().numpy().copy() for t in state], grads, run, caught, replayable


@pytest.mark.parametrize("name", list(MODELS))
def test_compiled_training_equals_eager_bit_for_bit(name):
    losses, state, grads, _, _, _ = _train(MODELS[name], compiled=False)
    c_losses, c_state, c_grads, run, caught, replayable = _train(MODELS[name], compiled=True)
    assert c_losses == losses
    for a, b in zip(state, c_state):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(grads, c_grads):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_array_equal(a, b)
    if replayable:
        assert run.replays == STEPS - 3 and not caught
    else:  # the general Adam path reads its step counter with .item(): never replayed
        assert run.replays == 0
        assert len([w for w in caught if "running eagerly" in str(w.message)]) <= 1


def _mlp():
    A.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3))
    opt = optim.SGD(model.parameters(), lr=0.1)
    return model, opt, A.compile(_sgd_step(model, opt, F.cross_entropy))


def test_a_scheduler_changing_lr_takes_effect():
    model, opt, step = _mlp()
    x, y = A.randn(4, 5), A.tensor([0, 1, 2, 1])
    for _ in range(4):
        step(x, y)
    assert step.replays == 1
    opt.param_groups[0]["lr"] = 0.0  # what a scheduler does
    before = [p.detach().numpy().copy() for p in model.parameters()]
    for _ in range(3):
        step(x, y)
    for p, b in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.detach().numpy(), b)


def test_training_flags_are_guarded():
    A.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 8), nn.Dropout(0.5), nn.Linear(8, 1))
    twin = nn.Sequential(nn.Linear(5, 8), nn.Dropout(0.5), nn.Linear(8, 1))
    twin.load_state_dict(model.state_dict())
    out = A.compile(lambda x: model(x).sum())
    x = A.randn(6, 5)
    for _ in range(5):
        out(x)
    model.eval()
    twin.eval()
    np.testing.assert_array_equal(out(x).detach().numpy(), twin(x).sum().detach().numpy())


def test_a_new_input_shape_records_a_new_schedule():
    model, opt, step = _mlp()
    for m in (4, 4, 4, 4, 6, 6, 6, 6):
        step(A.randn(m, 5), A.tensor(np.arange(m) % 3))
    assert step.replays == 2
    assert step.schedule(A.randn(6, 5), A.tensor(np.arange(6) % 3)) is not None


def test_data_dependent_control_flow_falls_back_to_eager_with_one_warning():
    w = A.tensor([1.0, -2.0], requires_grad=True)

    def step(x):
        y = (w * x).sum()
        return y * 2 if y.item() > 0 else y * 3  # a host read: the replay checks its value

    compiled = A.compile(step)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = [compiled(A.tensor([v, 1.0])).item() for v in [5, 5, 5, 5, 0, 5, 0]]
    assert results == [step(A.tensor([v, 1.0])).item() for v in [5, 5, 5, 5, 0, 5, 0]]
    assert compiled.replays >= 2
    assert len(caught) == 0


def test_returning_a_python_number_is_refused_with_a_warning():
    w = A.tensor([1.0, 2.0], requires_grad=True)
    compiled = A.compile(lambda x: (w * x).sum().item())
    with pytest.warns(RuntimeWarning, match="returns a float"):
        values = [compiled(A.tensor([1.0, float(i)])) for i in range(4)]
    assert values == [1.0, 3.0, 5.0, 7.0]


def test_a_random_factory_inside_the_step_is_not_frozen():
    w = A.tensor([1.0, 2.0], requires_grad=True)
    compiled = A.compile(lambda x: (w * x * A.randn(2)).sum())
    with pytest.warns(RuntimeWarning, match="random factory"):
        values = [compiled(A.tensor([1.0, 1.0])).item() for _ in range(5)]
    assert len(set(values)) == 5


def test_the_schedule_describes_the_replayed_calls():
    model, opt, step = _mlp()
    x, y = A.randn(4, 5), A.tensor([0, 1, 2, 1])
    for _ in range(3):
        step(x, y)
    text = step.schedule(x, y).describe()
    assert "_Linear.forward(%0" in text and "backend.sgd_update_" in text


def test_a_replay_drops_intermediates_and_draws_its_schedule():
    model, opt, step = _mlp()
    x, y = A.randn(4, 5), A.tensor([0, 1, 2, 1])
    for _ in range(3):
        step(x, y)
    schedule = step.schedule(x, y)
    frame = schedule.run([x.data, y.data])
    alive = {slot for slot, array in enumerate(frame) if array is not None}
    # Inputs, state (bound arrays), outputs and .grad only: every intermediate was dropped.
    keep = set(range(schedule.n_inputs)) | set(schedule.bound)
    keep |= {slot for _, _, slot in schedule.leaves if slot is not None}
    keep |= set(replay._output_slots(schedule.outputs))
    assert alive == keep and len(alive) < schedule.n_slots
    dot = schedule.to_dot()
    assert dot.startswith("digraph schedule") and "_Linear.forward" in dot and "frees" in dot


def test_gradient_accumulation_across_calls_respects_grads_cleared_outside():
    """A step without zero_grad adds into .grad; clearing .grad between calls must be seen."""
    A.manual_seed(0)
    model = nn.Linear(3, 2)
    twin = nn.Linear(3, 2)
    twin.load_state_dict(model.state_dict())
    opt = optim.SGD(model.parameters(), lr=0.1)
    twin_opt = optim.SGD(twin.parameters(), lr=0.1)
    compiled = A.compile(lambda x: model(x).sum().backward())
    x = A.randn(4, 3)
    for i in range(12):
        compiled(x)
        twin(x).sum().backward()
        if i % 3 == 2:  # the optimizer steps every third call, outside the step
            opt.step()
            twin_opt.step()
            opt.zero_grad(set_to_none=i > 4)  # new buffers after call 5: the guard sees it
            twin_opt.zero_grad(set_to_none=i > 4)
    for a, b in zip(model.parameters(), twin.parameters()):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    assert compiled.replays > 0


@pytest.mark.parametrize("op", ["index", "scatter_add", "gather"])
def test_index_driven_steps_follow_a_changing_index(op):
    """Index arrays built in Python from data must never be frozen into a replay."""
    w = A.tensor(np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4), requires_grad=True)

    def step(index):
        if op == "index":
            picked = w[index]
        elif op == "scatter_add":
            picked = A.zeros(3, 4).scatter_add(1, index.reshape(1, -1).expand(3, -1), w[:, :3])
        else:
            picked = w.gather(1, index.reshape(1, -1).expand(3, -1))
        loss = (picked * picked).sum()
        loss.backward()
        return loss

    compiled = A.compile(step)
    indices = [
        A.tensor(np.array(i)) for i in ([0, 1, 2], [0, 1, 2], [0, 1, 2], [2, 0, 1], [1, 1, 0])
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = []
        for index in indices:
            w.grad = None
            got.append((compiled(index).item(), w.grad.numpy().copy()))
    for index, (value, grad) in zip(indices, got):
        w.grad = None
        assert step(index).item() == value
        np.testing.assert_array_equal(w.grad.numpy(), grad)


def test_a_step_whose_leaves_have_hooks_runs_eagerly():
    w = A.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    w.register_hook(lambda g: seen.append(1))
    compiled = A.compile(lambda x: (w * x).sum().backward())
    with pytest.warns(RuntimeWarning, match="gradient hooks"):
        for _ in range(5):
            compiled(A.tensor([1.0, 1.0]))
    assert len(seen) == 5 and compiled.replays == 0
