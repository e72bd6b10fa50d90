"""Recurrent layers: ``RNN``, ``LSTM``, ``GRU`` and the cells, with PyTorch's API and layouts.

Parameter names, shapes, gate orders (LSTM i, f, g, o; GRU r, z, n) and the initialisation
U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)) are PyTorch's, so a PyTorch ``state_dict`` loads and
gives the same outputs. The work is in ``nn.functional.recurrent`` and the fused step ops of
``autograd.ops.recurrent``.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import autograd as A
from autograd import Tensor

from . import init
from .functional.recurrent import rnn as _rnn
from .functional.recurrent import rnn_cell as _rnn_cell
from .module import Module
from .parameter import Parameter

_MODES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


class RNNBase(Module):
    """The shared machinery of ``RNN``, ``LSTM`` and ``GRU`` (PyTorch's ``RNNBase``)."""

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        name = {"RNN_TANH": "RNN", "RNN_RELU": "RNN"}.get(mode, mode)
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)):
            raise ValueError(
                "dropout should be a number in range [0, 1] representing the probability of an "
                f"element being zeroed, got {dropout!r}"
            )
        if not 0 <= dropout <= 1:
            raise ValueError(
                "dropout should be a number in range [0, 1] representing the probability of an "
                f"element being zeroed, got {dropout}"
            )
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                "dropout option adds dropout after all but last recurrent layer, so non-zero "
                f"dropout expects num_layers greater than 1, but got dropout={dropout} and "
                f"num_layers={num_layers}",
                stacklevel=3,
            )
        if not isinstance(hidden_size, int) or hidden_size <= 0:
            raise ValueError(f"{name}: hidden_size must be a positive integer, got {hidden_size}")
        if not isinstance(num_layers, int) or num_layers <= 0:
            raise ValueError(f"{name}: num_layers must be a positive integer, got {num_layers}")
        if proj_size < 0:
            raise ValueError(
                "proj_size should be a positive integer or zero to disable projections"
            )
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if proj_size and mode != "LSTM":
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        directions = 2 if bidirectional else 1
        gate_size = _MODES[mode] * hidden_size
        real_hidden = proj_size if proj_size > 0 else hidden_size
        self._weight_names = []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else real_hidden * directions
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                shapes = {
                    "weight_ih": (gate_size, layer_input),
                    "weight_hh": (gate_size, real_hidden),
                }
                if bias:
                    shapes["bias_ih"] = (gate_size,)
                    shapes["bias_hh"] = (gate_size,)
                if proj_size > 0:
                    shapes["weight_hr"] = (proj_size, hidden_size)
                for base, shape in shapes.items():
                    tensor = A.empty(*shape, device=device, dtype=dtype)
                    setattr(self, base + suffix, Parameter(tensor))
                self._weight_names.append(
                    tuple(
                        base + suffix if base in shapes else None
                        for base in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")
                    )
                )
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def flatten_parameters(self) -> None:
        """Nothing to do: PyTorch packs the weights into one cuDNN buffer here; chalkgrad's
        layers read their parameters in place. Kept so that PyTorch code runs unchanged."""

    @property
    def all_weights(self) -> list:
        """Per layer and direction, the parameters in PyTorch's order."""
        return [[getattr(self, n) for n in names if n] for names in self._weight_names]

    def _weights(self) -> list:
        return [
            tuple(None if n is None else getattr(self, n) for n in names)
            for names in self._weight_names
        ]

    def forward(self, input: Any, hx: Any = None) -> tuple:
        return _rnn(
            self.mode,
            input,
            hx,
            self._weights(),
            self.hidden_size,
            self.num_layers,
            self.dropout,
            self.training,
            self.bidirectional,
            self.batch_first,
            self.proj_size,
            name=type(self).__name__,
        )

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.mode == "RNN_RELU":
            s += ", nonlinearity='relu'"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu), stacked
    ``num_layers`` deep, optionally bidirectional, with dropout between layers.

    Shape: input (T, B, I) ((B, T, I) with batch_first; (T, I) unbatched; or a PackedSequence),
    h_0 (D * num_layers, B, H) -> output (T, B, D * H), h_n (D * num_layers, B, H).
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(
                f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'."
            )
        mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        super().__init__(
            mode, input_size, hidden_size, num_layers, bias, batch_first, dropout,
            bidirectional, 0, device, dtype,
        )  # fmt: skip
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """LSTM with gates (i, f, g, o): c_t = f c_{t-1} + i g, h_t = o tanh(c_t), then
    h_t W_hr^T when ``proj_size > 0``.

    Shape: input (T, B, I) (batch_first, unbatched, packed as RNN), (h_0, c_0) with
    h_0 (D * num_layers, B, H_out), c_0 (D * num_layers, B, H) -> output (T, B, D * H_out),
    (h_n, c_n); H_out = proj_size or hidden_size.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(
            "LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout,
            bidirectional, proj_size, device, dtype,
        )  # fmt: skip


class GRU(RNNBase):
    """GRU with gates (r, z, n): n = tanh(W_in x + b_in + r (W_hn h + b_hn)),
    h' = (1 - z) n + z h.

    Shape: as ``RNN``: input (T, B, I), h_0 (D * num_layers, B, H) -> output (T, B, D * H), h_n.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(
            "GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
            bidirectional, 0, device, dtype,
        )  # fmt: skip


# ------------------------------------------------------------------------------- cells
class RNNCellBase(Module):
    """Parameters weight_ih (G, I), weight_hh (G, H), bias_ih, bias_hh (G,), G = gates * H."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool,
        num_chunks: int,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        gates = num_chunks * hidden_size
        self.weight_ih = Parameter(A.empty(gates, input_size, device=device, dtype=dtype))
        self.weight_hh = Parameter(A.empty(gates, hidden_size, device=device, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(A.empty(gates, device=device, dtype=dtype))
            self.bias_hh = Parameter(A.empty(gates, device=device, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def _step(self, mode: str, input: Tensor, hx: Any) -> Any:
        return _rnn_cell(
            mode,
            input,
            hx,
            self.weight_ih,
            self.weight_hh,
            self.bias_ih,
            self.bias_hh,
            name=type(self).__name__,
        )

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        nonlinearity = getattr(self, "nonlinearity", "tanh")
        if nonlinearity != "tanh":
            s += f", nonlinearity={nonlinearity}"
        return s


class RNNCell(RNNCellBase):
    """One Elman step: h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu).

    Shape: input (B, I) or (I,), hx (B, H) or (H,) (zeros if None) -> h' like hx.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}")
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        mode = "RNN_TANH" if self.nonlinearity == "tanh" else "RNN_RELU"
        return self._step(mode, input, hx)


class LSTMCell(RNNCellBase):
    """One LSTM step, gates (i, f, g, o).

    Shape: input (B, I) or (I,), hx = (h, c) each (B, H) or (H,) (zeros if None) -> (h', c').
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input: Tensor, hx: Any = None) -> tuple:
        return self._step("LSTM", input, hx)


class GRUCell(RNNCellBase):
    """One GRU step, gates (r, z, n), b_hn inside the reset product.

    Shape: input (B, I) or (I,), hx (B, H) or (H,) (zeros if None) -> h' like hx.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._step("GRU", input, hx)
