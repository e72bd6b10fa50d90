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

    Shape: input (*) int64, weight (num_embeddings, embedding_dim) -> (*, embedding_dim).
    Where we differ: ``max_norm``, ``scale_grad_by_freq`` and ``sparse`` are not supported.
    """
    _check_tensor(input, "embedding", "input")
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise NotImplementedError(
            "embedding: max_norm, scale_grad_by_freq and sparse are not supported"
        )
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
    # Plain indexing (the same Getitem as index_select), without index_select's second check.
    out = weight[input.reshape(-1)].reshape(*input.shape, weight.shape[1])
    if padding_idx is not None:
        if padding_idx < 0:
            padding_idx += num
        pad = (input == padding_idx).unsqueeze(-1)
        # Same values; the gradient flows only through rows that are not padding.
        out = A.where(pad, out.detach(), out)
    return out
