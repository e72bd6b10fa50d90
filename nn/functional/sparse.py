"""Embedding lookups."""

from __future__ import annotations

import autograd as A
from autograd import Tensor

from ._utils import _check_tensor


def embedding(
    input: Tensor,
    weight: Tensor,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """Rows of ``weight`` picked by the integer ``input``; gradients of repeated indices add up,
    and the ``padding_idx`` row receives none.

    With ``max_norm``, each row looked up whose ``norm_type`` norm exceeds ``max_norm`` is first
    rescaled in place (under no_grad) to norm max_norm, as PyTorch's ``embedding_renorm_``.

    Shape: input (*) int64, weight (num_embeddings, embedding_dim) -> (*, embedding_dim).
    Where we differ: ``scale_grad_by_freq`` and ``sparse`` are not supported.
    """
    _check_tensor(input, "embedding", "input")
    if scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding: scale_grad_by_freq and sparse are not supported")
    if input.dtype.kind not in "iu":
        raise TypeError(
            f"embedding: expected an integer (int64) index tensor, got {input.dtype}; "
            "use input.long()"
        )
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be 2-D, got shape {weight.shape}")
    num = weight.shape[0]
    # One read of the device per call (a GPU would wrap a bad index silently); min and max are
    # read only to word the error.
    if input.numel() and ((input < 0) | (input >= num)).any().item():
        raise IndexError(
            f"embedding: index out of range: indices must be in [0, {num}) for a weight of "
            f"shape {weight.shape}, got min {input.min().item()} and max {input.max().item()}"
        )
    if max_norm is not None:
        _renorm_rows(weight, input.reshape(-1), float(max_norm), float(norm_type))
    # Plain indexing (the same Getitem as index_select), without index_select's second check.
    out = weight[input.reshape(-1)].reshape(*input.shape, weight.shape[1])
    if padding_idx is not None:
        if padding_idx < 0:
            padding_idx += num
        pad = (input == padding_idx).unsqueeze(-1)
        # Same values; the gradient flows only through rows that are not padding.
        out = A.where(pad, out.detach(), out)
    return out


def _renorm_rows(weight: Tensor, index: Tensor, max_norm: float, norm_type: float) -> None:
    """Rows of ``weight`` at ``index`` with norm > max_norm scaled to max_norm / (norm + 1e-7).

    In place and outside the graph, as PyTorch (a repeated index writes the same row twice).
    """
    with A.no_grad():
        rows = weight.index_select(0, index)
        norms = rows.norm(norm_type, dim=1, keepdim=True)
        scale = A.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
        weight[index] = rows * scale


def embedding_bag(
    input: Tensor,
    weight: Tensor,
    offsets: Tensor | None = None,
    max_norm: float | None = None,
    norm_type: float = 2,
    scale_grad_by_freq: bool = False,
    mode: str = "mean",
    sparse: bool = False,
    per_sample_weights: Tensor | None = None,
    include_last_offset: bool = False,
    padding_idx: int | None = None,
) -> Tensor:
    """Sums, means or maxima of bags of embeddings, without building the (*, D) lookups' graph
    bag by bag: the bags are padded into one (B, L) index matrix and reduced with a mask.

    ``input`` is (B, L) (one bag per row) or 1-D with ``offsets`` (each bag's start). Rows equal
    to ``padding_idx`` are left out of their bag (an empty bag gives zeros, as PyTorch).
    ``per_sample_weights`` (same shape as input) scales each embedding, only with mode 'sum'.
    Shape: -> (B, embedding_dim). Where we differ: ``max_norm``, ``scale_grad_by_freq`` and
    ``sparse`` are not supported.
    """
    op = "embedding_bag"
    _check_tensor(input, op, "input")
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"{op}: mode has to be one of sum, mean or max, got {mode!r}")
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise NotImplementedError(
            f"{op}: max_norm, scale_grad_by_freq and sparse are not supported"
        )
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(
            f"{op}: per_sample_weights was not None. per_sample_weights is only supported for "
            f"mode='sum' (got mode={mode!r})"
        )
    if input.dtype.kind not in "iu":
        raise TypeError(f"{op}: expected an integer (int64) index tensor, got {input.dtype}")
    xp = input.xp
    backend = input._backend
    if input.ndim == 2:
        if offsets is not None:
            raise ValueError(f"{op}: if input is 2D, then offsets has to be None")
        index = input.data
        valid = xp.ones(index.shape, dtype=bool)
        weights = per_sample_weights
    elif input.ndim == 1:
        if offsets is None or offsets.ndim != 1:
            raise ValueError(f"{op}: offsets has to be a 1D Tensor when input is 1D")
        if offsets.device != input.device:
            raise RuntimeError(
                f"{op}: offsets on {offsets.device}, input on {input.device}; move them with "
                ".to(device) first"
            )
        n = input.shape[0]
        starts = offsets.data
        ends = starts[1:] if include_last_offset else xp.concatenate([starts[1:], xp.asarray([n])])
        if include_last_offset:
            starts = starts[:-1]
        lengths = ends - starts
        # One explicit host read: the padded width.
        width = int(backend.to_host(lengths.max())) if lengths.size else 0
        cols = xp.arange(width)
        valid = cols[None, :] < lengths[:, None]
        position = xp.where(valid, starts[:, None] + cols[None, :], 0)
        index = input.data[position] if n else xp.zeros(position.shape, dtype=input.data.dtype)
        weights = None
        if per_sample_weights is not None:
            pos = Tensor._make(position.reshape(-1), backend)
            weights = per_sample_weights.index_select(0, pos).reshape(*position.shape)
    else:
        raise ValueError(f"{op}: input has to be 1D or 2D Tensor, but got {input.ndim}D")
    if padding_idx is not None:
        valid = valid & (index != (padding_idx % weight.shape[0]))
    idx = Tensor._make(index.reshape(-1), backend)
    rows = weight.index_select(0, idx).reshape(*index.shape, weight.shape[1])  # (B, L, D)
    mask = Tensor._make(valid[..., None], backend)
    if weights is not None:
        rows = rows * weights.unsqueeze(-1)
    if mode == "max":
        neg = float(xp.finfo(weight.data.dtype).min)
        out = A.where(mask, rows, neg).amax(1) if index.shape[1] else rows.sum(1)
        return A.where(Tensor._make(valid.any(1)[:, None], backend), out, 0.0)
    total = A.where(mask, rows, 0.0).sum(1)
    if mode == "sum":
        return total
    count = Tensor._make(xp.maximum(valid.sum(1), 1)[:, None].astype(weight.data.dtype), backend)
    return total / count
