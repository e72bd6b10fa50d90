"""Write docs/OPS.md: which of PyTorch's ops chalkgrad has, in which forms, and where it differs.

The PyTorch names are kept here, by family (issue 13's families plus the everyday basics);
what exists is found by introspection: ``autograd.<name>`` (``torch.<name>``),
``Tensor.<name>`` (``torch.Tensor.<name>``), ``autograd.linalg.<name>`` and
``nn.functional.<name>``. The notes column is the first "Where we differ" sentence of the
op's docstring. tests/test_ops_table.py fails when docs/OPS.md is out of date; regenerate with

    /work/venv/bin/python docs/make_ops_table.py
"""

from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "docs" / "OPS.md"

# (family, where to look, names). "torch": autograd.<name> and Tensor.<name>; "method": only
# the Tensor method exists in PyTorch; "function": only torch.<name>; "linalg":
# torch.linalg.<name>; "functional": torch.nn.functional.<name>.
FAMILIES = [
    (
        "Basics",
        "torch",
        """
        add sub mul div pow neg abs exp log sqrt sin cos tanh sigmoid relu sign clamp clip
        where maximum minimum matmul sum mean var std max min amax amin argmax argmin
        logsumexp norm prod all any reshape transpose permute squeeze unsqueeze flatten expand
        repeat split chunk cat stack gather index_select masked_fill isnan isfinite
        logical_not logical_and logical_or logical_xor bitwise_and bitwise_or bitwise_xor
        bitwise_not reciprocal remainder eq ne lt le gt ge clone detach multinomial
    """,
    ),
    (
        "Elementwise",
        "torch",
        """
        abs_ acos arccos asin arcsin atan arctan atan2 arctan2 sinh cosh tan asinh arcsinh acosh
        arccosh atanh arctanh erf erfc erfinv lgamma digamma polygamma log1p log2 log10 expm1
        exp2 logit sinc floor ceil round trunc fix frac fmod remainder hypot logaddexp
        logaddexp2 xlogy copysign heaviside lerp addcmul addcdiv nan_to_num clamp_min clamp_max
        square rsqrt sgn signbit float_power true_divide floor_divide divide isinf isposinf
        isneginf isclose allclose equal fmax fmin positive deg2rad rad2deg ldexp
        bitwise_left_shift bitwise_right_shift
    """,
    ),
    (
        "Reductions and scans",
        "torch",
        """
        cumsum cumprod cummax cummin logcumsumexp median nanmedian mode quantile nanquantile
        kthvalue aminmax nansum nanmean std_mean var_mean count_nonzero diff trapezoid
        cumulative_trapezoid renorm dist softmax log_softmax
    """,
    ),
    (
        "Shape, indexing and sorting",
        "torch",
        """
        flip fliplr flipud roll rot90 tril triu tril_indices triu_indices diag diagonal
        diag_embed diagflat block_diag narrow select movedim unbind unflatten ravel tile
        repeat_interleave hstack vstack dstack column_stack split_with_sizes tensor_split hsplit
        vsplit dsplit atleast_1d atleast_2d atleast_3d broadcast_to broadcast_tensors
        broadcast_shapes meshgrid cartesian_prod combinations take take_along_dim scatter
        scatter_add scatter_reduce index_add index_fill index_copy index_put masked_select
        masked_scatter nonzero argwhere unique unique_consecutive sort argsort msort topk
        searchsorted bucketize bincount histc new_full new_ones new_zeros fill_
    """,
    ),
    (
        "Matrix products",
        "torch",
        """
        mm bmm mv dot vdot inner outer addmm addmv addr baddbmm addbmm einsum tensordot kron
        cross trace cdist cov corrcoef chain_matmul
    """,
    ),
    (
        "torch.linalg",
        "linalg",
        """
        norm vector_norm matrix_norm inv det slogdet solve solve_triangular lstsq svd svdvals
        qr cholesky eigh eigvalsh pinv matrix_power matrix_rank multi_dot cross vecdot
    """,
    ),
    (
        "nn.functional",
        "functional",
        """
        relu relu6 elu selu celu gelu glu leaky_relu hardtanh hardsigmoid hardswish hardshrink
        softshrink softsign softplus tanhshrink threshold logsigmoid softmin softmax
        log_softmax silu mish prelu rrelu sigmoid tanh linear bilinear dropout alpha_dropout
        embedding embedding_bag one_hot batch_norm layer_norm local_response_norm rms_norm
        normalize cosine_similarity pairwise_distance pdist channel_shuffle grid_sample
        affine_grid mse_loss l1_loss cross_entropy nll_loss binary_cross_entropy
        binary_cross_entropy_with_logits smooth_l1_loss huber_loss kl_div margin_ranking_loss
        hinge_embedding_loss cosine_embedding_loss soft_margin_loss multilabel_soft_margin_loss
        multilabel_margin_loss multi_margin_loss poisson_nll_loss gaussian_nll_loss
        triplet_margin_loss triplet_margin_with_distance_loss ctc_loss
        scaled_dot_product_attention multi_head_attention_forward
    """,
    ),
]

