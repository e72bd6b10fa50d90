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
    if input.numel() and (input.min().item() < 0 or input.max().item() >= num):
        raise IndexError(
            f"embedding: index out of range: indices must be in [0, {num}) for a weight of "
            f"shape {weight.shape}, got min {input.min().item()} and max {input.max().item()}"
        )
    if max_norm is not None:
        _renorm_rows(weight, input.reshape(-1), float(max_norm), float(norm_type))
    out = weight.index_select(0, input.reshape(-1)).reshape(*input.shape, weight.shape[1])
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
