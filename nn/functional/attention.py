"""Attention: ``scaled_dot_product_attention`` and ``multi_head_attention_forward``, as PyTorch.

softmax(Q K^T * scale + mask) V, composed of differentiable ops (matmul, the fused softmax), so
second derivatives work. Mask conventions differ between the two, exactly as in PyTorch: a bool
``attn_mask`` of ``scaled_dot_product_attention`` says which positions *take part* (True = attend),
while the bool masks of ``multi_head_attention_forward`` (``attn_mask``, ``key_padding_mask``) say
which positions are *masked out* (True = ignore). Float masks are added to the scores in both.
"""

from __future__ import annotations

import math
from typing import Any

import autograd as A
from autograd import Tensor

from ._utils import _check_tensor
from .activation import softmax
from .dropout import dropout
from .linear import linear


def _shape(t: Tensor) -> tuple:
    return tuple(t.shape)


def _check_mask_dtype(mask: Tensor, query: Tensor, op: str, name: str) -> None:
    if not isinstance(mask, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor or None, got {type(mask).__name__}")
    if mask.dtype != A.bool and mask.dtype.kind != "f":
        raise TypeError(
            f"{op}: only bool and floating types of {name} are supported, got {mask.dtype}"
        )
    if mask.dtype.kind == "f" and mask.dtype != query.dtype:
        raise TypeError(
            f"{op}: a float {name} must have the query's dtype {query.dtype}, got {mask.dtype}"
        )


def _broadcastable(shape: tuple, target: tuple) -> bool:
    if len(shape) > len(target):
        return False
    return all(s in (1, t) for s, t in zip(shape[::-1], target[::-1]))


def _broadcast(a: tuple, b: tuple) -> tuple:
    """The broadcast of two batch shapes (the longer one where they cannot broadcast)."""
    if len(a) < len(b):
        a, b = b, a
    b = (1,) * (len(a) - len(b)) + b
    return tuple(x if y == 1 else y for x, y in zip(a, b))


def _attend(query: Tensor, key: Tensor, value: Tensor, bias: Any, allowed: Any, p: float) -> tuple:
    """softmax(Q K^T + bias, masked to ``allowed``) V and the weights. Rows with nothing allowed
    give zeros (PyTorch's safe softmax), not NaN."""
    scores = query @ key.mT
    if bias is not None:
        scores = scores + bias
    if allowed is not None:
        scores = scores.masked_fill(allowed.logical_not(), float("-inf"))
    dead = None
    if bias is not None or allowed is not None:
        with A.no_grad():
            dead = (scores == float("-inf")).all(-1, keepdim=True)
        if bool(dead.any().item()):
            scores = scores.masked_fill(dead, 0.0)
        else:
            dead = None
    weights = softmax(scores, -1)
    if dead is not None:
        weights = weights.masked_fill(dead, 0.0)
    if p > 0.0:
        weights = dropout(weights, p, True)
    return weights @ value, weights


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> Tensor:
    """softmax(Q K^T * scale + mask) V, with scale = 1/sqrt(E) by default.

    ``attn_mask``: bool (True = take part) or float (added to the scores), broadcastable to
    (..., L, S). ``is_causal`` masks out the upper triangle (query i sees keys j <= i).
    ``dropout_p`` drops attention weights whenever it is > 0 (as PyTorch: pass 0.0 in eval).
    A query row with every key masked gives zeros, as PyTorch 2.5+.

    Shape: query (..., L, E), key (..., S, E), value (..., S, Ev) -> (..., L, Ev); with
    ``enable_gqa``, key and value may have fewer heads (dim -3) than query, dividing them.
    """
    op = "scaled_dot_product_attention"
    for name, t in (("query", query), ("key", key), ("value", value)):
        _check_tensor(t, op, name)
        if t.ndim < 2:
            raise RuntimeError(f"{op}: {name} must be at least 2-D (..., L, E), got {_shape(t)}")
    if query.shape[-1] != key.shape[-1]:
        raise RuntimeError(
            f"{op}: query of shape {_shape(query)} and key of shape {_shape(key)} must have the "
            "same embedding size (last dimension)"
        )
    if key.shape[-2] != value.shape[-2]:
        raise RuntimeError(
            f"{op}: key of shape {_shape(key)} and value of shape {_shape(value)} must have the "
            "same sequence length (dimension -2)"
        )
    if not 0.0 <= dropout_p < 1.0 and dropout_p != 1.0:
        raise ValueError(f"{op}: dropout_p must be in [0, 1], got {dropout_p}")
    if is_causal and attn_mask is not None:
        raise RuntimeError(f"{op}: explicit attn_mask should not be set when is_causal=True")
    if enable_gqa and query.ndim >= 3 and key.shape[-3] != query.shape[-3]:
        heads, kv_heads = query.shape[-3], key.shape[-3]
        if heads % kv_heads:
            raise RuntimeError(
                f"{op}: with enable_gqa, the query's {heads} heads must be a multiple of the "
                f"key's {kv_heads} heads"
            )
        key = _repeat_heads(key, heads // kv_heads)
        value = _repeat_heads(value, heads // kv_heads)
    length, source = query.shape[-2], key.shape[-2]
    bias = allowed = None
    if attn_mask is not None:
        _check_mask_dtype(attn_mask, query, op, "attn_mask")
        batch = _broadcast(_shape(query)[:-2], _shape(key)[:-2])
        if not _broadcastable(_shape(attn_mask), (*batch, length, source)):
            raise RuntimeError(
                f"{op}: attn_mask of shape {_shape(attn_mask)} is not broadcastable to the "
                f"attention scores' shape {(*batch, length, source)} (..., L, S)"
            )
        if attn_mask.dtype == A.bool:
            allowed = attn_mask
        else:
            bias = attn_mask
    elif is_causal:
        rows = A.arange(length, device=query.device).unsqueeze(1)
        allowed = rows >= A.arange(source, device=query.device).unsqueeze(0)
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else float(scale)
    out, _ = _attend(query * scale, key, value, bias, allowed, float(dropout_p))
    return out


def _repeat_heads(t: Tensor, times: int) -> Tensor:
    """(..., H, S, E) -> (..., H * times, S, E), each head repeated ``times`` in a row."""
    lead, (heads, length, dim) = _shape(t)[:-3], _shape(t)[-3:]
    expanded = t.unsqueeze(-3).expand(*lead, heads, times, length, dim)
    return expanded.reshape(*lead, heads * times, length, dim)


def _as_float_mask(mask: Tensor | None, dtype: Any) -> Tensor | None:
    """MHA's masks as additive float masks: a bool True (masked out) becomes -inf."""
    if mask is None or mask.dtype != A.bool:
        return mask
    zeros = A.zeros(mask.shape, dtype=dtype, device=mask.device)
    return zeros.masked_fill(mask, float("-inf"))


def multi_head_attention_forward(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    embed_dim_to_check: int,
    num_heads: int,
    in_proj_weight: Tensor | None,
    in_proj_bias: Tensor | None,
    bias_k: Tensor | None,
    bias_v: Tensor | None,
    add_zero_attn: bool,
    dropout_p: float,
    out_proj_weight: Tensor,
    out_proj_bias: Tensor | None,
    training: bool = True,
    key_padding_mask: Tensor | None = None,
    need_weights: bool = True,
    attn_mask: Tensor | None = None,
    use_separate_proj_weight: bool = False,
    q_proj_weight: Tensor | None = None,
    k_proj_weight: Tensor | None = None,
    v_proj_weight: Tensor | None = None,
    static_k: Tensor | None = None,
    static_v: Tensor | None = None,
    average_attn_weights: bool = True,
    is_causal: bool = False,
) -> tuple:
    """PyTorch's multi-head attention, sequence first.

    Shape: query (L, N, E) (or (L, E) unbatched), key (S, N, kdim), value (S, N, vdim),
    key_padding_mask (N, S), attn_mask (L, S) or (N * num_heads, L, S)
    -> output (L, N, E), weights (N, L, S) averaged over heads, (N, num_heads, L, S) if not
    ``average_attn_weights``, or None if not ``need_weights``.

    Where we differ: a query whose every key is masked out gets zero weights and a zero context
    (PyTorch's ``scaled_dot_product_attention`` does the same; its ``need_weights=True`` path
    gives NaN).
    """
    op = "multi_head_attention_forward"
    for name, t in (("query", query), ("key", key), ("value", value)):
        _check_tensor(t, op, name)
    batched = query.ndim == 3
    if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
        raise RuntimeError(
            f"{op}: query, key and value must all be 3-D (batched) or all 2-D (unbatched), got "
            f"query {_shape(query)}, key {_shape(key)}, value {_shape(value)}"
        )
    if not batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            if key_padding_mask.ndim != 1:
                raise RuntimeError(
                    f"{op}: for unbatched (2-D) query, key_padding_mask must be 1-D (S,), got "
                    f"{_shape(key_padding_mask)}"
                )
            key_padding_mask = key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    src_len = key.shape[0]
    if embed_dim != embed_dim_to_check:
        raise RuntimeError(
            f"{op}: was expecting embedding dimension of {embed_dim_to_check}, but got "
            f"{embed_dim} (query of shape {_shape(query)})"
        )
    if key.shape[:2] != value.shape[:2] or key.shape[1] != bsz:
        raise RuntimeError(
            f"{op}: key of shape {_shape(key)} and value of shape {_shape(value)} must share "
            f"(S, N), with N = {bsz} as in the query of shape {_shape(query)}"
        )
    head_dim = embed_dim // num_heads
    for name, mask in (("key_padding_mask", key_padding_mask), ("attn_mask", attn_mask)):
        if mask is not None:
            _check_mask_dtype(mask, query, op, name)
    if key_padding_mask is not None and _shape(key_padding_mask) != (bsz, src_len):
        raise RuntimeError(
            f"{op}: expecting key_padding_mask shape of {(bsz, src_len)}, but got "
            f"{_shape(key_padding_mask)}"
        )
    if is_causal and attn_mask is None:
        raise RuntimeError(
            f"{op}: need attn_mask if specifying the is_causal hint (pass the causal mask, e.g. "
            "nn.Transformer.generate_square_subsequent_mask)"
        )
    if attn_mask is not None:
        if attn_mask.ndim == 2:
            if _shape(attn_mask) != (tgt_len, src_len):
                raise RuntimeError(
                    f"{op}: the shape of the 2D attn_mask is {_shape(attn_mask)}, but should be "
                    f"{(tgt_len, src_len)}"
                )
            attn_mask = attn_mask.unsqueeze(0)
        elif attn_mask.ndim == 3:
            if _shape(attn_mask) != (bsz * num_heads, tgt_len, src_len):
                raise RuntimeError(
                    f"{op}: the shape of the 3D attn_mask is {_shape(attn_mask)}, but should be "
                    f"{(bsz * num_heads, tgt_len, src_len)}"
                )
        else:
            raise RuntimeError(f"{op}: attn_mask's dimension {attn_mask.ndim} is not supported")

    # The input projections: one GEMM for self-attention, three otherwise.
    if not use_separate_proj_weight:
        if query is key and key is value:
            q, k, v = linear(query, in_proj_weight, in_proj_bias).chunk(3, -1)
        else:
            w_q, w_k, w_v = in_proj_weight.chunk(3)
            b_q = b_k = b_v = None
            if in_proj_bias is not None:
                b_q, b_k, b_v = in_proj_bias.chunk(3)
            q, k, v = linear(query, w_q, b_q), linear(key, w_k, b_k), linear(value, w_v, b_v)
    else:
        b_q = b_k = b_v = None
        if in_proj_bias is not None:
            b_q, b_k, b_v = in_proj_bias.chunk(3)
        q = linear(query, q_proj_weight, b_q)
        k = linear(key, k_proj_weight, b_k)
        v = linear(value, v_proj_weight, b_v)

    attn_mask = _as_float_mask(attn_mask, query.dtype)
    key_padding_mask = _as_float_mask(key_padding_mask, query.dtype)
    if bias_k is not None and bias_v is not None:
        k = A.cat([k, bias_k.expand(1, bsz, embed_dim)], 0)
        v = A.cat([v, bias_v.expand(1, bsz, embed_dim)], 0)
        if attn_mask is not None:
            attn_mask = A.pad(attn_mask, (0, 1))
        if key_padding_mask is not None:
            key_padding_mask = A.pad(key_padding_mask, (0, 1))

    # (L, N, E) -> (N * heads, L, head_dim), as PyTorch lays the heads out.
    q = q.reshape(tgt_len, bsz * num_heads, head_dim).transpose(0, 1)
    if static_k is None:
        k = k.reshape(k.shape[0], bsz * num_heads, head_dim).transpose(0, 1)
    else:
        k = static_k
    if static_v is None:
        v = v.reshape(v.shape[0], bsz * num_heads, head_dim).transpose(0, 1)
    else:
        v = static_v
    if add_zero_attn:
        k = A.cat([k, A.zeros((bsz * num_heads, 1, head_dim), dtype=k.dtype, device=k.device)], 1)
        v = A.cat([v, A.zeros((bsz * num_heads, 1, head_dim), dtype=v.dtype, device=v.device)], 1)
        if attn_mask is not None:
            attn_mask = A.pad(attn_mask, (0, 1))
        if key_padding_mask is not None:
            key_padding_mask = A.pad(key_padding_mask, (0, 1))
    src_len = k.shape[1]
    if key_padding_mask is not None:
        padding = key_padding_mask.reshape(bsz, 1, 1, src_len).expand(bsz, num_heads, 1, src_len)
        padding = padding.reshape(bsz * num_heads, 1, src_len)
        attn_mask = padding if attn_mask is None else attn_mask + padding
    p = dropout_p if training else 0.0
    out, weights = _attend(q * (1.0 / math.sqrt(head_dim)), k, v, attn_mask, None, p)
    out = out.transpose(0, 1).reshape(tgt_len * bsz, embed_dim)
    out = linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, embed_dim)
    if not batched:
        out = out.squeeze(1)
    if not need_weights:
        return out, None
    weights = weights.reshape(bsz, num_heads, tgt_len, src_len)
    if average_attn_weights:
        weights = weights.mean(1)
    if not batched:
        weights = weights.squeeze(0)
    return out, weights
