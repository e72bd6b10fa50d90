"""chalkgrad's ``nn``: Modules, layers, losses, initialisers and utilities, PyTorch style.

Everything is built on ``autograd``: layers are thin Modules delegating to ``nn.functional``
(``import nn.functional as F``); the few fused ops are ``autograd.Function`` subclasses there.
"""

from . import functional, init, parallel, utils
from .containers import ModuleDict, ModuleList, Sequential
from .layers import (
    ELU,
    GELU,
    BatchNorm1d,
    BatchNorm2d,
    Dropout,
    Embedding,
    Flatten,
    Identity,
    LayerNorm,
    LeakyReLU,
    Linear,
    LogSoftmax,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
)
from .loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    TripletMarginLoss,
)
from .module import Module
from .parameter import Parameter
from .sync_batchnorm import SyncBatchNorm

__all__ = [
    "BCELoss",
    "BCEWithLogitsLoss",
    "BatchNorm1d",
    "BatchNorm2d",
    "CrossEntropyLoss",
    "Dropout",
    "ELU",
    "Embedding",
    "Flatten",
    "GELU",
    "Identity",
    "L1Loss",
    "LayerNorm",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "MSELoss",
    "Module",
    "ModuleDict",
    "ModuleList",
    "NLLLoss",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "SyncBatchNorm",
    "Tanh",
    "TripletMarginLoss",
    "functional",
    "init",
    "parallel",
    "utils",
]
