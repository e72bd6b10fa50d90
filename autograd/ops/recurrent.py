"""Recurrent cells as fused ops: one graph node per time step, with a fused backward.

A layer computes the input projection of every time step at once (one GEMM), splits it into
steps with ``UnbindSteps`` (one node), runs one step op per time step, and joins the outputs
with ``StackSteps`` (one node). A step op does the step's hidden GEMM and all its gate math:

- ``RNNStep``: h' = act(gx + h W_hh^T + b_hh), act tanh or relu
- ``LSTMStep``: gates (i, f, g, o) = gx + h W_hh^T + b_hh; c' = f c + i g; h' = o tanh(c'),
  then h' W_hr^T when there is a projection (``proj_size``)
- ``GRUStep``: gates (r, z, n), with b_hn inside the reset product:
  n = tanh(gx_n + r (h W_hn^T + b_hn)), h' = (1 - z) n + z h

``gx`` is the step's slice of the input projection (it carries b_ih, and b_hh too where the math
allows folding it in). ``w_hh_t`` is W_hh transposed once per layer: a non-leaf, so the per-step
weight gradients are summed into one buffer as they arrive (memory independent of T). An optional
boolean ``mask`` (batch, 1) freezes the state of the sequences that have ended (packed batches).

The math of each cell is written once (``_lstm_forward``, ``_lstm_backward``, ...) against a tiny
namespace of array operations. Backward runs it on the saved arrays when no graph of the gradient
is wanted (the fast path: no nodes), and on Tensors recomputed from the saved inputs under
``create_graph`` (so second derivatives come out of ordinary differentiable ops). Both paths run
the same lines of code, and a test compares them.
"""

from __future__ import annotations

from typing import Any

from ..function import Function
from ..grad_mode import _state
from ..tensor import Tensor


# ------------------------------------------------------------------ the two namespaces
class _ArrayMath:
    """Backend arrays (the fast path)."""

    def __init__(self, xp: Any) -> None:
        self.xp = xp

    def sigmoid(self, a: Any) -> Any:
        # 0.5 (1 + tanh(a / 2)): exact sigmoid, no overflow, one transcendental pass.
        return 0.5 * (self.xp.tanh(a * 0.5) + 1.0)

    def tanh(self, a: Any) -> Any:
        return self.xp.tanh(a)

    def relu(self, a: Any) -> Any:
        return self.xp.maximum(a, 0)

    def cat(self, parts: list) -> Any:
        return self.xp.concatenate(parts, axis=1)

    def where(self, mask: Any, a: Any, b: Any) -> Any:
        return self.xp.where(mask, a, b)


class _TensorMath:
    """Tensors (under create_graph: every line is a differentiable op)."""

    @staticmethod
    def sigmoid(a: Tensor) -> Tensor:
        return a.sigmoid()

    @staticmethod
    def tanh(a: Tensor) -> Tensor:
        return a.tanh()

    @staticmethod
    def relu(a: Tensor) -> Tensor:
        return a.relu()

    @staticmethod
    def cat(parts: list) -> Tensor:
        from .shape import cat

        return cat(parts, 1)

    @staticmethod
    def where(mask: Any, a: Tensor, b: Tensor) -> Tensor:
        from .elementwise import where

        return where(mask, a, b)


def _hidden(h: Any, w_hh_t: Any, b_hh: Any) -> Any:
    gh = h @ w_hh_t
    return gh if b_hh is None else gh + b_hh


def _split_mask(grad: Any, mask: Any) -> tuple:
    """(the part of ``grad`` that reaches the new state, the part that passes the step by)."""
    if mask is None:
        return grad, None
    into_step = grad * mask
    return into_step, grad - into_step


def _bias_grad(grad_gates: Any) -> Any:
    return grad_gates.sum(0)


# --------------------------------------------------------------------------- the math
def _rnn_forward(m: Any, gx: Any, h: Any, w_hh_t: Any, b_hh: Any, mask: Any, relu: bool) -> tuple:
    pre = gx + _hidden(h, w_hh_t, b_hh)
    h_new = m.relu(pre) if relu else m.tanh(pre)
    out = h_new if mask is None else m.where(mask, h_new, h)
    return out, h_new


