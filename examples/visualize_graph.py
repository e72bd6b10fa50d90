"""Graph visualization with autograd.viz: the course's computational graph and more.

1. The course's J = 3(a + bc) with a = 5, b = 3, c = 2: every tensor's value and gradient
   (J = 33, dJ/da = 3, dJ/db = 6, dJ/dc = 9), micrograd's data | grad, for tensors.
2. A 2-layer MLP, nn.Sequential(Linear(2, 8), ReLU(), Linear(8, 1)), its ops grouped by module,
   parameter names taken from the model; and the same with each layer collapsed into a box.
3. A 10-layer sigmoid net (default-style init) beside a 10-layer ReLU net with He init,
   tensors coloured by log10 of their gradient's norm on one shared scale: the sigmoid net's
   first layers go dark (vanishing gradients), the ReLU/He net's stay the same colour.
4. The backward pass of a tiny net, one frame per node the engine runs.

Writes DOT text (.gv) always and .svg when Graphviz's `dot` program is installed, into --out.
Run: python -m examples.visualize_graph [--out DIR]
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy

import autograd as A
import nn
from autograd import viz
from examples import common


def write(graph, path, written):
    """DOT text always; SVG when `dot` is installed (a missing `dot` is reported, not fatal)."""
    written.append(viz.render(graph, path, format="gv"))
    if viz.dot_available():
        written.append(viz.render(graph, path, format="svg"))
    return written


def named_leaf(value, name, device):
    t = A.tensor(value, device=device, requires_grad=True)
    t.name = name
    return t


def course_graph(device, out, written):
    a, b, c = (named_leaf(v, n, device) for v, n in ((5.0, "a"), (3.0, "b"), (2.0, "c")))
    with viz.record():  # keep u and v, so their values and gradients can be drawn too
        u = b * c
        v = a + u
        J = 3 * v
    u.name, v.name, J.name = "u = bc", "v = a + u", "J = 3v"
    J.backward()
    graph = viz.draw(J, show_values=True, show_grads=True, title="J = 3(a + bc)")
    write(graph, out / "course_graph", written)
    result = {
        "J": J.item(),
        "dJ/da": a.grad.item(),
        "dJ/db": b.grad.item(),
        "dJ/dc": c.grad.item(),
    }
    common.print_table(
        "The course's graph J = 3(a + bc), a = 5, b = 3, c = 2",
        ["", "ours", "course"],
        [[k, f"{v:g}", f"{ref:g}"] for (k, v), ref in zip(result.items(), (33, 3, 6, 9))],
    )
    return result


def mlp_graphs(device, out, written):
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1)).to(device)
    criterion = nn.MSELoss()
    x = A.randn(4, 2, device=device)
    x.name = "x"
    y = A.randn(4, 1, device=device)
    with viz.record():
        loss = criterion(model(x), y)
    loss.backward()
    grouped = viz.draw(
        loss,
        model=model,
        group_modules=True,
        show_values=True,
        show_grads=True,
        rankdir="TB",
        title="2-layer MLP, grouped by module",
    )
    write(grouped, out / "mlp_grouped", written)
    collapsed = viz.draw(
        loss, model=model, max_depth=1, rankdir="TB", title="the same, max_depth=1"
    )
    write(collapsed, out / "mlp_collapsed", written)
    return grouped


def deep_net(activation, depth, width, x, device, he):
    """A plain deep net built from autograd ops; weights named w1..wN for the drawing."""
    rng = numpy.random.default_rng(0)
    h = x
    weights = []
    with viz.record():  # intermediates keep their gradients, so they are coloured too
        for i in range(depth):
            std = math.sqrt(2.0 / width) if he else 1.0 / math.sqrt(width)
            w = rng.normal(0.0, std, (width, width)).astype(numpy.float32)
            weights.append(named_leaf(w, f"w{i + 1}", device))
            h = h @ weights[-1]
            h = h.sigmoid() if activation == "sigmoid" else h.relu()
        loss = h.mean()
    loss.backward()
    return loss, [w.grad.norm().item() for w in weights]


def deep_nets(device, out, written):
    x = A.tensor(
        numpy.random.default_rng(1).normal(size=(32, 16)).astype(numpy.float32), device=device
    )
    nets = {
        "sigmoid": deep_net("sigmoid", 10, 16, x, device, he=False),
        "relu_he": deep_net("relu", 10, 16, x, device, he=True),
    }
    # One colour scale for both pictures, so colours compare across them.
    logs = [math.log10(n) for _, norms in nets.values() for n in norms if n > 0]
    shared = (math.floor(min(logs)), math.ceil(max(logs)))
    for name, (loss, _) in nets.items():
        graph = viz.draw(
            loss,
            color_by="grad_norm",
            color_range=shared,
            rankdir="TB",
            title=f"10-layer {name} net, coloured by log10 |grad|",
        )
        write(graph, out / f"deep_{name}", written)
    rows = [
        [f"w{i + 1}", f"{s:.2e}", f"{r:.2e}"]
        for i, (s, r) in enumerate(zip(nets["sigmoid"][1], nets["relu_he"][1]))
    ]
    common.print_table("Gradient norm per layer", ["layer", "sigmoid", "ReLU + He"], rows)
    return {name: norms for name, (_, norms) in nets.items()}


def backward_frames(device, out, written):
    x = named_leaf([[1.0, -2.0]], "x", device)
    w = named_leaf([[0.5], [0.25]], "w", device)
    b = named_leaf([0.1], "b", device)
    loss = ((x @ w + b).tanh() ** 2).sum()
    frames = list(viz.backward_steps(loss, show_values=True))
    folder = out / "backward_frames"
    written += viz.save_frames(frames, folder, "gv")
    if viz.dot_available():
        written += viz.save_frames(frames, folder, "svg")
    print(f"backward frames: {len(frames)} steps, order {[f.grad_fn.name for f in frames]}")
    return len(frames)


def main(argv=None):
    parser = common.make_parser(__doc__.split("\n\n")[0])
    args = common.parse_args(parser, argv)
    written = []
    result = {"course": course_graph(args.device, args.out, written)}
    mlp_graphs(args.device, args.out, written)
    result["grad_norms"] = deep_nets(args.device, args.out, written)
    result["frames"] = backward_frames(args.device, args.out, written)
    if not viz.dot_available():
        print(
            "Graphviz's `dot` is not installed: wrote DOT text (.gv) only. Install it with "
            "`apt install graphviz`, `brew install graphviz` or `conda install -c conda-forge "
            "graphviz`, or render a .gv file later with `dot -Tsvg FILE.gv -o FILE.svg`."
        )
    print(f"wrote {len(written)} files into {args.out}/")
    result["files"] = [str(p) for p in written]
    return result


if __name__ == "__main__":
    main()
