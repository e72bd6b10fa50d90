"""Recurrent layers and cells as functions: PyTorch's argument rules around the fused step ops.

A layer and direction costs one GEMM for the input projection of all its time steps, then one
node that runs all the steps (``autograd.ops.recurrent``: hidden GEMMs and gate math into buffers
of the whole sequence), or, with ``proj_size`` or a packed batch, one node per step. Packed
batches (``nn.utils.rnn.PackedSequence``) run padded, with a per-step mask that freezes the state
of the sequences that have ended, so ``h_n`` is each sequence's own last state, as in PyTorch.
"""

from __future__ import annotations

from typing import Any

import autograd as A
from autograd import Tensor
from autograd.ops.recurrent import GRUStep, LSTMStep, RNNStep, run_direction

from ..utils.rnn import PackedSequence, _packed_to_padded, _padded_to_packed, _step_mask
from .dropout import dropout as _dropout
from .linear import linear

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _shape(t: Tensor) -> tuple:
    return tuple(t.shape)


def _check_state(name: str, label: str, state: Any, expected: tuple, dtype: Any) -> None:
    if not isinstance(state, Tensor):
        raise TypeError(f"{name}: {label} must be a Tensor, got {type(state).__name__}")
    if _shape(state) != expected:
        raise RuntimeError(
            f"{name}: expected {label} of shape {expected}, got {_shape(state)} "
            "(num_layers * num_directions, batch, hidden)"
        )
    if state.dtype != dtype:
        raise RuntimeError(f"{name}: {label} is {state.dtype} but the input is {dtype}")


def _check_input(name: str, x: Tensor, input_size: int, weight: Tensor, ranks: tuple) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: input must be a Tensor, got {type(x).__name__}")
    if x.ndim not in ranks:
        kinds = " or ".join(f"{r}-D" for r in ranks)
        raise ValueError(
            f"{name}: expected input to be {kinds} (unbatched or batched), got {x.ndim}-D input "
            f"of shape {_shape(x)}"
        )
    if x.shape[-1] != input_size:
        raise RuntimeError(
            f"{name}: input.size(-1) must be equal to input_size. Expected {input_size}, got "
            f"{x.shape[-1]} (input of shape {_shape(x)})"
        )
    if x.dtype != weight.dtype:
        raise RuntimeError(
            f"{name}: input is {x.dtype} but the weights are {weight.dtype}; convert one of "
            "them (model.to(input.dtype) or input.float())"
        )


def rnn(
    mode: str,
    input: Any,
    hx: Any,
    weights: list,
    hidden_size: int,
    num_layers: int = 1,
    dropout: float = 0.0,
    training: bool = True,
    bidirectional: bool = False,
    batch_first: bool = False,
    proj_size: int = 0,
    name: str | None = None,
) -> tuple:
    """A multi-layer RNN_TANH / RNN_RELU / LSTM / GRU over a sequence, PyTorch's semantics.

    ``weights[layer * num_directions + direction]`` is (w_ih, w_hh, b_ih, b_hh, w_hr), with
    None for what is absent. ``hx`` is h_0, or (h_0, c_0) for an LSTM, or None for zeros.

    Shape: input (T, B, I) ((B, T, I) with batch_first, (T, I) unbatched, or a PackedSequence)
    -> output (T, B, D * H_out), h_n (D * num_layers, B, H_out) (and c_n (D * num_layers, B, H)),
    where D = 2 if bidirectional else 1 and H_out = proj_size or hidden_size.
    """
    name = name or mode
    directions = 2 if bidirectional else 1
    out_size = proj_size if proj_size > 0 else hidden_size
    input_size = weights[0][0].shape[1]
    packed = isinstance(input, PackedSequence)
    unbatched = False
    masks = None
    if packed:
        batch_sizes = [int(v) for v in input.batch_sizes.tolist()]
        _check_input(name, input.data, input_size, weights[0][0], (2,))
        x = _packed_to_padded(input.data, batch_sizes, 0.0)
        full = batch_sizes[0]
        step_masks = _step_mask(x.xp, batch_sizes)[:, :, None]
        # Steps where every sequence still runs need no mask (and pay nothing for one).
        masks = [None if n == full else step_masks[t] for t, n in enumerate(batch_sizes)]
        if all(m is None for m in masks):
            masks = None
    else:
        _check_input(name, input, input_size, weights[0][0], (2, 3))
        unbatched = input.ndim == 2
        if unbatched:
            x = input.unsqueeze(1)
        else:
            x = input.transpose(0, 1) if batch_first else input
    batch = x.shape[1]
    h0, c0 = _initial_state(
        name, mode, hx, unbatched, num_layers * directions, batch, hidden_size, out_size, x
    )
    if packed and input.sorted_indices is not None:
        h0 = h0.index_select(1, input.sorted_indices)
        c0 = None if c0 is None else c0.index_select(1, input.sorted_indices)

    h_n, c_n = [], []
    layer_input = x
    for layer in range(num_layers):
        outputs = []
        for direction in range(directions):
            k = layer * directions + direction
            w_ih, w_hh, b_ih, b_hh, w_hr = weights[k]
            step_bias = None
            if mode == "GRU":
                proj_bias, step_bias = b_ih, b_hh  # b_hn stays inside the reset product
            elif b_ih is not None:
                proj_bias = b_ih + b_hh  # both are simply added: fold them into the GEMM
            else:
                proj_bias = None
            gx = linear(layer_input, w_ih, proj_bias)
            out, h, c = run_direction(
                mode,
                gx,
                h0[k],
                None if c0 is None else c0[k],
                w_hh,
                step_bias,
                w_hr,
                masks,
                reverse=direction == 1,
            )
            outputs.append(out)
            h_n.append(h)
            c_n.append(c)
        layer_input = outputs[0] if directions == 1 else A.cat(outputs, 2)
        if dropout > 0 and training and layer < num_layers - 1:
            layer_input = _dropout(layer_input, dropout, True)
    output = layer_input
    h_n = A.stack(h_n)
    c_n = A.stack(c_n) if mode == "LSTM" else None

    if packed:
        output = PackedSequence(
            _padded_to_packed(output, batch_sizes),
            input.batch_sizes,
            input.sorted_indices,
            input.unsorted_indices,
        )
        if input.unsorted_indices is not None:
            h_n = h_n.index_select(1, input.unsorted_indices)
            c_n = None if c_n is None else c_n.index_select(1, input.unsorted_indices)
    elif unbatched:
        output = output.squeeze(1)
        h_n = h_n.squeeze(1)
        c_n = None if c_n is None else c_n.squeeze(1)
    elif batch_first:
        output = output.transpose(0, 1)
    return output, ((h_n, c_n) if mode == "LSTM" else h_n)


