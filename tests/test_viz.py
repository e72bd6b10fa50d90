"""autograd.viz: DOT text checks (no `dot` needed) and rendering checks (skipped without `dot`)."""

import math
import re
import shutil

import numpy as np
import pytest

import autograd as A
from autograd import function as F_engine
from autograd import scopes, viz

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` not installed")

try:
    import nn
except ImportError:  # nn is optional for these tests
    nn = None
needs_nn = pytest.mark.skipif(nn is None, reason="nn is not importable")


# ------------------------------------------------------------------------------ helpers
def leaf(value, name=None, device="cpu", dtype=None):
    t = A.tensor(value, dtype=dtype, device=device, requires_grad=True)
    t.name = name
    return t


def labels(graph):
    """{node id: label text} from the DOT source (HTML tags stripped)."""
    found = {}
    for match in re.finditer(r"^\s*(\w+) \[label=(<.*?>|\S+)[ \]]", graph.source, re.M):
        label = match.group(2)
        label = label[1:-1] if label.startswith("<") else label
        text = re.sub(r"<[^>]*>", " ", label)
        found[match.group(1)] = " ".join(text.split())
    return found


def edges(graph):
    return re.findall(r"^\s*(\w+) -> (\w+)", graph.source, re.M)


def node_id(graph, text):
    """The id of the one node whose label starts with ``text``."""
    hits = [nid for nid, label in labels(graph).items() if label.startswith(text)]
    assert len(hits) == 1, (text, hits)
    return hits[0]


def course_graph(record=True):
    """The course's J = 3(a + bc) with a=5, b=3, c=2."""
    a, b, c = leaf(5.0, "a"), leaf(3.0, "b"), leaf(2.0, "c")
    if record:
        with viz.record():
            u = b * c
            v = a + u
            J = v * 3
    else:
        u = b * c
        v = a + u
        J = v * 3
    u.name, v.name, J.name = "u", "v", "J"
    return a, b, c, u, v, J


def graph_nodes(*roots):
    """Every node reachable from roots (the test's own traversal, independent of viz)."""
    seen, stack = {}, [r.grad_fn for r in roots if r.grad_fn is not None]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen[id(node)] = node
        for edge in node._next:
            if edge is not None and not isinstance(edge[0], A.Tensor):
                stack.append(edge[0])
    return list(seen.values())


class FakeModule:
    """Module-like: calls record_module_call itself, as nn.Module.__call__ does."""

    def __init__(self, **children):
        self._children = children
        for name, child in children.items():
            setattr(self, name, child)

    def named_children(self):
        return iter(self._children.items())

    def named_parameters(self):
        return iter(())

    def __call__(self, x):
        out = self.forward(x)
        scopes.record_module_call(self, (x,), out)
        return out


class FakeAffine(FakeModule):
    def __init__(self, n):
        super().__init__()
        self.weight = leaf(np.linspace(-1, 1, n).astype(np.float32))
        self.bias = leaf(np.zeros(n, np.float32))

    def named_parameters(self):
        return iter([("weight", self.weight), ("bias", self.bias)])

    def forward(self, x):
        return (x * self.weight + self.bias).tanh()


class FakeStack(FakeModule):
    def forward(self, x):
        for child in self._children.values():
            x = child(x)
        return x


# ------------------------------------------------------------------------------ structure, labels
def test_course_graph_values_and_grads():
    a, b, c, u, v, J = course_graph()
    J.backward()
    assert (J.item(), a.grad.item(), b.grad.item(), c.grad.item()) == (33.0, 3.0, 6.0, 9.0)
    g = viz.draw(J, show_values=True, show_grads=True)
    text = labels(g)
    assert text[node_id(g, "a ")] == "a () float32 data 5 grad 3"
    assert text[node_id(g, "b ")] == "b () float32 data 3 grad 6"
    assert text[node_id(g, "c ")] == "c () float32 data 2 grad 9"
    assert text[node_id(g, "u ")] == "u () float32 data 6 grad 3"
    assert text[node_id(g, "v ")] == "v () float32 data 11 grad 3"
    assert text[node_id(g, "J ")] == "J () float32 data 33 grad 1"
    ops = {nid: label for nid, label in text.items() if nid.startswith("op") and "_" not in nid}
    assert sorted(ops.values()) == ["Add", "Mul", "Mul"]
    # Data flow: b, c -> Mul -> u -> Add -> v -> Mul -> J; a -> Add; the constant 3 -> Mul.
    ids = {name: node_id(g, name + " ") for name in "abcuvJ"}
    add = next(nid for nid, label in ops.items() if label == "Add")
    flow = set(edges(g))
    assert {(ids["a"], add), (ids["u"], add), (add, ids["v"])} <= flow
    mul_bc = next(dst for src, dst in flow if src == ids["b"])
    assert {(ids["c"], mul_bc), (mul_bc, ids["u"])} <= flow
    mul_3 = next(dst for src, dst in flow if src == ids["v"])
    assert (mul_3, ids["J"]) in flow and text[f"{mul_3}_n"] == "3"
    assert len(flow) == 9


def test_without_recording_intermediates_show_shape_only():
    a, b, c, u, v, J = course_graph(record=False)
    del u, v
    J.backward()
    g = viz.draw(J, show_values=True, show_grads=True)
    text = labels(g).values()
    assert "() float32" in text  # u and v: shape and dtype only
    assert "a () float32 data 5 grad 3" in text
    assert not any("data 11" in t or "data 6" in t for t in text)


def test_saved_tensors_give_intermediate_values_before_backward():
    x = leaf([1.0, 2.0])
    y = x.exp()  # Exp saves its output, so its value is known until backward frees it
    z = (y * y).sum()
    del y
    g = viz.draw(z, show_values=True)
    assert any(t.startswith("(2,) float32 data [2.718, 7.389]") for t in labels(g).values())


def test_dtype_large_summary_and_user_names():
    w = A.tensor(np.arange(12.0).reshape(3, 4) - 5.5, dtype=A.float64, requires_grad=True)
    w.name = "weights"
    out = (w * 2.0).sum()
    out.backward()
    g = viz.draw(out, show_values=True, show_grads=True, max_values=4)
    text = labels(g)[node_id(g, "weights")]
    ref = np.arange(12.0) - 5.5
    assert "(3, 4) float64" in text
    norm = f"{np.linalg.norm(ref):.4g}"
    assert f"data min -5.5 mean 0 max 5.5 norm {norm}" in text
    assert f"grad min 2 mean 2 max 2 norm {math.sqrt(12 * 4):.4g}" in text


def test_outputs_are_marked_and_several_outputs_are_drawn():
    x = leaf([1.0, -2.0], "x")
    y1, y2 = x.relu(), x.sigmoid()
    g = viz.draw(y1, y2, show_values=True)
    text = labels(g).values()
    assert "output (2,) float32 data [1, 0]" in text
    assert any(t.startswith("output 1 (2,) float32 data [0.7311, 0.1192]") for t in text)
    assert "#ffe0c2" in g.source and "#d6e6ff" in g.source  # output and leaf colours


def test_errors():
    x = leaf([1.0])
    with pytest.raises(ValueError, match="at least one output"):
        viz.draw()
    with pytest.raises(TypeError, match=r"outputs\[0\] is a list"):
        viz.draw([x])
    with pytest.raises(ValueError, match="color_by"):
        viz.draw(x * 2, color_by="value")
    with pytest.raises(ValueError, match="format"):
        viz.render(viz.draw(x * 2), "/tmp/unused", format="jpg")
    with pytest.raises(RuntimeError, match="not a scalar"):
        next(viz.backward_steps(leaf([1.0, 2.0]) * 2))
    with pytest.raises(ValueError, match="color_range"):
        viz.draw(x * 2, color_by="grad_norm", color_range=(1, 0))


def test_device_values(device):
    x = A.tensor([[1.0, 2.0], [3.0, 4.0]], device=device, requires_grad=True)
    y = (x * x).sum()
    y.backward()
    g = viz.draw(y, show_values=True, show_grads=True, max_values=2)
    text = " ".join(labels(g).values())
    assert "data min 1 mean 2.5 max 4 norm 5.477" in text
    assert "grad min 2 mean 5 max 8 norm 10.95" in text
    if device != "cpu":
        assert device.split(":")[0] in text


def test_record_restores_tracer_and_nests():
    before = F_engine._tracer
    with viz.record() as outer:
        with viz.record() as inner:
            y = leaf([1.0]) * 2
        z = y + 1
    assert F_engine._tracer is before
    assert (inner.count, outer.count) == (1, 2)
    assert scopes.recorded(y.grad_fn).outputs == (y,)
    assert scopes.recorded(z.grad_fn).outputs == (z,)


# ------------------------------------------------------------------------------ modules
def fake_net():
    return FakeStack(
        encoder=FakeStack(**{"0": FakeAffine(3), "1": FakeAffine(3)}), head=FakeAffine(3)
    )


def clusters(graph):
    """[(depth, label)] of the subgraph clusters, depth from indentation."""
    found = []
    lines = graph.source.splitlines()
    for i, line in enumerate(lines):
        if line.lstrip().startswith("subgraph cluster_"):
            label = re.search(r"label=\"?([^\"\n]+?)\"? labeljust", lines[i + 1]).group(1)
            found.append((len(line) - len(line.lstrip("\t")) - 1, label))
    return found


def test_module_clusters_nest_and_name_params():
    net = fake_net()
    out = net(leaf([0.5, -0.5, 1.0], "x")).sum()
    g = viz.draw(out, group_modules=True)
    assert sorted(clusters(g)) == [
        (0, "FakeStack"),
        (1, "encoder (FakeStack)"),
        (1, "head (FakeAffine)"),
        (2, "encoder.0 (FakeAffine)"),
        (2, "encoder.1 (FakeAffine)"),
    ]
    names = " ".join(labels(g).values())
    for name in ("encoder.0.weight", "encoder.1.bias", "head.weight"):
        assert name in names
    # x is the stack's input: drawn outside every cluster; a parameter inside its layer.
    body = g.source
    assert re.search(r"^\tt\d+ \[label=<.*<b>x</b>", body, re.M)
    assert re.search(r"^\t\t\t\tt\d+ \[label=<.*<b>encoder\.0\.weight</b>", body, re.M)


def test_collapse_by_name_and_max_depth():
    net = fake_net()
    out = net(leaf([0.5, -0.5, 1.0], "x")).sum()
    g = viz.draw(out, collapse=("encoder",))
    text = labels(g)
    boxes = [label for nid, label in text.items() if "box3d" in _attrs(g, nid)]
    assert boxes == ["encoder (FakeStack) 6 ops, 4 parameter tensors (12 values)"]
    assert "encoder.0.weight" not in " ".join(text.values())
    assert "head.weight" in " ".join(text.values())
    assert [label for _, label in clusters(g)] == ["FakeStack", "head (FakeAffine)"]

    g1 = viz.draw(out, max_depth=1)
    boxes = sorted(label for nid, label in labels(g1).items() if "box3d" in _attrs(g1, nid))
    assert boxes == [
        "encoder (FakeStack) 6 ops, 4 parameter tensors (12 values)",
        "head (FakeAffine) 3 ops, 2 parameter tensors (6 values)",
    ]
    # Edges go box -> the encoder's output tensor -> the head box.
    box_ids = {nid for nid in labels(g1) if "box3d" in _attrs(g1, nid)}
    flow = edges(g1)
    enc, head = sorted(box_ids, key=lambda b: labels(g1)[b])
    middle = [dst for src, dst in flow if src == enc]
    assert len(middle) == 1 and (middle[0], head) in flow
    g0 = viz.draw(out, max_depth=0)
    assert sum("box3d" in _attrs(g0, nid) for nid in labels(g0)) == 1


def _attrs(graph, nid):
    return re.search(rf"^\s*{nid} \[.*$", graph.source, re.M).group(0)


def test_repeated_calls_and_identity_modules():
    cell = FakeAffine(2)

    class Identity(FakeModule):
        def forward(self, x):
            return x

    ident = Identity()
    h = leaf([1.0, 2.0], "h0")
    for _ in range(3):
        h = ident(cell(h))
    g = viz.draw(h.sum(), group_modules=True)
    assert sorted(label for _, label in clusters(g)) == [
        "FakeAffine call 1",
        "FakeAffine call 2",
        "FakeAffine call 3",
    ]


@needs_nn
def test_real_nn_sequential_grouping_and_names():
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1))
    criterion = nn.MSELoss()
    x, y = A.randn(4, 2), A.randn(4, 1)
    x.name = "x"
    loss = criterion(model(x), y)
    g = viz.draw(loss, model=model, group_modules=True)
    assert sorted(label for _, label in clusters(g)) == [
        "0 (Linear)",
        "1 (ReLU)",
        "2 (Linear)",
        "MSELoss",
        "Sequential",
    ]
    names = " ".join(labels(g).values())
    for name in ("0.weight", "0.bias", "2.weight", "2.bias"):
        assert f"{name} (" in names
    # x was saved by the first layer's op: drawn as a constant input, outside the model.
    assert re.search(r"^\tk\d+ \[label=<.*<b>x</b>", g.source, re.M)
    explicit = viz.draw(loss, params={"W1": model[0].weight})
    assert "W1 (8, 2) float32" in " ".join(labels(explicit).values())
    collapsed = viz.draw(loss, model=model, max_depth=1)
    boxes = sorted(
        label for nid, label in labels(collapsed).items() if "box3d" in _attrs(collapsed, nid)
    )
    assert boxes[0].startswith("0 (Linear)") and "24 values" in boxes[0]
    assert len(boxes) == 3


# ------------------------------------------------------------------------------ colours
def test_color_by_grad_norm_and_legend():
    small, large = leaf([1.0, 1.0], "small"), leaf([1.0, 1.0], "large")
    loss = (small * 1e-6).sum() + (large * 10.0).sum()
    loss.backward()
    g = viz.draw(loss, color_by="grad_norm", color_range=(-8, 2))
    assert "log10 |grad|" in g.source
    palette = viz._PALETTE
    # log10 |grad|: small 1e-6 * sqrt 2 -> -5.85 (bin 1 of 8 over -8..2), large 1.15 (bin 7).
    assert f'bgcolor="{palette[1]}"' in _attrs(g, node_id(g, "small"))
    assert f'bgcolor="{palette[7]}"' in _attrs(g, node_id(g, "large"))
    auto = viz.draw(loss, color_by="grad_norm")  # range from the data: floor/ceil of -5.85, 1.15
    assert "-6 to" in auto.source and "to 2" in auto.source
    nograd = viz.draw(leaf([1.0]) * 2, color_by="grad_norm")
    assert "no gradients known" in nograd.source


def test_vanishing_gradients_visible_in_deep_sigmoid_net():
    x = A.tensor(np.random.default_rng(0).normal(size=(16, 8)).astype(np.float32))

    def deep(act, scale):
        h = x
        for i in range(6):
            w = leaf(np.random.default_rng(i).normal(0, scale, (8, 8)).astype(np.float32), f"w{i}")
            h = getattr(h @ w, act)()
        loss = h.sum()
        loss.backward()
        return loss

    def color_index(graph, name):
        fill = re.search(r'bgcolor="(#\w+)"', _attrs(graph, node_id(graph, name))).group(1)
        return viz._PALETTE.index(fill)

    shared = dict(color_by="grad_norm", color_range=(-6, 2))
    sigmoid = viz.draw(deep("sigmoid", 1 / math.sqrt(8)), **shared)
    relu = viz.draw(deep("relu", math.sqrt(2 / 8)), **shared)
    sig = [color_index(sigmoid, f"w{i} ") for i in range(6)]
    rel = [color_index(relu, f"w{i} ") for i in range(6)]
    # Sigmoid: the first layer's gradient is orders of magnitude below the last one's.
    assert sig[0] <= sig[-1] - 3
    assert abs(rel[0] - rel[-1]) <= 1 and rel[0] > sig[0]


# ------------------------------------------------------------------------------ backward frames
def test_frames_follow_engine_order_and_leave_grads_alone():
    x = leaf([0.5, -1.0, 2.0], "x")
    w = leaf([1.5, 0.5, -0.5], "w")
    a = x * w
    b = a.exp()
    c = a + b  # a diamond: a is used by two consumers of different generations
    loss = (c * c.sigmoid()).sum()
    nodes = graph_nodes(loss)
    engine_order = []
    for node in nodes:
        node.register_hook(lambda g, node=node: engine_order.append(node), 0)
    frames = list(viz.backward_steps(loss))
    assert (x.grad, w.grad) == (None, None)  # the replay wrote nothing
    assert engine_order == []  # and ran no hook
    assert len(frames) == len(nodes) == 6  # Sum, Mul, Sigmoid, Add, Exp, Mul
    assert [f.step for f in frames] == list(range(1, 7))
    loss.backward()  # the user's graph is intact
    assert [f.grad_fn for f in frames] == engine_order
    assert "backward step 1/6: Sum" in frames[0].source
    # The last frame shows the final leaf gradients, equal to the engine's.
    last = labels(frames[-1])
    for t in (x, w):
        expected = "[" + ", ".join(f"{v:.4g}" for v in t.grad.numpy()) + "]"
        assert last[node_id(frames[-1], t.name)].endswith(f"grad {expected}")


def test_frame_highlights_current_node_and_partial_grads():
    a, b, c, u, v, J = course_graph()
    frames = list(viz.backward_steps(J))
    assert [type(f.grad_fn).__name__ for f in frames] == ["Mul", "Add", "Mul"]
    second = frames[1]
    add = node_id(second, "Add")
    assert "#ff7f7f" in _attrs(second, add)  # the node being run
    text = labels(second)
    assert text[node_id(second, "a ")] == "a () float32 grad 3"
    assert text[node_id(second, "u ")] == "u () float32 grad 3"
    assert "grad" not in text[node_id(second, "b ")]  # not reached yet
    mul_j = frames[0].grad_fn
    done = next(nid for nid in text if nid.startswith("op") and "#c9c9c9" in _attrs(second, nid))
    assert text[done] == "Mul" and mul_j is not frames[1].grad_fn


def test_frames_partial_sums_across_consumers():
    x = leaf([1.0, 2.0], "x")
    loss = (x * 2.0).sum() + (x * 3.0).sum()
    frames = list(viz.backward_steps(loss))
    grads_of_x = [labels(f)[node_id(f, "x")] for f in frames]
    assert any(
        t.endswith("grad [2, 2] (so far)") or t.endswith("grad [3, 3] (so far)") for t in grads_of_x
    )
    assert grads_of_x[-1].endswith("grad [5, 5]")


def test_frames_highlight_collapsed_module():
    net = fake_net()
    loss = net(leaf([0.5, -0.5, 1.0], "x")).sum()
    frames = list(viz.backward_steps(loss, collapse=("encoder",)))
    assert len(frames) == len(graph_nodes(loss)) == 10
    box = node_id(frames[0], "encoder (FakeStack)")
    running = [f.step for f in frames if "#ff7f7f" in _attrs(f, box)]
    assert running == [5, 6, 7, 8, 9, 10]  # the head's 3 ops and the Sum come first


def test_frames_after_backward_show_order_only():
    a, b, c, u, v, J = course_graph(record=False)
    J.backward()
    frames = list(viz.backward_steps(J))
    assert len(frames) == 3
    assert "saved tensors were freed" in frames[0].source
    assert a.grad.item() == 3.0


def test_save_frames_writes_numbered_dot_files(tmp_path):
    x = leaf([1.0, 2.0], "x")
    frames = viz.backward_steps((x.exp() * x).sum())
    paths = viz.save_frames(frames, tmp_path, "gv")
    assert [p.name for p in paths] == ["frame_000.gv", "frame_001.gv", "frame_002.gv"]
    assert all(p.read_text().startswith("digraph") for p in paths)


# ------------------------------------------------------------------------------ saved, broadcast
def test_show_saved_counts_bytes():
    x, w = leaf([1.0, 2.0, 3.0], "x"), leaf([4.0, 5.0, 6.0], "w")
    y = (x * w).exp().sum()
    g = viz.draw(y, show_saved=True)
    text = labels(g)
    mul = text[node_id(g, "Mul")]
    assert (
        "saved input 0 x: (3,) float32, 12 B" in mul
        and "saved input 1 w: (3,) float32, 12 B" in mul
    )
    assert "kept for backward: 24 B" in mul
    exp = text[node_id(g, "Exp")]
    assert "saved output: (3,) float32, 12 B" in exp
    assert "saved for backward: 3 arrays, 36 B" in g.source
    y.backward()
    assert "saved: freed by backward()" in viz.draw(y, show_saved=True).source


def test_show_broadcast_marks_hidden_sum():
    x = leaf(np.ones((3, 4), np.float32), "x")
    b = leaf(np.zeros(4, np.float32), "b")
    y = (x + b).sum()
    g = viz.draw(y, show_broadcast=True)
    hits = re.findall(r"(\w+) -> (\w+) \[.*label=\"grad summed \(3, 4\)->\(4,\)\"", g.source)
    assert hits == [(node_id(g, "b"), node_id(g, "Add"))]
    y.backward()  # saved tensors freed: inferred from shapes, same answer
    assert "grad summed (3, 4)->(4,)" in viz.draw(y, show_broadcast=True).source
    assert b.grad.tolist() == [3.0] * 4


# ------------------------------------------------------------------------------ scale, higher order
def test_long_chain_has_no_recursion_limit():
    x = leaf([1.0], "x")
    y = x
    for _ in range(5000):
        y = y * 1.0001
    g = viz.draw(y.sum())
    ops = [nid for nid in labels(g) if re.fullmatch(r"op\d+", nid)]
    assert len(ops) == 5001
    assert len(edges(g)) == 2 * 5001 + 5000  # each op: input edge, output edge, constant edge


def test_higher_order_graph():
    x = leaf([2.0], "x")
    y = (x**3).sum()
    (dy,) = A.grad(y, x, create_graph=True)  # 3x^2, itself a graph of x
    g = viz.draw(dy, show_values=True)
    text = " ".join(labels(g).values())
    assert "x (1,) float32 data [2]" in text and "output (1,) float32 data [12]" in text
    assert len(graph_nodes(dy)) >= 2
    dy.sum().backward()
    assert x.grad.tolist() == [12.0]  # d(3x^2)/dx = 6x


# ------------------------------------------------------------------------------ output
def test_missing_dot_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    g = viz.draw(leaf([1.0], "x") * 2)
    with pytest.raises(viz.GraphvizNotFoundError) as info:
        viz.render(g, tmp_path / "graph.svg")
    message = str(info.value)
    for hint in (
        "`dot`",
        "apt install graphviz",
        "brew install graphviz",
        "conda install -c conda-forge graphviz",
    ):
        assert hint in message
    gv = tmp_path / "graph.gv"
    assert str(gv) in message and gv.read_text() == g.source
    assert viz.render(g, tmp_path / "only", "gv").read_text() == g.source
    bundle = g._repr_mimebundle_()
    assert "apt install graphviz" in bundle["text/plain"] and "digraph" in bundle["text/plain"]
    with pytest.raises(viz.GraphvizNotFoundError, match="frame_"):
        viz.save_frames([g, g], tmp_path / "frames", "png")
    assert sorted(p.name for p in (tmp_path / "frames").iterdir()) == [
        "frame_000.gv",
        "frame_001.gv",
    ]
    assert not viz.dot_available()


@needs_dot
@pytest.mark.parametrize("fmt", ["svg", "png", "pdf"])
def test_render_formats(tmp_path, fmt):
    a, b, c, u, v, J = course_graph()
    J.backward()
    out = viz.render(viz.draw(J, show_values=True, show_grads=True), tmp_path / "course", fmt)
    assert out == tmp_path / f"course.{fmt}" and (tmp_path / "course.gv").exists()
    head = out.read_bytes()[:8]
    assert {"svg": b"<?xml", "png": b"\x89PNG", "pdf": b"%PDF"}[fmt] in head


@needs_dot
def test_jupyter_display_and_frames_render(tmp_path):
    x = leaf([1.0, 2.0], "x")
    g = viz.draw((x * x).sum(), show_values=True)
    svg = g._repr_mimebundle_()["image/svg+xml"]
    assert "<svg" in svg and "Mul" in svg
    paths = viz.save_frames(viz.backward_steps((x * x).sum()), tmp_path, "svg")
    assert [p.name for p in paths] == ["frame_000.svg", "frame_001.svg"]
    assert "backward step 2/2" in paths[1].read_text()


# ------------------------------------------------------------------------------ the example
@needs_nn
def test_example_visualize_graph(tmp_path, monkeypatch):
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1]))
    from examples import visualize_graph

    result = visualize_graph.main(["--out", str(tmp_path), "--no-progress"])
    assert result["course"] == {"J": 33.0, "dJ/da": 3.0, "dJ/db": 6.0, "dJ/dc": 9.0}
    sigmoid, relu = result["grad_norms"]["sigmoid"], result["grad_norms"]["relu_he"]
    assert sigmoid[0] < 1e-4 * sigmoid[-1]  # vanishing through 10 sigmoids
    assert 0.1 < relu[0] / relu[-1] < 10  # ReLU + He keeps the scale
    assert result["frames"] == 5
    names = {Path(p).name for p in result["files"]}
    assert {"course_graph.gv", "mlp_grouped.gv", "deep_sigmoid.gv", "frame_004.gv"} <= names
    course = (tmp_path / "course_graph.gv").read_text()
    assert "data 33" in course and "grad 9" in course
    if shutil.which("dot"):
        assert (tmp_path / "course_graph.svg").exists()


def test_missing_dot_hint_renders_the_format_that_was_asked_for(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    g = viz.draw(leaf([1.0], "x") * 2)
    with pytest.raises(viz.GraphvizNotFoundError) as info:
        viz.render(g, tmp_path / "graph.png", "png")
    message = str(info.value)
    assert f"dot -Tpng {tmp_path / 'graph.gv'} -o {tmp_path / 'graph.png'}" in message
    assert "-Tsvg" not in message
    with pytest.raises(viz.GraphvizNotFoundError) as info:
        viz.save_frames([g, g], tmp_path / "frames", "pdf")
    assert "dot -Tpdf" in str(info.value) and "frame_*.gv" in str(info.value)
