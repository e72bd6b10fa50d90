"""Weight initialization: zeros vs large random vs He (course 2, week 1).

The course's experiment: a 3-layer network LINEAR -> RELU -> LINEAR -> RELU -> LINEAR -> SIGMOID
with layer sizes [2, 10, 5, 1], trained by full-batch gradient descent (learning rate 0.01,
15,000 iterations) on two circles (``make_circles(300, noise=0.05)`` after
``numpy.random.seed(1)`` for training, 100 points after ``seed(2)`` for testing; our
``make_circles`` draws the same points from those seeds). Three initialisations of the weights
(biases are zero in all three), each drawn after ``numpy.random.seed(3)`` as the course does:

* zeros: every unit of a layer computes the same thing, so symmetry is never broken;
* random, ``randn * 10``: too large, the sigmoid saturates and the cost starts very high;
* He, ``randn * sqrt(2 / n_in)``: recommended with ReLU.

The course's backward pass starts from ``dZ3 = (A3 - Y) / m``, the gradient of the cost with
respect to the last layer's pre-activation, which stays finite when the sigmoid saturates. So
the network here ends with the last LINEAR and the sigmoid lives in the loss,
``F.binary_cross_entropy_with_logits``, whose gradient is that same ``(A3 - Y) / m``. (A
separate ``nn.Sigmoid`` followed by ``F.binary_cross_entropy`` would not train the x10 network
at all: its saturated outputs are exactly 0 or 1, where the sigmoid's derivative is 0.)

The notes report (train accuracy): zeros 50% "fails to break symmetry", random 83% "too large
weights", He 99% "recommended method"; the course's assignment also reports test accuracies
of 50%, 86% and 96%. The computation runs in float64, as the course's NumPy code does.

    python -m examples.initialization [--device cuda] [--quick]
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import autograd as A
import nn
import nn.functional as F
from autograd.data.datasets import make_circles
from examples import common

LAYERS = (2, 10, 5, 1)
# name -> (the scale of randn as a function of fan-in, the course's train and test accuracy)
INITIALIZATIONS = {
    "zeros": (lambda n_in: 0.0, 0.50, 0.50),
    "random (x10)": (lambda n_in: 10.0, 0.83, 0.86),
    "He": (lambda n_in: math.sqrt(2.0 / n_in), 0.9933, 0.96),
}


def three_layer_net(scale, device, dtype, layers=LAYERS):
    """LINEAR -> RELU -> LINEAR -> RELU -> LINEAR, initialised as the course does; the final
    SIGMOID is applied by the loss (and by ``predict``).

    Shape: (m, layers[0]) -> (m, 1) logits
    """
    modules = []
    for n_in, n_out in zip(layers[:-1], layers[1:]):
        modules += [nn.Linear(n_in, n_out, device=device, dtype=dtype), nn.ReLU()]
    model = nn.Sequential(*modules[:-1])
    common.course_initialize(model[::2], scale=scale, seed=3)
    return model


def train(model, X, Y, lr, iterations, show_progress=True, desc=""):
    """Full-batch gradient descent on the cross-entropy cost; the cost every 1,000 iterations."""
    cost = F.binary_cross_entropy_with_logits
    return common.gradient_descent(model, X, Y, cost, lr, iterations, 1000, show_progress, desc)


def main(argv=None):
    parser = common.make_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--lr", type=float, default=0.01, help="learning rate (course: 0.01)")
    args = common.parse_args(parser, argv)
    iterations = 3000 if args.quick else 15_000
    dtype = A.float64

    X_train, y_train = make_circles(300, noise=0.05, seed=1)
    X_test, y_test = make_circles(100, noise=0.05, seed=2)
    X_train, y_train = X_train.to(args.device, dtype), y_train.to(args.device)
    X_test, y_test = X_test.to(args.device, dtype), y_test.to(args.device)
    Y_train = y_train.reshape(-1, 1).to(dtype)

    rows, results, curves, panels = [], {}, {}, []
    for name, (scale, course_train, course_test) in INITIALIZATIONS.items():
        model = three_layer_net(scale, args.device, dtype)
        costs = train(model, X_train, Y_train, args.lr, iterations, not args.no_progress, name)
        # A logit above 0 is a probability above 0.5: the course's predict.
        train_accuracy = common.binary_accuracy(model(X_train), y_train, threshold=0.0)
        test_accuracy = common.binary_accuracy(model(X_test), y_test, threshold=0.0)
        results[name] = {"train": train_accuracy, "test": test_accuracy, "costs": costs}
        curves[name] = costs
        rows.append(
            [
                name,
                common.percent(train_accuracy),
                common.percent(test_accuracy),
                costs[-1],
                f"{common.percent(course_train)} / {common.percent(course_test)}",
            ]
        )
        panels.append((f"{name} init", _predictor(model)))

    common.print_table(
        f"Initialization, [2, 10, 5, 1] ReLU net, {iterations} iterations, lr {args.lr}",
        ["initialization", "train accuracy", "test accuracy", "last cost", "course train / test"],
        rows,
    )
    files = [
        common.save_curves(
            args.out / "initialization_cost.png",
            curves,
            xlabel="iteration (x1000)",
            title="Initialization: cost",
            logy=True,
        ),
        common.plot_decision_boundaries(
            args.out / "initialization_boundaries.png", panels, X_train, y_train
        ),
    ]
    return {"results": results, "files": [p for p in files if p is not None]}


def _predictor(model):
    return lambda points: (model(points) > 0).reshape(-1).long()


if __name__ == "__main__":
    main()
