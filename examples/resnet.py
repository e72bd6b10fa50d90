"""Plain deep CNNs versus ResNets, and the cost of an Inception block (course 4, week 2).

The notes: "very, very deep neural networks are difficult to train because of vanishing and
exploding gradients. ResNets solve this": a residual block computes a[l+2] = g(z[l+2] + a[l]),
so the identity is easy to learn; where the dimensions differ, a[l] is multiplied by a matrix
(here a 1x1 convolution, the projection shortcut). In theory a plain net's training error
should only fall with depth; in practice it rises, while a ResNet's keeps falling.

This example trains four nets of the same width on the offline MNIST digits (downsampled to
14x14 to train in minutes on a CPU): plain and residual, shallow and deep, with the same SGD,
and prints the final training loss of each, and the gradient norm that reaches the first layer
at initialisation. It saves the training curves, and the deep plain and residual nets as graphs
(`resnet_grads_plain.gv`, `resnet_grads_ResNet.gv`, `.svg` with Graphviz): one box per block,
filled by its gradient norm on one shared scale (`viz.draw(..., color_by="grad_norm")`). What
it shows at this small size is reported as measured, not as the notes' claim.

Then the Inception motivation, computed from real layers as the notes do: a 5x5 "same" conv from
28x28x192 to 32 channels costs 28 x 28 x 32 x 5 x 5 x 192 = 120M multiplies; a 1x1 bottleneck to
16 channels first costs 2.4M + 10M = 12.4M. An Inception block (1x1, 1x1 -> 3x3, 1x1 -> 5x5 and
max-pool -> 1x1 branches, concatenated) is built and its output shape and parameters printed.

    python -m examples.resnet [--device cuda] [--quick] [--epochs N]
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import autograd as A
import nn
import nn.functional as F
import optim
from autograd import viz
from autograd.data import DataLoader, TensorDataset
from autograd.data.datasets import load_mnist_offline
from examples import common


class ConvBNReLU(nn.Sequential):
    def __init__(self, in_ch, out_ch, stride=1):
        super().__init__(
            nn.Conv2d(in_ch, out_ch, 3, stride, 1, bias=False), nn.BatchNorm2d(out_ch), nn.ReLU()
        )


class PlainBlock(nn.Module):
    """Two 3x3 convs: a[l+2] = g(z[l+2])."""

    def __init__(self, in_ch, out_ch, stride=1):
        super().__init__()
        self.first = ConvBNReLU(in_ch, out_ch, stride)
        self.conv = nn.Conv2d(out_ch, out_ch, 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(out_ch)

    def forward(self, x):
        return F.relu(self.bn(self.conv(self.first(x))))


class ResidualBlock(PlainBlock):
    """a[l+2] = g(z[l+2] + shortcut(a[l])): identity, or a 1x1 projection when shapes change."""

    def __init__(self, in_ch, out_ch, stride=1):
        super().__init__(in_ch, out_ch, stride)
        if stride != 1 or in_ch != out_ch:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_ch, out_ch, 1, stride, bias=False), nn.BatchNorm2d(out_ch)
            )
        else:
            self.shortcut = nn.Identity()

    def forward(self, x):
        return F.relu(self.bn(self.conv(self.first(x))) + self.shortcut(x))


def network(blocks_per_stage, residual, width=8):
    """stem -> two stages of blocks (the second halves the size, doubles the width) -> head."""
    block = ResidualBlock if residual else PlainBlock
    layers = [ConvBNReLU(1, width)]
    in_ch = width
    for stage in range(2):
        out_ch = width * 2**stage
        for i in range(blocks_per_stage):
            layers.append(block(in_ch, out_ch, 2 if stage == 1 and i == 0 else 1))
            in_ch = out_ch
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width * 2, 10)]
    return nn.Sequential(*layers)


def conv_layers(model):
    return sum(isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3) for m in model.modules())


def first_layer_grad_norm(model, X, y):
    model.zero_grad()
    F.cross_entropy(model(X), y).backward()
    norm = model[0][0].weight.grad.norm().item()
    model.zero_grad()
    return norm


def gradient_graph(model, X, y, path, title):
    """The net at initialisation, one box per block, filled by the norm of its parameters'
    gradients on one shared scale (dark: vanishing). DOT text always; SVG when `dot` is there."""
    model.zero_grad()
    loss = F.cross_entropy(model(X), y)
    loss.backward()
    graph = viz.draw(
        loss, model=model, max_depth=1, show_intermediates=False, show_shapes=True,
        color_by="grad_norm", color_range=(-2, 2), rankdir="TB", title=title,
    )  # fmt: skip
    model.zero_grad()
    written = [viz.render(graph, path, format="gv")]
    if viz.dot_available():
        written.append(viz.render(graph, path, format="svg"))
    return written


def multiplies(conv, size):
    """Multiplications of a conv on a size x size input ('same' output)."""
    k = conv.kernel_size[0] * conv.kernel_size[1]
    return size * size * conv.out_channels * k * conv.in_channels // conv.groups


class Inception(nn.Module):
    """The notes' block: 1x1 | 1x1 -> 3x3 | 1x1 -> 5x5 | 3x3 max-pool -> 1x1, concatenated."""

    def __init__(self, in_ch=192):
        super().__init__()
        self.b1 = nn.Conv2d(in_ch, 64, 1)
        self.b3 = nn.Sequential(
            nn.Conv2d(in_ch, 96, 1), nn.ReLU(), nn.Conv2d(96, 128, 3, padding=1)
        )
        self.b5 = nn.Sequential(nn.Conv2d(in_ch, 16, 1), nn.ReLU(), nn.Conv2d(16, 32, 5, padding=2))
        self.pool = nn.Sequential(nn.MaxPool2d(3, 1, 1), nn.Conv2d(in_ch, 32, 1))

    def forward(self, x):
        return A.cat([self.b1(x), self.b3(x), self.b5(x), self.pool(x)], dim=1)


