"""Mini-batch gradient descent vs momentum vs Adam, and learning-rate decay (course 2, week 2).

The course's experiment: ``make_moons(300, noise=0.2)`` after ``numpy.random.seed(3)`` (our
``make_moons`` draws the same points from that seed), the 3-layer network [2, 5, 2, 1]
(LINEAR -> RELU -> LINEAR -> RELU -> LINEAR -> SIGMOID) with He initialisation after
``numpy.random.seed(3)``, mini-batches of 64 reshuffled every epoch (``random_mini_batches``
with seeds 11, 12, ...: reproduced below), learning rate 0.0007 and 10,000 epochs. The update
rules, from notes 001/002:

* mini-batch gradient descent: ``W := W - alpha dW``  (``optim.SGD``);
* momentum, beta = 0.9: ``v = beta v + (1 - beta) dW; W := W - alpha v``
  (``optim.SGD(momentum=0.9, dampening=0.9)``; PyTorch's buffer starts at ``dW`` rather than
  at ``(1 - beta) dW``, the only difference, on the first step);
* Adam, beta1 = 0.9, beta2 = 0.999, eps = 1e-8: momentum and RMSprop averages, both
  bias-corrected, ``W := W - alpha v_corr / (sqrt(s_corr) + eps)``  (``optim.Adam``).

The course's assignment reports training accuracies of 79.7% (gradient descent), 79.7%
(momentum: with so small a learning rate and this data, momentum's gain is small) and 94%
(Adam). The notes also give learning-rate decay, ``alpha = alpha0 / (1 + decay_rate *
epoch_num)``: the last row trains plain mini-batch gradient descent from alpha0 = 0.1 with that
decay, ``decay_rate`` 0.3 applied in steps every 1,000 epochs (the course's exercise's
``schedule_lr_decay``; ``optim.lr_scheduler.InverseTimeDecayLR``). The course's backward pass
starts from ``dZ3 = (A3 - Y) / m``, which is the gradient of
``F.binary_cross_entropy_with_logits``: the network ends with the last LINEAR and the sigmoid
lives in the loss. Float64, as the course's NumPy code.

    python -m examples.optimizers [--device cuda] [--quick]
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy

import autograd as A
import nn
import nn.functional as F
import optim
from autograd.data.datasets import make_moons
from examples import common

LAYERS = (2, 5, 2, 1)
COURSE_ACCURACY = {"mini-batch GD": 0.797, "momentum": 0.797, "Adam": 0.94}


def he_initialized_net(device, dtype, layers=LAYERS):
    """The course's [2, 5, 2, 1] network with He init drawn after numpy.random.seed(3).

    Shape: (m, 2) -> (m, 1) logits
    """
    modules = []
    for n_in, n_out in zip(layers[:-1], layers[1:]):
        modules += [nn.Linear(n_in, n_out, device=device, dtype=dtype), nn.ReLU()]
    model = nn.Sequential(*modules[:-1])
    common.course_initialize(model[::2], scale=lambda n_in: math.sqrt(2.0 / n_in), seed=3)
    return model


def random_mini_batches(X, Y, mini_batch_size, seed):
    """The course's ``random_mini_batches``: shuffle with ``numpy.random.seed(seed)``, then cut
    into batches of ``mini_batch_size`` (the last one smaller). ``DataLoader(dataset,
    batch_size=64, shuffle=True)`` does the same with its own random orders.

    Shape: X (m, n), Y (m, 1) -> batches (<= mini_batch_size, n), (<= mini_batch_size, 1)
    """
    order = numpy.random.RandomState(seed).permutation(X.shape[0])
    for start in range(0, X.shape[0], mini_batch_size):
        rows = order[start : start + mini_batch_size]
        yield X[rows], Y[rows]


def train(model, optimizer, X, Y, epochs, scheduler=None, show_progress=True, desc=""):
    """The course's ``model()`` loop; returns the cost averaged over each epoch, every 100."""
    costs = []
    seed = 10
    bar = common.progress(range(epochs), desc=desc, enabled=show_progress)
    for epoch in bar:
        seed += 1  # the course reshuffles with a new seed every epoch
        total = 0.0
        for X_batch, Y_batch in random_mini_batches(X, Y, 64, seed):
            optimizer.zero_grad()
            cost = F.binary_cross_entropy_with_logits(model(X_batch), Y_batch)
            cost.backward()
            optimizer.step()
            total += cost.item() * X_batch.shape[0]
        if scheduler is not None:
            scheduler.step()
        if epoch % 100 == 0:
            costs.append(total / X.shape[0])
            bar.set_postfix(cost=costs[-1])
    return costs


def main(argv=None):
    parser = common.make_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--lr", type=float, default=0.0007, help="learning rate (course 0.0007)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs (course: 10,000)")
    args = common.parse_args(parser, argv)
    epochs = args.epochs or (300 if args.quick else 10_000)
    dtype = A.float64

    X, y = make_moons(300, noise=0.2, seed=3)
    X, y = X.to(args.device, dtype), y.to(args.device)
    Y = y.reshape(-1, 1).to(dtype)

    def make_optimizer(name, params):
        if name == "mini-batch GD":
            return optim.SGD(params, lr=args.lr), None
        if name == "momentum":
            return optim.SGD(params, lr=args.lr, momentum=0.9, dampening=0.9), None
        if name == "Adam":
            return optim.Adam(params, lr=args.lr, betas=(0.9, 0.999), eps=1e-8), None
        sgd = optim.SGD(params, lr=0.1)
        interval = max(1, min(1000, epochs // 5))
        scheduler = optim.lr_scheduler.InverseTimeDecayLR(
            sgd, decay_rate=0.3, time_interval=interval
        )
        return sgd, scheduler

    names = ["mini-batch GD", "momentum", "Adam", "GD + lr decay"]
    results, curves, panels, rows = {}, {}, [], []
    for name in names:
        model = he_initialized_net(args.device, dtype)
        optimizer, scheduler = make_optimizer(name, model.parameters())
        costs = train(model, optimizer, X, Y, epochs, scheduler, not args.no_progress, name)
        accuracy = common.binary_accuracy(model(X), y, threshold=0.0)
        results[name] = {"accuracy": accuracy, "costs": costs}
        curves[name] = costs
        course = COURSE_ACCURACY.get(name)
        rows.append(
            [
                name,
                common.percent(accuracy),
                costs[-1],
                optimizer.param_groups[0]["lr"],
                common.percent(course) if course else "-",
            ]
        )
        panels.append((f"{name} ({common.percent(accuracy)})", _predictor(model)))

    common.print_table(
        f"Optimizers on the course's moons, [2, 5, 2, 1], mini-batch 64, {epochs} epochs",
        ["optimizer", "train accuracy", "last epoch cost", "final lr", "course reports"],
        rows,
    )
    files = [
        common.save_curves(
            args.out / "optimizers_cost.png",
            curves,
            xlabel="epoch (x100)",
            title="Optimizers: cost per epoch",
        ),
        common.plot_decision_boundaries(args.out / "optimizers_boundaries.png", panels, X, y),
    ]
    return {"results": results, "files": [p for p in files if p is not None]}


def _predictor(model):
    return lambda points: (model(points) > 0).reshape(-1).long()


if __name__ == "__main__":
    main()
