"""``nn.functional`` (``import nn.functional as F``): layers and losses as functions.

Everything is built on autograd. Where one fused op is clearer or faster than a chain of Tensor
ops (linear, the activations, softmax, the normalisations, the losses' kernels), it is an
``autograd.Function`` defined beside its function: forward on backend arrays through ``ctx.xp``,
backward in Tensor ops, so second derivatives come for free. Nothing here imports numpy or cupy.

One module a family, re-exported here so that ``F.<name>`` finds everything:
``activation`` (and softmax), ``linear``, ``conv``, ``pooling``, ``upsampling`` (and pad),
``dropout``, ``normalization``, ``sparse`` (embedding), ``distance``, ``loss``, ``shape``.
"""

from ._utils import _reduction
from .activation import (
    _erf,
    _normal_cdf,
    elu,
    gelu,
    leaky_relu,
    log_softmax,
    relu,
    sigmoid,
    softmax,
    tanh,
)
from .conv import (
    conv1d,
    conv2d,
    conv3d,
    conv_transpose1d,
    conv_transpose2d,
    conv_transpose3d,
    fold,
    unfold,
)
from .distance import cosine_similarity, normalize, pairwise_distance
from .dropout import dropout, dropout1d, dropout2d, dropout3d
from .linear import linear
from .loss import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    l1_loss,
    mse_loss,
    nll_loss,
    triplet_margin_loss,
)
from .normalization import batch_norm, group_norm, instance_norm, layer_norm
from .pooling import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_avg_pool3d,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    avg_pool1d,
    avg_pool2d,
    avg_pool3d,
    lp_pool1d,
    lp_pool2d,
    max_pool1d,
    max_pool2d,
    max_pool3d,
    max_unpool2d,
)
from .shape import flatten
from .sparse import embedding
from .upsampling import (
    interpolate,
    pad,
    pixel_shuffle,
    pixel_unshuffle,
    upsample,
    upsample_bilinear,
    upsample_nearest,
)
