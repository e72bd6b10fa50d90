"""chalkgrad in one run (``make demo``): train an MLP on handwritten digits, save it, reload it,
and draw its graph.

What happens, end to end:

1. scikit-learn's 1,797 8x8 digits (shipped with scikit-learn: offline), pixels scaled to
   [0, 1], split 80/20 into train and test sets with a fixed seed (``random_split``);
2. an MLP 64 -> 128 -> 64 -> 10 with ReLUs (``nn.Sequential``), trained with Adam
   (learning rate 5e-3) on shuffled mini-batches of 64 (``DataLoader``) for 15 epochs, printing
   the epoch-mean cost (the mean over that epoch's mini-batches) and the test accuracy after
   every epoch (the test accuracy at the end: examples/README.md, "Numbers the runs print";
   ``--seed`` picks the split, the initial weights and the shuffling); the final table shows
   both the last epoch-mean cost and the last mini-batch's cost, which is noisier;
3. the cost per mini-batch plotted to ``out/demo_loss.png`` (``.csv`` without matplotlib);
4. the model and optimizer state saved with ``autograd.save`` to ``out/demo_model.ckpt``
   (a pickle-free format), loaded into a fresh model, and checked to give the same logits and
   the same test accuracy;
5. the graph of one training step's loss drawn with ``autograd.viz``, its ops grouped by
   module, as Graphviz DOT text (``out/demo_graph.gv``, always) and as
   ``out/demo_graph.svg`` when Graphviz's ``dot`` program is installed.

Runs in a few seconds on a laptop CPU. ``--device cuda`` runs the same code on a GPU (with
CuPy installed): the code only passes device strings around.

    python -m examples.demo [--device cuda] [--epochs N] [--out DIR]
"""

from __future__ import annotations

import sys
import time
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


def make_model(device=None):
    """The demo's MLP. Shape: (N, 64) pixels -> (N, 10) logits."""
    return nn.Sequential(
        nn.Linear(64, 128, device=device),
        nn.ReLU(),
        nn.Linear(128, 64, device=device),
        nn.ReLU(),
        nn.Linear(64, 10, device=device),
    )


def evaluate(model, loader):
    """(accuracy, logits of the whole loader in order) in eval mode, without a graph."""
    model.eval()
    correct, total, outputs = 0, 0, []
    with A.no_grad():
        for X, y in loader:
            logits = model(X)
            correct += (logits.argmax(dim=1) == y).sum().item()
            total += y.shape[0]
            outputs.append(logits)
    model.train()
    return correct / total, A.cat(outputs)


def draw_graph(model, X, y, path):
    """Draw one training step's loss with autograd.viz: DOT text always, SVG when Graphviz's
    ``dot`` is installed. Returns the files written (never raises for a missing ``dot``)."""
    try:
        from autograd import viz
    except ImportError as error:  # the graphviz Python package is missing
        print(f"graph: skipped, autograd.viz is not available ({error})")
        return []
    loss = F.cross_entropy(model(X), y)
    loss.backward()  # so the drawing can show the parameters' gradients too
    model.zero_grad()
    graph = viz.draw(loss, model=model, group_modules=True, title="demo MLP: one training step")
    gv_path = Path(f"{path}.gv")
    try:
        written = viz.render(graph, path, format="svg")
    except viz.GraphvizNotFoundError as error:
        print(f"graph: {error}")
        return [gv_path]
    print(f"saved {gv_path} and {written}")
    return [gv_path, written]


