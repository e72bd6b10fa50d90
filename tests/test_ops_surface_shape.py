"""The shape, indexing and sorting op surface (issue 13), table-driven against PyTorch.

Every entry of tests/fixtures/surface_shape_reference.json (written by
make_surface_shape_fixtures.py with torch 2.13) is an expression over named inputs; here it is
evaluated with ``M = autograd`` and checked for:

- every output's value and dtype against PyTorch's (shapes included);
- the gradient of a fixed weighting of the float outputs against PyTorch's;
- float64 ``gradcheck`` and ``gradgradcheck`` (shape ops are linear, so second order is cheap).

Then the things a table can't say: in-place machinery, error messages, no host loops.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import autograd as A
from tests.test_ops import _host

FIXTURES = json.loads(
    (Path(__file__).parent / "fixtures" / "surface_shape_reference.json").read_text()
)["cases"]


def _inputs(case: dict, device: str) -> dict:
    return {
        name: A.tensor(
            spec["data"],
            dtype=spec["dtype"],
            device=device,
            requires_grad=spec["grad"] and case["grad"],
        )  # fmt: skip
        for name, spec in case["inputs"].items()
    }


def _flat(result) -> list:
    if isinstance(result, A.Tensor):
        return [result]
    if isinstance(result, (tuple, list)):
        return [item for r in result for item in _flat(r)]
    return [result]


def _run(case: dict, inputs: dict) -> list:
    return _flat(eval(case["expr"], {"M": A}, dict(inputs)))


def _refused_off_the_cpu(case: dict, device: str) -> bool:
    """scatter_reduce(..., 'prod') needs a multiply.at that CuPy lacks: on any other device than
    the CPU (CUDA, and the strict device that mirrors it) it must be refused, not computed."""
    if device == "cpu" or "'prod'" not in case["expr"]:
        return False
    with pytest.raises(NotImplementedError, match="not supported on CUDA"):
        _run(case, _inputs(case, device))
    return True


@pytest.mark.parametrize("case", FIXTURES, ids=[c["name"] for c in FIXTURES])
def test_matches_pytorch(case, device):
    if _refused_off_the_cpu(case, device):
        return
    inputs = _inputs(case, device)
    outputs = _run(case, inputs)
    assert len(outputs) == len(case["outputs"]), case["expr"]
    for got, want in zip(outputs, case["outputs"]):
        if want["dtype"] == "python":
            assert got == want["value"] or tuple(got) == tuple(want["value"])
            continue
        assert isinstance(got, A.Tensor), case["expr"]
        assert str(got.dtype) == want["dtype"], (case["expr"], got.dtype, want["dtype"])
        expected = np.asarray(want["value"], dtype=want["dtype"]).reshape(want["shape"])
        assert got.shape == expected.shape, (case["expr"], got.shape, expected.shape)
        np.testing.assert_allclose(_host(got), expected, rtol=1e-12, atol=1e-12)
    if "grads" not in case:
        return
    floats = [o for o in outputs if isinstance(o, A.Tensor) and o.requires_grad]
    total = sum(
        (o * A.arange(1, o.numel() + 1, dtype=o.dtype, device=device).reshape(o.shape)).sum()
        for o in floats
    )
    total.backward()
    for name, expected in case["grads"].items():
        got = inputs[name].grad
        if expected is None:
            assert got is None, name
        else:
            np.testing.assert_allclose(_host(got), expected, rtol=1e-12, atol=1e-12, err_msg=name)


GRAD_CASES = [c for c in FIXTURES if c["grad"] and c["gradcheck"]]


def _checked_fn(case: dict, inputs: dict):
    names = [n for n, t in inputs.items() if t.requires_grad]
    constants = {n: t for n, t in inputs.items() if not t.requires_grad}

    def fn(*tensors):
        outputs = _run(case, {**constants, **dict(zip(names, tensors))})
        return tuple(o for o in outputs if isinstance(o, A.Tensor) and o.requires_grad)

    return fn, [inputs[n] for n in names]


@pytest.mark.parametrize("case", GRAD_CASES, ids=[c["name"] for c in GRAD_CASES])
def test_gradcheck_and_gradgradcheck(case, device):
    if _refused_off_the_cpu(case, device):
        return
    inputs = _inputs(case, device)
    if not any(t.requires_grad for t in inputs.values()):
        pytest.skip("no differentiable input")
    fn, differentiable = _checked_fn(case, inputs)
    assert A.gradcheck(fn, differentiable)
    if case["gradgradcheck"]:
        assert A.gradgradcheck(fn, differentiable)


@pytest.mark.parametrize("case", GRAD_CASES, ids=[c["name"] for c in GRAD_CASES])
def test_float32_stays_float32(case, device):
    if _refused_off_the_cpu(case, device):
        return
    inputs = {
        name: t.detach().float().requires_grad_(t.requires_grad) if t.dtype == A.float64 else t
        for name, t in _inputs(case, device).items()
    }
    outputs = [o for o in _run(case, inputs) if isinstance(o, A.Tensor) and o.is_floating_point()]
    assert all(o.dtype == A.float32 for o in outputs), [o.dtype for o in outputs]
    differentiable = [o for o in outputs if o.requires_grad]
    if differentiable:
        sum(o.sum() for o in differentiable).backward()
    for name, t in inputs.items():
        if t.grad is not None:
            assert t.grad.dtype == A.float32, name


def test_every_op_of_the_issue_is_in_the_table():
    ops = """flip fliplr flipud roll rot90 tril triu tril_indices triu_indices diag diagonal
    diag_embed diagflat block_diag narrow select movedim unbind unflatten ravel tile
    repeat_interleave hstack vstack dstack column_stack split_with_sizes tensor_split hsplit
    vsplit dsplit atleast_1d atleast_2d atleast_3d broadcast_to broadcast_tensors broadcast_shapes
    meshgrid cartesian_prod combinations take take_along_dim scatter scatter_add scatter_reduce
    index_add index_fill index_copy index_put masked_select masked_scatter nonzero argwhere unique
    unique_consecutive sort argsort msort topk searchsorted bucketize bincount histc new_full
    new_ones new_zeros fill_ scatter_ scatter_add_ scatter_reduce_ index_add_ index_fill_
    index_copy_ index_put_ masked_scatter_ tril_ triu_""".split()
    exprs = " ".join(c["expr"] for c in FIXTURES)
    missing = [op for op in ops if f".{op}(" not in exprs]
    assert not missing


# ------------------------------------------------------------------------------ in place
def test_in_place_forms_bump_the_version_and_refuse_leaves(device):
    index = A.tensor([[1, 0]], device=device)
    x = A.zeros(2, 2, device=device)
    before = x._version
    out = x.scatter_(0, index, A.ones(1, 2, device=device))
    assert out is x and x._version == before + 1
    np.testing.assert_array_equal(_host(x), [[0, 1], [1, 0]])
    leaf = A.zeros(2, 2, device=device, requires_grad=True)
    for call in (
        lambda: leaf.scatter_(0, index, A.ones(1, 2, device=device)),
        lambda: leaf.index_add_(0, A.tensor([0], device=device), A.ones(1, 2, device=device)),
        lambda: leaf.tril_(),
        lambda: leaf.masked_scatter_(A.tensor([True, False], device=device), A.ones(2, 2)),
    ):
        with pytest.raises(RuntimeError, match="leaf tensor"):
            call()
    with A.no_grad():
        leaf.index_fill_(1, A.tensor([0], device=device), 3.0)
    np.testing.assert_array_equal(_host(leaf), [[3, 0], [3, 0]])


def test_in_place_on_a_saved_tensor_is_caught_in_backward(device):
    x = A.randn(3, dtype=A.float64, device=device, requires_grad=True)
    y = x * 1.0
    z = y * y  # saves y
    y.index_fill_(0, A.tensor([0], device=device), 0.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


def test_in_place_rebases_a_non_leaf_in_the_graph(device):
    x = A.tensor([1.0, 2.0, 3.0], dtype=A.float64, device=device, requires_grad=True)
    src = A.tensor([10.0, 20.0], dtype=A.float64, device=device, requires_grad=True)
    y = x * 2
    y.index_copy_(0, A.tensor([2, 0], device=device), src)
    np.testing.assert_array_equal(_host(y), [20.0, 4.0, 10.0])
    (y * A.tensor([1.0, 2.0, 3.0], dtype=A.float64, device=device)).sum().backward()
    np.testing.assert_array_equal(_host(x.grad), [0.0, 4.0, 0.0])
    np.testing.assert_array_equal(_host(src.grad), [3.0, 1.0])


def test_retain_grad_follows_the_tensor_through_an_in_place_op(device):
    x = A.ones(3, dtype=A.float64, device=device, requires_grad=True)
    y = x * 2
    y.retain_grad()
    y.index_fill_(0, A.tensor([1], device=device), 0.0)
    (y * 3).sum().backward()
    np.testing.assert_array_equal(_host(y.grad), [3.0, 3.0, 3.0])
    np.testing.assert_array_equal(_host(x.grad), [6.0, 0.0, 6.0])


def test_in_place_keeps_shared_memory_outside_the_graph(device):
    x = A.zeros(3, device=device)
    alias = x.detach()
    x.index_add_(0, A.tensor([1, 1], device=device), A.ones(2, device=device))
    np.testing.assert_array_equal(_host(alias), [0, 2, 0])
    assert alias._version == x._version == 1


# ------------------------------------------------------------------------------ return types
def test_sort_and_topk_return_named_tuples(device):
    x = A.tensor([[3.0, 1.0, 2.0]], device=device, requires_grad=True)
    result = x.sort()
    values, indices = result
    assert result.values is values and result.indices is indices
    assert type(result).__name__ == "sort" and indices.dtype == A.int64
    assert not indices.requires_grad and values.requires_grad
    top = A.topk(x, 1)
    assert type(top).__name__ == "topk" and top.indices.tolist() == [[0]]


def test_sort_puts_nan_last_ascending_and_first_descending(device):
    x = A.tensor([1.0, float("nan"), -1.0, 0.0], device=device)
    assert x.argsort().tolist() == [2, 3, 0, 1]
    assert x.argsort(descending=True).tolist() == [1, 0, 3, 2]


def test_data_dependent_results_have_pytorch_dtypes(device):
    x = A.tensor([[0, 2], [3, 0]], device=device)
    assert x.nonzero().dtype == A.int64 and x.nonzero().shape == (2, 2)
    assert A.nonzero(A.tensor(5, device=device)).shape == (1, 0)
    assert A.unique(x, return_inverse=True)[1].shape == (2, 2)
    assert A.bincount(A.tensor([], dtype=A.int64, device=device)).shape == (0,)
    assert A.searchsorted(A.tensor([1, 3], device=device), 2).dtype == A.int64
    assert A.tril_indices(3, 3, dtype=A.int32).dtype == A.int32


# ------------------------------------------------------------------------------ errors
ERRORS = [
    ("flip", lambda x, i: x.flip(0, 0), RuntimeError, "flip: dims .* repeat"),
    ("flip_range", lambda x, i: x.flip(2), IndexError, "flip: dimension out of range"),
    ("roll", lambda x, i: x.roll((1, 2), 0), RuntimeError, r"roll: shifts \(1, 2\) and dims"),
    ("rot90", lambda x, i: x.rot90(1, (0, 0)), RuntimeError, "rot90"),
    ("tril_1d", lambda x, i: x[0].tril(), RuntimeError, r"tril: .*at least 2 .*\(4,\)"),
    ("diagonal_same", lambda x, i: x.diagonal(0, 1, 1), RuntimeError, "diagonal: dim1 and dim2"),
    ("diag_3d", lambda x, i: x[None].diag(), RuntimeError, r"diag: .*\(1, 3, 4\)"),
    ("block_diag_3d", lambda x, i: A.block_diag(x[None]), RuntimeError, "block_diag: input 0"),
    ("narrow", lambda x, i: x.narrow(1, 2, 3), RuntimeError, r"narrow: start \(2\) \+ length"),
    ("select", lambda x, i: x.select(0, 3), IndexError, "select: index 3 out of range"),
    ("movedim", lambda x, i: x.movedim((0, 1), 0), RuntimeError, "movedim: source"),
    ("unflatten", lambda x, i: x.unflatten(1, (3, 2)), RuntimeError, r"unflatten: .*\(3, 2\)"),
    (
        "repeat_interleave",
        lambda x, i: x.repeat_interleave(A.tensor([1, 2]), 0),
        RuntimeError,
        "repeat_interleave: repeats must have the same size",
    ),
    ("hsplit", lambda x, i: x.hsplit(3), RuntimeError, "hsplit: .*not divisible"),
    ("vsplit_1d", lambda x, i: x[0].vsplit(2), RuntimeError, "vsplit: requires a tensor with at"),
    ("tensor_split", lambda x, i: x.tensor_split(0), RuntimeError, "tensor_split: number of"),
    ("broadcast_to", lambda x, i: x.broadcast_to((2, 4)), ValueError, "expand"),
    (
        "broadcast_shapes",
        lambda x, i: A.broadcast_shapes((2,), (3,)),
        RuntimeError,
        "broadcast_shapes: shape mismatch",
    ),
    ("meshgrid", lambda x, i: A.meshgrid(x, indexing="yx"), RuntimeError, "meshgrid"),
    ("take_range", lambda x, i: x.take(A.tensor([12])), IndexError, "take: index out of range"),
    (
        "take_dtype",
        lambda x, i: x.take(A.tensor([1], dtype=A.int32)),
        RuntimeError,
        "take: expected dtype int64",
    ),
    (
        "scatter_dims",
        lambda x, i: x.scatter(0, A.tensor([0]), 1.0),
        RuntimeError,
        r"scatter: index \(1,\) and self \(3, 4\)",
    ),
    (
        "scatter_range",
        lambda x, i: x.scatter(0, A.tensor([[3]]), 1.0),
        IndexError,
        "scatter: index out of range",
    ),
    (
        "scatter_dtype",
        lambda x, i: x.scatter(0, i, A.ones(2, 2, dtype=A.float64)),
        RuntimeError,
        r"scatter: expected src \(float64\) to have the same dtype as self \(float32\)",
    ),
    (
        "scatter_reduce",
        lambda x, i: x.scatter_reduce(0, i, x, "max"),
        RuntimeError,
        "scatter_reduce: reduce must be one of",
    ),
    (
        "index_add_shape",
        lambda x, i: x.index_add(0, A.tensor([0]), A.ones(2, 4)),
        RuntimeError,
        r"index_add: source \(2, 4\) must have the shape",
    ),
    (
        "index_copy_2d",
        lambda x, i: x.index_copy(0, i, x),
        RuntimeError,
        "index_copy: index must be a vector",
    ),
    (
        "index_fill_value",
        lambda x, i: x.index_fill(0, A.tensor([0]), A.ones(2)),
        RuntimeError,
        "index_fill: only supports a 0-dimensional value",
    ),
    (
        "masked_select",
        lambda x, i: x.masked_select(x),
        RuntimeError,
        "masked_select: expected a bool mask, got float32",
    ),
    (
        "masked_scatter",
        lambda x, i: x.masked_scatter(x > -100, A.ones(3)),
        RuntimeError,
        "masked_scatter: source has 3 elements but the mask selects 12",
    ),
    ("topk", lambda x, i: x.topk(5), RuntimeError, r"topk: k \(5\) must be an int in \[0, 4\]"),
    (
        "bincount",
        lambda x, i: A.bincount(A.tensor([-1, 2])),
        RuntimeError,
        "bincount: input values must be non-negative",
    ),
    ("bincount_float", lambda x, i: A.bincount(x[0]), RuntimeError, "bincount: only supports"),
    ("histc", lambda x, i: x.histc(3, 2.0, 1.0), RuntimeError, "histc: max"),
    (
        "searchsorted",
        lambda x, i: A.searchsorted(x, A.ones(2, 2, 2)),
        RuntimeError,
        "searchsorted: the leading dims",
    ),
    ("unique_dim", lambda x, i: x.unique(dim=2), IndexError, "unique: dimension out of range"),
]


@pytest.mark.parametrize("name,call,error,message", ERRORS, ids=[e[0] for e in ERRORS])
def test_error_messages_name_the_op_and_the_argument(name, call, error, message):
    x = A.randn(3, 4)
    index = A.tensor([[0, 1], [2, 0]])
    with pytest.raises(error, match=message):
        call(x, index)


def test_scatter_reduce_prod_double_backward_at_zero_is_refused_not_wrong():
    x = A.tensor([1.0, 0.0], dtype=A.float64, requires_grad=True)
    src = A.tensor([2.0, 3.0], dtype=A.float64, requires_grad=True)
    out = x.scatter_reduce(0, A.tensor([0, 1]), src, "prod")
    (grad,) = A.grad(out.sum(), [x])  # first order is fine
    np.testing.assert_array_equal(_host(grad), [2.0, 3.0])
    out = x.scatter_reduce(0, A.tensor([0, 1]), src, "prod")
    with pytest.raises(RuntimeError, match="double backward of reduce='prod'"):
        A.grad(out.sum(), [x], create_graph=True)


def test_flip_roll_rot90_copy_but_narrow_and_select_share_memory(device):
    # PyTorch: flip, roll and rot90 return new tensors; narrow and select return views.
    x = A.arange(6, device=device).reshape(2, 3)
    for copy in (x.flip(0), x.roll(0, 1), x.rot90(0), x.rot90(2)):
        copy.add_(100)
    np.testing.assert_array_equal(_host(x), [[0, 1, 2], [3, 4, 5]])
    x.narrow(1, 0, 1).add_(10)
    x.select(0, 1).mul_(2)
    np.testing.assert_array_equal(_host(x), [[10, 1, 2], [26, 8, 10]])


# Every array-module name the surface ops use, checked by hand against CuPy 13's API reference
# (no GPU here): a name outside this list must be checked before it is added.
CUPY_NAMES = set(
    """arange argsort asarray bincount broadcast_to concatenate cumsum empty flip floor_divide
    iinfo inf lexsort maximum meshgrid minimum moveaxis nonzero ones repeat roll searchsorted stack
    take take_along_axis tril triu unique zeros""".split()
)


def test_surface_ops_use_only_array_names_cupy_has():
    import re

    ops = Path(__file__).resolve().parent.parent / "autograd" / "ops"
    used = set()
    for module in ("layout", "diagonal", "scatter", "sort"):
        used |= set(re.findall(r"\bxp\.([a-z_0-9]+)", (ops / f"{module}.py").read_text()))
    assert used <= CUPY_NAMES, sorted(used - CUPY_NAMES)


def test_the_docs_table_names_only_ops_that_exist():
    import re

    doc = Path(__file__).resolve().parent.parent / "docs" / "OPS_SHAPE_INDEX_SORT.md"
    rows = [line.split("|")[1] for line in doc.read_text().splitlines() if line.startswith("| `")]
    arguments = {"_", "as_tuple", "return_counts", "return_inverse", "dim", "stable"}
    names = {name for row in rows for name in re.findall(r"`([a-z_0-9]+)`", row)} - arguments
    missing = [n for n in sorted(names) if not (hasattr(A, n) or hasattr(A.Tensor, n))]
    assert not missing and len(names) > 75
