"""Convolution layers: Conv1d/2d/3d, ConvTranspose1d/2d/3d, Unfold, Fold.

Parameter names, shapes, default init and ``state_dict`` keys are PyTorch's, so a PyTorch CNN's
weights load unchanged: conv weight (out, in / groups, *kernel), transposed conv weight
(in, out / groups, *kernel), bias (out,); weight ~ kaiming_uniform_(a=sqrt(5)) and bias
~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
"""

from __future__ import annotations

import math
from typing import Any

import autograd as A
from autograd import Tensor

from . import functional as F
from . import init
from .functional.conv import _ntuple
from .module import Module
from .parameter import Parameter

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """The shared body of the conv layers (PyTorch's _ConvNd)."""

    _dims = 2
    _transposed = False

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
        output_padding: Any = 0,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        d = self._dims
        if not isinstance(groups, int) or groups <= 0:
            raise ValueError(f"{name}: groups must be a positive integer, got {groups!r}")
        if in_channels % groups != 0:
            raise ValueError(
                f"{name}: in_channels must be divisible by groups (in_channels={in_channels}, "
                f"groups={groups})"
            )
        if out_channels % groups != 0:
            raise ValueError(
                f"{name}: out_channels must be divisible by groups (out_channels="
                f"{out_channels}, groups={groups})"
            )
        kernel_size = _ntuple(kernel_size, d, name, "kernel_size")
        stride = _ntuple(stride, d, name, "stride")
        dilation = _ntuple(dilation, d, name, "dilation")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(
                    f"{name}: Invalid padding string {padding!r}, should be one of "
                    "{'valid', 'same'}"
                )
            if padding == "same" and any(s != 1 for s in stride):
                raise ValueError(
                    f"{name}: padding='same' is not supported for strided convolutions "
                    f"(stride={stride})"
                )
        else:
            padding = _ntuple(padding, d, name, "padding")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(
                f"{name}: padding_mode must be one of {_PADDING_MODES}, but got "
                f"padding_mode={padding_mode!r}"
            )
        if self._transposed and padding_mode != "zeros":
            raise ValueError(f'{name}: Only "zeros" padding mode is supported for {name}')
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.transposed = self._transposed
        self.output_padding = _ntuple(output_padding, d, name, "output_padding")
        self.groups = groups
        self.padding_mode = padding_mode
        # F.pad's (left, right) widths, last dim first; 'same' splits d (k - 1) as PyTorch.
        if padding == "valid":
            widths = (0,) * (2 * d)
        elif padding == "same":
            widths = []
            for k, dl in zip(reversed(kernel_size), reversed(dilation)):
                total = dl * (k - 1)
                widths += [total // 2, total - total // 2]
            widths = tuple(widths)
        else:
            widths = tuple(p for p in reversed(padding) for _ in range(2))
        self._reversed_padding_repeated_twice = widths
        if self._transposed:
            shape = (in_channels, out_channels // groups) + kernel_size
        else:
            shape = (out_channels, in_channels // groups) + kernel_size
        self.weight = Parameter(A.empty(*shape, device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(A.empty(out_channels, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            if fan_in != 0:
                bound = 1 / math.sqrt(fan_in)
                init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        d = self._dims
        text = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}"
        )
        if self.padding != (0,) * d:
            text += f", padding={self.padding}"
        if self.dilation != (1,) * d:
            text += f", dilation={self.dilation}"
        if self.output_padding != (0,) * d:
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        return text

    def _conv_forward(self, input: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        conv = (F.conv1d, F.conv2d, F.conv3d)[self._dims - 1]
        if self.padding_mode != "zeros":
            padded = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return conv(padded, weight, bias, self.stride, 0, self.dilation, self.groups)
        return conv(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)

    def forward(self, input: Tensor) -> Tensor:
        return self._conv_forward(input, self.weight, self.bias)


class Conv1d(_ConvNd):
    """1-D convolution over (N, C_in, L). ``padding`` is an int, 'valid' or 'same';
    ``padding_mode`` 'zeros', 'reflect', 'replicate' or 'circular'.

    Shape: (N, C_in, L) or (C_in, L) -> (N, C_out, L_out),
    L_out = floor((L + 2 padding - dilation (kernel_size - 1) - 1) / stride) + 1.
    """

    _dims = 1


class Conv2d(_ConvNd):
    """2-D convolution over (N, C_in, H, W): the course's conv layer. ``groups=in_channels``
    is a depthwise convolution; ``padding`` is an int, a pair, 'valid' or 'same'.

    Shape: (N, C_in, H, W) or (C_in, H, W) -> (N, C_out, H_out, W_out),
    H_out = floor((H + 2 padding - dilation (kernel_size - 1) - 1) / stride) + 1.
    """

    _dims = 2


class Conv3d(_ConvNd):
    """3-D convolution. Shape: (N, C_in, D, H, W) -> (N, C_out, D_out, H_out, W_out)."""

    _dims = 3


class _ConvTransposeNd(_ConvNd):
    _transposed = True

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        output_padding: Any = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: Any = 1,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        if isinstance(padding, str):
            raise ValueError(
                f"{type(self).__name__}: padding must be an int or a tuple of ints, got {padding!r}"
            )
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            device,
            dtype,
            output_padding,
        )

    def _output_padding(self, input: Tensor, output_size: Any) -> tuple:
        """The output_padding that gives ``output_size`` (PyTorch's rule), or the default."""
        if output_size is None:
            return self.output_padding
        d = self._dims
        output_size = tuple(output_size)
        if len(output_size) in (d + 1, d + 2):
            output_size = output_size[-d:]
        if len(output_size) != d:
            raise ValueError(
                f"{type(self).__name__}: output_size must have {d} or {d + 2} elements "
                f"(got {len(output_size)})"
            )
        spatial = input.shape[-d:]
        smallest = tuple(
            (n - 1) * s - 2 * p + dl * (k - 1) + 1
            for n, s, p, dl, k in zip(
                spatial, self.stride, self.padding, self.dilation, self.kernel_size
            )
        )
        largest = tuple(lo + s - 1 for lo, s in zip(smallest, self.stride))
        for size, lo, hi in zip(output_size, smallest, largest):
            if not lo <= size <= hi:
                raise ValueError(
                    f"{type(self).__name__}: requested an output size of {list(output_size)}, "
                    f"but valid sizes range from {list(smallest)} to {list(largest)} (for an "
                    f"input of {list(spatial)})"
                )
        return tuple(size - lo for size, lo in zip(output_size, smallest))

    def forward(self, input: Tensor, output_size: Any = None) -> Tensor:
        conv = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[self._dims - 1]
        output_padding = self._output_padding(input, output_size)
        return conv(
            input,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            output_padding,
            self.groups,
            self.dilation,
        )


class ConvTranspose1d(_ConvTransposeNd):
    """1-D transposed convolution (the gradient of Conv1d in its input).

    Shape: (N, C_in, L) -> (N, C_out, L_out),
    L_out = (L - 1) stride - 2 padding + dilation (kernel_size - 1) + output_padding + 1.
    """

    _dims = 1


class ConvTranspose2d(_ConvTransposeNd):
    """2-D transposed convolution, the DCGAN generator's upsampling layer; ``forward(input,
    output_size)`` picks the output_padding that gives that size.

    Shape: (N, C_in, H, W) -> (N, C_out, H_out, W_out),
    H_out = (H - 1) stride - 2 padding + dilation (kernel_size - 1) + output_padding + 1.
    """

    _dims = 2


class ConvTranspose3d(_ConvTransposeNd):
    """3-D transposed convolution. Shape: (N, C_in, D, H, W) -> (N, C_out, D', H', W')."""

    _dims = 3


class Unfold(Module):
    """im2col: sliding blocks as columns. Shape: (N, C, H, W) -> (N, C kH kW, L)."""

    def __init__(
        self, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def forward(self, input: Tensor) -> Tensor:
        return F.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, dilation={self.dilation}, padding={self.padding}, "
            f"stride={self.stride}"
        )


class Fold(Module):
    """col2im: columns summed back into an image. Shape: (N, C kH kW, L) -> (N, C, *output_size)."""

    def __init__(
        self,
        output_size: Any,
        kernel_size: Any,
        dilation: Any = 1,
        padding: Any = 0,
        stride: Any = 1,
    ) -> None:
        super().__init__()
        self.output_size = output_size
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def forward(self, input: Tensor) -> Tensor:
        return F.fold(
            input, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride
        )

    def extra_repr(self) -> str:
        return (
            f"output_size={self.output_size}, kernel_size={self.kernel_size}, "
            f"dilation={self.dilation}, padding={self.padding}, stride={self.stride}"
        )
