"""Helpers shared by the examples: arguments, progress, accuracy, tables and plots.

Plots need matplotlib and progress bars need tqdm (``pip install -e '.[examples]'``); without
them the examples still run: curves are written as CSV and progress is printed now and then.
The examples may use NumPy directly (for plotting grids and reference formulas): the rule
that only ``backends`` imports NumPy is for the library, not for code that uses it.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy

import autograd as A
import optim


def make_parser(description: str) -> argparse.ArgumentParser:
    """The options every example takes: --device, --quick, --out, --seed, --no-progress."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    parser.add_argument(
        "--quick", action="store_true", help="a few iterations only (a smoke test, not results)"
    )
    parser.add_argument("--out", default="out", help="folder for plots and files (default out/)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress bars or periodic prints"
    )
    return parser


def parse_args(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse ``argv`` (None: the command line), create ``--out`` and seed every generator."""
    args = parser.parse_args(argv)
    try:
        A.zeros(1, device=args.device)  # fail here, with the backend's advice, not mid-run
    except (RuntimeError, ValueError) as error:
        parser.error(f"--device {args.device}: {error}")
    args.out = Path(args.out)
    args.out.mkdir(parents=True, exist_ok=True)
    A.manual_seed(args.seed)
    return args


# -------------------------------------------------------------------------- progress
class _PrintProgress:
    """tqdm's small subset we use, printing a line every ``every`` steps instead of a bar."""

    def __init__(self, iterable: Iterable, total: int | None, desc: str, every: int | None):
        self.iterable = iterable
        self.total = total
        self.desc = desc
        self.every = every or max(1, (total or 10) // 10)
        self.postfix: dict[str, Any] = {}

    def set_postfix(self, **values: Any) -> None:
        self.postfix = values

    def __iter__(self) -> Iterator:
        start = time.perf_counter()
        for step, item in enumerate(self.iterable, 1):
            yield item
            if step % self.every == 0 or step == self.total:
                info = ", ".join(f"{k}={_short(v)}" for k, v in self.postfix.items())
                total = f"/{self.total}" if self.total else ""
                elapsed = time.perf_counter() - start
                print(f"  {self.desc} {step}{total} ({elapsed:.1f}s) {info}".rstrip(), flush=True)


class _Silent(_PrintProgress):
    def __iter__(self) -> Iterator:
        yield from self.iterable


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def progress(
    iterable: Iterable,
    total: int | None = None,
    desc: str = "",
    every: int | None = None,
    enabled: bool = True,
) -> Any:
    """Wrap a long loop: a tqdm bar on a terminal when tqdm is installed, else a printed line
    every ``every`` steps (default: ten lines in all), which reads better in logs. Either way
    the result has ``set_postfix(**values)`` to show, e.g., the current cost."""
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)
    if not enabled:
        return _Silent(iterable, total, desc, every)
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _PrintProgress(iterable, total, desc, every)
    if not sys.stderr.isatty():
        return _PrintProgress(iterable, total, desc, every)
    return _TqdmProgress(
        tqdm(iterable, total=total, desc=desc, leave=False, mininterval=0.5, file=sys.stderr)
    )


class _TqdmProgress:
    """A tqdm bar whose ``set_postfix`` does not force a redraw (tqdm's default does, which
    costs more than a small training step)."""

    def __init__(self, bar: Any) -> None:
        self.bar = bar

    def set_postfix(self, **values: Any) -> None:
        self.bar.set_postfix(refresh=False, **values)

    def __iter__(self) -> Iterator:
        return iter(self.bar)


# -------------------------------------------------------------------------- metrics
def gradient_descent(
    model: Any,
    X: A.Tensor,
    Y: A.Tensor,
    cost_fn: Callable,
    lr: float,
    iterations: int,
    record_every: int,
    show_progress: bool = True,
    desc: str = "",
) -> list:
    """The course's loop: full-batch gradient descent on ``cost_fn(model(X), Y)``; returns the
    cost every ``record_every`` iterations."""
    optimizer = optim.SGD(model.parameters(), lr=lr)
    costs = []
    bar = progress(range(iterations), desc=desc, enabled=show_progress)
    for i in bar:
        optimizer.zero_grad()
        cost = cost_fn(model(X), Y)
        cost.backward()
        optimizer.step()
        if i % record_every == 0:
            costs.append(cost.item())
            bar.set_postfix(cost=costs[-1])
    return costs


def accuracy(logits: A.Tensor, target: A.Tensor) -> float:
    """Fraction of rows whose largest score is the target class.

    Shape: logits (N, C), target (N,) int -> a Python float in [0, 1]
    """
    with A.no_grad():
        return (logits.argmax(dim=1) == target).float().mean().item()


def binary_accuracy(scores: A.Tensor, target: A.Tensor, threshold: float = 0.5) -> float:
    """Fraction of predictions ``scores > threshold`` equal to the 0/1 target (0.5 for
    probabilities, 0 for logits), as the course's ``predict`` computes it.

    Shape: scores (N,) or (N, 1), target (N,) or (N, 1) -> a Python float in [0, 1]
    """
    with A.no_grad():
        predicted = (scores.reshape(-1) > threshold).long()
        return (predicted == target.reshape(-1).long()).float().mean().item()


def to_numpy(t: A.Tensor) -> numpy.ndarray:
    """A host NumPy copy of ``t`` wherever it lives (what ``t.detach().cpu().numpy()`` does)."""
    return numpy.array(t.detach().cpu().numpy())


# -------------------------------------------------------------------------- tables
def format_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A Markdown table; floats are printed with 4 significant digits."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    lines = ["| " + " | ".join(str(h).ljust(w) for h, w in zip(headers, widths)) + " |"]
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells:
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def percent(fraction: float) -> str:
    return f"{100 * fraction:.1f}%"


def print_table(title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    text = format_table(headers, rows)
    print(f"\n{title}\n{text}\n", flush=True)
    return text


# -------------------------------------------------------------------------- plots
def pyplot() -> Any:
    """matplotlib.pyplot on the file-only Agg backend, or None when matplotlib is missing."""
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: Path) -> Path:
    plt = pyplot()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"saved {path}")
    return path


