"""The same deep network with and without batch normalization (course 2, week 3).

Batch norm, as the notes give it, normalises each hidden layer's pre-activations over the
mini-batch and lets the network rescale them:

    mu = mean(z),  sigma^2 = var(z),  z_norm = (z - mu) / sqrt(sigma^2 + eps),
    z_tilde = gamma * z_norm + beta

with gamma and beta learned like W. The layer's bias b is dropped (beta takes its place: "w,
~~b~~, beta, gamma"), and at test time mu and sigma^2 are exponentially weighted averages
collected during training (``model.eval()`` uses ``running_mean``/``running_var``).

Here: an MLP on scikit-learn's 8x8 digits with 6 hidden layers of 64 units (ReLU), trained with
mini-batch SGD with momentum 0.9 (batch 64, learning rate 0.02) from PyTorch's default
initialisation, once as LINEAR -> RELU and once as LINEAR (no bias) -> BATCHNORM -> RELU.
Without batch norm the signal shrinks through the deep stack and the cost stays flat for many
epochs (with plain SGD, for all 40); with it every layer sees inputs of a steady scale and
training takes off at once. The table gives the
final cost, train and test accuracy, and the number of epochs to reach 90% test accuracy.

    python -m examples.batch_norm [--device cuda] [--quick]
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import autograd as A
import nn
import nn.functional as F
import optim
from autograd.data import DataLoader, TensorDataset, random_split
from autograd.data.datasets import load_digits
from examples import common

HIDDEN = 64
DEPTH = 6


def deep_mlp(batch_norm, device, depth=DEPTH, hidden=HIDDEN):
    """64 -> ``depth`` x (LINEAR [-> BATCHNORM] -> RELU) -> 10.

    Shape: (N, 64) -> (N, 10) logits
    """
    modules = []
    n_in = 64
    for _ in range(depth):
        if batch_norm:
            modules += [
                nn.Linear(n_in, hidden, bias=False, device=device),
                nn.BatchNorm1d(hidden, device=device),
            ]
        else:
            modules += [nn.Linear(n_in, hidden, device=device)]
        modules.append(nn.ReLU())
        n_in = hidden
    modules.append(nn.Linear(n_in, 10, device=device))
    return nn.Sequential(*modules)


def digits_split(device, seed, test_fraction=0.2):
    """Digits scaled to [0, 1], split into train and test datasets with a fixed seed."""
    X, y = load_digits()
    dataset = TensorDataset((X / 16.0).to(device), y.to(device))
    n_test = int(test_fraction * len(dataset))
    return random_split(dataset, [len(dataset) - n_test, n_test], generator=seed)


def evaluate(model, dataset):
    """(mean cross-entropy, accuracy) over a whole dataset, in eval mode."""
    model.eval()
    X, y = next(iter(DataLoader(dataset, batch_size=len(dataset))))
    with A.no_grad():
        logits = model(X)
        loss = F.cross_entropy(logits, y).item()
    model.train()
    return loss, common.accuracy(logits, y)


def main(argv=None):
    parser = common.make_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--lr", type=float, default=0.02, help="SGD learning rate (default 0.02)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs (default 40)")
    parser.add_argument("--depth", type=int, default=DEPTH, help=f"hidden layers ({DEPTH})")
    parser.add_argument("--momentum", type=float, default=0.9, help="SGD momentum (default 0.9)")
    args = common.parse_args(parser, argv)
    epochs = args.epochs or (4 if args.quick else 40)

    train_set, test_set = digits_split(args.device, seed=args.seed)
    results, curves, rows = {}, {}, []
    for name, batch_norm in (("without batch norm", False), ("with BatchNorm1d", True)):
        A.manual_seed(args.seed)  # the same initial weights for the Linear layers of both
        model = deep_mlp(batch_norm, args.device, depth=args.depth)
        optimizer = optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
        loader = DataLoader(train_set, batch_size=64, shuffle=True, seed=args.seed)
        batch_costs, test_accuracies = [], []
        bar = common.progress(range(epochs), desc=name, enabled=not args.no_progress)
        for _ in bar:
            for X, y in loader:
                optimizer.zero_grad()
                cost = F.cross_entropy(model(X), y)
                cost.backward()
                optimizer.step()
                batch_costs.append(cost.item())
            test_accuracies.append(evaluate(model, test_set)[1])
            bar.set_postfix(cost=batch_costs[-1], test=test_accuracies[-1])
        train_loss, train_accuracy = evaluate(model, train_set)
        test_loss, test_accuracy = evaluate(model, test_set)
        reached = next((e + 1 for e, a in enumerate(test_accuracies) if a >= 0.9), None)
        results[name] = {
            "train_loss": train_loss,
            "train_accuracy": train_accuracy,
            "test_accuracy": test_accuracy,
            "epochs_to_90": reached,
            "costs": batch_costs,
        }
        curves[name] = batch_costs
        rows.append(
            [
                name,
                train_loss,
                common.percent(train_accuracy),
                common.percent(test_accuracy),
                reached if reached is not None else f"> {epochs}",
            ]
        )

    common.print_table(
        f"Digits, {args.depth} hidden layers of {HIDDEN} (ReLU), SGD lr {args.lr} momentum "
        f"{args.momentum}, batch 64, {epochs} epochs",
        ["network", "train cost", "train accuracy", "test accuracy", "epochs to 90% test"],
        rows,
    )
    path = common.save_curves(
        args.out / "batch_norm_cost.png",
        curves,
        xlabel="mini-batch",
        ylabel="cross-entropy",
        title="Deep MLP on digits: with and without batch norm",
    )
    return {"results": results, "files": [path]}


if __name__ == "__main__":
    main()
