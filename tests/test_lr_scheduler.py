"""Learning-rate schedulers: sequences against PyTorch's (fixtures) and hand formulas."""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest

import autograd as A
import optim
from optim import lr_scheduler

with open(os.path.join(os.path.dirname(__file__), "fixtures", "optim_lr_schedules.json")) as _f:
    REFERENCE = json.load(_f)
EPOCHS = REFERENCE["epochs"]

# Mirrors of make_optim_fixtures.LAMBDAS.
LAMBDAS = {
    "exp095": lambda epoch: 0.95**epoch,
    "inv_sqrt": lambda epoch: 1 / math.sqrt(epoch + 1),
    "inverse_time_0.5": lambda epoch: 1 / (1 + 0.5 * epoch),
    "inverse_time_1.0_every_10": lambda epoch: 1 / (1 + 1.0 * (epoch // 10)),
}


def make_optimizer():
    w1 = A.zeros(1, requires_grad=True)
    w2 = A.zeros(1, requires_grad=True)
    lr1, lr2 = REFERENCE["group_lrs"]
    return optim.SGD([{"params": [w1]}, {"params": [w2], "lr": lr2}], lr=lr1)


def build(opt, cls_name, kwargs):
    kwargs = dict(kwargs)
    if "lr_lambda" in kwargs:
        names = kwargs["lr_lambda"]
        lambdas = [LAMBDAS[n] for n in names] if isinstance(names, list) else LAMBDAS[names]
        kwargs["lr_lambda"] = lambdas
    return getattr(lr_scheduler, cls_name)(opt, **kwargs)


def run(opt, schedulers, epochs=EPOCHS):
    lrs = [[g["lr"] for g in opt.param_groups]]
    for _ in range(epochs):
        opt.step()
        for scheduler in schedulers:
            scheduler.step()
        lrs.append([g["lr"] for g in opt.param_groups])
    return np.array(lrs)


@pytest.mark.parametrize("name", list(REFERENCE["schedules"]))
def test_schedule_matches_pytorch(name):
    entry = REFERENCE["schedules"][name]
    opt = make_optimizer()
    schedulers = [build(opt, cls_name, kwargs) for cls_name, kwargs in entry["schedulers"]]
    lrs = run(opt, schedulers)
    # Same recursive formulas in the same order: the same floats, bit for bit.
    np.testing.assert_array_equal(lrs, entry["lrs"])
    assert schedulers[-1].get_last_lr() == list(lrs[-1])
    assert schedulers[-1].last_epoch == EPOCHS


@pytest.mark.parametrize("name", ["inverse_time", "inverse_time_interval"])
def test_inverse_time_decay_matches_pytorch_lambda_and_the_course_formula(name):
    decay_rate, interval = {"inverse_time": (0.5, 1), "inverse_time_interval": (1.0, 10)}[name]
    opt = make_optimizer()
    scheduler = lr_scheduler.InverseTimeDecayLR(opt, decay_rate, time_interval=interval)
    lrs = run(opt, [scheduler])
    np.testing.assert_allclose(lrs, REFERENCE["schedules"][name]["lrs"], rtol=1e-13)
    # The course: learning_rate = 1 / (1 + decay_rate * epoch_num) * learning_rate_0.
    for epoch, (lr1, lr2) in enumerate(lrs):
        factor = 1 / (1 + decay_rate * math.floor(epoch / interval))
        assert math.isclose(lr1, 0.1 * factor, rel_tol=1e-13)
        assert math.isclose(lr2, 0.05 * factor, rel_tol=1e-13)


def test_closed_forms_equal_the_recursive_sequences():
    cases = [
        (lambda o: lr_scheduler.StepLR(o, 7, gamma=0.5), lambda e: 0.5 ** (e // 7)),
        (lambda o: lr_scheduler.ExponentialLR(o, 0.9), lambda e: 0.9**e),
        (
            lambda o: lr_scheduler.MultiStepLR(o, [5, 12, 12, 30], gamma=0.3),
            lambda e: 0.3 ** sum(m <= e for m in [5, 12, 12, 30]),
        ),
    ]
    for make, factor in cases:
        opt = make_optimizer()
        lrs = run(opt, [make(opt)])
        expected = [[0.1 * factor(e), 0.05 * factor(e)] for e in range(EPOCHS + 1)]
        np.testing.assert_allclose(lrs, expected, rtol=1e-12)


def test_cosine_annealing_follows_the_closed_form_and_is_periodic():
    opt = make_optimizer()
    T_max, eta_min = 10, 0.001
    scheduler = lr_scheduler.CosineAnnealingLR(opt, T_max=T_max, eta_min=eta_min)
    lrs = run(opt, [scheduler])
    for epoch in range(EPOCHS + 1):
        closed = [
            eta_min + (base - eta_min) * (1 + math.cos(math.pi * epoch / T_max)) / 2
            for base in (0.1, 0.05)
        ]
        np.testing.assert_allclose(lrs[epoch], closed, rtol=1e-12)
    assert math.isclose(lrs[T_max][0], eta_min, rel_tol=1e-12)
    assert math.isclose(lrs[2 * T_max][0], 0.1, rel_tol=1e-12)
    assert scheduler._get_closed_form_lr() == pytest.approx(list(lrs[-1]), rel=1e-12)


@pytest.mark.parametrize("name", list(REFERENCE["plateaus"]))
def test_reduce_lr_on_plateau_matches_pytorch(name):
    entry = REFERENCE["plateaus"][name]
    opt = make_optimizer()
    kwargs = dict(entry["kwargs"])
    scheduler = lr_scheduler.ReduceLROnPlateau(opt, **kwargs)
    lrs = []
    for metric in REFERENCE["plateau_metrics"]:
        opt.step()
        scheduler.step(A.tensor(metric, dtype=A.float64))  # a one-element Tensor works too
        lrs.append(scheduler.get_last_lr())
    np.testing.assert_array_equal(lrs, entry["lrs"])
    assert lrs[-1] != lrs[0]  # the fixture does trigger reductions


def test_reduce_lr_on_plateau_by_hand():
    opt = make_optimizer()
    scheduler = lr_scheduler.ReduceLROnPlateau(opt, patience=1, factor=0.5, min_lr=0.04)
    for metric, expected in [(1.0, 0.1), (1.0, 0.1), (1.0, 0.05), (1.0, 0.05), (1.0, 0.04)]:
        scheduler.step(metric)
        assert scheduler.get_last_lr()[0] == pytest.approx(expected)
    assert scheduler.get_last_lr()[1] == pytest.approx(0.04)  # 0.05 -> min_lr


def test_scheduler_sets_initial_lr_and_performs_the_initial_step():
    opt = make_optimizer()
    scheduler = lr_scheduler.StepLR(opt, step_size=2)
    assert scheduler.last_epoch == 0
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.05]
    assert scheduler.base_lrs == [0.1, 0.05]
    assert scheduler.get_last_lr() == [0.1, 0.05]


def test_state_dict_round_trip_resumes_the_schedule():
    opt = make_optimizer()
    scheduler = lr_scheduler.CosineAnnealingLR(opt, T_max=10)
    run(opt, [scheduler], epochs=4)
    saved_sched, saved_opt = scheduler.state_dict(), opt.state_dict()
    assert "optimizer" not in saved_sched and saved_sched["last_epoch"] == 4
    expected = run(opt, [scheduler], epochs=6)

    opt2 = make_optimizer()
    scheduler2 = lr_scheduler.CosineAnnealingLR(opt2, T_max=10)
    opt2.load_state_dict(saved_opt)
    scheduler2.load_state_dict(saved_sched)
    np.testing.assert_array_equal(run(opt2, [scheduler2], epochs=6), expected)


def test_lambda_state_dict_keeps_callable_objects_state():
    class Factor:
        def __init__(self, base):
            self.base = base

        def __call__(self, epoch):
            return self.base**epoch

    opt = make_optimizer()
    scheduler = lr_scheduler.LambdaLR(opt, [Factor(0.5), lambda e: 1.0])
    saved = scheduler.state_dict()
    assert saved["lr_lambdas"] == [{"base": 0.5}, None]
    other = lr_scheduler.LambdaLR(make_optimizer(), [Factor(0.9), lambda e: 1.0])
    other.load_state_dict(saved)
    assert other.lr_lambdas[0].base == 0.5


def test_resuming_needs_initial_lr():
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.StepLR(make_optimizer(), step_size=3, last_epoch=5)


def test_scheduler_errors():
    with pytest.raises(TypeError, match="list is not an Optimizer"):
        lr_scheduler.StepLR([], step_size=3)
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas, but got 3"):
        lr_scheduler.LambdaLR(make_optimizer(), [LAMBDAS["exp095"]] * 3)
    with pytest.raises(ValueError, match="Factor should be < 1.0."):
        lr_scheduler.ReduceLROnPlateau(make_optimizer(), factor=1.5)
    with pytest.raises(ValueError, match="mode middle is unknown!"):
        lr_scheduler.ReduceLROnPlateau(make_optimizer(), mode="middle")
    with pytest.raises(ValueError, match="threshold mode ratio is unknown!"):
        lr_scheduler.ReduceLROnPlateau(make_optimizer(), threshold_mode="ratio")
    with pytest.raises(ValueError, match="expected 2 min_lrs, got 1"):
        lr_scheduler.ReduceLROnPlateau(make_optimizer(), min_lr=[0.1])
    with pytest.raises(ValueError, match="Invalid decay_rate value: -1"):
        lr_scheduler.InverseTimeDecayLR(make_optimizer(), -1)
    with pytest.raises(ValueError, match="time_interval should be a positive int"):
        lr_scheduler.InverseTimeDecayLR(make_optimizer(), 0.5, time_interval=0)


def test_warns_when_stepped_before_the_optimizer():
    opt = make_optimizer()
    scheduler = lr_scheduler.ExponentialLR(opt, 0.5)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        scheduler.step()
    assert scheduler.get_last_lr() == [0.05, 0.025]


def test_multistep_state_survives_a_file_round_trip(tmp_path):
    opt = make_optimizer()
    scheduler = lr_scheduler.MultiStepLR(opt, [3, 3, 6], gamma=0.5)
    run(opt, [scheduler], epochs=2)
    A.save(scheduler.state_dict(), tmp_path / "sched.bin")
    opt2 = make_optimizer()
    resumed = lr_scheduler.MultiStepLR(opt2, [1], gamma=0.5)
    opt2.load_state_dict(opt.state_dict())
    resumed.load_state_dict(A.load(tmp_path / "sched.bin"))
    assert resumed.milestones == {3: 2, 6: 1}
    np.testing.assert_array_equal(run(opt2, [resumed], 6), run(opt, [scheduler], 6))
    assert resumed._get_closed_form_lr() == [0.1 * 0.5**3, 0.05 * 0.5**3]
