"""Attention: scaled_dot_product_attention and MultiheadAttention against PyTorch's values,
float64 gradient checks, masks, and errors.

Reference values come from tests/fixtures/make_attention_fixtures.py (torch 2.13, run once).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import autograd as A
import nn
import nn.functional as F
from autograd import gradcheck, gradgradcheck

FIXTURES = Path(__file__).parent / "fixtures"
_spec = importlib.util.spec_from_file_location(
    "make_attention", FIXTURES / "make_attention_fixtures.py"
)
make_attention = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_attention)
REF = np.load(FIXTURES / "attention_reference.npz")


def n(t):
    return t.detach().numpy()


def t64(a, grad=False):
    a = np.asarray(a)
    if a.dtype == bool:
        return A.tensor(a)
    return A.tensor(a.astype(np.float64), dtype=A.float64, requires_grad=grad)


def close(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("case,heads,kv_heads,options", make_attention.SDPA_CASES)
def test_sdpa_matches_pytorch(case, heads, kv_heads, options):
    key = f"sdpa_{case}"
    q, k, v = (t64(REF[f"{key}__{x}"], True) for x in "qkv")
    kwargs = {name: value for name, value in options.items() if name != "mask"}
    mask = None
    if "mask" in options:
        mask = t64(REF[f"{key}__mask"], options["mask"] == "float")
        kwargs["attn_mask"] = mask
    out = F.scaled_dot_product_attention(q, k, v, **kwargs)
    close(n(out), REF[f"{key}__out"])
    (out * t64(REF[f"{key}__w_out"])).sum().backward()
    for name, x in (("q", q), ("k", k), ("v", v)):
        close(n(x.grad), REF[f"{key}__grad_{name}"])
    if options.get("mask") == "float":
        close(n(mask.grad), REF[f"{key}__grad_mask"])
    if options.get("mask") == "bool":
        assert not np.isnan(n(q.grad)).any()  # the fully masked row gives zeros, not NaN


@pytest.mark.parametrize("case,module_kwargs,options", make_attention.MHA_CASES)
def test_multihead_attention_matches_pytorch(case, module_kwargs, options):
    key = f"mha_{case}"
    module = nn.MultiheadAttention(make_attention.E, make_attention.HEADS, **module_kwargs)
    module = module.double()
    prefix = f"{key}__sd__"
    state = {k[len(prefix) :]: A.tensor(REF[k]) for k in REF.files if k.startswith(prefix)}
    module.load_state_dict(state)
    assert sorted(module.state_dict()) == sorted(state)
    inputs = {}
    for k in REF.files:
        if k.startswith(f"{key}__in__"):
            name = k.split("__in__")[1]
            inputs[name] = t64(REF[k], name in ("query", "key", "value"))
    query = inputs["query"]
    keys = inputs.get("key", query)
    values = inputs.get("value", query)
    kwargs = {x: options[x] for x in ("need_weights", "average_attn_weights") if x in options}
    out, weights = module(
        query,
        keys,
        values,
        key_padding_mask=inputs.get("key_padding_mask"),
        attn_mask=inputs.get("attn_mask"),
        **kwargs,
    )
    close(n(out), REF[f"{key}__out"])
    loss = (out * t64(REF[f"{key}__w_out"])).sum()
    if f"{key}__weights" in REF.files:
        close(n(weights), REF[f"{key}__weights"])
        loss = loss + (weights * t64(REF[f"{key}__w_weights"])).sum()
    else:
        assert weights is None
    loss.backward()
    for name in ("query", "key", "value"):
        if name in inputs:
            close(n(inputs[name].grad), REF[f"{key}__grad_{name}"])
    for name, p in module.named_parameters():
        close(n(p.grad), REF[f"{key}__grad__{name}"])


def _r(*shape, seed=0):
    rng = np.random.default_rng(seed + sum(shape))
    return A.tensor(rng.standard_normal(shape), dtype=A.float64, requires_grad=True)


def test_sdpa_gradcheck_and_gradgradcheck_with_masks():
    q, k, v = _r(2, 3, 4), _r(2, 5, 4), _r(2, 5, 3)
    bias = _r(3, 5)
    allowed = A.tensor(np.random.default_rng(1).random((3, 5)) > 0.3)

    def fn(q, k, v, bias):
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        b = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed, scale=0.7)
        return a, b

    assert gradcheck(fn, (q, k, v, bias))
    assert gradgradcheck(fn, (q, k, v, bias))


def test_mha_gradcheck():
    module = nn.MultiheadAttention(4, 2, kdim=3, vdim=2).double()
    q, k, v = _r(3, 2, 4), _r(5, 2, 3), _r(5, 2, 2)
    kpm = A.tensor([[False, False, False, True, True], [False] * 5])
    assert gradcheck(lambda q, k, v: module(q, k, v, key_padding_mask=kpm), (q, k, v))


def test_causal_and_dropout():
    q = A.randn(2, 4, 3)
    out = F.scaled_dot_product_attention(q, q, q, is_causal=True)
    # The first query sees only the first key: its output is the first value.
    np.testing.assert_allclose(n(out)[:, 0], n(q)[:, 0], rtol=1e-6)
    A.manual_seed(3)
    a = F.scaled_dot_product_attention(q, q, q, dropout_p=0.5)
    A.manual_seed(3)
    b = F.scaled_dot_product_attention(q, q, q, dropout_p=0.5)
    np.testing.assert_array_equal(n(a), n(b))
    assert not np.allclose(n(a), n(F.scaled_dot_product_attention(q, q, q)))
    mha = nn.MultiheadAttention(4, 2, dropout=0.9)
    x = A.randn(3, 2, 4)
    mha.eval()
    np.testing.assert_array_equal(n(mha(x, x, x)[0]), n(mha(x, x, x)[0]))


def test_attention_errors_name_the_op_shapes_and_argument():
    q, k, v = A.randn(2, 4, 5), A.randn(2, 6, 5), A.randn(2, 6, 7)
    sdpa = F.scaled_dot_product_attention
    with pytest.raises(
        RuntimeError, match=r"attn_mask of shape \(3, 6\) is not broadcastable .* \(2, 4, 6\)"
    ):
        sdpa(q, k, v, attn_mask=A.ones(3, 6, dtype=A.bool))
    with pytest.raises(TypeError, match="only bool and floating types of attn_mask.*int64"):
        sdpa(q, k, v, attn_mask=A.ones(4, 6, dtype=A.int64))
    with pytest.raises(
        RuntimeError, match=r"query of shape \(2, 4, 5\) and key of shape \(2, 6, 3\)"
    ):
        sdpa(q, A.randn(2, 6, 3), v)
    with pytest.raises(RuntimeError, match="should not be set when is_causal=True"):
        sdpa(q, k, v, attn_mask=A.ones(4, 6, dtype=A.bool), is_causal=True)
    mha = nn.MultiheadAttention(6, 2)
    x, mem = A.randn(4, 3, 6), A.randn(5, 3, 6)
    with pytest.raises(
        RuntimeError, match=r"expecting key_padding_mask shape of \(3, 5\), but got \(3, 4\)"
    ):
        mha(x, mem, mem, key_padding_mask=A.zeros(3, 4, dtype=A.bool))
    with pytest.raises(TypeError, match="key_padding_mask are supported, got int64"):
        mha(x, mem, mem, key_padding_mask=A.zeros(3, 5, dtype=A.int64))
    with pytest.raises(RuntimeError, match=r"2D attn_mask is \(5, 5\), but should be \(4, 5\)"):
        mha(x, mem, mem, attn_mask=A.zeros(5, 5, dtype=A.bool))
    with pytest.raises(RuntimeError, match="was expecting embedding dimension of 6, but got 5"):
        mha(A.randn(4, 3, 5), mem, mem)
    with pytest.raises(ValueError, match=r"embed_dim \(6\) must be divisible by num_heads \(4\)"):
        nn.MultiheadAttention(6, 4)


def test_gqa_repeats_heads_as_pytorch_orders_them():
    q, k, v = A.randn(1, 4, 3, 2), A.randn(1, 2, 5, 2), A.randn(1, 2, 5, 2)
    grouped = F.scaled_dot_product_attention(q, k, v, enable_gqa=True)
    repeated = F.scaled_dot_product_attention(
        q,
        A.cat([k[:, :1], k[:, :1], k[:, 1:], k[:, 1:]], 1),
        A.cat([v[:, :1], v[:, :1], v[:, 1:], v[:, 1:]], 1),
    )
    np.testing.assert_allclose(n(grouped), n(repeated), rtol=1e-6)
