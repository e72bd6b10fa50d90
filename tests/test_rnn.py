"""Recurrent layers, cells and packing: PyTorch's values, proven gradients, long sequences, errors.

Reference values come from tests/fixtures/make_rnn_fixtures.py (torch 2.13, run once).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import autograd as A
import nn
from autograd import gradcheck, gradgradcheck
from autograd.ops.recurrent import (
    GRUSequence,
    GRUStep,
    LSTMSequence,
    LSTMStep,
    RNNSequence,
    RNNStep,
    run_direction,
)
from nn.utils.rnn import (
    PackedSequence,
    pack_padded_sequence,
    pack_sequence,
    pad_packed_sequence,
    pad_sequence,
)

FIXTURES = Path(__file__).parent / "fixtures"
_spec = importlib.util.spec_from_file_location("make_rnn", FIXTURES / "make_rnn_fixtures.py")
make_rnn = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_rnn)
REF = np.load(FIXTURES / "rnn_reference.npz")


def n(t):
    return t.detach().numpy()


def t64(a, grad=False):
    return A.tensor(np.asarray(a, dtype=np.float64), dtype=A.float64, requires_grad=grad)


def _module(case, layer, kwargs):
    kwargs = {k: v for k, v in kwargs.items() if k != "unbatched"}
    module = getattr(nn, layer)(make_rnn.INPUT, make_rnn.HIDDEN, **kwargs).double()
    state = {
        k.split("__sd__")[1]: A.tensor(REF[k]) for k in REF.files if k.startswith(case + "__sd__")
    }
    module.load_state_dict(state)
    return module


# ------------------------------------------------------------------ values against PyTorch
@pytest.mark.parametrize(
    "case,layer,kwargs,packed,with_state",
    make_rnn.CASES,
    ids=lambda c: c if isinstance(c, str) else "",
)
def test_layer_matches_pytorch(case, layer, kwargs, packed, with_state):
    module = _module(case, layer, kwargs)
    x = t64(REF[f"{case}__x"], grad=True)
    hx = h0 = c0 = None
    if with_state:
        h0 = t64(REF[f"{case}__h0"], grad=True)
        hx = h0
        if layer == "LSTM":
            c0 = t64(REF[f"{case}__c0"], grad=True)
            hx = (h0, c0)
    batch_first = kwargs.get("batch_first", False)
    inp = x
    if packed is not None:
        lengths, enforce_sorted = packed
        inp = pack_padded_sequence(x, lengths, batch_first, enforce_sorted)
    out, state = module(inp, hx)
    if packed is not None:
        assert isinstance(out, PackedSequence)
        out, out_lengths = pad_packed_sequence(out, batch_first)
        assert out_lengths.tolist() == list(packed[0])
    h_n, c_n = state if layer == "LSTM" else (state, None)
    np.testing.assert_allclose(n(out), REF[f"{case}__out"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(n(h_n), REF[f"{case}__h_n"], rtol=1e-10, atol=1e-12)
    loss = (out * t64(REF[f"{case}__w_out"])).sum() + (h_n * t64(REF[f"{case}__w_h"])).sum()
    if c_n is not None:
        np.testing.assert_allclose(n(c_n), REF[f"{case}__c_n"], rtol=1e-10, atol=1e-12)
        loss = loss + (c_n * t64(REF[f"{case}__w_c"])).sum()
    loss.backward()
    np.testing.assert_allclose(n(x.grad), REF[f"{case}__grad_x"], rtol=1e-9, atol=1e-11)
    if h0 is not None:
        np.testing.assert_allclose(n(h0.grad), REF[f"{case}__grad_h0"], rtol=1e-9, atol=1e-11)
    if c0 is not None:
        np.testing.assert_allclose(n(c0.grad), REF[f"{case}__grad_c0"], rtol=1e-9, atol=1e-11)
    for name, p in module.named_parameters():
        np.testing.assert_allclose(
            n(p.grad), REF[f"{case}__grad__{name}"], rtol=1e-9, atol=1e-11, err_msg=name
        )


@pytest.mark.parametrize(
    "case,cell,kwargs", make_rnn.CELLS, ids=lambda c: c if isinstance(c, str) else ""
)
def test_cell_matches_pytorch(case, cell, kwargs):
    module = _module(case, cell, kwargs)
    x = t64(REF[f"{case}__x"], grad=True)
    h = t64(REF[f"{case}__h0"], grad=True)
    if cell == "LSTMCell":
        c = t64(REF[f"{case}__c0"], grad=True)
        h1, c1 = module(x, (h, c))
        np.testing.assert_allclose(n(c1), REF[f"{case}__c_n"], rtol=1e-10, atol=1e-12)
        extra = (c1 * t64(REF[f"{case}__w_c"])).sum()
    else:
        h1 = module(x, h)
        extra = 0
    np.testing.assert_allclose(n(h1), REF[f"{case}__h_n"], rtol=1e-10, atol=1e-12)
    ((h1 * t64(REF[f"{case}__w_h"])).sum() + extra).backward()
    np.testing.assert_allclose(n(x.grad), REF[f"{case}__grad_x"], rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(n(h.grad), REF[f"{case}__grad_h0"], rtol=1e-9, atol=1e-11)
    if cell == "LSTMCell":
        np.testing.assert_allclose(n(c.grad), REF[f"{case}__grad_c0"], rtol=1e-9, atol=1e-11)
    for name, p in module.named_parameters():
        np.testing.assert_allclose(n(p.grad), REF[f"{case}__grad__{name}"], rtol=1e-9, atol=1e-11)


def test_parameter_names_shapes_and_init_follow_pytorch():
    lstm = nn.LSTM(3, 8, num_layers=2, bidirectional=True, proj_size=2)
    shapes = {k: tuple(v.shape) for k, v in lstm.state_dict().items()}
    assert shapes["weight_ih_l0"] == (32, 3)
    assert shapes["weight_hh_l0"] == (32, 2)
    assert shapes["weight_hr_l0_reverse"] == (2, 8)
    assert shapes["weight_ih_l1"] == (32, 4)
    assert shapes["bias_hh_l1_reverse"] == (32,)
    assert list(shapes)[:5] == [
        "weight_ih_l0",
        "weight_hh_l0",
        "bias_ih_l0",
        "bias_hh_l0",
        "weight_hr_l0",
    ]
    bound = 1 / np.sqrt(8)
    for p in lstm.parameters():
        assert np.abs(n(p)).max() <= bound
    assert repr(nn.GRU(3, 4, 2, batch_first=True)) == "GRU(3, 4, num_layers=2, batch_first=True)"
    cell = nn.GRUCell(3, 5)
    assert tuple(cell.weight_ih.shape) == (15, 3) and tuple(cell.bias_hh.shape) == (15,)


def test_dropout_between_layers_only_in_training():
    rnn = nn.GRU(3, 4, num_layers=2, dropout=0.5)
    x = A.randn(6, 2, 3)
    rnn.eval()
    a, _ = rnn(x)
    b, _ = rnn(x)
    np.testing.assert_array_equal(n(a), n(b))
    rnn.train()
    c, _ = rnn(x)
    assert not np.allclose(n(a), n(c))
    with pytest.warns(UserWarning, match="num_layers greater than 1"):
        nn.LSTM(3, 4, dropout=0.2)


# --------------------------------------------------------------------- gradients proven
def _r(*shape):
    return A.tensor(
        np.random.default_rng(sum(shape)).standard_normal(shape),
        dtype=A.float64,
        requires_grad=True,
    )


MASK = np.array([[True], [False], [True]])


@pytest.mark.parametrize("mask", [None, MASK], ids=["nomask", "mask"])
def test_step_ops_gradcheck_and_gradgradcheck(mask):
    b, h, p = 3, 4, 2
    for relu in (False, True):
        args = (_r(b, h), _r(b, h), _r(h, h), _r(h))
        fn = lambda gx, hh, w, bias, relu=relu: RNNStep.apply(gx, hh, w, bias, mask, relu)  # noqa: E731
        assert gradcheck(fn, args) and gradgradcheck(fn, args)
    args = (_r(b, 4 * h), _r(b, p), _r(b, h), _r(p, 4 * h), _r(4 * h), _r(h, p))
    fn = lambda gx, hh, c, w, bias, wr: LSTMStep.apply(gx, hh, c, w, bias, wr, mask)  # noqa: E731
    assert gradcheck(fn, args) and gradgradcheck(fn, args)
    args = (_r(b, 3 * h), _r(b, h), _r(h, 3 * h), _r(3 * h))
    fn = lambda gx, hh, w, bias: GRUStep.apply(gx, hh, w, bias, mask)  # noqa: E731
    assert gradcheck(fn, args) and gradgradcheck(fn, args)


@pytest.mark.parametrize("cell", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells_gradgradcheck(cell):
    module = getattr(nn, cell)(2, 3).double()
    x, h = _r(2, 2), _r(2, 3)
    params = list(module.parameters())

    def fn(x, h, *ps):
        with module_params(module, ps):
            out = module(x, (h, h * 0.5) if cell == "LSTMCell" else h)
        return out

    assert gradcheck(fn, (x, h, *params))
    assert gradgradcheck(fn, (x, h, *params))


class module_params:
    """Run a module with the given tensors in place of its parameters (for gradcheck)."""

    def __init__(self, module, tensors):
        self.module, self.tensors = module, tensors

    def __enter__(self):
        self.saved = dict(self.module._parameters)
        for name, t in zip(self.saved, self.tensors):
            self.module._parameters[name] = t

    def __exit__(self, *exc):
        self.module._parameters.update(self.saved)


@pytest.mark.parametrize(
    "layer,kwargs",
    [
        ("RNN", {"num_layers": 2}),
        ("LSTM", {"bidirectional": True, "proj_size": 2}),
        ("GRU", {"bidirectional": True}),
    ],
)
def test_layers_gradcheck_float64(layer, kwargs):
    module = getattr(nn, layer)(2, 3, **kwargs).double()
    x = _r(3, 2, 2)
    params = list(module.parameters())

    def fn(x, *ps):
        with module_params(module, ps):
            out, state = module(x)
        return (out, *(state if isinstance(state, tuple) else (state,)))

    assert gradcheck(fn, (x, *params))


def test_packed_layer_gradcheck():
    module = nn.LSTM(2, 3, bidirectional=True).double()
    x = _r(4, 3, 2)

    def fn(x):
        out, (h, c) = module(pack_padded_sequence(x, [2, 4, 1], enforce_sorted=False))
        return pad_packed_sequence(out)[0], h, c

    assert gradcheck(fn, (x,))


def test_fast_and_composed_backward_agree():
    # The same lines of math run on arrays (no graph) and on Tensors (create_graph).
    b, h = 3, 4
    args = (_r(b, 4 * h), _r(b, h), _r(b, h), _r(h, 4 * h), _r(4 * h), None, MASK)
    h1, c1 = LSTMStep.apply(*args)
    loss = (h1 * _r(b, h).detach()).sum() + (c1 * _r(b, h).detach()).sum()
    inputs = [a for a in args[:5]]
    fast = A.grad(loss, inputs, retain_graph=True)
    composed = A.grad(loss, inputs, create_graph=True)
    for f, c in zip(fast, composed):
        np.testing.assert_allclose(n(f), n(c), rtol=1e-12, atol=1e-14)


def _direction_grads(mode, args, reverse, fused, create_graph=False):
    out, h, c = run_direction(mode, *args, reverse, fused)
    rng = np.random.default_rng(7)
    outs = [t for t in (out, h, c) if t is not None]
    loss = sum((t * A.tensor(rng.standard_normal(t.shape))).sum() for t in outs)
    inputs = [a for a in args if isinstance(a, A.Tensor)]
    grads = A.grad(loss, inputs, create_graph=create_graph)
    return [n(t) for t in outs] + [n(g) for g in grads]


GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


@pytest.mark.parametrize("mode", list(GATES))
@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
@pytest.mark.parametrize("bias", [False, True], ids=["folded", "b_hh"])
def test_sequence_ops_match_the_step_ops(mode, reverse, bias):
    # The whole-sequence node (fast path of a layer) against one node per step; both
    # backward paths of the sequence node (arrays, and differentiable ops under create_graph).
    t, b, h, g = 5, 3, 4, GATES[mode]
    c0 = _r(b, h) if mode == "LSTM" else None
    args = (_r(t, b, g * h), _r(b, h), c0, _r(g * h, h), _r(g * h) if bias else None, None, None)
    steps = _direction_grads(mode, args, reverse, fused=False)
    fused = _direction_grads(mode, args, reverse, fused=True)
    composite = _direction_grads(mode, args, reverse, fused=True, create_graph=True)
    n_state = 2 if mode == "LSTM" else 1
    assert len(steps) == len(fused) == len(composite) == 1 + n_state + 2 + n_state + bias
    for s, f, c in zip(steps, fused, composite):
        np.testing.assert_allclose(f, s, rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(c, s, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("mode", list(GATES))
@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
def test_sequence_ops_gradcheck_and_gradgradcheck(mode, reverse):
    # Second derivatives go through the composite backward (create_graph).
    t, b, h, g = 3, 2, 3, GATES[mode]
    args = (_r(t, b, g * h), _r(b, h), _r(g * h, h), _r(g * h))
    if mode == "LSTM":
        fn = lambda gx, hh, w, bias, c: LSTMSequence.apply(gx, hh, c, w, bias, reverse)  # noqa: E731
        args = (*args, _r(b, h))
    elif mode == "GRU":
        fn = lambda gx, hh, w, bias: GRUSequence.apply(gx, hh, None, w, bias, reverse)  # noqa: E731
    else:
        relu = mode == "RNN_RELU"
        fn = lambda gx, hh, w, bias: RNNSequence.apply(gx, hh, None, w, bias, reverse, relu)  # noqa: E731
    assert gradcheck(fn, args) and gradgradcheck(fn, args)


def test_lstm_sequence_op_outputs_own_their_state():
    # h_n and c_n are copies; an in-place change of the output is caught at backward.
    args = (_r(3, 2, 8), _r(2, 2), _r(2, 2), _r(8, 2), None, False)
    out, h, c = LSTMSequence.apply(*args)
    before = n(out).copy()
    with A.no_grad():
        h.add_(1.0)
        c.add_(1.0)
    np.testing.assert_array_equal(n(out), before)
    out, h, c = LSTMSequence.apply(*args)
    with A.no_grad():
        out.mul_(2.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()


# ----------------------------------------------------------------- long sequences, clipping
def test_thousand_steps_backpropagate():
    lstm = nn.LSTM(2, 4)
    x = A.randn(1000, 2, 2)
    out, (h, c) = lstm(x)
    (out.sum() + c.sum()).backward()
    assert lstm.weight_hh_l0.grad is not None
    assert np.isfinite(n(lstm.weight_hh_l0.grad)).all()
    assert out.grad_fn.released


def test_clip_grad_norm_on_an_exploding_rnn():
    rnn = nn.RNN(3, 8, nonlinearity="relu")
    with A.no_grad():
        rnn.weight_hh_l0.copy_(A.eye(8) * 3.0)  # spectral radius 3: gradients explode
    x = A.randn(20, 2, 3).abs()
    out, _ = rnn(x)
    out.sum().backward()
    total = nn.utils.clip_grad_norm_(rnn.parameters(), max_norm=1.0)
    assert total.item() > 1e6
    norms = [p.grad.norm().item() ** 2 for p in rnn.parameters()]
    assert abs(np.sqrt(sum(norms)) - 1.0) < 1e-4


# ----------------------------------------------------------------------------- packing
def test_pad_and_pack_round_trip_and_gradients():
    a, b, c = _r(4, 2), _r(2, 2), _r(3, 2)
    padded = pad_sequence([a, b, c])
    assert tuple(padded.shape) == (4, 3, 2)
    np.testing.assert_array_equal(n(padded)[2:, 1], 0)
    np.testing.assert_array_equal(n(pad_sequence([a, b], batch_first=True))[1, :2], n(b))
    left = pad_sequence([a, b], padding_side="left", padding_value=-1.0)
    np.testing.assert_array_equal(n(left)[:2, 1], -1.0)
    np.testing.assert_array_equal(n(left)[2:, 1], n(b))
    packed = pack_sequence([a, b, c], enforce_sorted=False)
    assert packed.batch_sizes.tolist() == [3, 3, 2, 1]
    assert packed.sorted_indices.tolist() == [0, 2, 1]
    assert packed.unsorted_indices.tolist() == [0, 2, 1]
    np.testing.assert_array_equal(n(packed.data)[:3], np.stack([n(a)[0], n(c)[0], n(b)[0]]))
    back, lengths = pad_packed_sequence(packed, batch_first=True, total_length=6)
    assert lengths.tolist() == [4, 2, 3] and tuple(back.shape) == (3, 6, 2)
    np.testing.assert_array_equal(n(back)[1, :2], n(b))
    back.sum().backward()
    np.testing.assert_array_equal(n(b.grad), np.ones((2, 2)))
    assert gradcheck(
        lambda x: pack_padded_sequence(x, [3, 1], enforce_sorted=False).data, (_r(3, 2, 2),)
    )


def test_packing_errors():
    x = A.randn(4, 2, 3)
    with pytest.raises(
        ValueError,
        match=r"pack_padded_sequence: expected len\(lengths\) .* 3 lengths for a batch of 2",
    ):
        pack_padded_sequence(x, [4, 3, 2])
    with pytest.raises(RuntimeError, match="must be sorted in decreasing order"):
        pack_padded_sequence(x, [2, 4])
    with pytest.raises(RuntimeError, match="a length of 5 exceeds the 4 time steps"):
        pack_padded_sequence(x, [5, 4], enforce_sorted=False)
    with pytest.raises(RuntimeError, match="greater than 0"):
        pack_padded_sequence(x, [4, 0])
    packed = pack_padded_sequence(x, [4, 2])
    with pytest.raises(ValueError, match="total_length=3 and max sequence length being 4"):
        pad_packed_sequence(packed, total_length=3)


# ------------------------------------------------------------------------------ bad input
def test_layer_errors_name_the_op_the_shapes_and_the_argument():
    lstm = nn.LSTM(3, 4, num_layers=2)
    with pytest.raises(
        RuntimeError, match=r"LSTM: input.size\(-1\) must be equal to input_size. Expected 3, got 5"
    ):
        lstm(A.randn(6, 2, 5))
    with pytest.raises(
        ValueError,
        match=r"LSTM: expected input to be 2-D or 3-D .* got 4-D input of shape \(1, 6, 2, 3\)",
    ):
        lstm(A.randn(1, 6, 2, 3))
    with pytest.raises(
        RuntimeError, match=r"LSTM: expected h_0 of shape \(2, 2, 4\), got \(1, 2, 4\)"
    ):
        lstm(A.randn(6, 2, 3), (A.zeros(1, 2, 4), A.zeros(2, 2, 4)))
    with pytest.raises(
        RuntimeError, match=r"LSTM: expected c_0 of shape \(2, 2, 4\), got \(2, 2, 5\)"
    ):
        lstm(A.randn(6, 2, 3), (A.zeros(2, 2, 4), A.zeros(2, 2, 5)))
    with pytest.raises(TypeError, match=r"LSTM: hx must be a tuple \(h_0, c_0\)"):
        lstm(A.randn(6, 2, 3), A.zeros(2, 2, 4))
    with pytest.raises(RuntimeError, match="GRU: expected h_0 of shape"):
        nn.GRU(3, 4)(A.randn(6, 2, 3), A.zeros(1, 3, 4))
    with pytest.raises(RuntimeError, match="for unbatched 2-D input, h_0 should also be 2-D"):
        nn.RNN(3, 4)(A.randn(6, 3), A.zeros(1, 1, 4))
    with pytest.raises(RuntimeError, match="RNN: input is float64 but the weights are float32"):
        nn.RNN(3, 4)(A.randn(6, 2, 3, dtype=A.float64))
    with pytest.raises(
        RuntimeError,
        match=r"GRUCell: expected hx of shape \(2, 4\) for input of shape \(2, 3\), got \(3, 4\)",
    ):
        nn.GRUCell(3, 4)(A.randn(2, 3), A.zeros(3, 4))
    with pytest.raises(ValueError, match="RNNCell: expected input to be 1-D or 2-D"):
        nn.RNNCell(3, 4)(A.randn(1, 2, 3))
    with pytest.raises(ValueError, match="proj_size has to be smaller than hidden_size"):
        nn.LSTM(3, 4, proj_size=4)
    with pytest.raises(ValueError, match="only supported for LSTM"):
        nn.RNNBase("GRU", 3, 4, proj_size=2)
    with pytest.raises(ValueError, match="Unknown nonlinearity 'sigmoid'"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="dropout should be a number in range"):
        nn.GRU(3, 4, dropout=1.5)


def test_unbatched_cells_and_float32():
    cell = nn.LSTMCell(3, 4)
    h, c = cell(A.randn(3))
    assert tuple(h.shape) == (4,) and tuple(c.shape) == (4,) and h.dtype == A.float32
    out, h_n = nn.GRU(3, 4, batch_first=True)(A.randn(2, 5, 3))
    assert tuple(out.shape) == (2, 5, 4) and tuple(h_n.shape) == (1, 2, 4)
    assert out.dtype == A.float32


# ------------------------------------------------------------ embeddings and sampling
def test_embedding_max_norm_renorms_in_place_as_pytorch():
    weight = A.tensor(REF["embedding_max_norm__weight"], dtype=A.float64)
    emb = nn.Embedding.from_pretrained(weight, freeze=False, max_norm=1.5, norm_type=3.0)
    assert "max_norm=1.5, norm_type=3.0" in repr(emb)
    out = emb(A.tensor(REF["embedding_max_norm__index"]))
    np.testing.assert_allclose(n(out), REF["embedding_max_norm__out"], rtol=1e-12)
    np.testing.assert_allclose(n(emb.weight), REF["embedding_max_norm__weight_after"], rtol=1e-12)
    (out * t64(REF["embedding_max_norm__w_out"])).sum().backward()
    np.testing.assert_allclose(n(emb.weight.grad), REF["embedding_max_norm__grad"], rtol=1e-12)
    frozen = nn.Embedding.from_pretrained(A.randn(4, 2))
    assert not frozen.weight.requires_grad


def test_multinomial_seeded_with_and_without_replacement():
    probs = A.tensor([[0.1, 0.0, 0.6, 0.3], [1.0, 1.0, 1.0, 1.0]])
    A.manual_seed(5)
    a = probs.multinomial(4000, replacement=True)
    A.manual_seed(5)
    b = A.multinomial(probs, 4000, replacement=True)
    np.testing.assert_array_equal(n(a), n(b))
    assert a.dtype == A.int64 and tuple(a.shape) == (2, 4000)
    freq = np.bincount(n(a)[0], minlength=4) / 4000
    np.testing.assert_allclose(freq, [0.1, 0.0, 0.6, 0.3], atol=0.03)
    assert freq[1] == 0
    draw = A.multinomial(probs, 3)
    assert sorted(n(draw)[0].tolist()) == [0, 2, 3]  # distinct, never the zero category
    assert len(set(n(draw)[1].tolist())) == 3
    first = [A.multinomial(A.tensor([0.1, 0.0, 0.9]), 1).item() for _ in range(300)]
    assert 0.8 < first.count(2) / 300 < 0.97 and 1 not in first
    with pytest.raises(RuntimeError, match="multinomial: cannot sample n_sample > prob_dist"):
        A.multinomial(probs, 5)
    with pytest.raises(RuntimeError, match="not enough non-negative category"):
        A.multinomial(probs, 4)
    with pytest.raises(RuntimeError, match="contains either `inf`, `nan` or element < 0"):
        A.multinomial(A.tensor([0.5, -0.1]), 1)
    with pytest.raises(RuntimeError, match="prob_dist must be 1 or 2 dim"):
        A.multinomial(A.ones(2, 2, 2), 1)


@pytest.mark.parametrize("layer", ["RNN", "LSTM", "GRU"])
def test_layer_second_derivatives(layer):
    # The layer gathers its hidden weight's gradient from all steps at its first step: that
    # path must be differentiable too.
    module = getattr(nn, layer)(1, 2).double()
    x = _r(3, 1, 1)
    params = [module.weight_hh_l0, module.bias_hh_l0]

    def fn(x, w, b):
        with module_params(module, [module.weight_ih_l0, w, module.bias_ih_l0, b]):
            out, _ = module(x)
        return out

    assert gradgradcheck(fn, (x, *params))


def test_backward_twice_with_retain_graph_accumulates_exactly():
    gru = nn.GRU(2, 3).double()
    out, h = gru(_r(4, 2, 2))
    out.sum().backward(retain_graph=True)
    first = n(gru.weight_hh_l0.grad).copy()
    out.sum().backward()
    np.testing.assert_allclose(n(gru.weight_hh_l0.grad), 2 * first, rtol=1e-12)
    gru.zero_grad()
    x = _r(4, 2, 2)
    out, h = gru(x)
    out[1].sum().backward()  # from the second step: steps 1 and 0 only
    two, _ = gru(x[:2])
    w = gru.weight_hh_l0
    (expected,) = A.grad(two[1].sum(), [w])
    np.testing.assert_allclose(n(w.grad), n(expected), rtol=1e-12)


def test_packed_sequence_moves_and_the_layer_keeps_packing():
    packed = pack_sequence([A.randn(3, 2), A.randn(1, 2)])
    same = packed.to("cpu")
    assert same is packed
    double = packed.to(A.float64)
    assert double.data.dtype == A.float64 and double.batch_sizes.tolist() == [2, 1, 1]
    gru = nn.GRU(2, 3, batch_first=True)
    gru.flatten_parameters()
    out, h = gru(packed)
    assert isinstance(out, PackedSequence) and tuple(out.data.shape) == (4, 3)
    padded, lengths = pad_packed_sequence(out, batch_first=True)
    assert lengths.tolist() == [3, 1]
    # h_n is each sequence's own last state, not the padding's.
    np.testing.assert_allclose(n(h)[0, 1], n(padded)[1, 0], rtol=1e-6)
    np.testing.assert_allclose(n(h)[0, 0], n(padded)[0, 2], rtol=1e-6)
