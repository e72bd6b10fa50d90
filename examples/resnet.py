"""Plain deep CNNs versus ResNets, and the cost of an Inception block (course 4, week 2).

The notes: "very, very deep neural networks are difficult to train because of vanishing and
exploding gradients. ResNets solve this": a residual block computes a[l+2] = g(z[l+2] + a[l]),
so the identity is easy to learn; where the dimensions differ, a[l] is multiplied by a matrix
(here a 1x1 convolution, the projection shortcut). In theory a plain net's training error
should only fall with depth; in practice it rises, while a ResNet's keeps falling.

This example trains four nets of the same width (8 then 16 channels, BatchNorm after every
conv) on 2,000 offline MNIST digits (downsampled to 14x14 to train in minutes on a CPU): plain
and residual, shallow (5 convs) and deep (33 convs), with the same SGD, and prints the training
loss and training error of each (averaged over each epoch's batches), the gradient norm that
reaches the first layer at initialisation and during the last epoch, and whether the notes'
claim shows in the run (the deep / shallow ratio of the final losses). It saves the training
curves (loss and error), and the deep plain and residual nets as graphs
(`resnet_grads_plain.gv`, `resnet_grads_ResNet.gv`, `.svg` with Graphviz): one box per block,
filled by its gradient norm on one shared scale (`viz.draw(..., color_by="grad_norm")`).

Measured (seed 0, 6 epochs): the claim shows. The deep plain net ends at a training loss of
1.10 and a training error of 43.4%, against the shallow plain net's 0.26 and 6.3%; the deep
ResNet ends at 0.13 and 4.1%, below the shallow ResNet's 0.23 and 6.0% (examples/README.md has
the numbers and how they move with the order of float32 sums: thread count, conv strategy).
With BatchNorm the deep plain net's first-layer gradient at initialisation does not vanish: it
is about 90 times the shallow net's (5.1 vs 0.055), exploding rather than vanishing, while the
deep ResNet's stays moderate (0.31).

Then the Inception motivation, computed from real layers (forward hooks count each conv's
output) as the notes do: a 5x5 "same" conv from 28x28x192 to 32 channels costs 28 x 28 x 32 x
5 x 5 x 192 = 120M multiplies; a 1x1 bottleneck to 16 channels first costs 2.4M + 10M = 12.4M.
An Inception block (1x1, 1x1 -> 3x3, 1x1 -> 5x5 and max-pool -> 1x1 branches, concatenated to
256 channels) costs 164K parameters and 128M multiplies, against 1.2M parameters and 963M
multiplies for one 5x5 conv to the same 256 channels.

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


def multiplies(module, x):
    """``module(x)`` and the multiplications its convolutions do for one input, counted as the
    notes count them (output pixels x output channels x kernel x input channels; no bias adds,
    no pooling), from the output shapes that forward hooks see."""
    total = []

    def count(conv, args, output):
        kh, kw = conv.kernel_size
        total.append(output[0].numel() * kh * kw * conv.in_channels // conv.groups)

    convs = [m for m in module.modules() if isinstance(m, nn.Conv2d)]
    handles = [conv.register_forward_hook(count) for conv in convs]
    try:
        with A.no_grad():
            out = module(x)
    finally:
        for handle in handles:
            handle.remove()
    return out, sum(total)


def parameters(module):
    return sum(p.numel() for p in module.parameters())


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
    """The notes' cost of a 5x5 conv with and without a 1x1 bottleneck, and a whole Inception
    block against the one 5x5 conv that gives as many channels, all on 28x28x192."""
    x = A.zeros(1, 192, 28, 28, device=device)
    block = Inception().to(device)
    candidates = [
        ("5x5 conv, 192 -> 32", nn.Conv2d(192, 32, 5, padding=2)),
        ("1x1 conv to 16, then 5x5 to 32",
         nn.Sequential(nn.Conv2d(192, 16, 1), nn.Conv2d(16, 32, 5, padding=2))),
        ("Inception block, 192 -> 256", block),
        ("5x5 conv, 192 -> 256", nn.Conv2d(192, 256, 5, padding=2)),
    ]  # fmt: skip
    rows, shapes = [], []
    for name, module in candidates:
        out, count = multiplies(module.to(device), x)
        rows.append([name, parameters(module), count])
        shapes.append(tuple(out.shape))
    common.print_table(
        "Inception motivation on 28x28x192 (notes: 120M vs 2.4M + 10M = 12.4M multiplies; the "
        "notes write 'parameters' for these multiplies)",
        ["layer", "parameters", "multiplies"],
        rows,
    )
    print(
        f"The Inception block (1x1 | 1x1 -> 3x3 | 1x1 -> 5x5 | max-pool -> 1x1, concatenated) "
        f"gives {shapes[2]} with {rows[2][1]:,} parameters and {rows[2][2] / 1e6:.1f}M "
        f"multiplies; one 5x5 conv to the same 256 channels: {rows[3][1]:,} parameters, "
        f"{rows[3][2] / 1e6:.1f}M multiplies."
    )
    return {
        "multiplies": [r[2] for r in rows[:2]],
        "parameters": [r[1] for r in rows[:2]],
        "inception_shape": shapes[2],
        "block": {"parameters": rows[2][1], "multiplies": rows[2][2]},
        "conv5x5_256": {"parameters": rows[3][1], "multiplies": rows[3][2]},
    }


def train(model, X, y, epochs, args, name):
    """SGD with momentum; per epoch, the mean training loss, training error and first-layer
    gradient norm over the epoch's batches (training mode, as the batches go by)."""
    optimizer = optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    loader = DataLoader(TensorDataset(X, y), batch_size=64, shuffle=True, seed=args.seed)
    first = model[0][0].weight
    losses, errors, grad_norms = [], [], []
    for _ in common.progress(range(epochs), desc=name, enabled=not args.no_progress):
        total = wrong = norm = 0.0
        for xb, yb in loader:
            optimizer.zero_grad()
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            loss.backward()
            norm += first.grad.norm().item()
            optimizer.step()
            total += loss.item() * xb.shape[0]
            wrong += (logits.detach().argmax(dim=1) != yb).sum().item()
        losses.append(total / X.shape[0])
        errors.append(wrong / X.shape[0])
        grad_norms.append(norm / len(loader))
    return {"losses": losses, "errors": errors, "grad_norms": grad_norms}


