"""The cases of the linear-algebra suite, written once for both PyTorch and chalkgrad.

Each case is a function of ``T`` (the ``torch`` module or ``autograd``) and input tensors, so the
fixture generator (``tests/fixtures/make_linalg_fixtures.py``, run once with PyTorch) and the test
(``tests/test_linalg.py``, which never imports torch) apply the very same expression: our API is
PyTorch's. Outputs whose sign is arbitrary (eigenvectors, singular vectors) are only compared
through quantities that do not depend on it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass
class LinalgCase:
    name: str
    fn: Callable  # fn(T, *tensors) -> tensor or tuple of tensors
    shapes: tuple
    domain: str = "normal"  # how inputs are drawn: see draw()
    smooth: bool = True  # gradgradcheck too
    grad: bool = True


def draw(case: LinalgCase, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    out = []
    for shape in case.shapes:
        x = rng.standard_normal(shape)
        if case.domain == "square" and len(shape) >= 2 and shape[-1] == shape[-2]:
            # Well conditioned: a dominant diagonal keeps inverses and solves accurate.
            x = x + 3.0 * np.eye(shape[-1])
        elif case.domain == "positive":
            x = rng.uniform(0.5, 2.0, size=shape)
        out.append(x)
    return out


def _sym(T, x):  # noqa: ANN001, ANN202
    return x + x.mT


def _spd(T, x):  # noqa: ANN001, ANN202
    return x @ x.mT + 3.0 * T.eye(x.shape[-1], dtype=x.dtype, device=x.device)


def _tuple(x):  # noqa: ANN001, ANN202
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _svd_parts(T, x, full):  # noqa: ANN001, ANN202
    U, S, Vh = T.linalg.svd(x, full_matrices=full)
    k = S.shape[-1]
    return U[..., :k] @ Vh[..., :k, :], S, U[..., :k] ** 2


def _eigh_parts(T, x, uplo="L"):  # noqa: ANN001, ANN202
    vals, vecs = T.linalg.eigh(_sym(T, x), UPLO=uplo)
    return vals, vecs**2


# fmt: off
CASES = [
    # ---------------------------------------------------------------- products
    LinalgCase("mm", lambda T, a, b: T.mm(a, b), ((3, 4), (4, 2))),
    LinalgCase("mm_method", lambda T, a, b: a.mm(b), ((2, 3), (3, 3))),
    LinalgCase("bmm", lambda T, a, b: T.bmm(a, b), ((2, 3, 4), (2, 4, 2))),
    LinalgCase("mv", lambda T, a, b: T.mv(a, b), ((3, 4), (4,))),
    LinalgCase("dot", lambda T, a, b: T.dot(a, b), ((4,), (4,))),
    LinalgCase("vdot", lambda T, a, b: T.vdot(a, b), ((4,), (4,))),
    LinalgCase("inner", lambda T, a, b: T.inner(a, b), ((2, 3), (4, 3))),
    LinalgCase("inner_0d", lambda T, a, b: T.inner(a, b), ((), (2, 3))),
    LinalgCase("outer", lambda T, a, b: T.outer(a, b), ((3,), (4,))),
    LinalgCase("ger", lambda T, a, b: a.ger(b), ((2,), (3,))),
    LinalgCase("addmm", lambda T, c, a, b: T.addmm(c, a, b, beta=0.5, alpha=2.0),
               ((1, 2), (3, 4), (4, 2))),
    LinalgCase("addmm_beta0", lambda T, c, a, b: T.addmm(c, a, b, beta=0),
               ((3, 2), (3, 4), (4, 2))),
    LinalgCase("addmv", lambda T, c, a, b: T.addmv(c, a, b, alpha=3.0), ((3,), (3, 4), (4,))),
    LinalgCase("addr", lambda T, c, a, b: c.addr(a, b, beta=2.0), ((3, 4), (3,), (4,))),
    LinalgCase("baddbmm", lambda T, c, a, b: T.baddbmm(c, a, b, alpha=0.5),
               ((3, 2), (2, 3, 4), (2, 4, 2))),
    LinalgCase("addbmm", lambda T, c, a, b: T.addbmm(c, a, b), ((3, 2), (2, 3, 4), (2, 4, 2))),
    LinalgCase("einsum_matmul", lambda T, a, b: T.einsum("ij,jk->ik", a, b), ((3, 4), (4, 2))),
    LinalgCase("einsum_batch", lambda T, a, b: T.einsum("bij,bjk->bik", a, b),
               ((2, 3, 4), (2, 4, 2))),
    LinalgCase("einsum_trace", lambda T, a: T.einsum("ii", a), ((3, 3),)),
    LinalgCase("einsum_diag", lambda T, a: T.einsum("ii->i", a), ((3, 3),)),
    LinalgCase("einsum_diag3", lambda T, a: T.einsum("iij->ji", a), ((3, 3, 2),)),
    LinalgCase("einsum_outer", lambda T, a, b: T.einsum("i,j->ij", a, b), ((3,), (2,))),
    LinalgCase("einsum_implicit", lambda T, a, b: T.einsum("ij,jk", a, b), ((3, 4), (4, 2))),
    LinalgCase("einsum_sumout", lambda T, a: T.einsum("ijk->j", a), ((2, 3, 4),)),
    LinalgCase("einsum_only_one", lambda T, a, b: T.einsum("ij,k->i", a, b), ((2, 3), (4,))),
    LinalgCase("einsum_ellipsis", lambda T, a, b: T.einsum("...ij,...jk->...ik", a, b),
               ((2, 1, 3, 4), (5, 4, 2))),
    LinalgCase("einsum_ellipsis_sum", lambda T, a: T.einsum("...i->i", a), ((2, 3, 4),)),
    LinalgCase("einsum_three", lambda T, a, b, c: T.einsum("ij,jk,kl->il", a, b, c),
               ((2, 3), (3, 4), (4, 2))),
    LinalgCase("einsum_bilinear", lambda T, x, w, y: T.einsum("bn,anm,bm->ba", x, w, y),
               ((2, 3), (4, 3, 5), (2, 5))),
    LinalgCase("einsum_list", lambda T, a, b: T.einsum("ij,ij->", [a, b]), ((2, 3), (2, 3))),
    LinalgCase("tensordot", lambda T, a, b: T.tensordot(a, b, dims=2), ((2, 3, 4), (3, 4, 5))),
    LinalgCase("tensordot_lists", lambda T, a, b: T.tensordot(a, b, dims=([1, 0], [0, 1])),
               ((3, 2, 4), (2, 3, 5))),
    LinalgCase("kron", lambda T, a, b: T.kron(a, b), ((2, 3), (3, 2))),
    LinalgCase("kron_mixed", lambda T, a, b: T.kron(a, b), ((2,), (2, 3))),
    LinalgCase("cross", lambda T, a, b: T.cross(a, b, dim=1), ((4, 3), (4, 3))),
    LinalgCase("linalg_cross", lambda T, a, b: T.linalg.cross(a, b), ((1, 3), (4, 3))),
    LinalgCase("trace", lambda T, a: T.trace(a), ((3, 4),)),
    LinalgCase("cdist", lambda T, a, b: T.cdist(a, b), ((2, 4, 3), (2, 5, 3))),
    LinalgCase("cdist_p1", lambda T, a, b: T.cdist(a, b, p=1.0), ((4, 3), (5, 3)), smooth=False),
    LinalgCase("cdist_p3", lambda T, a, b: T.cdist(a, b, p=3.0), ((4, 3), (5, 3))),
    LinalgCase("cov", lambda T, a: T.cov(a), ((3, 6),)),
    LinalgCase("cov_weights", lambda T, a, f: T.cov(a, correction=0, aweights=f),
               ((3, 6), (6,)), domain="positive"),
    LinalgCase("corrcoef", lambda T, a: T.corrcoef(a), ((3, 6),)),
    LinalgCase("chain_matmul", lambda T, a, b, c: T.chain_matmul(a, b, c),
               ((2, 3), (3, 4), (4, 2))),
    LinalgCase("multi_dot", lambda T, a, b, c, d: T.linalg.multi_dot([a, b, c, d]),
               ((3,), (3, 4), (4, 5), (5,))),
    # ------------------------------------------------------------ decompositions
    LinalgCase("inv", lambda T, a: T.linalg.inv(a), ((2, 3, 3),), "square"),
    LinalgCase("inverse", lambda T, a: a.inverse(), ((3, 3),), "square"),
    LinalgCase("det", lambda T, a: T.linalg.det(a), ((2, 3, 3),), "square"),
    LinalgCase("det_method", lambda T, a: a.det(), ((3, 3),)),
    LinalgCase("slogdet", lambda T, a: T.linalg.slogdet(a).logabsdet, ((2, 3, 3),)),
    LinalgCase("logdet", lambda T, a: _spd(T, a).logdet(), ((3, 3),)),
    LinalgCase("solve", lambda T, a, b: T.linalg.solve(a, b), ((3, 3), (3, 2)), "square"),
    LinalgCase("solve_vector", lambda T, a, b: T.linalg.solve(a, b), ((3, 3), (3,)), "square"),
    LinalgCase("solve_batch_vector", lambda T, a, b: T.linalg.solve(a, b), ((2, 3, 3), (2, 3)),
               "square"),
    LinalgCase("solve_broadcast", lambda T, a, b: T.linalg.solve(a, b), ((2, 3, 3), (3, 2)),
               "square"),
    LinalgCase("solve_right", lambda T, a, b: T.linalg.solve(a, b, left=False), ((3, 3), (2, 3)),
               "square"),
    LinalgCase("solve_triangular_lower",
               lambda T, a, b: T.linalg.solve_triangular(a, b, upper=False), ((3, 3), (3, 2)),
               "square"),
    LinalgCase("solve_triangular_upper_unit",
               lambda T, a, b: T.linalg.solve_triangular(a, b, upper=True, unitriangular=True),
               ((3, 3), (3, 2)), "square"),
    LinalgCase("solve_triangular_right",
               lambda T, a, b: T.linalg.solve_triangular(a, b, upper=True, left=False),
               ((2, 3, 3), (2, 4, 3)), "square"),
    LinalgCase("cholesky", lambda T, a: T.linalg.cholesky(_spd(T, a)), ((2, 3, 3),)),
    LinalgCase("cholesky_upper", lambda T, a: T.linalg.cholesky(_spd(T, a), upper=True), ((3, 3),)),
    LinalgCase("qr", lambda T, a: tuple(T.linalg.qr(a)), ((4, 3),)),
    LinalgCase("qr_square_batch", lambda T, a: tuple(T.linalg.qr(a)), ((2, 3, 3),)),
    LinalgCase("eigh", lambda T, a: _eigh_parts(T, a), ((3, 3),)),
    LinalgCase("eigh_upper_batch", lambda T, a: _eigh_parts(T, a, "U"), ((2, 3, 3),)),
    LinalgCase("eigvalsh", lambda T, a: T.linalg.eigvalsh(_sym(T, a)), ((4, 4),)),
    LinalgCase("svd_tall", lambda T, a: _svd_parts(T, a, False), ((4, 3),)),
    LinalgCase("svd_wide_batch", lambda T, a: _svd_parts(T, a, False), ((2, 3, 4),)),
    LinalgCase("svd_full", lambda T, a: _svd_parts(T, a, True), ((4, 3),)),
    LinalgCase("svdvals", lambda T, a: T.linalg.svdvals(a), ((2, 4, 3),)),
    LinalgCase("pinv_tall", lambda T, a: T.linalg.pinv(a), ((4, 3),)),
    LinalgCase("pinv_wide", lambda T, a: T.linalg.pinv(a), ((2, 3, 5),)),
    LinalgCase("pinverse", lambda T, a: a.pinverse(), ((3, 4),)),
    LinalgCase("lstsq", lambda T, a, b: T.linalg.lstsq(a, b).solution, ((5, 3), (5, 2))),
    LinalgCase("matrix_power_3", lambda T, a: T.linalg.matrix_power(a, 3), ((2, 3, 3),)),
    LinalgCase("matrix_power_0", lambda T, a: T.linalg.matrix_power(a, 0) + a, ((3, 3),)),
    LinalgCase("matrix_power_neg", lambda T, a: a.matrix_power(-2), ((3, 3),), "square"),
    # ------------------------------------------------------------------- norms
    LinalgCase("vector_norm", lambda T, a: T.linalg.vector_norm(a), ((3, 4),)),
    LinalgCase("vector_norm_1", lambda T, a: T.linalg.vector_norm(a, 1, dim=1), ((3, 4),),
               smooth=False),
    LinalgCase("vector_norm_3_keep",
               lambda T, a: T.linalg.vector_norm(a, 3, dim=(0, 1), keepdim=True),
               ((2, 3, 4),)),
    LinalgCase("vector_norm_inf", lambda T, a: T.linalg.vector_norm(a, float("inf"), dim=-1),
               ((3, 4),), smooth=False),
    LinalgCase("matrix_norm_fro", lambda T, a: T.linalg.matrix_norm(a), ((2, 3, 4),)),
    LinalgCase("matrix_norm_nuc", lambda T, a: T.linalg.matrix_norm(a, "nuc"), ((2, 3, 4),)),
    LinalgCase("matrix_norm_2", lambda T, a: T.linalg.matrix_norm(a, 2), ((3, 4),)),
    LinalgCase("matrix_norm_m2", lambda T, a: T.linalg.matrix_norm(a, -2), ((4, 3),)),
    LinalgCase("matrix_norm_1", lambda T, a: T.linalg.matrix_norm(a, 1),
               ((2, 3, 4),), smooth=False),
    LinalgCase("matrix_norm_inf_dims",
               lambda T, a: T.linalg.matrix_norm(a, float("inf"), dim=(0, 2), keepdim=True),
               ((3, 2, 4),), smooth=False),
    LinalgCase("matrix_norm_m1", lambda T, a: T.linalg.matrix_norm(a, -1), ((3, 4),), smooth=False),
    LinalgCase("linalg_norm", lambda T, a: T.linalg.norm(a), ((2, 3, 4),)),
    LinalgCase("linalg_norm_matrix", lambda T, a: T.linalg.norm(a, "nuc"), ((3, 4),)),
    LinalgCase("linalg_norm_dim", lambda T, a: T.linalg.norm(a, 3, dim=1), ((3, 4),)),
    LinalgCase("vecdot", lambda T, a, b: T.linalg.vecdot(a, b), ((2, 3), (4, 1, 3))),
]
# fmt: on
