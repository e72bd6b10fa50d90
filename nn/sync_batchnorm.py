"""``SyncBatchNorm``: batch normalisation whose statistics cover the whole global batch.

In data-parallel training each rank sees a slice of the batch; plain BatchNorm normalises each
slice with its own mean and variance, so the model differs from one trained on the whole batch.
SyncBatchNorm sums each channel's count and sum over all ranks with a differentiable all-reduce
(its gradient is an all-reduce too), then the squared deviations from that global mean (a second
all-reduce: numerically stable, unlike sums of squares), normalises with the global mean and
biased variance and updates the running statistics with the unbiased one, exactly as
BatchNorm would on the concatenated batch. Without an initialized process group (or in eval
mode) it is plain BatchNorm.
"""

from __future__ import annotations

from typing import Any

import autograd as A
import autograd.distributed as dist
from autograd import Tensor

from .layers import _BatchNorm
from .module import Module


class SyncBatchNorm(_BatchNorm):
    """BatchNorm over (N, C, *) inputs with statistics synchronised across ranks.

    Shape: (N, C, *) -> same. Parameters and buffers as BatchNorm (PyTorch's names).
    """

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        process_group: Any = None,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype)
        self.process_group = process_group

    def _check_input_dim(self, input: Tensor) -> None:
        if input.ndim < 2:
            raise ValueError(f"SyncBatchNorm: expected at least 2D input (got {input.ndim}D input)")

    def forward(self, input: Tensor) -> Tensor:
        if not self.training or not dist.is_initialized() or dist.get_world_size() == 1:
            return super().forward(input)
        self._check_input_dim(input)
        if input.shape[1] != self.num_features:
            raise RuntimeError(
                f"SyncBatchNorm: expected {self.num_features} channels in dim 1, got input of "
                f"shape {tuple(input.shape)}"
            )
        dims = (0, *range(2, input.ndim))
        c = self.num_features
        local_count = input.numel() // c
        count = A.full((1,), float(local_count), dtype=input.dtype, device=input.device)
        stats = dist.all_reduce_sum(A.cat([input.sum(dims), count]))
        total = stats[c]
        mean = stats[:c] / total
        shape = (1, c) + (1,) * (input.ndim - 2)
        # Two passes (a second all-reduce): E[x^2] - mean^2 cancels catastrophically when the
        # mean is large against the spread (float32 inputs near 100 with spread 0.01 got a
        # variance of 0 or below, and NaN outputs).
        centred = input - mean.reshape(shape)
        var = dist.all_reduce_sum((centred * centred).sum(dims)) / total
        out = centred / (var.reshape(shape) + self.eps).sqrt()
        if self.affine:
            out = out * self.weight.reshape(shape) + self.bias.reshape(shape)
        if self.track_running_stats:
            with A.no_grad():
                self.num_batches_tracked.add_(1)
                if self.momentum is None:
                    factor = 1.0 / float(self.num_batches_tracked.item())
                else:
                    factor = self.momentum
                n = float(total.item())
                unbiased = var * (n / max(n - 1.0, 1.0))
                self.running_mean.mul_(1 - factor).add_(mean * factor)
                self.running_var.mul_(1 - factor).add_(unbiased * factor)
        return out

    @classmethod
    def convert_sync_batchnorm(cls, module: Module, process_group: Any = None) -> Module:
        """``module`` with every BatchNorm layer replaced by a SyncBatchNorm sharing its
        parameters and buffers (the module itself if it is a BatchNorm)."""
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            sync = cls(
                module.num_features,
                module.eps,
                module.momentum,
                module.affine,
                module.track_running_stats,
                process_group,
            )
            if module.affine:
                with A.no_grad():
                    sync.weight = module.weight
                    sync.bias = module.bias
            sync.running_mean = module.running_mean
            sync.running_var = module.running_var
            sync.num_batches_tracked = module.num_batches_tracked
            sync.train(module.training)
            return sync
        for name, child in list(module.named_children()):
            replaced = cls.convert_sync_batchnorm(child, process_group)
            if replaced is not child:
                setattr(module, name, replaced)
        return module