def _initial_state(
    name: str,
    mode: str,
    hx: Any,
    unbatched: bool,
    layers: int,
    batch: int,
    hidden_size: int,
    out_size: int,
    x: Tensor,
) -> tuple:
    h_shape = (layers, batch, out_size)
    c_shape = (layers, batch, hidden_size)
    if hx is None:
        h0 = A.zeros(h_shape, dtype=x.dtype, device=x.device)
        c0 = A.zeros(c_shape, dtype=x.dtype, device=x.device) if mode == "LSTM" else None
        return h0, c0
    if mode == "LSTM":
        if not isinstance(hx, (tuple, list)) or len(hx) != 2:
            raise TypeError(f"{name}: hx must be a tuple (h_0, c_0) of Tensors, got {type(hx)}")
        h0, c0 = hx
    else:
        if not isinstance(hx, Tensor):
            raise TypeError(f"{name}: hx must be a Tensor, got {type(hx).__name__}")
        h0, c0 = hx, None
    if unbatched:
        for label, state in (("h_0", h0), ("c_0", c0)):
            if isinstance(state, Tensor) and state.ndim != 2:
                raise RuntimeError(
                    f"{name}: for unbatched 2-D input, {label} should also be 2-D but got a "
                    f"{state.ndim}-D tensor of shape {_shape(state)}"
                )
        h0 = h0.unsqueeze(1)
        c0 = None if c0 is None else c0.unsqueeze(1)
    _check_state(name, "h_0", h0, h_shape, x.dtype)
    if c0 is not None:
        _check_state(name, "c_0", c0, c_shape, x.dtype)
    return h0, c0


# ------------------------------------------------------------------------------- cells
def _cell_state(name: str, hx: Any, x: Tensor, hidden: int, label: str) -> Tensor:
    shape = (x.shape[0], hidden) if x.ndim == 2 else (hidden,)
    if hx is None:
        return A.zeros(shape, dtype=x.dtype, device=x.device)
    if not isinstance(hx, Tensor):
        raise TypeError(f"{name}: {label} must be a Tensor, got {type(hx).__name__}")
    if _shape(hx) != shape:
        raise RuntimeError(
            f"{name}: expected {label} of shape {shape} for input of shape {_shape(x)}, got "
            f"{_shape(hx)}"
        )
    if hx.dtype != x.dtype:
        raise RuntimeError(f"{name}: {label} is {hx.dtype} but the input is {x.dtype}")
    return hx


def rnn_cell(
    mode: str,
    input: Tensor,
    hx: Any,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None,
    b_hh: Tensor | None,
    name: str | None = None,
) -> Any:
    """One step of an RNN_TANH / RNN_RELU / LSTM / GRU cell (``nn.RNNCell`` etc.).

    Shape: input (B, I) or (I,); hx (B, H) or (H,) ((h, c) for an LSTM; None for zeros)
    -> h' (and c' for an LSTM) of the same shape as hx.
    """
    name = name or mode
    hidden = w_hh.shape[1]
    _check_input(name, input, w_ih.shape[1], w_ih, (1, 2))
    if mode == "LSTM":
        if hx is None:
            hx = (None, None)
        elif not isinstance(hx, (tuple, list)) or len(hx) != 2:
            raise TypeError(f"{name}: hx must be a tuple (h_0, c_0) of Tensors, got {type(hx)}")
        h = _cell_state(name, hx[0], input, hidden, "hx[0]")
        c = _cell_state(name, hx[1], input, hidden, "hx[1]")
    else:
        h = _cell_state(name, hx, input, hidden, "hx")
    unbatched = input.ndim == 1
    if unbatched:
        input = input.unsqueeze(0)
        h = h.unsqueeze(0)
        c = c.unsqueeze(0) if mode == "LSTM" else None
    gx = linear(input, w_ih, b_ih)
    w_hh_t = w_hh.mT
    if mode == "LSTM":
        h, c = LSTMStep.apply(gx, h, c, w_hh_t, b_hh, None, None)
        return (h.squeeze(0), c.squeeze(0)) if unbatched else (h, c)
    if mode == "GRU":
        h = GRUStep.apply(gx, h, w_hh_t, b_hh, None)
    else:
        h = RNNStep.apply(gx, h, w_hh_t, b_hh, None, mode == "RNN_RELU")
    return h.squeeze(0) if unbatched else h
