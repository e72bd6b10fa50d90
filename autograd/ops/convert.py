"""Conversions: dtype casts, device moves, copies; each sends its gradient back the way it came."""

from __future__ import annotations

from ..function import Function


class Cast(Function):
    @staticmethod
    def forward(ctx, a, dtype):
        ctx.source_dtype = a.dtype
        return a.astype(dtype)

    @staticmethod
    def backward(ctx, grad_out):
        if ctx.source_dtype.kind not in "fc":
            return None, None
        return Cast.apply(grad_out, ctx.source_dtype), None


class ToDevice(Function):
    @staticmethod
    def forward(ctx, a, backend):
        ctx.source = ctx.backend
        ctx._backend = backend
        return backend.from_host(ctx.source.to_host(a))

    @staticmethod
    def backward(ctx, grad_out):
        return ToDevice.apply(grad_out, ctx.source), None


class Clone(Function):
    @staticmethod
    def forward(ctx, a):
        return a.copy()

    @staticmethod
    def backward(ctx, grad_out):
        return grad_out
