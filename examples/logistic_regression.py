"""Logistic regression as a neural network (course 1, week 2), trained by gradient descent.

The course's model, cost and update (notes 001, "Logistic Regression as a Neural Network"):

    Z = X w + b,  A = sigmoid(Z)                       (examples in rows here, columns there)
    J = -1/m sum(Y log A + (1 - Y) log(1 - A))          (binary cross-entropy)
    dw = 1/m X^T (A - Y),  db = 1/m sum(A - Y)           (the vectorized gradients)
    w := w - alpha dw,  b := b - alpha db

autograd computes dw and db from J alone; this example prints how far they are from the
course's hand-derived formulas (they agree to float64 rounding).

Two tasks: the course's planar "flower" (a linear boundary cannot separate its petals: the
course reports 47% accuracy for logistic regression there, which
``examples.planar_classification`` beats with one hidden layer), and a binary task on
scikit-learn's 8x8 digits (3 versus 8), where a linear boundary does well (the course's own
task, cat pictures, is not available offline).

    python -m examples.logistic_regression [--device cuda] [--quick]
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy

import autograd as A
import nn.functional as F
import optim
from autograd.data.datasets import load_digits, load_planar_dataset
from examples import common

COURSE_FLOWER_ACCURACY = 0.47


def train_logistic_regression(X, y, lr, iterations, show_progress=True, desc=""):
    """Gradient descent on the course's cost. Returns (w, b, costs).

    Shape: X (m, n), y (m,) 0/1 -> w (n, 1), b (1,)
    """
    n = X.shape[1]
    # The course's initialize_with_zeros: logistic regression has no symmetry to break.
    w = A.zeros(n, 1, dtype=X.dtype, device=X.device, requires_grad=True)
    b = A.zeros(1, dtype=X.dtype, device=X.device, requires_grad=True)
    Y = y.reshape(-1, 1).to(X.dtype)
    optimizer = optim.SGD([w, b], lr=lr)
    costs = []
    bar = common.progress(range(iterations), desc=desc, enabled=show_progress)
    for i in bar:
        optimizer.zero_grad()
        cost = F.binary_cross_entropy(A.sigmoid(X @ w + b), Y)
        cost.backward()
        optimizer.step()
        costs.append(cost.item())
        if i % 100 == 0:
            bar.set_postfix(cost=costs[-1])
    return w, b, costs


def gradient_gap(X, y):
    """Largest difference between autograd's dJ/dw, dJ/db and the course's formulas, at a
    random (w, b), in float64."""
    X = X.double()
    Y = y.reshape(-1, 1).double()
    m = X.shape[0]
    w = (0.1 * A.randn(X.shape[1], 1, dtype=A.float64)).to(X.device).requires_grad_()
    b = A.tensor([0.3], dtype=A.float64, device=X.device, requires_grad=True)
    activation = A.sigmoid(X @ w + b)
    F.binary_cross_entropy(activation, Y).backward()
    with A.no_grad():
        dw = X.T @ (activation - Y) / m
        db = (activation - Y).mean()
        gap_w = (w.grad - dw).abs().max().item()
        gap_b = (b.grad - db).abs().max().item()
    return max(gap_w, gap_b)


def digits_binary(device, first=3, second=8, test_fraction=0.2, seed=0):
    """Digits ``first`` (label 0) versus ``second`` (label 1), pixels scaled to [0, 1], split
    into train and test sets with a fixed seed."""
    X, y = load_digits()
    keep = (y == first) | (y == second)
    X, y = X[keep] / 16.0, (y[keep] == second).long()
    order = numpy.random.default_rng(seed).permutation(len(y))
    n_test = int(test_fraction * len(y))
    test, train = order[:n_test], order[n_test:]
    return X[train].to(device), y[train].to(device), X[test].to(device), y[test].to(device)


def main(argv=None):
    parser = common.make_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--lr", type=float, default=0.5, help="learning rate (default 0.5)")
    args = common.parse_args(parser, argv)
    iterations = 50 if args.quick else 2000
    show = not args.no_progress

    X_flower, y_flower = load_planar_dataset()
    X_flower, y_flower = X_flower.to(args.device), y_flower.to(args.device)
    w_f, b_f, costs_flower = train_logistic_regression(
        X_flower, y_flower, args.lr, iterations, show, desc="flower"
    )
    flower_accuracy = common.binary_accuracy(A.sigmoid(X_flower @ w_f + b_f), y_flower)

    X_train, y_train, X_test, y_test = digits_binary(args.device, seed=args.seed)
    w, b, costs_digits = train_logistic_regression(
        X_train, y_train, args.lr, iterations, show, desc="digits 3 vs 8"
    )
    train_accuracy = common.binary_accuracy(A.sigmoid(X_train @ w + b), y_train)
    test_accuracy = common.binary_accuracy(A.sigmoid(X_test @ w + b), y_test)
    gap = gradient_gap(X_train, y_train)

    common.print_table(
        f"Logistic regression, gradient descent, lr {args.lr}, {iterations} iterations",
        ["task", "train accuracy", "test accuracy", "final cost", "course reports"],
        [
            [
                "flower (400 points)",
                common.percent(flower_accuracy),
                "-",
                costs_flower[-1],
                common.percent(COURSE_FLOWER_ACCURACY),
            ],
            [
                "digits 3 vs 8",
                common.percent(train_accuracy),
                common.percent(test_accuracy),
                costs_digits[-1],
                "- (course: cat pictures)",
            ],
        ],
    )
    print(
        f"max |autograd - course formula| for dw = X^T(A-Y)/m, db = mean(A-Y): {gap:.2e} (float64)"
    )

    curves_path = common.save_curves(
        args.out / "logistic_regression_cost.png",
        {"flower": costs_flower, "digits 3 vs 8": costs_digits},
        title="Logistic regression: cost J",
    )
    boundary_path = common.plot_decision_boundaries(
        args.out / "logistic_regression_flower.png",
        [
            (
                f"logistic regression on the flower ({common.percent(flower_accuracy)})",
                lambda points: (A.sigmoid(points @ w_f + b_f) > 0.5).reshape(-1).long(),
            )
        ],
        X_flower,
        y_flower,
    )
    return {
        "flower_accuracy": flower_accuracy,
        "train_accuracy": train_accuracy,
        "test_accuracy": test_accuracy,
        "gradient_gap": gap,
        "costs": costs_digits,
        "files": [p for p in (curves_path, boundary_path) if p is not None],
    }


if __name__ == "__main__":
    main()
