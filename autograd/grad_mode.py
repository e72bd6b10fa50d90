"""Grad mode: whether new operations are recorded into the graph. Per thread, like PyTorch."""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable
from typing import Any


class _GradState(threading.local):
    enabled = True
    inference = False


_state = _GradState()


def is_grad_enabled() -> bool:
    return _state.enabled


class _GradModeContext:
    """Base of the grad-mode context managers; each also works as a decorator."""

    mode: bool = True

    def __enter__(self) -> None:
        self._prev = _state.enabled
        _state.enabled = self.mode

    def __exit__(self, *exc: Any) -> None:
        _state.enabled = self._prev

    def __call__(self, fn: Callable) -> Callable:
        return _decorate(fn, type(self))


class no_grad(_GradModeContext):
    """Context manager and decorator: operations inside are not recorded."""

    mode = False


class enable_grad(_GradModeContext):
    """Context manager and decorator: record operations even inside ``no_grad``."""

    mode = True


class set_grad_enabled(_GradModeContext):
    """``set_grad_enabled(False)`` as a call switches grad mode; as a context it restores it."""

    def __init__(self, mode: bool) -> None:
        self.mode = bool(mode)
        self._prev = _state.enabled
        _state.enabled = self.mode

    def __enter__(self) -> None:
        pass

    def __call__(self, fn: Callable) -> Callable:
        _state.enabled = self._prev
        mode = self.mode
        return _decorate(fn, lambda: set_grad_enabled(mode))


class inference_mode(_GradModeContext):
    """``inference_mode()``: ``no_grad`` for code that will never need a gradient (evaluation,
    serving); a context manager and a decorator, as PyTorch's. ``inference_mode(False)`` changes
    nothing (handy as ``inference_mode(not training)``).

    Where we differ from PyTorch: this is ``no_grad`` plus ``is_inference_mode_enabled()``.
    Tensors made inside are ordinary tensors (PyTorch marks them as inference tensors, which
    later refuse to be saved for backward or changed in place outside the mode), and there is
    no extra speed over ``no_grad``. As in PyTorch, ``@inference_mode`` also works without ().
    """

    def __new__(cls, mode: Any = True) -> Any:
        if callable(mode):
            return _decorate(mode, inference_mode)
        return super().__new__(cls)

    def __init__(self, mode: bool = True) -> None:
        self.mode_on = bool(mode)

    def __enter__(self) -> None:
        self._prev = (_state.enabled, _state.inference)
        if self.mode_on:
            _state.enabled = False
            _state.inference = True

    def __exit__(self, *exc: Any) -> None:
        _state.enabled, _state.inference = self._prev

    def __call__(self, fn: Callable) -> Callable:
        mode = self.mode_on
        return _decorate(fn, lambda: inference_mode(mode))


def is_inference_mode_enabled() -> bool:
    """True inside ``inference_mode()`` (in this thread)."""
    return _state.inference


def _decorate(fn: Callable, make_context: Callable) -> Callable:
    """Run ``fn`` inside a fresh context; a generator gets it around each of its steps."""
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def generator(*args: Any, **kwargs: Any) -> Any:
            gen = fn(*args, **kwargs)
            try:
                with make_context():
                    value = next(gen)
                while True:
                    try:
                        sent = yield value
                    except GeneratorExit:
                        gen.close()
                        raise
                    except BaseException as exc:  # forward throw() into the generator
                        with make_context():
                            value = gen.throw(exc)
                    else:
                        with make_context():
                            value = gen.send(sent)
            except StopIteration as stop:
                return stop.value

        return generator

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with make_context():
            return fn(*args, **kwargs)

    return wrapper
