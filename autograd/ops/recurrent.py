"""Recurrent layers and cells as fused ops: one node per layer direction, or one per step.

A layer computes the input projection of every time step at once (one GEMM). Then:

- **Whole-sequence ops** (``RNNSequence``, ``LSTMSequence``, ``GRUSequence``), the path of
  ``nn.RNN``/``nn.LSTM``/``nn.GRU`` without a projection or packing: one node runs all the
  steps, writing gates and states into buffers of the whole sequence, and its backward runs
  backpropagation through time on those buffers, with the hidden weight's gradient as one GEMM
  over all steps: no more passes over the data than the hand NumPy step
  (``benchmarks/numpy_lstm.py``). Under ``create_graph`` backward falls back to the step math
  below, on Tensors.
- **Step ops** (``RNNStep``, ``LSTMStep``, ``GRUStep``), for the cells, ``proj_size`` and packed
  batches: the projection split into steps with ``UnbindSteps`` (one node), one step op per
  time step, the outputs joined with ``StackSteps`` (one node). A step op does the step's hidden
  GEMM and all its gate math:

- ``RNNStep``: h' = act(gx + h W_hh^T + b_hh), act tanh or relu
- ``LSTMStep``: gates (i, f, g, o) = gx + h W_hh^T + b_hh; c' = f c + i g; h' = o tanh(c'),
  then h' W_hr^T when there is a projection (``proj_size``)
- ``GRUStep``: gates (r, z, n), with b_hn inside the reset product:
  n = tanh(gx_n + r (h W_hn^T + b_hn)), h' = (1 - z) n + z h

``gx`` is the step's slice of the input projection (it carries b_ih, and b_hh too where the math
allows folding it in). ``w_hh_t`` is W_hh transposed once per layer. The steps of a layer leave
their share of the hidden weight's gradient with a ``SequenceWeightGrad``, and the layer's first
step makes it in one GEMM. An optional boolean ``mask`` (batch, 1) freezes the state of the
sequences that have ended (packed batches).

The math of each cell is written once (``_lstm_forward``, ``_lstm_backward``, ...) against a tiny
namespace of array operations. Backward runs it on the saved arrays when no graph of the gradient
is wanted (the fast path: no nodes), and on Tensors recomputed from the saved inputs under
``create_graph`` (so second derivatives come out of ordinary differentiable ops). Both paths run
the same lines of code, and a test compares them; the whole-sequence ops' composite backward
(``_sequence_composite``) runs these lines too, and tests compare it with their array backward
and with the step ops.
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
        # 0.5 (1 + tanh(a / 2)): exact sigmoid, no overflow, one transcendental pass; the
        # passes after the first write into the one new array.
        out = a * 0.5
        self.xp.tanh(out, out=out)
        out += 1.0
        out *= 0.5
        return out

    @staticmethod
    def add_to(fresh: Any, other: Any) -> Any:
        """``fresh + other``, written into ``fresh`` (an array nobody else holds)."""
        fresh += other
        return fresh

    def tanh(self, a: Any) -> Any:
        return self.xp.tanh(a)

    def relu(self, a: Any) -> Any:
        return self.xp.maximum(a, 0)

    def cat(self, parts: list, axis: int = 1) -> Any:
        return parts[0] if len(parts) == 1 else self.xp.concatenate(parts, axis=axis)

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
    def add_to(fresh: Tensor, other: Tensor) -> Tensor:
        return fresh + other

    @staticmethod
    def relu(a: Tensor) -> Tensor:
        return a.relu()

    @staticmethod
    def cat(parts: list, axis: int = 1) -> Tensor:
        from .shape import cat

        return cat(parts, axis)

    @staticmethod
    def where(mask: Any, a: Tensor, b: Tensor) -> Tensor:
        from .elementwise import where

        return where(mask, a, b)


def _hidden(m: Any, h: Any, w_hh_t: Any, b_hh: Any) -> Any:
    gh = h @ w_hh_t
    return gh if b_hh is None else m.add_to(gh, b_hh)


def _split_mask(grad: Any, mask: Any) -> tuple:
    """(the part of ``grad`` that reaches the new state, the part that passes the step by)."""
    if mask is None:
        return grad, None
    into_step = grad * mask
    return into_step, grad - into_step


def _weight_grads(m: Any, h: Any, grad_gh: Any, sequence: Any, step: int) -> tuple:
    """(grad of w_hh_t, grad of b_hh) from this step's h and hidden-gate gradient ``grad_gh``.

    Alone, one step gives ``h^T grad_gh``. Inside a layer (``sequence`` set), the later steps
    leave theirs with ``sequence`` and the layer's first step makes one GEMM of them all:
    sum_t h_t^T g_t = [h_0; h_1; ...]^T [g_0; g_1; ...], instead of T small GEMMs and T sums.
    """
    if sequence is None:
        return h.T @ grad_gh, grad_gh.sum(0)
    if step > 0:
        sequence.add(step, h, grad_gh)
        return None, None
    hs, grads = sequence.take(h, grad_gh)
    grad_gh = m.cat(grads, 0)
    return m.cat(hs, 0).T @ grad_gh, grad_gh.sum(0)


# --------------------------------------------------------------------------- the math
def _rnn_forward(m: Any, gx: Any, h: Any, w_hh_t: Any, b_hh: Any, mask: Any, relu: bool) -> tuple:
    pre = m.add_to(_hidden(m, h, w_hh_t, b_hh), gx)
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
    return grad_pre, grad_h_prev, grad_pre


def _lstm_forward(
    m: Any, gx: Any, h: Any, c: Any, w_hh_t: Any, b_hh: Any, w_hr_t: Any, mask: Any
) -> tuple:
    hidden = c.shape[1]
    gates = m.add_to(_hidden(m, h, w_hh_t, b_hh), gx)
    input_forget = m.sigmoid(gates[:, : 2 * hidden])
    i = input_forget[:, :hidden]
    f = input_forget[:, hidden:]
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
    return grad_gates, grad_h_prev, grad_c_prev, grad_gates, grad_w_hr_t


def _gru_forward(m: Any, gx: Any, h: Any, w_hh_t: Any, b_hh: Any, mask: Any) -> tuple:
    hidden = h.shape[1]
    gh = _hidden(m, h, w_hh_t, b_hh)
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
    return grad_gx, grad_h_prev, grad_gh


# ---------------------------------------------------------------------------- the ops
def _arrays(saved: tuple) -> tuple:
    return tuple(None if t is None else t.data for t in saved)


class SequenceWeightGrad:
    """Where the steps of one layer and direction leave (h, hidden-gate gradient) for the
    hidden weight's gradient, which their first step (step 0) makes in one GEMM.

    Backward visits a layer's steps last to first, once each, so within one backward the step
    numbers only decrease; a step number that does not means a new backward began after an
    interrupted one, and what the old one left is dropped.
    """

    __slots__ = ("_steps", "_hs", "_grads")

    def __init__(self) -> None:
        self._steps, self._hs, self._grads = [], [], []

    def add(self, step: int, h: Any, grad: Any) -> None:
        if self._steps and self._steps[-1] <= step:
            self.__init__()
        self._steps.append(step)
        self._hs.append(h)
        self._grads.append(grad)

    def take(self, h: Any, grad: Any) -> tuple:
        hs, grads = [h, *self._hs[::-1]], [grad, *self._grads[::-1]]
        self.__init__()
        return hs, grads


class RNNStep(Function):
    """One Elman RNN step: h' = act(gx + h @ w_hh_t + b_hh), act tanh or relu.

    Shape: gx (B, H), h (B, H), w_hh_t (H, H), b_hh (H,) or None, mask (B, 1) bool or None
    -> h' (B, H). ``sequence``/``step``: see ``SequenceWeightGrad`` (None alone).
    """

    @staticmethod
    def forward(ctx, gx, h, w_hh_t, b_hh, mask, relu, sequence=None, step=0):
        ctx.relu, ctx.sequence, ctx.step = relu, sequence, step
        out, h_new = _rnn_forward(_ArrayMath(ctx.xp), gx, h, w_hh_t, b_hh, mask, relu)
        ctx.save_for_backward(gx, h, w_hh_t, b_hh, mask, h_new)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        gx, h, w_hh_t, b_hh, mask, h_new = ctx.saved_tensors
        if _state.enabled:  # create_graph: recompute the step in differentiable ops
            m = _TensorMath
            _, h_new = _rnn_forward(m, gx, h, w_hh_t, b_hh, mask, ctx.relu)
            grads = _rnn_backward(h_new, h, w_hh_t, mask, ctx.relu, grad_out)
        else:
            m = _ArrayMath(ctx.xp)
            h_new, h, w_hh_t, mask = _arrays((h_new, h, w_hh_t, mask))
            grads = _rnn_backward(h_new, h, w_hh_t, mask, ctx.relu, grad_out.data)
        grad_gx, grad_h_prev, grad_gh = grads
        grad_w, grad_b = _weight_grads(m, h, grad_gh, ctx.sequence, ctx.step)
        return _finish(ctx, (grad_gx, grad_h_prev, grad_w, grad_b), 4)


class LSTMStep(Function):
    """One LSTM step, gate order (i, f, g, o) as PyTorch; returns (h', c').

    Shape: gx (B, 4H), h (B, P), c (B, H), w_hh_t (P, 4H), b_hh (4H,) or None,
    w_hr_t (H, P) or None (then P = H), mask (B, 1) bool or None -> h' (B, P), c' (B, H).
    """

    @staticmethod
    def forward(ctx, gx, h, c, w_hh_t, b_hh, w_hr_t, mask, sequence=None, step=0):
        ctx.sequence, ctx.step = sequence, step
        h_new, c_new, acts = _lstm_forward(_ArrayMath(ctx.xp), gx, h, c, w_hh_t, b_hh, w_hr_t, mask)
        ctx.save_for_backward(gx, h, c, w_hh_t, b_hh, w_hr_t, mask, *acts)
        return h_new, c_new

    @staticmethod
    def backward(ctx, grad_h, grad_c):
        saved = ctx.saved_tensors
        gx, h, c, w_hh_t, b_hh, w_hr_t, mask = saved[:7]
        if _state.enabled:
            m = _TensorMath
            _, _, acts = _lstm_forward(m, gx, h, c, w_hh_t, b_hh, w_hr_t, mask)
            grads = _lstm_backward(m, acts, h, c, w_hh_t, w_hr_t, mask, (grad_h, grad_c))
        else:
            m = _ArrayMath(ctx.xp)
            acts = _arrays(saved[7:])
            h, c, w_hh_t, w_hr_t, mask = _arrays((h, c, w_hh_t, w_hr_t, mask))
            grads = _lstm_backward(m, acts, h, c, w_hh_t, w_hr_t, mask, (grad_h.data, grad_c.data))
        grad_gx, grad_h_prev, grad_c_prev, grad_gh, grad_wr = grads
        grad_w, grad_b = _weight_grads(m, h, grad_gh, ctx.sequence, ctx.step)
        return _finish(ctx, (grad_gx, grad_h_prev, grad_c_prev, grad_w, grad_b, grad_wr), 7)


class GRUStep(Function):
    """One GRU step, gate order (r, z, n) as PyTorch, with b_hn inside the reset product.

    Shape: gx (B, 3H), h (B, H), w_hh_t (H, 3H), b_hh (3H,) or None, mask (B, 1) bool or None
    -> h' (B, H).
    """

    @staticmethod
    def forward(ctx, gx, h, w_hh_t, b_hh, mask, sequence=None, step=0):
        ctx.sequence, ctx.step = sequence, step
        h_new, acts = _gru_forward(_ArrayMath(ctx.xp), gx, h, w_hh_t, b_hh, mask)
        ctx.save_for_backward(gx, h, w_hh_t, b_hh, mask, *acts)
        return h_new

    @staticmethod
    def backward(ctx, grad_out):
        saved = ctx.saved_tensors
        gx, h, w_hh_t, b_hh, mask = saved[:5]
        if _state.enabled:
            m = _TensorMath
            _, acts = _gru_forward(m, gx, h, w_hh_t, b_hh, mask)
            grads = _gru_backward(m, acts, h, w_hh_t, mask, grad_out)
        else:
            m = _ArrayMath(ctx.xp)
            acts = _arrays(saved[5:])
            h, w_hh_t, mask = _arrays((h, w_hh_t, mask))
            grads = _gru_backward(m, acts, h, w_hh_t, mask, grad_out.data)
        grad_gx, grad_h_prev, grad_gh = grads
        grad_w, grad_b = _weight_grads(m, h, grad_gh, ctx.sequence, ctx.step)
        return _finish(ctx, (grad_gx, grad_h_prev, grad_w, grad_b), 5)


def _finish(ctx: Function, grads: tuple, n_args: int) -> tuple:
    """One gradient per forward argument: None where not needed; arrays become Tensors."""
    out = []
    for g, need in zip(grads, ctx.needs_input_grad):
        if not need or g is None:
            out.append(None)
        elif isinstance(g, Tensor):
            out.append(g)
        else:
            out.append(Tensor._make(g, ctx.backend))
    return tuple(out) + (None,) * (len(ctx.needs_input_grad) - len(out))


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


# ------------------------------------------------------------------ whole-sequence ops
def _sigmoid_(xp: Any, a: Any) -> None:
    """a = sigmoid(a) in place, as 0.5 (tanh(a / 2) + 1) (see ``_ArrayMath.sigmoid``)."""
    a *= 0.5
    xp.tanh(a, out=a)
    a += 1.0
    a *= 0.5


def _contiguous(xp: Any, a: Any) -> Any:
    """``a`` in C order (a copy only if it is not): the per-step GEMMs with a (B, K) left side
    run about 10% faster with a C-ordered right side than with a transposed view."""
    return xp.ascontiguousarray(a)


def _state_buffer(xp: Any, first: Any, steps: int) -> Any:
    """A (steps + 1, B, H) buffer of a state over the sequence, with ``first`` at [0]."""
    buf = xp.empty((steps + 1, *first.shape), first.dtype)
    buf[0] = first
    return buf


class _SequenceOp(Function):
    """One layer and direction over a whole sequence as one node: the fast path of
    ``run_direction`` (no projection, no mask).

    The steps write into buffers of the whole sequence (gates and states of every step), so no
    step leaves a node, backward runs the steps' gate math on those buffers (the factors of the
    gate gradients computed for all steps at once, in place), and the hidden weight's gradient
    is one GEMM over all steps after the loop: dW_hh = [g_0; ...]^T [h_0; ...], its bias one
    sum. Under ``create_graph``, backward recomputes the steps in differentiable ops with the
    step ops' math (``_sequence_composite``), so second derivatives come out of ordinary ops.

    Forward arguments (one signature for the three): gx (T, B, G) the input projection (it
    carries b_ih, and b_hh where folded), h0 (B, H), c0 (B, H) or None, w_hh (G, H),
    b_hh (G,) or None, ``reverse`` (run the steps last to first). Outputs: output (T, B, H),
    h_n (B, H) and, for the LSTM, c_n (B, H); h_n and c_n are copies, not views of the output.
    """

    mode = ""

    @staticmethod
    def backward(ctx, grad_out, grad_h, grad_c=None):
        saved = ctx.saved_tensors  # (checks that the output was not changed in place)
        if _state.enabled:
            return _sequence_composite(ctx, saved[:5], grad_out, grad_h, grad_c)
        grads = _sequence_backward(
            type(ctx),
            _ArrayMath(ctx.xp),
            getattr(ctx, "relu", False),
            ctx.reverse,
            (ctx.needs_input_grad[3], saved[4] is not None and ctx.needs_input_grad[4]),
            _arrays(saved[6:]),
            grad_out.data,
            grad_h.data,
            None if grad_c is None else grad_c.data,
        )
        return _finish(ctx, grads, 5)


def _sequence_backward(
    op: type, m: _ArrayMath, relu: bool, reverse: bool, need: tuple, arrays: tuple, grad_out: Any,
    grad_h: Any, grad_c: Any,
) -> tuple:  # fmt: skip
    """A sequence op's backward on arrays: (grad_gx, grad_h0, grad_c0, grad_w_hh, grad_b_hh).

    A function of arrays and values, outside the op, so that ``A.compile`` records it as one
    call (``autograd.replay._PURE_CALLS``); ``m`` carries the array module (a module itself
    would look like an array to the recorder). ``arrays`` is (a C-ordered copy of W_hh that
    forward saved: an array the recorder knows, unlike the parameter's, the op's saved
    buffers ...); ``need`` says whether the weight's and the bias's gradients are wanted.
    """
    xp = m.xp
    w_hh, buffers = arrays[0], arrays[1:]
    grad_seq = grad_out[::-1] if reverse else grad_out
    grads = op._backward_arrays(xp, relu, w_hh, buffers, grad_seq, grad_h, grad_c)
    grad_gx, grad_h0, grad_c0, grad_gh, hs = grads
    flat = grad_gh.reshape(-1, grad_gh.shape[2])
    grad_w = flat.T @ hs[:-1].reshape(flat.shape[0], -1) if need[0] else None
    grad_b = flat.sum(0) if need[1] else None
    grad_gx = grad_gx[::-1] if reverse else grad_gx
    return grad_gx, grad_h0, grad_c0, grad_w, grad_b


class RNNSequence(_SequenceOp):
    """Elman RNN (tanh or relu) over a sequence; see ``_SequenceOp``. Extra argument ``relu``."""

    mode = "RNN"

    @staticmethod
    def forward(ctx, gx, h0, c0, w_hh, b_hh, reverse, relu=False):
        xp = ctx.xp
        ctx.reverse, ctx.relu = reverse, relu
        seq = gx[::-1] if reverse else gx
        hs = _state_buffer(xp, h0, gx.shape[0])
        w_hh_t = _contiguous(ctx.xp, w_hh.T)
        for k in range(gx.shape[0]):
            h = hs[k + 1]
            xp.matmul(hs[k], w_hh_t, out=h)
            h += seq[k]
            if b_hh is not None:
                h += b_hh
            if relu:
                xp.maximum(h, 0, out=h)
            else:
                xp.tanh(h, out=h)
        out = hs[:0:-1] if reverse else hs[1:]
        ctx.save_for_backward(gx, h0, c0, w_hh, b_hh, out, w_hh.copy(), hs)
        return out, hs[-1].copy()

    @staticmethod
    def _backward_arrays(xp, relu, w_hh, buffers, grad_seq, grad_h, grad_c):
        (hs,) = buffers
        if relu:
            factor = (hs[1:] > 0).astype(hs.dtype)
        else:
            factor = hs[1:] * hs[1:]
            xp.subtract(1.0, factor, out=factor)
        grad_pre = xp.empty_like(factor)
        gh = grad_h.copy()
        for k in range(factor.shape[0] - 1, -1, -1):
            gh += grad_seq[k]
            xp.multiply(gh, factor[k], out=grad_pre[k])
            xp.matmul(grad_pre[k], w_hh, out=gh)
        return grad_pre, gh, None, grad_pre, hs


class LSTMSequence(_SequenceOp):
    """LSTM over a sequence, gate order (i, f, g, o) as PyTorch; see ``_SequenceOp``."""

    mode = "LSTM"

    @staticmethod
    def forward(ctx, gx, h0, c0, w_hh, b_hh, reverse):
        xp = ctx.xp
        steps, batch, gates = gx.shape
        hid = gates // 4
        ctx.reverse = reverse
        seq = gx[::-1] if reverse else gx
        # acts[k]: the gates (i, f, g, o) after their nonlinearities at the k-th step taken;
        # hs[k], cs[k]: the state before it (hs[0] = h0), so hs[1:] are the outputs.
        acts = xp.empty((steps, batch, gates), gx.dtype)
        hs, cs = _state_buffer(xp, h0, steps), _state_buffer(xp, c0, steps)
        tanh_cs = xp.empty((steps, batch, hid), gx.dtype)
        ig = xp.empty((batch, hid), gx.dtype)
        w_hh_t = _contiguous(ctx.xp, w_hh.T)
        # All four nonlinearities in three passes over the gates: sigmoid(a) = 0.5 tanh(a / 2)
        # + 0.5 on i, f, o, and tanh(a) = 1 tanh(a / 1) + 0 on g (the same rounding as
        # ``_sigmoid_``: halving is exact).
        scale = xp.full(gates, 0.5, gx.dtype)
        scale[2 * hid : 3 * hid] = 1.0
        shift = scale.copy()
        shift[2 * hid : 3 * hid] = 0.0
        for k in range(steps):
            a = acts[k]
            xp.matmul(hs[k], w_hh_t, out=a)
            a += seq[k]
            if b_hh is not None:
                a += b_hh
            a *= scale
            xp.tanh(a, out=a)
            a *= scale
            a += shift
            c = cs[k + 1]
            xp.multiply(a[:, hid : 2 * hid], cs[k], out=c)
            xp.multiply(a[:, :hid], a[:, 2 * hid : 3 * hid], out=ig)
            c += ig
            xp.tanh(c, out=tanh_cs[k])
            xp.multiply(a[:, 3 * hid :], tanh_cs[k], out=hs[k + 1])
        out = hs[:0:-1] if reverse else hs[1:]
        ctx.save_for_backward(gx, h0, c0, w_hh, b_hh, out, w_hh.copy(), hs, cs, acts, tanh_cs)
        return out, hs[steps].copy(), cs[steps].copy()

    @staticmethod
    def _backward_arrays(xp, relu, w_hh, buffers, grad_seq, grad_h, grad_c):
        hs, cs, acts, tanh_cs = buffers
        steps, batch, gates = acts.shape
        hid = gates // 4
        # The factors of each gate's gradient for all steps at once, in the buffer of the gate
        # gradients (the loop multiplies them in place): i: g i (1 - i), f: c_prev f (1 - f),
        # g: i (1 - g^2) (times grad_c); o: tanh(c) o (1 - o) (times grad_h); and
        # into_c = o (1 - tanh(c)^2), grad_h's way into grad_c.
        grad_gates = 1.0 - acts
        grad_gates *= acts
        g4, a4 = grad_gates.reshape(steps, batch, 4, hid), acts.reshape(steps, batch, 4, hid)
        xp.multiply(a4[:, :, 2], a4[:, :, 2], out=g4[:, :, 2])
        xp.subtract(1.0, g4[:, :, 2], out=g4[:, :, 2])
        g4[:, :, 0] *= a4[:, :, 2]
        g4[:, :, 1] *= cs[:-1]
        g4[:, :, 2] *= a4[:, :, 0]
        g4[:, :, 3] *= tanh_cs
        into_c = tanh_cs * tanh_cs
        xp.subtract(1.0, into_c, out=into_c)
        into_c *= a4[:, :, 3]

        gh, gc = grad_h.copy(), grad_c.copy()
        tmp = xp.empty_like(gc)
        for k in range(steps - 1, -1, -1):
            gh += grad_seq[k]
            xp.multiply(gh, into_c[k], out=tmp)
            gc += tmp
            g4[k, :, :3] *= gc[:, None, :]
            g4[k, :, 3] *= gh
            xp.matmul(grad_gates[k], w_hh, out=gh)
            gc *= a4[k, :, 1]
        return grad_gates, gh, gc, grad_gates, hs


class GRUSequence(_SequenceOp):
    """GRU over a sequence, gate order (r, z, n) as PyTorch, b_hn inside the reset product;
    see ``_SequenceOp``."""

    mode = "GRU"

    @staticmethod
    def forward(ctx, gx, h0, c0, w_hh, b_hh, reverse):
        xp = ctx.xp
        steps, batch, gates = gx.shape
        hid = gates // 3
        ctx.reverse = reverse
        seq = gx[::-1] if reverse else gx
        # ghs[k]: h W_hh^T + b_hh of the k-th step taken; acts[k]: (r, z, n).
        ghs = xp.empty((steps, batch, gates), gx.dtype)
        acts = xp.empty((steps, batch, gates), gx.dtype)
        hs = _state_buffer(xp, h0, steps)
        w_hh_t = _contiguous(ctx.xp, w_hh.T)
        for k in range(steps):
            gh, a, x = ghs[k], acts[k], seq[k]
            xp.matmul(hs[k], w_hh_t, out=gh)
            if b_hh is not None:
                gh += b_hh
            rz, n = a[:, : 2 * hid], a[:, 2 * hid :]
            xp.add(x[:, : 2 * hid], gh[:, : 2 * hid], out=rz)
            _sigmoid_(xp, rz)
            xp.multiply(a[:, :hid], gh[:, 2 * hid :], out=n)
            n += x[:, 2 * hid :]
            xp.tanh(n, out=n)
            h = hs[k + 1]  # n + z (h - n) = (1 - z) n + z h, as PyTorch computes it
            xp.subtract(hs[k], n, out=h)
            h *= a[:, hid : 2 * hid]
            h += n
        out = hs[:0:-1] if reverse else hs[1:]
        ctx.save_for_backward(gx, h0, c0, w_hh, b_hh, out, w_hh.copy(), hs, ghs, acts)
        return out, hs[steps].copy()

    @staticmethod
    def _backward_arrays(xp, relu, w_hh, buffers, grad_seq, grad_h, grad_c):
        hs, ghs, acts = buffers
        steps, batch, gates = acts.shape
        hid = gates // 3
        a3, gh3 = acts.reshape(steps, batch, 3, hid), ghs.reshape(steps, batch, 3, hid)
        r, z, n = a3[:, :, 0], a3[:, :, 1], a3[:, :, 2]
        # Factors of the gate gradients (times grad_h) for all steps at once, in the buffer of
        # the hidden-side gate gradients (the loop multiplies them in place):
        # n: (1 - z) (1 - n^2); r: that times gh_n r (1 - r); z: (h - n) z (1 - z); the hidden
        # side's n gate is the input side's times r. ``fn`` becomes the input side's n gate.
        grad_gh = xp.empty_like(acts)
        gg3 = grad_gh.reshape(steps, batch, 3, hid)
        fr, fz = gg3[:, :, 0], gg3[:, :, 1]
        fn = n * n
        xp.subtract(1.0, fn, out=fn)
        xp.subtract(1.0, z, out=fz)
        fn *= fz
        fz *= z
        fz *= hs[:-1] - n
        xp.subtract(1.0, r, out=fr)
        fr *= r
        fr *= gh3[:, :, 2]
        fr *= fn
        xp.multiply(fn, r, out=gg3[:, :, 2])

        gh = grad_h.copy()
        tmp = xp.empty_like(gh)
        for k in range(steps - 1, -1, -1):
            gh += grad_seq[k]
            gg3[k] *= gh[:, None, :]
            fn[k] *= gh
            xp.matmul(grad_gh[k], w_hh, out=tmp)
            gh *= z[k]
            gh += tmp
        grad_gx = grad_gh.copy()
        grad_gx.reshape(steps, batch, 3, hid)[:, :, 2] = fn
        return grad_gx, gh, None, grad_gh, hs


_SEQUENCE_OPS = {"RNN_TANH": RNNSequence, "RNN_RELU": RNNSequence, "LSTM": LSTMSequence,
                 "GRU": GRUSequence}  # fmt: skip


def _sequence_composite(
    ctx: _SequenceOp, inputs: tuple, grad_out: Any, grad_h: Any, grad_c: Any
) -> tuple:
    """A sequence op's backward in differentiable ops (create_graph): the steps recomputed and
    differentiated with the math of the step ops (``_lstm_forward``, ``_lstm_backward``, ...)."""
    from .shape import cat, stack

    gx, h, c, w_hh, b_hh = inputs
    m, mode = _TensorMath, ctx.mode
    relu = getattr(ctx, "relu", False)
    w_hh_t = w_hh.mT
    steps = gx.shape[0]
    record = []
    for t in range(steps - 1, -1, -1) if ctx.reverse else range(steps):
        if mode == "LSTM":
            h_new, c_new, acts = _lstm_forward(m, gx[t], h, c, w_hh_t, b_hh, None, None)
        elif mode == "GRU":
            (h_new, acts), c_new = _gru_forward(m, gx[t], h, w_hh_t, b_hh, None), None
        else:
            (_, h_new), c_new = _rnn_forward(m, gx[t], h, w_hh_t, b_hh, None, relu), None
            acts = h_new
        record.append((t, h, c, acts))
        h, c = h_new, c_new
    grad_gx, grad_gh, h_prev = [None] * steps, [], []
    for t, h, c, acts in reversed(record):
        grad_h = grad_h + grad_out[t]
        if mode == "LSTM":
            grads = _lstm_backward(m, acts, h, c, w_hh_t, None, None, (grad_h, grad_c))
            grad_gx[t], grad_h, grad_c, gh = grads[:4]
        elif mode == "GRU":
            grad_gx[t], grad_h, gh = _gru_backward(m, acts, h, w_hh_t, None, grad_h)
        else:
            grad_gx[t], grad_h, gh = _rnn_backward(acts, h, w_hh_t, None, relu, grad_h)
        grad_gh.append(gh)
        h_prev.append(h)
    flat = cat(grad_gh, 0)
    grad_w = flat.mT @ cat(h_prev, 0)
    grad_b = None if b_hh is None else flat.sum(0)
    return _finish(ctx, (stack(grad_gx, 0), grad_h, grad_c, grad_w, grad_b), 5)


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
    fused: bool = True,
) -> tuple:
    """Run one layer in one direction over the precomputed input projection ``gx`` (T, B, G).

    ``mode`` is ``"RNN_TANH"``, ``"RNN_RELU"``, ``"LSTM"`` or ``"GRU"``; ``b_hh`` is None when it
    was folded into ``gx``. Returns (output (T, B, H_out), h_n, c_n or None).

    Every step sees w_hh (and b_hh), but only the first step taken sends their gradient: the
    others leave their share with a ``SequenceWeightGrad``, so the weight's gradient is one GEMM
    over all steps (under create_graph too, since the shares are then Tensors of the graph).
    """
    if fused and w_hr is None and masks is None:
        op = _SEQUENCE_OPS[mode]
        extra = (mode == "RNN_RELU",) if op is RNNSequence else ()
        out, h, *c = op.apply(gx, h0, c0, w_hh, b_hh, reverse, *extra)
        return out, h, c[0] if c else None
    steps = UnbindSteps.apply(gx)
    if not isinstance(steps, tuple):
        steps = (steps,)
    w_hh_t = w_hh.mT
    w_hr_t = None if w_hr is None else w_hr.mT
    sequence = SequenceWeightGrad()
    h, c = h0, c0
    outputs = [None] * len(steps)
    order = range(len(steps) - 1, -1, -1) if reverse else range(len(steps))
    for k, t in enumerate(order):
        mask = None if masks is None else masks[t]
        if mode == "LSTM":
            h, c = LSTMStep.apply(steps[t], h, c, w_hh_t, b_hh, w_hr_t, mask, sequence, k)
        elif mode == "GRU":
            h = GRUStep.apply(steps[t], h, w_hh_t, b_hh, mask, sequence, k)
        else:
            h = RNNStep.apply(steps[t], h, w_hh_t, b_hh, mask, mode == "RNN_RELU", sequence, k)
        outputs[t] = h
    return StackSteps.apply(*outputs), h, c