# PyTorch names that exist only as a function (torch.<name>), not as a Tensor method.
FUNCTION_ONLY = set(
    """
    where cat stack std_mean var_mean trapezoid cumulative_trapezoid atleast_1d atleast_2d
    atleast_3d broadcast_tensors broadcast_shapes meshgrid cartesian_prod combinations
    tril_indices triu_indices block_diag hstack vstack dstack column_stack einsum tensordot
    cdist chain_matmul bucketize histc
""".split()
)
# ... and only as a Tensor method.
METHOD_ONLY = set("abs_ new_full new_ones new_zeros fill_ index_put".split())

_DIFFER = re.compile(r"Where we differ[^:]*:\s*(.+?)(?:\n\s*\n|$)", re.S)


def _note(obj) -> str:
    doc = inspect.getdoc(obj) or ""
    found = _DIFFER.search(doc)
    if not found:
        return ""
    text = " ".join(found.group(1).split())
    return text if len(text) <= 160 else text[:157] + "..."


def _rows(family: str, where: str, names: list) -> list:
    import autograd as A
    import nn.functional as F

    linalg = getattr(A, "linalg", None)
    rows = []
    for name in names:
        if where == "functional":
            fn = getattr(F, name, None)
            forms = [f"`F.{name}`"] if fn is not None else []
            rows.append((name, forms, bool(forms), _note(fn) if fn else ""))
            continue
        if where == "linalg":
            fn = getattr(linalg, name, None) if linalg is not None else None
            forms = [f"`A.linalg.{name}`"] if fn is not None else []
            rows.append((name, forms, bool(forms), _note(fn) if fn else ""))
            continue
        fn = getattr(A, name, None)
        method = getattr(A.Tensor, name, None)
        forms = []
        if fn is not None and not isinstance(fn, type):
            forms.append(f"`A.{name}`")
        if method is not None:
            forms.append(f"`Tensor.{name}`")
        wanted_fn = name not in METHOD_ONLY
        wanted_method = name not in FUNCTION_ONLY
        complete = (fn is not None or not wanted_fn) and (method is not None or not wanted_method)
        note = _note(method) or _note(fn) if (fn or method) else ""
        if forms and not complete:
            missing = "function" if wanted_fn and fn is None else "Tensor method"
            note = f"no {missing} form yet. {note}".strip()
        rows.append((name, forms, bool(forms), note))
    return rows


def render() -> str:
    sys.path.insert(0, str(ROOT))
    lines = [
        "# Supported ops",
        "",
        "Generated by `docs/make_ops_table.py` from the code (do not edit by hand): each PyTorch",
        "op of issue 13's families, the forms chalkgrad has (`A` is `autograd`, the `torch` of",
        "chalkgrad; `F` is `nn.functional`), and where we differ from PyTorch, from each op's",
        "docstring. A blank form column means the op is missing.",
        "",
    ]
    total = present = 0
    sections = []
    for family, where, names in FAMILIES:
        rows = _rows(family, where, names.split())
        have = sum(1 for r in rows if r[2])
        total += len(rows)
        present += have
        sections.append(f"## {family} ({have} of {len(rows)})")
        sections.append("")
        sections.append("| PyTorch | chalkgrad | where we differ |")
        sections.append("|---|---|---|")
        for name, forms, _, note in rows:
            sections.append(f"| `{name}` | {', '.join(forms)} | {note.replace('|', '/')} |")
        sections.append("")
    lines.append(f"**{present} of {total}** listed ops exist.")
    lines.append("")
    return "\n".join(lines + sections)


def main() -> None:
    OUTPUT.write_text(render())
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