def _rnn_backward(h_new: Any, h: Any, w_hh_t: Any, mask: Any, relu: bool, grad_h: Any) -> tuple:
    grad_step, grad_pass = _split_mask(grad_h, mask)
    if relu:
        grad_pre = grad_step * (h_new > 0)
    else:
        grad_pre = grad_step * (1 - h_new * h_new)
    grad_h_prev = grad_pre @ w_hh_t.T
    if grad_pass is not None:
        grad_h_prev = grad_h_prev + grad_pass
    return grad_pre, grad_h_prev, h.T @ grad_pre, _bias_grad(grad_pre)


def _lstm_forward(
    m: Any, gx: Any, h: Any, c: Any, w_hh_t: Any, b_hh: Any, w_hr_t: Any, mask: Any
) -> tuple:
    hidden = c.shape[1]
    gates = gx + _hidden(h, w_hh_t, b_hh)
    i = m.sigmoid(gates[:, :hidden])
    f = m.sigmoid(gates[:, hidden : 2 * hidden])
    g = m.tanh(gates[:, 2 * hidden : 3 * hidden])
    o = m.sigmoid(gates[:, 3 * hidden :])
    c_new = f * c + i * g
    tanh_c = m.tanh(c_new)
    h_cell = o * tanh_c
    h_new = h_cell if w_hr_t is None else h_cell @ w_hr_t
    if mask is not None:
        h_new = m.where(mask, h_new, h)
        c_new = m.where(mask, c_new, c)
    return h_new, c_new, (i, f, g, o, tanh_c, h_cell)


def _lstm_backward(
    m: Any, acts: tuple, h: Any, c: Any, w_hh_t: Any, w_hr_t: Any, mask: Any, grads: tuple
) -> tuple:
    i, f, g, o, tanh_c, h_cell = acts
    grad_h, grad_c = grads
    grad_h_step, grad_h_pass = _split_mask(grad_h, mask)
    grad_c_step, grad_c_pass = _split_mask(grad_c, mask)
    grad_w_hr_t = None
    if w_hr_t is None:
        grad_cell = grad_h_step
    else:
        grad_cell = grad_h_step @ w_hr_t.T
        grad_w_hr_t = h_cell.T @ grad_h_step
    grad_o = grad_cell * tanh_c
    grad_c_new = grad_c_step + grad_cell * o * (1 - tanh_c * tanh_c)
    grad_gates = m.cat(
        [
            grad_c_new * g * i * (1 - i),
            grad_c_new * c * f * (1 - f),
            grad_c_new * i * (1 - g * g),
            grad_o * o * (1 - o),
        ]
    )
    grad_h_prev = grad_gates @ w_hh_t.T
    grad_c_prev = grad_c_new * f
    if mask is not None:
        grad_h_prev = grad_h_prev + grad_h_pass
        grad_c_prev = grad_c_prev + grad_c_pass
    grad_w = h.T @ grad_gates
    return grad_gates, grad_h_prev, grad_c_prev, grad_w, _bias_grad(grad_gates), grad_w_hr_t


def _gru_forward(m: Any, gx: Any, h: Any, w_hh_t: Any, b_hh: Any, mask: Any) -> tuple:
    hidden = h.shape[1]
    gh = _hidden(h, w_hh_t, b_hh)
    r = m.sigmoid(gx[:, :hidden] + gh[:, :hidden])
    z = m.sigmoid(gx[:, hidden : 2 * hidden] + gh[:, hidden : 2 * hidden])
    gh_n = gh[:, 2 * hidden :]
    n = m.tanh(gx[:, 2 * hidden :] + r * gh_n)
    h_new = n + z * (h - n)  # = (1 - z) n + z h, as PyTorch computes it
    if mask is not None:
        h_new = m.where(mask, h_new, h)
    return h_new, (r, z, n, gh_n)