def verdict(results, depths):
    """The notes' claim, checked on this run: deeper plain -> higher training loss, deeper
    ResNet -> lower (or equal). Returns the deep / shallow ratio of the final losses."""
    effect = {}
    for kind in ("plain", "ResNet"):
        shallow, deep = (results[f"{kind}, {1 + 4 * b} convs"]["losses"][-1] for b in depths)
        effect[kind] = deep / shallow
    plain_worse, resnet_ok = effect["plain"] > 1, effect["ResNet"] <= 1
    print(
        f"Deep / shallow final training loss: plain {effect['plain']:.2f}, ResNet "
        f"{effect['ResNet']:.2f}. The notes' claim (the deeper plain net trains worse, the "
        f"deeper ResNet not) {'shows' if plain_worse and resnet_ok else 'does NOT show'} in "
        f"this run: the deep plain net ends {'above' if plain_worse else 'at or below'} the "
        f"shallow one, the deep ResNet {'at or below' if resnet_ok else 'above'} the shallow one."
    )
    return effect


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
    results, curves, errors, rows, graph_files = {}, {}, {}, [], []
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
            start = time.perf_counter()
            run = train(model, X, y, epochs, args, name)
            seconds = time.perf_counter() - start
            curves[name], errors[name] = run["losses"], run["errors"]
            results[name] = {**run, "first_layer_grad_norm": grad_norm}
            rows.append([name, conv_layers(model), run["losses"][-1],
                         common.percent(run["errors"][-1]), f"{grad_norm:.3g}",
                         f"{run['grad_norms'][-1]:.3g}", f"{seconds:.1f}"])  # fmt: skip
    common.print_table(
        f"After {epochs} epochs on {n_train} digits (14x14), SGD lr {args.lr} momentum 0.9 "
        "(loss and error averaged over each epoch's batches, in training mode)",
        ["network", "3x3 convs", "training loss", "training error",
         "first-layer grad norm at init", "in the last epoch", "seconds"],
        rows,
    )  # fmt: skip
    depth_effect = verdict(results, depths)
    epochs_axis = list(range(1, epochs + 1))
    files = [
        common.save_curves(
            args.out / "resnet_training.png", curves, xlabel="epoch", ylabel="training loss",
            title="Plain vs residual, shallow vs deep", logy=True, x=epochs_axis,
        ),
        common.save_curves(
            args.out / "resnet_training_error.png", {k: [100 * e for e in v]
                                                     for k, v in errors.items()},
            xlabel="epoch", ylabel="training error (%)",
            title="Plain vs residual, shallow vs deep", x=epochs_axis,
        ),
    ]  # fmt: skip
    files += graph_files
    print("gradient graphs of the deep nets:", ", ".join(str(f) for f in graph_files))
    inception = inception_table(args.device)
    if not all(math.isfinite(r["losses"][-1]) for r in results.values()):
        print("a run diverged (a non-finite loss)")
    return {
        "results": results,
        "depth_effect": depth_effect,
        "inception": inception,
        "files": files,
    }


if __name__ == "__main__":
    main()
