"""chalkgrad's autograd: ``Tensor``, ``Function``, the backward engine, and the ops.

Warning: this package is named ``autograd`` and shadows the unrelated HIPS ``autograd`` package;
install chalkgrad in its own virtual environment (``make install`` makes one).
"""

from backends import Device as device
from backends.dtypes import (
    bool_,
    float16,
    float32,
    float64,
    int8,
    int16,
    int32,
    int64,
    uint8,
)

from .factories import (
    arange,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    manual_seed,
    multinomial,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from .function import Function, backward, grad
from .grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from .gradcheck import gradcheck, gradgradcheck
from .ops.elementwise import (
    clamp,
    floor_divide,
    isfinite,
    isnan,
    maximum,
    minimum,
    where,
)
from .ops.index import gather, index_select, masked_fill, one_hot

# --- matrix products and linear algebra (issue 13)
from .ops.linalg import (
    addbmm,
    addmm,
    addmv,
    addr,
    baddbmm,
    bmm,
    cdist,
    chain_matmul,
    corrcoef,
    cov,
    cross,
    det,
    dot,
    einsum,
    ger,
    inner,
    kron,
    logdet,
    matmul,
    matrix_power,
    mm,
    mv,
    outer,
    slogdet,
    tensordot,
    trace,
    vdot,
)
from .ops.linalg import cholesky as _linalg_cholesky
from .ops.linalg import inv as inverse
from .ops.linalg import pinv as _linalg_pinv

# --- op surface: elementwise, reductions, scans (issue 13)
from .ops.pointwise import (
    acos,
    acosh,
    addcdiv,
    addcmul,
    allclose,
    arctan2,
    asin,
    asinh,
    atan,
    atan2,
    atanh,
    bitwise_left_shift,
    bitwise_right_shift,
    ceil,
    clamp_max,
    clamp_min,
    copysign,
    cosh,
    deg2rad,
    divide,
    equal,
    exp2,
    expm1,
    float_power,
    floor,
    fmax,
    fmin,
    fmod,
    frac,
    heaviside,
    hypot,
    isclose,
    isinf,
    isneginf,
    isposinf,
    ldexp,
    lerp,
    log1p,
    log2,
    log10,
    logaddexp,
    logaddexp2,
    logit,
    nan_to_num,
    positive,
    rad2deg,
    round,
    rsqrt,
    sgn,
    signbit,
    sinc,
    sinh,
    square,
    tan,
    true_divide,
    trunc,
    xlogy,
)
from .ops.reduce import (
    amax,
    amin,
    argmax,
    argmin,
    logsumexp,
    mean,
    norm,
    prod,
    std,
    var,
)
from .ops.scan import (
    cummax,
    cummin,
    cumprod,
    cumsum,
    cumulative_trapezoid,
    diff,
    logcumsumexp,
    trapezoid,
)
from .ops.shape import (
    cat,
    chunk,
    flatten,
    pad,
    permute,
    reshape,
    split,
    squeeze,
    stack,
    transpose,
    unsqueeze,
)
from .ops.softmax import log_softmax, softmax
from .ops.special import digamma, erf, erfc, erfinv, lgamma, polygamma
from .ops.statistics import (
    aminmax,
    count_nonzero,
    dist,
    kthvalue,
    median,
    mode,
    nanmean,
    nanmedian,
    nanquantile,
    nansum,
    quantile,
    renorm,
    std_mean,
    var_mean,
)
from .replay import CompiledStep, compile
from .serialization import load, save
from .tensor import (
    Tensor,  # noqa: I001  (Tensor first: the ops import it)
    channels_last,
    contiguous_format,
    memory_format,
    preserve_format,
)

float = float32  # noqa: A001  (PyTorch's aliases)
double = float64
long = int64
bool = bool_  # noqa: A001


def is_tensor(obj) -> bool:  # noqa: ANN001
    return isinstance(obj, Tensor)


def cuda_is_available() -> bool:
    """True when CuPy is installed and sees a GPU."""
    import backends

    return backends.cuda_available()


# Elementwise functions with a Tensor-method twin, exposed as autograd.exp(x) etc.
def _method(name: str):  # noqa: ANN202
    def fn(t, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        return getattr(t, name)(*args, **kwargs)

    fn.__name__ = name
    fn.__doc__ = f"``autograd.{name}(t, ...)`` is ``t.{name}(...)``."
    return fn


exp = _method("exp")
log = _method("log")
sqrt = _method("sqrt")
sin = _method("sin")
cos = _method("cos")
tanh = _method("tanh")
sigmoid = _method("sigmoid")
relu = _method("relu")
abs = _method("abs")  # noqa: A001
neg = _method("neg")
sum = _method("sum")  # noqa: A001
max = _method("max")  # noqa: A001
min = _method("min")  # noqa: A001
add = _method("add")
sub = _method("sub")
mul = _method("mul")
div = _method("div")
pow = _method("pow")  # noqa: A001
sign = _method("sign")
expand = _method("expand")
repeat = _method("repeat")
clone = _method("clone")
detach = _method("detach")
all = _method("all")  # noqa: A001
any = _method("any")  # noqa: A001

# --- op surface: shape, indexing, sorting (issue 13)
from .ops.diagonal import (  # noqa: E402
    block_diag,
    diag,
    diag_embed,
    diagflat,
    diagonal,
    tril,
    tril_indices,
    triu,
    triu_indices,
)
from .ops.layout import (  # noqa: E402
    atleast_1d,
    atleast_2d,
    atleast_3d,
    broadcast_shapes,
    broadcast_tensors,
    broadcast_to,
    cartesian_prod,
    column_stack,
    combinations,
    dsplit,
    dstack,
    flip,
    fliplr,
    flipud,
    hsplit,
    hstack,
    meshgrid,
    movedim,
    narrow,
    ravel,
    repeat_interleave,
    roll,
    rot90,
    select,
    split_with_sizes,
    tensor_split,
    tile,
    unbind,
    unflatten,
    vsplit,
    vstack,
)
from .ops.layout import movedim as moveaxis  # noqa: E402
from .ops.scatter import (  # noqa: E402
    argwhere,
    index_add,
    index_copy,
    index_fill,
    index_put,
    masked_scatter,
    masked_select,
    nonzero,
    scatter,
    scatter_add,
    scatter_reduce,
    take,
    take_along_dim,
)
from .ops.shape import transpose as swapaxes  # noqa: E402
from .ops.shape import transpose as swapdims  # noqa: E402
from .ops.sort import (  # noqa: E402
    argsort,
    bincount,
    bucketize,
    histc,
    msort,
    searchsorted,
    sort,
    topk,
    unique,
    unique_consecutive,
)

# --- op surface: elementwise, reductions, scans (issue 13): the Tensor-method twins
arccos = acos
arcsin = asin
arctan = atan
arcsinh = asinh
arccosh = acosh
arctanh = atanh
fix = trunc
remainder = _method("remainder")
abs_ = _method("abs_")
trapz = trapezoid
clip = _method("clip")
reciprocal = _method("reciprocal")
logical_not = _method("logical_not")
logical_and = _method("logical_and")
logical_or = _method("logical_or")
logical_xor = _method("logical_xor")
bitwise_and = _method("bitwise_and")
bitwise_or = _method("bitwise_or")
bitwise_xor = _method("bitwise_xor")
bitwise_not = _method("bitwise_not")
eq = _method("eq")
ne = _method("ne")
lt = _method("lt")
le = _method("le")
gt = _method("gt")
ge = _method("ge")


def cholesky(input: Tensor, upper: bool = False) -> Tensor:
    """``torch.cholesky`` (deprecated there for ``linalg.cholesky``): lower factor by default."""
    return _linalg_cholesky(input, upper=upper)


def pinverse(input: Tensor, rcond: float = 1e-15) -> Tensor:
    """``torch.pinverse``: ``linalg.pinv`` with a relative tolerance ``rcond``."""
    return _linalg_pinv(input, rtol=rcond)


# After Tensor and the ops they build on. PyTorch's paths: A.linalg, A.autograd.functional,
# A.utils.data.
from . import autograd, linalg, utils  # noqa: E402