def _gru_backward(m: Any, acts: tuple, h: Any, w_hh_t: Any, mask: Any, grad_h: Any) -> tuple:
    r, z, n, gh_n = acts
    grad_step, grad_pass = _split_mask(grad_h, mask)
    grad_n_pre = grad_step * (1 - z) * (1 - n * n)
    grad_r_pre = grad_n_pre * gh_n * r * (1 - r)
    grad_z_pre = grad_step * (h - n) * z * (1 - z)
    grad_gx = m.cat([grad_r_pre, grad_z_pre, grad_n_pre])
    grad_gh = m.cat([grad_r_pre, grad_z_pre, grad_n_pre * r])
    grad_h_prev = grad_step * z + grad_gh @ w_hh_t.T
    if grad_pass is not None:
        grad_h_prev = grad_h_prev + grad_pass
    return grad_gx, grad_h_prev, h.T @ grad_gh, _bias_grad(grad_gh)


# ---------------------------------------------------------------------------- the ops
def _arrays(saved: tuple) -> tuple:
    return tuple(None if t is None else t.data for t in saved)


class RNNStep(Function):
    """One Elman RNN step: h' = act(gx + h @ w_hh_t + b_hh), act tanh or relu.

    Shape: gx (B, H), h (B, H), w_hh_t (H, H), b_hh (H,) or None, mask (B, 1) bool or None
    -> h' (B, H).
    """

    @staticmethod
    def forward(ctx, gx, h, w_hh_t, b_hh, mask, relu):
        ctx.relu = relu
        out, h_new = _rnn_forward(_ArrayMath(ctx.xp), gx, h, w_hh_t, b_hh, mask, relu)
        ctx.save_for_backward(gx, h, w_hh_t, b_hh, mask, h_new)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        gx, h, w_hh_t, b_hh, mask, h_new = ctx.saved_tensors
        needs = ctx.needs_input_grad[:4]
        if _state.enabled:  # create_graph: recompute the step in differentiable ops
            _, h_new = _rnn_forward(_TensorMath, gx, h, w_hh_t, b_hh, mask, ctx.relu)
            grads = _rnn_backward(h_new, h, w_hh_t, mask, ctx.relu, grad_out)
        else:
            h_new, h, w_hh_t, mask = _arrays((h_new, h, w_hh_t, mask))
            grads = _rnn_backward(h_new, h, w_hh_t, mask, ctx.relu, grad_out.data)
            grads = tuple(Tensor._make(g, ctx.backend) for g in grads)
        return tuple(g if need else None for g, need in zip(grads, needs)) + (None, None)


class LSTMStep(Function):
    """One LSTM step, gate order (i, f, g, o) as PyTorch; returns (h', c').

    Shape: gx (B, 4H), h (B, P), c (B, H), w_hh_t (P, 4H), b_hh (4H,) or None,
    w_hr_t (H, P) or None (then P = H), mask (B, 1) bool or None -> h' (B, P), c' (B, H).
    """

    @staticmethod
    def forward(ctx, gx, h, c, w_hh_t, b_hh, w_hr_t, mask):
        h_new, c_new, acts = _lstm_forward(_ArrayMath(ctx.xp), gx, h, c, w_hh_t, b_hh, w_hr_t, mask)
        ctx.save_for_backward(gx, h, c, w_hh_t, b_hh, w_hr_t, mask, *acts)
        return h_new, c_new

    @staticmethod
    def backward(ctx, grad_h, grad_c):
        saved = ctx.saved_tensors
        gx, h, c, w_hh_t, b_hh, w_hr_t, mask = saved[:7]
        need_gx, need_h, need_c, need_w, need_b, need_wr, _ = ctx.needs_input_grad
        if _state.enabled:
            _, _, acts = _lstm_forward(_TensorMath, gx, h, c, w_hh_t, b_hh, w_hr_t, mask)
            grads = _lstm_backward(_TensorMath, acts, h, c, w_hh_t, w_hr_t, mask, (grad_h, grad_c))
        else:
            acts = _arrays(saved[7:])
            h, c, w_hh_t, w_hr_t, mask = _arrays((h, c, w_hh_t, w_hr_t, mask))
            grads = _lstm_backward(
                _ArrayMath(ctx.xp), acts, h, c, w_hh_t, w_hr_t, mask, (grad_h.data, grad_c.data)
            )
            grads = tuple(None if g is None else Tensor._make(g, ctx.backend) for g in grads)
        grad_gx, grad_h_prev, grad_c_prev, grad_w, grad_b, grad_wr = grads
        return (
            grad_gx if need_gx else None,
            grad_h_prev if need_h else None,
            grad_c_prev if need_c else None,
            grad_w if need_w else None,
            grad_b if need_b else None,
            grad_wr if need_wr else None,
            None,
        )


