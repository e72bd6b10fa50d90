"""autograd.viz on conv nets: shapes on edges, ResNet block clusters, module-level collapsing of a
deep ResNet, and gradient-norm colours for conv weights (DOT text; rendering skips without dot)."""

import math
import re
import shutil

import numpy as np
import pytest

import autograd as A
from autograd import viz

nn = pytest.importorskip("nn")
F = pytest.importorskip("nn.functional")

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` not installed")


class BasicBlock(nn.Module):
    """torchvision's ResNet basic block: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))."""

    def __init__(self, in_ch, out_ch, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_ch)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_ch)
        if stride != 1 or in_ch != out_ch:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_ch, out_ch, 1, stride, bias=False), nn.BatchNorm2d(out_ch)
            )
        else:
            self.downsample = nn.Identity()

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.downsample(x))


def resnet(blocks, width=4):
    """stem conv -> ``blocks`` basic blocks (the first one halves the size) -> pool -> linear."""
    layers = [nn.Conv2d(1, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU()]
    layers.append(BasicBlock(width, 2 * width, stride=2))
    layers += [BasicBlock(2 * width, 2 * width) for _ in range(blocks - 1)]
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2 * width, 3)]
    return nn.Sequential(*layers)


def loss_of(model, size=8):
    A.manual_seed(0)
    x = A.randn(2, 1, size, size)
    x.name = "x"
    loss = F.cross_entropy(model(x), A.tensor([0, 2]))
    loss.backward()
    return loss


def node_lines(graph):
    """The DOT lines that declare a node (not edges, not graph/cluster attributes)."""
    found = re.findall(r"^\s*(\w+) \[(.*)\]$", graph.source, re.M)
    return [(nid, attrs) for nid, attrs in found if nid not in ("graph", "node", "edge")]


def labels(graph):
    """{node id: label text} (HTML tags stripped)."""
    found = {}
    for match in re.finditer(r"^\s*(\w+) \[label=(<.*?>|\S+)[ \]]", graph.source, re.M):
        label = match.group(2)
        label = label[1:-1] if label.startswith("<") else label
        text = re.sub(r"<[^>]*>", " ", label)
        found[match.group(1)] = " ".join(text.split())
    return found


def edge_labels(graph):
    """{(src, dst): edge label or None}."""
    found = {}
    for src, dst, attrs in re.findall(r"^\s*(\w+) -> (\w+)(?: \[(.*)\])?$", graph.source, re.M):
        match = re.search(r'label="([^"]*)"', attrs)
        found[(src, dst)] = match.group(1) if match else None
    return found


def clusters(graph):
    """[(depth, label)] of the subgraph clusters, depth from indentation."""
    found = []
    lines = graph.source.splitlines()
    for i, line in enumerate(lines):
        if line.lstrip().startswith("subgraph cluster_"):
            label = re.search(r"label=\"?([^\"\n]+?)\"? labeljust", lines[i + 1]).group(1)
            found.append((len(line) - len(line.lstrip("\t")) - 1, label))
    return found


def boxes(graph):
    shapes = dict(node_lines(graph))
    return {nid: text for nid, text in labels(graph).items() if "box3d" in shapes[nid]}


def test_shapes_on_edges_of_a_conv_net():
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 6, 3, stride=2))
    x = A.randn(2, 1, 8, 8, requires_grad=True)
    x.name = "x"
    out = model(x).sum()
    plain = viz.draw(out, model=model)
    assert all(label is None for label in edge_labels(plain).values())  # off by default

    g = viz.draw(out, model=model, show_shapes=True)
    found = edge_labels(g)
    names = {nid: text for nid, text in labels(g).items()}
    convs = [nid for nid, text in names.items() if text == "Conv"]
    assert len(convs) == 2
    into = {nid: sorted(lab for (s, d), lab in found.items() if d == nid) for nid in convs}
    # (N, C, H, W) of the data and the weights, (C_out,) of the bias.
    assert sorted(into.values()) == [
        ["(2, 1, 8, 8)", "(4)", "(4, 1, 3, 3)"],
        ["(2, 4, 8, 8)", "(6)", "(6, 4, 3, 3)"],
    ]
    # Every edge into an op carries a shape; an op's edge to the tensor it made does not.
    for (src, dst), label in found.items():
        if dst.startswith("op"):
            assert re.fullmatch(r"\(\d+(, \d+)*\)", label), (src, dst, label)
        else:
            assert label is None, (src, dst, label)


def test_resnet_blocks_draw_as_nested_clusters():
    model = resnet(2)
    loss = loss_of(model)
    g = viz.draw(loss, model=model, group_modules=True, show_shapes=True)
    found = clusters(g)
    assert (0, "Sequential") in found
    for block in ("3", "4"):
        assert (1, f"{block} (BasicBlock)") in found
        for child, kind in (("conv1", "Conv2d"), ("bn1", "BatchNorm2d"), ("conv2", "Conv2d")):
            assert (2, f"{block}.{child} ({kind})") in found
    # Only the first block changes shape: its 1x1 projection is a cluster with two layers.
    assert (2, "3.downsample (Sequential)") in found
    assert (3, "3.downsample.0 (Conv2d)") in found
    assert not any("4.downsample" in label for _, label in found)  # identity: no op, no cluster
    # The residual Add sits in its block's cluster, fed by two (2, 8, 4, 4) branches.
    source = g.source
    block = source[source.index('label="4 (BasicBlock)"') :]
    add = re.search(r"(op\d+) \[label=<<b>Add</b>>", block).group(1)
    assert sorted(lab for (s, d), lab in edge_labels(g).items() if d == add) == [
        "(2, 8, 4, 4)",
        "(2, 8, 4, 4)",
    ]
    names = " ".join(labels(g).values())
    for name in ("3.conv1.weight", "3.downsample.0.weight", "4.bn2.bias"):
        assert name in names


# The stem's conv, BN and ReLU stay open with collapse=("BasicBlock",): a few more nodes.
@pytest.mark.parametrize("how, most", [({"collapse": ("BasicBlock",)}, 40), ({"max_depth": 1}, 30)])
def test_deep_resnet_collapses_to_a_small_module_level_picture(how, most):
    model = resnet(20)  # 1 + 40 + 1 convs, 43 layers with weights
    loss = loss_of(model, size=6)
    full = viz.draw(loss, model=model)
    assert len(node_lines(full)) > 300

    g = viz.draw(loss, model=model, show_intermediates=False, show_shapes=True, **how)
    found = boxes(g)
    blocks = sorted(int(text.split()[0]) for text in found.values() if "(BasicBlock)" in text)
    assert blocks == list(range(3, 23))
    assert len(node_lines(g)) <= most, len(node_lines(g))
    # The blocks form a chain, box -> box, each edge labelled with the (N, C, H, W) it carries.
    by_name = {int(text.split()[0]): nid for nid, text in found.items() if "(BasicBlock)" in text}
    flow = edge_labels(g)
    for i in range(4, 23):
        assert flow[(by_name[i - 1], by_name[i])] == "(2, 8, 3, 3)"
    assert "ops, 6 parameter tensors (1184 values)" in found[by_name[10]]

    # With intermediates shown, each box's output is a tensor node: about twice the nodes.
    with_tensors = viz.draw(loss, model=model, **how)
    assert len(node_lines(with_tensors)) > len(node_lines(g)) + 15


def test_show_intermediates_false_keeps_named_tensors_and_edges():
    w = A.randn(3, requires_grad=True)
    w.name = "w"
    with viz.record():  # every intermediate is known, and named ones are still drawn
        h = w * 2.0
        out = (h.exp() + 1.0).sum()
    h.name = "h"
    g = viz.draw(out, show_intermediates=False, show_shapes=True)
    text = " ".join(labels(g).values())
    assert "w (3,)" in text and "h (3,)" in text and "output" in text
    ops = {nid: t.split()[0] for nid, t in labels(g).items() if re.fullmatch(r"op\d+", nid)}
    by_name = {name: nid for nid, name in ops.items()}
    flow = edge_labels(g)
    # exp's unnamed output goes straight to Add, labelled with its shape.
    assert flow[(by_name["Exp"], by_name["Add"])] == "(3)"
    assert len([n for n in labels(g) if n.startswith("t")]) == 3  # w, h, the output
    # Frames take the same options.
    frames = list(viz.backward_steps(out, show_intermediates=False, show_shapes=True))
    assert len(frames) == len(ops)


def test_grad_norm_colours_conv_weights_and_collapsed_blocks():
    model = resnet(3)
    loss = loss_of(model)
    g = viz.draw(loss, model=model, color_by="grad_norm", color_range=(-4, 2))
    palette = viz._PALETTE
    weight = model[3].conv1.weight
    log = math.log10(float(np.linalg.norm(weight.grad.numpy())))
    expected = palette[viz._palette_index(log, -4.0, 2.0)]
    attrs = dict(node_lines(g))
    nid = next(n for n, t in labels(g).items() if t.startswith("3.conv1.weight (8, 4, 3, 3)"))
    assert f'bgcolor="{expected}"' in attrs[nid]

    collapsed = viz.draw(
        loss, model=model, collapse=("BasicBlock",), color_by="grad_norm", color_range=(-4, 2)
    )
    found = boxes(collapsed)
    box = next(n for n, t in found.items() if t.startswith("4 (BasicBlock)"))
    block = model[4]
    norm = math.sqrt(sum(float(np.sum(p.grad.numpy() ** 2)) for p in block.parameters()))
    shown = float(re.search(r"\|grad\| of parameters (\S+)", found[box]).group(1))
    assert shown == pytest.approx(norm, rel=1e-2)
    colour = palette[viz._palette_index(math.log10(norm), -4.0, 2.0)]
    assert f'fillcolor="{colour}"' in dict(node_lines(collapsed))[box]
    assert "log10 |grad|" in collapsed.source


@needs_dot
def test_collapsed_resnet_renders(tmp_path):
    model = resnet(3)
    loss = loss_of(model)
    g = viz.draw(
        loss, model=model, max_depth=1, show_intermediates=False, show_shapes=True,
        color_by="grad_norm", rankdir="TB",
    )  # fmt: skip
    path = viz.render(g, tmp_path / "resnet", "svg")
    svg = path.read_text()
    assert "BasicBlock" in svg and "(2, 8, 4, 4)" in svg
