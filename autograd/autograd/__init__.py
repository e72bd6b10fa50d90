"""``autograd.autograd``: PyTorch's ``torch.autograd`` path, so ``A.autograd.grad(...)`` and
``A.autograd.functional.jacobian(...)`` read as they do in PyTorch.

The names are the same objects as ``autograd.grad`` etc.; ``functional`` holds the higher-level
``jacobian``, ``hessian``, ``vjp``, ``jvp``, ``vhp`` and ``hvp``.
"""

from ..function import Function, backward, grad
from ..grad_mode import enable_grad, inference_mode, no_grad, set_grad_enabled
from ..gradcheck import gradcheck, gradgradcheck
from . import functional

__all__ = [
    "Function",
    "backward",
    "enable_grad",
    "functional",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "inference_mode",
    "no_grad",
    "set_grad_enabled",
]