def main(argv=None):
    parser = common.make_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=None, help="epochs (default 15)")
    parser.add_argument("--lr", type=float, default=5e-3, help="Adam learning rate (5e-3)")
    parser.add_argument("--batch-size", type=int, default=64, help="mini-batch size (64)")
    args = common.parse_args(parser, argv)
    epochs = args.epochs or (3 if args.quick else 15)
    start = time.perf_counter()

    X, y = load_digits()
    dataset = TensorDataset(X / 16.0, y)
    n_test = len(dataset) // 5
    train_set, test_set = random_split(
        dataset, [len(dataset) - n_test, n_test], generator=args.seed
    )
    train_loader = DataLoader(
        train_set, batch_size=args.batch_size, shuffle=True, seed=args.seed, device=args.device
    )
    test_loader = DataLoader(test_set, batch_size=512, device=args.device)

    model = make_model(args.device)
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    n_params = sum(p.numel() for p in model.parameters())
    print(
        f"digits: {len(train_set)} train / {len(test_set)} test images, device {args.device}, "
        f"MLP 64-128-64-10 ({n_params:,} parameters), Adam lr {args.lr}, {epochs} epochs"
    )

    batch_costs = []
    epoch_costs = []  # the mean over each epoch's mini-batches (weighted by their size)
    for epoch in range(1, epochs + 1):
        epoch_start = time.perf_counter()
        total = 0.0
        for X_batch, y_batch in train_loader:
            optimizer.zero_grad()
            cost = F.cross_entropy(model(X_batch), y_batch)
            cost.backward()
            optimizer.step()
            batch_costs.append(cost.item())
            total += batch_costs[-1] * X_batch.shape[0]
        epoch_costs.append(total / len(train_set))
        test_accuracy, _ = evaluate(model, test_loader)
        print(
            f"epoch {epoch:2d}/{epochs}  epoch-mean cost {epoch_costs[-1]:.4f}  "
            f"test accuracy {common.percent(test_accuracy)}  "
            f"({time.perf_counter() - epoch_start:.2f}s)",
            flush=True,
        )
    test_accuracy, logits = evaluate(model, test_loader)

    files = [
        common.save_curves(
            args.out / "demo_loss.png",
            {"cost": batch_costs},
            xlabel="mini-batch",
            ylabel="cross-entropy",
            title="demo: MLP on digits",
        )
    ]

    # Save, reload into a fresh model, and check nothing was lost on the way.
    checkpoint = args.out / "demo_model.ckpt"
    A.save(
        {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "epochs": epochs,
            "test_accuracy": test_accuracy,
        },
        checkpoint,
    )
    state = A.load(checkpoint)
    reloaded = make_model(args.device)
    reloaded.load_state_dict(state["model"])
    reloaded_accuracy, reloaded_logits = evaluate(reloaded, test_loader)
    with A.no_grad():
        max_logit_gap = (reloaded_logits - logits).abs().max().item()
    same = reloaded_accuracy == test_accuracy and max_logit_gap == 0.0
    print(
        f"saved {checkpoint}; reloaded model: test accuracy "
        f"{common.percent(reloaded_accuracy)}, largest logit difference {max_logit_gap:g} "
        f"({'identical' if same else 'DIFFERENT'})"
    )
    files.append(checkpoint)

    X_batch, y_batch = next(iter(train_loader))
    files += draw_graph(model, X_batch, y_batch, args.out / "demo_graph")

    elapsed = time.perf_counter() - start
    common.print_table(
        "demo results",
        [
            "epochs",
            "last epoch-mean cost",
            "last mini-batch cost",
            "test accuracy",
            "reloaded accuracy",
            "time",
        ],
        [
            [
                epochs,
                epoch_costs[-1],
                batch_costs[-1],
                common.percent(test_accuracy),
                common.percent(reloaded_accuracy),
                f"{elapsed:.1f}s",
            ]
        ],
    )
    if not same:
        raise SystemExit("demo: the reloaded model does not reproduce the trained one")
    return {
        "test_accuracy": test_accuracy,
        "reloaded_accuracy": reloaded_accuracy,
        "max_logit_gap": max_logit_gap,
        "costs": batch_costs,
        "epoch_costs": epoch_costs,
        "files": files,
        "seconds": elapsed,
    }


if __name__ == "__main__":
    main()
