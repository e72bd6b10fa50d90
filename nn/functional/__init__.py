"""``nn.functional`` (``import nn.functional as F``): layers and losses as functions.

Everything is built on autograd. Where one fused op is clearer or faster than a chain of Tensor
ops (linear, the activations, softmax, the normalisations, the losses' kernels), it is an
``autograd.Function`` defined beside its function: forward on backend arrays through ``ctx.xp``,
backward in Tensor ops, so second derivatives come for free. Nothing here imports numpy or cupy.

One module a family, re-exported here so that ``F.<name>`` finds everything:
``activation`` (and softmax), ``linear``, ``dropout``, ``normalization``, ``sparse``
(embedding), ``distance``, ``loss``, ``shape``, ``recurrent`` (RNN/LSTM/GRU layers and cells),
``attention`` (scaled dot-product and multi-head).
"""

# --- the rest of PyTorch's functional surface (issue 13)
from autograd import one_hot

from ._utils import _reduction
from .activation import (
    _erf,
    _normal_cdf,
    celu,
    elu,
    gelu,
    glu,
    hardshrink,
    hardsigmoid,
    hardswish,
    hardtanh,
    leaky_relu,
    log_softmax,
    logsigmoid,
    mish,
    prelu,
    relu,
    relu6,
    rrelu,
    selu,
    sigmoid,
    silu,
    softmax,
    softmin,
    softplus,
    softshrink,
    softsign,
    tanh,
    tanhshrink,
    threshold,
)
from .attention import multi_head_attention_forward, scaled_dot_product_attention
from .distance import cosine_similarity, normalize, pairwise_distance, pdist
from .dropout import alpha_dropout, dropout
from .linear import bilinear, linear
from .loss import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cosine_embedding_loss,
    cross_entropy,
    ctc_loss,
    gaussian_nll_loss,
    hinge_embedding_loss,
    huber_loss,
    kl_div,
    l1_loss,
    margin_ranking_loss,
    mse_loss,
    multi_margin_loss,
    multilabel_margin_loss,
    multilabel_soft_margin_loss,
    nll_loss,
    poisson_nll_loss,
    smooth_l1_loss,
    soft_margin_loss,
    triplet_margin_loss,
    triplet_margin_with_distance_loss,
)
from .normalization import batch_norm, layer_norm, local_response_norm, rms_norm
from .sampling import affine_grid, grid_sample
from .shape import channel_shuffle, flatten
from .sparse import embedding, embedding_bag
