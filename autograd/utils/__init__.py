"""``autograd.utils``: PyTorch's ``torch.utils`` path. ``autograd.utils.data`` IS
``autograd.data`` (the same module object), so ``from autograd.utils.data import DataLoader``
works as ``from torch.utils.data import DataLoader`` does.
"""

import sys

from .. import data

# Registered under the PyTorch-style name so that ``import autograd.utils.data`` finds it.
sys.modules[__name__ + ".data"] = data

__all__ = ["data"]
