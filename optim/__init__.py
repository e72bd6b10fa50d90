"""chalkgrad's optimizers and learning-rate schedulers (PyTorch's ``torch.optim``).

Each optimizer is a thin loop over param groups around one update function per parameter
(``sgd_update``, ``rmsprop_update``, ``adam_update``), written with autograd's in-place Tensor
ops under ``no_grad``, so it runs on any device the parameters live on.
"""

from . import lr_scheduler
from .adam import Adam, AdamW, adam_update
from .optimizer import Optimizer
from .rmsprop import RMSprop, rmsprop_update
from .sgd import SGD, sgd_update

__all__ = [
    "SGD",
    "Adam",
    "AdamW",
    "Optimizer",
    "RMSprop",
    "adam_update",
    "lr_scheduler",
    "rmsprop_update",
    "sgd_update",
]