def save_curves(
    path: Path,
    curves: dict[str, Sequence[float]],
    xlabel: str = "iteration",
    ylabel: str = "cost",
    title: str = "",
    logy: bool = False,
    x: Sequence[float] | None = None,
) -> Path:
    """Plot named curves to ``path`` (.png), or write them as ``path`` with .csv when
    matplotlib is missing. Returns the file written."""
    plt = pyplot()
    if plt is None:
        csv_path = Path(path).with_suffix(".csv")
        length = max(len(c) for c in curves.values())
        with open(csv_path, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow([xlabel, *curves])
            for i in range(length):
                step = x[i] if x is not None else i
                writer.writerow([step, *(c[i] if i < len(c) else "" for c in curves.values())])
        print(f"matplotlib is not installed: wrote {csv_path} instead of a plot")
        return csv_path
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for name, values in curves.items():
        steps = x if x is not None else range(len(values))
        ax.plot(list(steps)[: len(values)], values, label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    if len(curves) > 1:
        ax.legend()
    return save_figure(fig, Path(path))


def save_bars(
    path: Path,
    groups: dict[str, dict[str, float]],
    ylabel: str = "",
    title: str = "",
    logy: bool = False,
    hline: float | None = None,
) -> Path:
    """Grouped bars: one group per key of each inner dict, one colour per outer key (e.g.
    ``{"correct": {"W1": 1e-9, ...}, "buggy": {...}}``). CSV at ``path`` with .csv without
    matplotlib. ``hline`` draws a dashed threshold."""
    labels = list(next(iter(groups.values())))
    plt = pyplot()
    if plt is None:
        csv_path = Path(path).with_suffix(".csv")
        with open(csv_path, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["", *groups])
            for label in labels:
                writer.writerow([label, *(values[label] for values in groups.values())])
        print(f"matplotlib is not installed: wrote {csv_path} instead of a plot")
        return csv_path
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    width = 0.8 / len(groups)
    for k, (name, values) in enumerate(groups.items()):
        positions = [i + (k - (len(groups) - 1) / 2) * width for i in range(len(labels))]
        ax.bar(positions, [values[label] for label in labels], width, label=name)
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels)
    if hline is not None:
        ax.axhline(hline, color="k", linestyle="--", linewidth=1)
    if logy:
        ax.set_yscale("log")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend(loc="upper left", fontsize="small")
    return save_figure(fig, Path(path))


def plot_decision_boundaries(
    path: Path,
    panels: Sequence[tuple[str, Callable[[A.Tensor], A.Tensor]]],
    X: A.Tensor,
    y: A.Tensor,
    step: float = 0.02,
) -> Path | None:
    """The course's ``plot_decision_boundary`` for several models side by side.

    Each panel is ``(title, predict)``, where ``predict`` maps points (M, 2) on the model's
    device to labels (M,); the grid is sent to ``X``'s device. Returns None without matplotlib.
    """
    plt = pyplot()
    if plt is None:
        print("matplotlib is not installed: no decision-boundary plot")
        return None
    points = to_numpy(X)
    labels = to_numpy(y).reshape(-1)
    x_min, x_max = points[:, 0].min() - 1, points[:, 0].max() + 1
    y_min, y_max = points[:, 1].min() - 1, points[:, 1].max() + 1
    span = max(x_max - x_min, y_max - y_min)
    step = max(step, span / 400)  # at most ~400 x 400 grid points, whatever the data's scale
    xx, yy = numpy.meshgrid(numpy.arange(x_min, x_max, step), numpy.arange(y_min, y_max, step))
    grid = numpy.c_[xx.ravel(), yy.ravel()].astype(numpy.float32)
    grid_tensor = A.from_numpy(grid).to(X.device).to(X.dtype)
    columns = min(4, len(panels))
    rows = -(-len(panels) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 4.0 * rows), squeeze=False)
    for ax in axes.flat[len(panels) :]:
        ax.axis("off")
    for ax, (title, predict) in zip(axes.flat, panels):
        with A.no_grad():
            zz = to_numpy(predict(grid_tensor)).reshape(xx.shape)
        ax.contourf(xx, yy, zz, cmap=plt.cm.Spectral, alpha=0.8)
        ax.scatter(points[:, 0], points[:, 1], c=labels, s=12, cmap=plt.cm.Spectral, edgecolors="k")
        ax.set_title(title)
        ax.set_xticks([])
        ax.set_yticks([])
    return save_figure(fig, Path(path))


# -------------------------------------------------------------------------- the course's init
def course_initialize(
    layers: Iterable[Any], scale: Callable[[int], float] | float, seed: int = 3
) -> None:
    """Initialise Linear layers as the course's ``initialize_parameters_*`` do.

    ``numpy.random.seed(seed)``, then for each layer ``W = randn(n_out, n_in) * scale(n_in)``
    and ``b = 0`` (the course's W has shape (n[l], n[l-1]): a Linear's weight layout). So the
    course's numbers come out, e.g. He init is ``scale=lambda n_in: sqrt(2 / n_in)``.
    """
    rng = numpy.random.RandomState(seed)
    with A.no_grad():
        for layer in layers:
            n_out, n_in = layer.weight.shape
            factor = scale(n_in) if callable(scale) else scale
            weight = rng.randn(n_out, n_in) * factor
            layer.weight.copy_(
                A.tensor(weight, dtype=layer.weight.dtype, device=layer.weight.device)
            )
            layer.bias.zero_()