def inception_table(device):
    plain = nn.Conv2d(192, 32, 5, padding=2, device=device)
    bottleneck = nn.Conv2d(192, 16, 1, device=device)
    then = nn.Conv2d(16, 32, 5, padding=2, device=device)
    count = sum
    rows = [
        ["5x5 conv, 192 -> 32", count(p.numel() for p in plain.parameters()),
         multiplies(plain, 28)],
        ["1x1 conv to 16, then 5x5 to 32",
         count(p.numel() for m in (bottleneck, then) for p in m.parameters()),
         multiplies(bottleneck, 28) + multiplies(then, 28)],
    ]  # fmt: skip
    block = Inception().to(device)
    with A.no_grad():
        out = block(A.zeros(1, 192, 28, 28, device=device))
    common.print_table(
        "Inception motivation on 28x28x192 (notes: 120M vs 2.4M + 10M = 12.4M multiplies)",
        ["layer", "parameters", "multiplies"],
        rows,
    )
    params = sum(p.numel() for p in block.parameters())
    print(f"An Inception block on 28x28x192 gives {tuple(out.shape)} with {params:,} parameters")
    return {"multiplies": [r[2] for r in rows], "inception_shape": tuple(out.shape)}


def main(argv=None):
    parser = common.make_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=None, help="epochs (default 6)")
    parser.add_argument("--lr", type=float, default=0.05, help="SGD learning rate (0.05)")
    parser.add_argument("--train", type=int, default=2000, help="training digits (2000)")
    parser.add_argument("--shallow", type=int, default=1, help="blocks per stage, shallow (1)")
    parser.add_argument("--deep", type=int, default=8, help="blocks per stage, deep (8)")
    args = common.parse_args(parser, argv)
    epochs = args.epochs or (1 if args.quick else 6)
    n_train = 256 if args.quick else args.train
    depths = (1, 2) if args.quick else (args.shallow, args.deep)

    X, y, _, _ = load_mnist_offline()
    X = F.avg_pool2d(X[:n_train], 2).to(args.device)  # 14x14: minutes, not hours, on a CPU
    y = y[:n_train].to(args.device)
    results, curves, rows, graph_files = {}, {}, [], []
    for residual in (False, True):
        for blocks in depths:
            A.manual_seed(args.seed)
            model = network(blocks, residual).to(args.device)
            name = f"{'ResNet' if residual else 'plain'}, {1 + 4 * blocks} convs"
            grad_norm = first_layer_grad_norm(model, X[:256], y[:256])
            if blocks == depths[-1]:  # the deep plain and residual nets, as graphs
                graph_files += gradient_graph(
                    model, X[:256], y[:256], args.out / f"resnet_grads_{name.split(',')[0]}",
                    f"{name}: |grad| per block at initialisation",
                )  # fmt: skip
            optimizer = optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
            loader = DataLoader(TensorDataset(X, y), batch_size=64, shuffle=True, seed=args.seed)
            losses = []
            start = time.perf_counter()
            for _ in common.progress(range(epochs), desc=name, enabled=not args.no_progress):
                total = 0.0
                for xb, yb in loader:
                    optimizer.zero_grad()
                    loss = F.cross_entropy(model(xb), yb)
                    loss.backward()
                    optimizer.step()
                    total += loss.item() * xb.shape[0]
                losses.append(total / n_train)
            curves[name] = losses
            results[name] = {"losses": losses, "first_layer_grad_norm": grad_norm}
            rows.append([name, conv_layers(model), losses[-1], f"{grad_norm:.3g}",
                         f"{time.perf_counter() - start:.1f}"])  # fmt: skip
    common.print_table(
        f"Training loss after {epochs} epochs on {n_train} digits (14x14), SGD lr {args.lr}",
        ["network", "3x3 convs", "final training loss", "first-layer grad norm", "seconds"],
        rows,
    )
    files = [
        common.save_curves(
            args.out / "resnet_training.png",
            curves,
            xlabel="epoch",
            ylabel="training loss",
            title="Plain vs residual, shallow vs deep",
            logy=True,
        )
    ]
    files += graph_files
    print("gradient graphs of the deep nets:", ", ".join(str(f) for f in graph_files))
    inception = inception_table(args.device)
    if not all(math.isfinite(r["losses"][-1]) for r in results.values()):
        print("a run diverged (a non-finite loss)")
    return {"results": results, "inception": inception, "files": files}


if __name__ == "__main__":
    main()
