"""The ops: each a ``Function`` subclass with its forward and backward side by side.

- ``elementwise``: arithmetic, math, activations, comparisons, in-place updates
- ``reduce``: sum, mean, var/std, max/min, logsumexp, norm, prod
- ``linalg``: matmul
- ``shape``: reshape, transpose, permute, expand, cat/stack/split, pad, the broadcast reduction
- ``index``: __getitem__, gather, index_select, masked_fill, one_hot
- ``convert``: dtype casts, device moves, clone
"""