class GRUStep(Function):
    """One GRU step, gate order (r, z, n) as PyTorch, with b_hn inside the reset product.

    Shape: gx (B, 3H), h (B, H), w_hh_t (H, 3H), b_hh (3H,) or None, mask (B, 1) bool or None
    -> h' (B, H).
    """

    @staticmethod
    def forward(ctx, gx, h, w_hh_t, b_hh, mask):
        h_new, acts = _gru_forward(_ArrayMath(ctx.xp), gx, h, w_hh_t, b_hh, mask)
        ctx.save_for_backward(gx, h, w_hh_t, b_hh, mask, *acts)
        return h_new

    @staticmethod
    def backward(ctx, grad_out):
        saved = ctx.saved_tensors
        gx, h, w_hh_t, b_hh, mask = saved[:5]
        needs = ctx.needs_input_grad[:4]
        if _state.enabled:
            _, acts = _gru_forward(_TensorMath, gx, h, w_hh_t, b_hh, mask)
            grads = _gru_backward(_TensorMath, acts, h, w_hh_t, mask, grad_out)
        else:
            acts = _arrays(saved[5:])
            h, w_hh_t, mask = _arrays((h, w_hh_t, mask))
            grads = _gru_backward(_ArrayMath(ctx.xp), acts, h, w_hh_t, mask, grad_out.data)
            grads = tuple(Tensor._make(g, ctx.backend) for g in grads)
        return tuple(g if need else None for g, need in zip(grads, needs)) + (None,)


class UnbindSteps(Function):
    """A (T, ...) tensor as T tensors (views) of shape (...), one node; backward stacks."""

    @staticmethod
    def forward(ctx, a):
        return tuple(a[t] for t in range(a.shape[0]))

    @staticmethod
    def backward(ctx, *grad_outs):
        return StackSteps.apply(*grad_outs)


class StackSteps(Function):
    """T equally shaped tensors stacked along a new first dimension, one node."""

    @staticmethod
    def forward(ctx, *arrays):
        return ctx.xp.stack(arrays, axis=0)

    @staticmethod
    def backward(ctx, grad_out):
        grads = UnbindSteps.apply(grad_out)
        return grads if isinstance(grads, tuple) else (grads,)


# ------------------------------------------------------------------------ the layer loop
def run_direction(
    mode: str,
    gx: Tensor,
    h0: Tensor,
    c0: Tensor | None,
    w_hh: Tensor,
    b_hh: Tensor | None,
    w_hr: Tensor | None,
    masks: list | None,
    reverse: bool,
) -> tuple:
    """Run one layer in one direction over the precomputed input projection ``gx`` (T, B, G).

    ``mode`` is ``"RNN_TANH"``, ``"RNN_RELU"``, ``"LSTM"`` or ``"GRU"``; ``b_hh`` is None when it
    was folded into ``gx``. Returns (output (T, B, H_out), h_n, c_n or None).
    """
    steps = UnbindSteps.apply(gx)
    if not isinstance(steps, tuple):
        steps = (steps,)
    w_hh_t = w_hh.mT  # once per layer: its gradient is summed as the steps send theirs
    w_hr_t = None if w_hr is None else w_hr.mT
    h, c = h0, c0
    outputs = [None] * len(steps)
    order = range(len(steps) - 1, -1, -1) if reverse else range(len(steps))
    for t in order:
        mask = None if masks is None else masks[t]
        if mode == "LSTM":
            h, c = LSTMStep.apply(steps[t], h, c, w_hh_t, b_hh, w_hr_t, mask)
        elif mode == "GRU":
            h = GRUStep.apply(steps[t], h, w_hh_t, b_hh, mask)
        else:
            h = RNNStep.apply(steps[t], h, w_hh_t, b_hh, mask, mode == "RNN_RELU")
        outputs[t] = h
    return StackSteps.apply(*outputs), h, c
