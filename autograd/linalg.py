"""``autograd.linalg`` (``A.linalg``): PyTorch's ``torch.linalg``, with gradients.

The ops live in ``autograd/ops/linalg.py``, forward beside backward; this module gives them
``torch.linalg``'s names. Results with several parts are named tuples, as PyTorch's
``torch.return_types``: ``svd(A).U``, ``eigh(A).eigenvalues``, ``slogdet(A).logabsdet``.
"""

from .ops.linalg import (
    cholesky,
    det,
    eigh,
    eigvalsh,
    inv,
    lstsq,
    matmul,
    matrix_norm,
    matrix_power,
    matrix_rank,
    multi_dot,
    pinv,
    qr,
    slogdet,
    solve,
    solve_triangular,
    svd,
    svdvals,
    vecdot,
    vector_norm,
)
from .ops.linalg import linalg_cross as cross
from .ops.linalg import linalg_norm as norm

__all__ = [
    "cholesky",
    "cross",
    "det",
    "eigh",
    "eigvalsh",
    "inv",
    "lstsq",
    "matmul",
    "matrix_norm",
    "matrix_power",
    "matrix_rank",
    "multi_dot",
    "norm",
    "pinv",
    "qr",
    "slogdet",
    "solve",
    "solve_triangular",
    "svd",
    "svdvals",
    "vecdot",
    "vector_norm",
]
