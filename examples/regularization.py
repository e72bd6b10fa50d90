"""Regularization: none vs L2 vs dropout (course 2, week 1).

The course's experiment: a 3-layer network [n_x, 20, 3, 1] (LINEAR -> RELU -> LINEAR -> RELU ->
LINEAR -> SIGMOID) initialised with ``randn / sqrt(n_in)`` after ``numpy.random.seed(3)``,
full-batch gradient descent with learning rate 0.3 for 30,000 iterations, three ways:

* no regularization;
* L2, the notes' cost ``J + lambda / (2m) * sum_l ||W[l]||_F^2`` (biases are not penalised),
  lambda = 0.7; its gradient adds ``lambda / m * W`` to dW ("weight decay");
* inverted dropout on both hidden layers with keep_prob = 0.86, i.e. ``nn.Dropout(p=0.14)``
  (PyTorch's p is the probability to drop); off at test time (``model.eval()``).

The course ran it on a "football" dataset (where the goalkeeper should kick the ball, 211
training and 200 test points) that we do not have. Here the same networks are trained on a
noisy two-moons problem of the same size (``make_moons``, 211 training points and 200 test
points drawn from seeds 1 and 2, noise 0.35), where the unregularised network overfits the
noise. The course reports, on its football data, train / test accuracy 94.8% / 91.5% without
regularization, 93.8% / 93% with L2 and 92.9% / 95% with dropout: regularization gives up a
little training accuracy for better test accuracy. Expect the same direction here, not the
same numbers (ours are in examples/README.md, "Numbers the runs print"). On the other
moons we tried (noise 0.25 to 0.4, other seeds), L2 and dropout raised test accuracy in most
cases, by up to about 6 points, and lowered it by 0.5 to 3 points in a few: with this little
data, one split decides a lot. Float64, as the course's NumPy code.

    python -m examples.regularization [--device cuda] [--quick]
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
from autograd.data.datasets import make_moons
from examples import common

LAYERS = (2, 20, 3, 1)
COURSE = {
    "none": (0.948, 0.915),
    "L2 (lambda 0.7)": (0.938, 0.93),
    "dropout (keep 0.86)": (0.929, 0.95),
}


def three_layer_net(device, dtype, keep_prob=1.0, layers=LAYERS):
    """[n_x, 20, 3, 1] with ReLUs, dropout after each hidden layer when keep_prob < 1, and the
    course's ``randn / sqrt(n_in)`` init. The final SIGMOID is applied by the loss.

    Shape: (m, n_x) -> (m, 1) logits
    """
    modules = []
    for index, (n_in, n_out) in enumerate(zip(layers[:-1], layers[1:])):
        modules.append(nn.Linear(n_in, n_out, device=device, dtype=dtype))
        if index < len(layers) - 2:
            modules.append(nn.ReLU())
            if keep_prob < 1:
                modules.append(nn.Dropout(p=1 - keep_prob))
    model = nn.Sequential(*modules)
    linears = [m for m in model if isinstance(m, nn.Linear)]
    common.course_initialize(linears, scale=lambda n_in: 1 / math.sqrt(n_in), seed=3)
    return model


def l2_penalty(model, lambd, m):
    """``lambda / (2m) * sum of ||W||_F^2`` over the weights (not the biases)."""
    weights = [p for name, p in model.named_parameters() if name.endswith("weight")]
    return lambd / (2 * m) * sum((w * w).sum() for w in weights)


def train(model, X, Y, lr, iterations, lambd=0.0, show_progress=True, desc=""):
    """Full-batch gradient descent on the cross-entropy cost (+ the L2 term when lambd > 0);
    returns the cost every 1,000 iterations."""

    def cost(scores, Y):
        cost = F.binary_cross_entropy_with_logits(scores, Y)
        return cost + l2_penalty(model, lambd, X.shape[0]) if lambd > 0 else cost

    model.train()
    costs = common.gradient_descent(model, X, Y, cost, lr, iterations, 1000, show_progress, desc)
    model.eval()  # no dropout when predicting
    return costs


def main(argv=None):
    parser = common.make_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--lr", type=float, default=0.3, help="learning rate (course: 0.3)")
    parser.add_argument("--noise", type=float, default=0.35, help="moons noise (0.35)")
    args = common.parse_args(parser, argv)
    iterations = 2000 if args.quick else 30_000
    dtype = A.float64

    X_train, y_train = make_moons(211, noise=args.noise, seed=1)
    X_test, y_test = make_moons(200, noise=args.noise, seed=2)
    X_train, y_train = X_train.to(args.device, dtype), y_train.to(args.device)
    X_test, y_test = X_test.to(args.device, dtype), y_test.to(args.device)
    Y_train = y_train.reshape(-1, 1).to(dtype)

    settings = {
        "none": {"keep_prob": 1.0, "lambd": 0.0},
        "L2 (lambda 0.7)": {"keep_prob": 1.0, "lambd": 0.7},
        "dropout (keep 0.86)": {"keep_prob": 0.86, "lambd": 0.0},
    }
    results, rows, curves, panels = {}, [], {}, []
    for name, setting in settings.items():
        model = three_layer_net(args.device, dtype, keep_prob=setting["keep_prob"])
        costs = train(
            model,
            X_train,
            Y_train,
            args.lr,
            iterations,
            setting["lambd"],
            not args.no_progress,
            name,
        )
        with A.no_grad():
            train_accuracy = common.binary_accuracy(model(X_train), y_train, threshold=0.0)
            test_accuracy = common.binary_accuracy(model(X_test), y_test, threshold=0.0)
        weight_norm = math.sqrt(
            sum((p * p).sum().item() for n, p in model.named_parameters() if n.endswith("weight"))
        )
        results[name] = {
            "train": train_accuracy,
            "test": test_accuracy,
            "costs": costs,
            "weight_norm": weight_norm,
        }
        curves[name] = costs
        course_train, course_test = COURSE[name]
        rows.append(
            [
                name,
                common.percent(train_accuracy),
                common.percent(test_accuracy),
                weight_norm,
                f"{common.percent(course_train)} / {common.percent(course_test)}",
            ]
        )
        panels.append((f"{name}: test {common.percent(test_accuracy)}", _predictor(model)))

    common.print_table(
        f"Regularization on noisy moons (211 train / 200 test, noise {args.noise}), "
        f"{iterations} iterations, lr {args.lr}",
        ["regularization", "train accuracy", "test accuracy", "||W|| (all layers)", "course"],
        rows,
    )
    print("(course column: train / test accuracy on the course's football data)")
    files = [
        common.save_curves(
            args.out / "regularization_cost.png",
            curves,
            xlabel="iteration (x1000)",
            title="Regularization: training cost (L2 row includes the penalty)",
        ),
        common.plot_decision_boundaries(
            args.out / "regularization_boundaries.png", panels, X_test, y_test
        ),
    ]
    return {"results": results, "files": [p for p in files if p is not None]}


def _predictor(model):
    return lambda points: (model(points) > 0).reshape(-1).long()


if __name__ == "__main__":
    main()
