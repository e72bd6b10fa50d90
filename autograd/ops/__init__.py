"""The ops: each a ``Function`` subclass with its forward and backward side by side.

- ``elementwise``: arithmetic, math, activations, comparisons, in-place updates
- ``reduce``: sum, mean, var/std, max/min, logsumexp, norm, prod
- ``linalg``: matmul
- ``shape``: reshape, transpose, permute, expand, cat/stack/split, pad, the broadcast reduction
- ``index``: __getitem__, gather, index_select, masked_fill, one_hot
- ``convert``: dtype casts, device moves, clone
- ``layout``: flip, roll, rot90, narrow, select, movedim, unbind, the stack/split families,
  broadcasting helpers, meshgrid, cartesian_prod, combinations
- ``diagonal``: tril/triu (and their indices), diagonal, diag_embed, diag, diagflat, block_diag
- ``scatter``: scatter/scatter_add/scatter_reduce, index_add/copy/fill/put, masked_select/scatter,
  take, take_along_dim, nonzero, and the in-place forms
- ``sort``: sort, argsort, topk, unique, searchsorted, bucketize, bincount, histc
- ``pointwise``: more elementwise math (trig, hyperbolic, log1p, rounding, atan2, xlogy, ...)
- ``special``: erf, erfc, erfinv, lgamma, digamma, polygamma on ``xp`` (NumPy has none)
- ``scan``: cumsum, cumprod, cummax, cummin, logcumsumexp, diff, trapezoid
- ``statistics``: median, mode, quantile, kthvalue, NaN-aware and paired reductions
- ``softmax``: softmax and log_softmax (shared by Tensor, autograd and nn.functional)
"""
