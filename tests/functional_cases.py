"""The cases of the nn.functional surface suite, written once for PyTorch and chalkgrad.

Each case is ``fn(F, T, *tensors)`` with ``F`` = ``torch.nn.functional`` or ``nn.functional`` and
``T`` = ``torch`` or ``autograd``: the fixture generator (``tests/fixtures/make_functional_
fixtures.py``, run once with PyTorch) and the test (``tests/test_functional_surface.py``, which
never imports torch) apply the same expression. ``inputs`` lists (kind, shape) pairs; see draw().
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

# Kinks of the piecewise-linear activations; drawn inputs stay at least 0.1 away from them.
KINKS = (-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0, 6.0, 0.3)
NO_GRAD_KINDS = ("pm1", "labels", "multilabel", "binary", "const")


@dataclass
class FCase:
    name: str
    fn: Callable
    inputs: tuple  # ((kind, shape), ...)
    smooth: bool = True

    def grads(self) -> tuple:
        return tuple(kind.split(":")[0] not in NO_GRAD_KINDS for kind, _ in self.inputs)


def draw(case: FCase, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    out = []
    for kind, shape in case.inputs:
        base, _, arg = kind.partition(":")
        if base == "normal":
            x = rng.standard_normal(shape)
        elif base == "kinky":
            x = rng.uniform(-4.0, 7.0, size=shape)
            for k in KINKS:
                x = np.where(np.abs(x - k) < 0.1, x + 0.25, x)
        elif base in ("positive", "const"):
            x = rng.uniform(0.3, 2.0, size=shape)
        elif base == "prob":
            x = rng.uniform(0.05, 1.0, size=shape)
            x = x / x.sum(-1, keepdims=True)
        elif base == "logprob":
            z = rng.standard_normal(shape)
            x = z - np.log(np.exp(z).sum(-1, keepdims=True))
        elif base == "grid":
            x = rng.uniform(-1.15, 1.15, size=shape)
        elif base == "pm1":
            x = rng.choice([-1.0, 1.0], size=shape)
        elif base == "binary":
            x = rng.integers(0, 2, size=shape).astype(np.float64)
        elif base == "labels":
            x = rng.integers(int(arg.split("-")[0]) if "-" in arg else 0,
                             int(arg.split("-")[-1]), size=shape)  # fmt: skip
        elif base == "multilabel":
            c = shape[-1]
            x = np.full(shape, -1, dtype=np.int64)
            for row in x.reshape(-1, c):
                k = rng.integers(1, c)
                row[:k] = rng.permutation(c)[:k]
        else:
            raise ValueError(kind)
        out.append(x)
    return out


def _tuple(x):  # noqa: ANN001, ANN202
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


# PyTorch's CTC backward returns exp(log_probs) - posterior, the gradient of the logits under a
# log_softmax, not d loss / d log_probs; through log_softmax both are the same, so compare there.
def _ctc(F, T, z, tg):  # noqa: ANN001, ANN202
    return F.ctc_loss(F.log_softmax(z, 2), tg, [6, 5], [3, 2], reduction="none")


def _ctc_concat(F, T, z, tg):  # noqa: ANN001, ANN202
    lp = F.log_softmax(z, 2)
    return F.ctc_loss(lp, tg.reshape(-1)[:5], T.tensor([6, 6]), T.tensor([3, 2]))


K = "kinky"
# fmt: off
CASES = [
    # ----------------------------------------------------------------- activations
    FCase("relu6", lambda F, T, x: F.relu6(x), ((K, (4, 5)),)),
    FCase("hardtanh", lambda F, T, x: F.hardtanh(x, -0.5, 3.0), ((K, (4, 5)),)),
    FCase("selu", lambda F, T, x: F.selu(x), (("normal", (4, 5)),)),
    FCase("celu", lambda F, T, x: F.celu(x, 0.7), (("normal", (4, 5)),)),
    FCase("glu", lambda F, T, x: F.glu(x, 1), (("normal", (3, 4, 2)),)),
    FCase("hardsigmoid", lambda F, T, x: F.hardsigmoid(x), ((K, (4, 5)),)),
    FCase("hardswish", lambda F, T, x: F.hardswish(x), ((K, (4, 5)),)),
    FCase("hardshrink", lambda F, T, x: F.hardshrink(x, 0.5), ((K, (4, 5)),)),
    FCase("softshrink", lambda F, T, x: F.softshrink(x, 0.5), ((K, (4, 5)),)),
    FCase("softsign", lambda F, T, x: F.softsign(x), (("normal", (4, 5)),)),
    FCase("softplus", lambda F, T, x: F.softplus(x), (("normal", (4, 5)),)),
    FCase("softplus_beta", lambda F, T, x: F.softplus(x * 5, beta=2.0, threshold=3.0),
          ((K, (4, 5)),)),
    FCase("tanhshrink", lambda F, T, x: F.tanhshrink(x), (("normal", (4, 5)),)),
    FCase("threshold", lambda F, T, x: F.threshold(x, 0.3, -2.0), ((K, (4, 5)),)),
    FCase("logsigmoid", lambda F, T, x: F.logsigmoid(x * 10), (("normal", (4, 5)),)),
    FCase("softmin", lambda F, T, x: F.softmin(x, dim=1), (("normal", (3, 4)),)),
    FCase("silu", lambda F, T, x: F.silu(x), (("normal", (4, 5)),)),
    FCase("mish", lambda F, T, x: F.mish(x), (("normal", (4, 5)),)),
    FCase("prelu", lambda F, T, x, w: F.prelu(x, w), ((K, (2, 3, 4)), ("positive", (3,)))),
    FCase("prelu_one", lambda F, T, x, w: F.prelu(x, w), ((K, (2, 3)), ("positive", (1,)))),
    FCase("rrelu_eval", lambda F, T, x: F.rrelu(x), ((K, (4, 5)),)),
    # ---------------------------------------------------------------------- losses
    FCase("smooth_l1", lambda F, T, x, y: F.smooth_l1_loss(x, y, beta=0.5),
          (("normal", (4, 5)), ("normal", (4, 5))), smooth=False),
    FCase("smooth_l1_none", lambda F, T, x, y: F.smooth_l1_loss(x, y, reduction="none"),
          (("normal", (4, 5)), ("normal", (4, 5))), smooth=False),
    FCase("huber", lambda F, T, x, y: F.huber_loss(x, y, delta=0.7),
          (("normal", (4, 5)), ("normal", (4, 5))), smooth=False),
    FCase("kl_div_batchmean", lambda F, T, x, y: F.kl_div(x, y, reduction="batchmean"),
          (("logprob", (3, 4)), ("prob", (3, 4)))),
    FCase("kl_div_log_target", lambda F, T, x, y: F.kl_div(x, y, reduction="sum",
                                                          log_target=True),
          (("logprob", (3, 4)), ("logprob", (3, 4)))),
    FCase("kl_div_zero_target", lambda F, T, x, y: F.kl_div(x, y * (y > 0.2), reduction="none"),
          (("logprob", (3, 4)), ("prob", (3, 4)))),
    FCase("margin_ranking", lambda F, T, a, b, y: F.margin_ranking_loss(a, b, y, margin=0.2),
          (("normal", (6,)), ("normal", (6,)), ("pm1", (6,))), smooth=False),
    FCase("hinge_embedding", lambda F, T, x, y: F.hinge_embedding_loss(x, y, margin=1.5),
          ((K, (6,)), ("pm1", (6,))), smooth=False),
    FCase("cosine_embedding", lambda F, T, a, b, y: F.cosine_embedding_loss(a, b, y, margin=0.1),
          (("normal", (5, 3)), ("normal", (5, 3)), ("pm1", (5,))), smooth=False),
    FCase("soft_margin", lambda F, T, x, y: F.soft_margin_loss(x, y),
          (("normal", (4, 3)), ("pm1", (4, 3)))),
    FCase("multilabel_soft_margin", lambda F, T, x, y, w: F.multilabel_soft_margin_loss(
        x, y, weight=w), (("normal", (4, 3)), ("binary", (4, 3)), ("positive", (3,)))),
    FCase("multilabel_margin", lambda F, T, x, y: F.multilabel_margin_loss(x, y),
          (("normal", (4, 5)), ("multilabel", (4, 5))), smooth=False),
    FCase("multi_margin", lambda F, T, x, y: F.multi_margin_loss(x, y),
          (("normal", (4, 5)), ("labels:5", (4,))), smooth=False),
    FCase("multi_margin_p2_weight", lambda F, T, x, y, w: F.multi_margin_loss(
        x, y, p=2, margin=0.7, weight=w), (("normal", (4, 5)), ("labels:5", (4,)),
                                           ("const", (5,))), smooth=False),
    FCase("poisson_nll", lambda F, T, x, y: F.poisson_nll_loss(x, y),
          (("normal", (4, 3)), ("positive", (4, 3)))),
    FCase("poisson_nll_full", lambda F, T, x, y: F.poisson_nll_loss(x, y * 3, log_input=False,
                                                                   full=True),
          (("positive", (4, 3)), ("positive", (4, 3)))),
    FCase("gaussian_nll", lambda F, T, x, y, v: F.gaussian_nll_loss(x, y, v),
          (("normal", (4, 3)), ("normal", (4, 3)), ("positive", (4, 3)))),
    FCase("gaussian_nll_full_shared", lambda F, T, x, y, v: F.gaussian_nll_loss(
        x, y, v, full=True, reduction="sum"),
          (("normal", (4, 3)), ("normal", (4, 3)), ("positive", (4, 1)))),
    FCase("triplet_distance", lambda F, T, a, p, n: F.triplet_margin_with_distance_loss(
        a, p, n, margin=2.0), (("normal", (4, 3)), ("normal", (4, 3)), ("normal", (4, 3))),
          smooth=False),
    FCase("triplet_cosine_swap", lambda F, T, a, p, n: F.triplet_margin_with_distance_loss(
        a, p, n, distance_function=lambda u, v: 1 - F.cosine_similarity(u, v), swap=True,
        margin=1.5), (("normal", (4, 3)), ("normal", (4, 3)), ("normal", (4, 3))), smooth=False),
    FCase("ctc", _ctc, (("normal", (6, 2, 4)), ("labels:1-4", (2, 3)))),
    FCase("ctc_concat_mean", _ctc_concat, (("normal", (6, 2, 4)), ("labels:1-4", (2, 3)))),
    # ---------------------------------------------------------------------- others
    FCase("bilinear", lambda F, T, a, b, w, c: F.bilinear(a, b, w, c),
          (("normal", (4, 2)), ("normal", (4, 3)), ("normal", (5, 2, 3)), ("normal", (5,)))),
    FCase("embedding_bag_mean", lambda F, T, w, i: F.embedding_bag(i, w),
          (("normal", (6, 3)), ("labels:6", (4, 2)))),
    FCase("embedding_bag_sum_offsets", lambda F, T, w, i: F.embedding_bag(
        i.reshape(-1), w, T.tensor([0, 3, 3, 5], device=i.device), mode="sum"),
          (("normal", (6, 3)), ("labels:6", (4, 2)))),
    FCase("embedding_bag_max", lambda F, T, w, i: F.embedding_bag(
        i.reshape(-1), w, T.tensor([0, 2, 5], device=i.device), mode="max"),
          (("normal", (6, 3)), ("labels:6", (8,))), smooth=False),
    FCase("embedding_bag_weights", lambda F, T, w, i, p: F.embedding_bag(
        i, w, mode="sum", per_sample_weights=p),
          (("normal", (6, 3)), ("labels:6", (3, 2)), ("normal", (3, 2)))),
    FCase("local_response_norm", lambda F, T, x: F.local_response_norm(x, 3, alpha=0.1),
          (("normal", (2, 5, 3)),)),
    FCase("local_response_norm_4d", lambda F, T, x: F.local_response_norm(x, 2, k=2.0),
          (("normal", (2, 4, 2, 3)),)),
    FCase("rms_norm", lambda F, T, x, w: F.rms_norm(x, (4,), w), (("normal", (3, 4)),
                                                                  ("normal", (4,)))),
    FCase("rms_norm_eps", lambda F, T, x: F.rms_norm(x, (2, 3), eps=1e-3),
          (("normal", (2, 2, 3)),)),
    FCase("pdist", lambda F, T, x: F.pdist(x), (("normal", (4, 3)),)),
    FCase("pdist_p1", lambda F, T, x: F.pdist(x, 1.0), (("normal", (4, 3)),), smooth=False),
    FCase("channel_shuffle", lambda F, T, x: F.channel_shuffle(x, 2), (("normal", (2, 4, 3)),)),
    FCase("one_hot", lambda F, T, i: F.one_hot(i, 5), (("labels:5", (2, 3)),)),
    FCase("affine_grid", lambda F, T, t: F.affine_grid(t, [2, 1, 3, 4], align_corners=False),
          (("normal", (2, 2, 3)),)),
    FCase("affine_grid_align", lambda F, T, t: F.affine_grid(t, [1, 3, 2, 5], align_corners=True),
          (("normal", (1, 2, 3)),)),
    FCase("grid_sample", lambda F, T, x, g: F.grid_sample(x, g, align_corners=False),
          (("normal", (2, 2, 4, 5)), ("grid", (2, 3, 3, 2)))),
    FCase("grid_sample_border_align", lambda F, T, x, g: F.grid_sample(
        x, g, padding_mode="border", align_corners=True),
          (("normal", (1, 2, 4, 5)), ("grid", (1, 3, 3, 2)))),
    FCase("grid_sample_reflection", lambda F, T, x, g: F.grid_sample(
        x, g * 1.5, padding_mode="reflection", align_corners=False),
          (("normal", (1, 2, 4, 5)), ("grid", (1, 3, 3, 2)))),
    FCase("grid_sample_nearest", lambda F, T, x, g: F.grid_sample(
        x, g, mode="nearest", align_corners=False),
          (("normal", (1, 2, 4, 5)), ("grid", (1, 3, 3, 2)))),
]
# fmt: on
