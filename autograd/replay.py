"""``autograd.compile`` (module ``autograd.replay``): record a training step, replay it after.

``step = A.compile(train_step)`` returns a callable with the same signature. Its first calls run
``train_step`` eagerly (the real thing, with the graph, the engine and the optimizer); while they
run, a recorder notes every backend-level call the step makes, in order:

- each ``Function``'s ``forward`` (ops of the forward pass, and the ops that backward rules run),
  with the arrays it read and the arrays it returned;
- the engine's own array work (summing two gradients, accumulating into an existing ``.grad``);
- in-place updates of arrays (``add_``, ``mul_``, ``copy_`` ... : optimizers, BatchNorm's running
  statistics) and the backends' fused kernels (the optimizers' fused update);
- array functions that backward rules call outside the ops (``_PURE_CALLS``), argument checks
  (``any_true``);
- host reads (``.item()``, ``bool(t)``) with the value they saw.

A replay runs that list on the new inputs' arrays: the same ``forward`` code (one meaning, no
second implementation that could drift), with no Tensor, node, heap, hook or version bookkeeping,
as one generated straight-line Python function (``Schedule.source()``; see ``_generate``).
Arrays a step reads without making them (parameters, ``.grad`` buffers, optimizer state, running
statistics, constants) are bound by identity, so in-place updates persist exactly as in eager mode;
random ops draw from the device generator on every replay, in eager order.

When is a step replayed? Per input signature (shapes, dtypes, devices, ``requires_grad`` of the
Tensor arguments, and the other arguments' values), the 1st call runs eagerly without recording
(optimizers create their state then), the 2nd records, and the 3rd **verifies**: it replays the
2nd call's schedule, restores everything the schedule touched (and the random generators), runs
the step eagerly while recording again, and keeps the schedule only if both recordings have the
same structure and the replay's results (outputs, gradients, updated state) equal eager's bit for
bit. From the 4th call on, the schedule is replayed while its guards hold: the modules' ``training``
flags, the optimizers' hyperparameters (a scheduler changing ``lr`` re-records) and state
identity, the parameters' arrays, and every host read seeing the value it saw when recorded. A
failed guard re-records (a small cache of schedules per signature is kept); a step that cannot be
replayed runs eagerly from then on, after one warning saying why.

What is not replayed, and therefore refused or unsupported: Python side effects that touch no
array (printing, counters in plain Python ints, appending to lists), data-dependent control flow
(detected when it goes through a host read: a read whose value changes makes the replay stop
before any state was written and the step run eagerly; after a few such misses the step stays
eager), a step that returns Python numbers computed from data (``loss.item()``; return the Tensor),
tensor hooks with side effects, and other threads running ops while a step records (recording
patches the op entry points process-wide).

On CuPy, a verified schedule without host reads or random ops (checks are fine: they write a
device flag read after the launch) is captured once as a CUDA graph
(static addresses: the inputs are copied into the captured input buffers, every array of the
capture is kept alive) and later calls launch the graph.
"""

from __future__ import annotations

import builtins
import copy
import functools
import sys
import warnings
import weakref
from collections.abc import Callable
from typing import Any

from . import function as _function
from . import views as _views
from .ops import elementwise as _elementwise
from .tensor import Tensor

__all__ = ["compile", "CompiledStep", "register_stateful", "any_true"]

# Objects with state a replay must guard (optimizers register themselves: autograd cannot import
# optim). Each has ``_compile_guard()`` -> a hashable snapshot, and ``_compile_params()``.
_stateful: weakref.WeakSet = weakref.WeakSet()

_MAX_SCHEDULES = 4  # per input signature
_MAX_MISSES = 8  # host-read divergences before a signature stays eager


def any_true(t: Tensor) -> bool:
    """``bool(t.any())``, for argument checks inside ops (a class index out of range).

    Eager: one host read. While a compiled step records, the check is recorded as a *check*,
    not as a host read with its value: a replay tests the array without reading it back
    (NumPy), or inside a CUDA graph into a device flag read after the graph's own sync, so a
    check never blocks a capture. A check that fires in a replay on the CPU stops it before
    anything was written and runs the step eagerly, which raises the op's own message."""
    rec = _recorder
    if rec is None or rec.depth:
        return bool(t.any().item())
    if _function._state.enabled and t.requires_grad:
        t = t.detach()
    slot = rec.read(t.data)
    rec.depth += 1
    try:
        value = bool(t.any().item())
    finally:
        rec.depth -= 1
    rec.program.append(("check", t._backend.xp, (slot,), ()))
    return value


def register_stateful(obj: Any) -> None:
    """Let compiled steps guard ``obj`` (an optimizer): see the module docstring."""
    _stateful.add(obj)


class NotReplayable(Exception):
    """Why a step cannot be replayed (the message of the one warning)."""


class _Diverged(Exception):
    """A host read saw another value than at recording time: the replay stops."""


# ------------------------------------------------------------------------------ recording
class _Recorder:
    """Collects the schedule of one eager call (installed by ``_recording``)."""

    def __init__(self, input_arrays: list) -> None:
        self.slot_of: dict[int, int] = {}
        self.keep: list = []  # every array seen stays alive, so ids are never reused
        self.bound: dict[int, Any] = {}  # slot -> array read but not made by the step
        self.n_slots = 0
        self.program: list = []  # (kind, payload, in_slots, out_slots)
        self.leaves: dict[int, Tensor] = {}
        self.modules: dict[int, Any] = {}
        self.untracked: dict[int, str] = {}
        self.backends: dict[int, Any] = {}
        self.depth = 0
        self.side_effect_at: int | None = None
        self.refused: str | None = None
        self.random = False
        self.scalar_outs: set[int] = set()  # 0-d results (NumPy may give scalars for them)
        self.constants: set[int] = set()  # ids of arrays made by _CONSTANT_MAKERS in the step
        self.fresh_constants: set[int] = set()  # ... of those, made fresh by constant factories
        for array in input_arrays:
            self._new_slot(array)

    def _new_slot(self, array: Any) -> int:
        slot = self.n_slots
        self.n_slots += 1
        self.slot_of[id(array)] = slot
        self.keep.append(array)
        return slot

    def read(self, array: Any) -> int:
        slot = self.slot_of.get(id(array))
        if slot is None:  # made outside the step (state) or by untracked code (a constant)
            maker = self.untracked.get(id(array))
            if maker is not None and self.refused is None:
                self.refused = (
                    f"{maker} computes an array inside the step outside the ops the recorder "
                    "sees: a replay would reuse the recorded values"
                )
            slot = self._new_slot(array)
            self.bound[slot] = array
        return slot

    def write(self, array: Any) -> int:
        return self._new_slot(array)

    def side_effect(self) -> None:
        if self.side_effect_at is None:
            self.side_effect_at = len(self.program)

    def note_tensor(self, t: Tensor) -> None:
        self.backends[id(t._backend)] = t._backend
        if t.requires_grad and t.grad_fn is None:
            self.leaves[id(t)] = t


_recorder: _Recorder | None = None


def _recording_apply(cls: type, *args: Any, **kwargs: Any) -> Any:
    rec = _recorder
    if rec is None or rec.depth:
        return _ORIGINAL_APPLY(cls, *args, **kwargs)
    spec = []
    flags = []
    for arg in args:
        if isinstance(arg, Tensor):
            rec.note_tensor(arg)
            spec.append(rec.read(arg.data))
            flags.append(True if (arg.requires_grad and _function._state.enabled) else None)
        elif arg is not None and hasattr(arg, "shape") and hasattr(arg, "dtype"):
            if id(arg) not in rec.slot_of and id(arg) not in rec.constants and not rec.refused:
                # An array made in Python outside the ops (an index grid, a mask): a replay would
                # reuse the recorded one.
                rec.refused = (
                    f"{cls.__name__} received an array computed outside the ops the recorder sees"
                )
            spec.append(rec.read(arg))
            flags.append(None)
        elif type(arg) in (tuple, list) and any(_holds_array(item) for item in arg):
            # An index tuple with arrays in it (``t[idx]``, max-pool's gather): its arrays are
            # read like arguments, the rest kept by value.
            spec.append(_pack(rec, cls, arg))
            flags.append(None)
        else:
            spec.append(_Value(arg))
            flags.append(None)
    # Arrays passed by keyword (conv's weight gradient gets x's columns as ``col=``) are read
    # like positional ones: their slots follow the positional arguments, their names go in
    # ``kw_names``; the other keyword arguments are recorded by value.
    static_kwargs = {}
    kw_names = []
    for name, value in kwargs.items():
        if (
            value is not None
            and not isinstance(value, Tensor)
            and hasattr(value, "shape")
            and (hasattr(value, "dtype"))
        ):
            if id(value) not in rec.slot_of and id(value) not in rec.constants and not rec.refused:
                rec.refused = (
                    f"{cls.__name__} received an array computed outside the ops the recorder sees"
                )
            kw_names.append(name)
            spec.append(rec.read(value))
        elif isinstance(value, Tensor):
            rec.refused = rec.refused or f"{cls.__name__} received a Tensor by keyword"
            static_kwargs[name] = value
        else:
            static_kwargs[name] = value
    rec.depth += 1
    try:
        result = _ORIGINAL_APPLY(cls, *args, **kwargs)
    finally:
        rec.depth -= 1
    results = result if type(result) is tuple else (result,)
    in_backend = next(a._backend for a in args if isinstance(a, Tensor))
    outs = tuple(rec.write(r.data) for r in results)
    if getattr(cls, "draws_random", False):
        rec.random = True
    # Arrays forward made for backward (saved constants, ctx attributes) are outputs too: the
    # backward ops that read them must read this replay's, not the recording's.
    extra = []
    node = next((r.grad_fn for r in results if r.grad_fn is not None), None)
    if node is not None:
        for i, entry in enumerate(node._saved or ()):
            if type(entry) is tuple and len(entry) == 3 and entry[0] == _function._SAVED_CONST:
                extra.append(("saved", i, rec.write(entry[1])))
        for name, value in getattr(node, "__dict__", {}).items():
            if node._backend.is_array(value):
                extra.append(("attr", name, rec.write(value)))
    rec.scalar_outs.update(slot for slot, r in zip(outs, results) if r.data.ndim == 0)
    payload = (
        cls, in_backend, results[0]._backend, tuple(flags), static_kwargs, type(result) is tuple,
        tuple(extra), tuple(kw_names),
    )  # fmt: skip
    rec.program.append(("apply", payload, tuple(spec), outs))
    return result


def _recording_inplace(t: Tensor, op: str, other: Any) -> None:
    rec = _recorder
    if rec is None or rec.depth:
        return _ORIGINAL_INPLACE(t, op, other)
    rec.note_tensor(t)
    target = rec.read(t.data)
    if isinstance(other, Tensor):
        if other._backend is not t._backend:
            rec.refused = "an in-place copy between devices inside the step"
        rec.note_tensor(other)
        other_spec = rec.read(other.data)
    elif hasattr(other, "shape") and hasattr(other, "dtype"):
        other_spec = rec.read(other)
    else:
        other_spec = _Value(other)
    rec.side_effect()
    rec.depth += 1
    try:
        _ORIGINAL_INPLACE(t, op, other)
    finally:
        rec.depth -= 1
    rec.program.append(("inplace", (op, t._backend), (target, other_spec), ()))
    return None


# Callers of Tensor._make whose new arrays are constants (factories without randomness, the
# backward seed of ones, zeros for unused outputs) or arrays already known (detach).
# Ops that build a constant from shapes alone (never from data): average pooling's per-window
# scales, adaptive pooling's and resampling's averaging matrices.
_SHAPE_CONSTANT_MAKERS = {"avg_pool", "adaptive_avg_pool", "_matrix"}
_CONSTANT_MAKERS = {
    "_finish", "from_numpy", "_roots_and_grads", "_materialize", "detach", *_SHAPE_CONSTANT_MAKERS
}  # fmt: skip
# Of those, the ones whose arrays are new memory that nothing outside the step can see or change
# (factories, the backward seed, zero gradients): calls that read only such arrays are folded.
_FRESH_CONSTANT_MAKERS = {"_finish", "_roots_and_grads", "_materialize", *_SHAPE_CONSTANT_MAKERS}


def _recording_make(
    data: Any, backend: Any, requires_grad: bool = False, grad_fn: Any = None, out_idx: int = 0
) -> Tensor:
    """``Tensor._make`` while recording: note arrays made outside the ops (see ``read``)."""
    rec = _recorder
    if rec is not None and not rec.depth and id(data) not in rec.slot_of:
        depth = 1
        code = sys._getframe(depth).f_code
        while code.co_name.startswith("<"):  # a comprehension: its function is one frame up
            depth += 1
            code = sys._getframe(depth).f_code
        caller = code.co_name
        known = (code.co_filename, caller) in _constant_maker_codes()
        maker = sys._getframe(depth + 1).f_code.co_name if known and caller == "_finish" else caller
        if maker.startswith("rand"):
            rec.untracked[id(data)] = f"a random factory ({maker})"
        elif not known:
            rec.untracked[id(data)] = f"{caller}() ({code.co_filename.rsplit('/', 1)[-1]})"
        else:
            rec.constants.add(id(data))
            if caller in _FRESH_CONSTANT_MAKERS:
                rec.fresh_constants.add(id(data))
        rec.keep.append(data)
    return _ORIGINAL_MAKE(data, backend, requires_grad, grad_fn, out_idx)


@functools.cache
def _constant_maker_codes() -> frozenset:
    """(file, name) of the functions in ``_CONSTANT_MAKERS``: matched by file too, so that a
    function of the same name elsewhere (a backward's own ``_finish``) is not taken for one."""
    from . import factories, tensor
    from .ops import pool

    found = set()
    for module in (factories, _function, tensor, pool):
        for name in _CONSTANT_MAKERS:
            obj = getattr(module, name, None) or getattr(
                getattr(module, "Tensor", None), name, None
            )
            code = getattr(obj, "__code__", None)
            if code is not None and code.co_filename == module.__file__:
                found.add((code.co_filename, name))
    return frozenset(found)


def _recording_pure(original: Callable) -> Callable:
    """A function of arrays (and values) to arrays that backward rules call outside the ops
    (conv's im2col of the gradient, the RNN cells' array backward): recorded as one call."""

    @functools.wraps(original)
    def pure(*args: Any) -> Any:
        rec = _recorder
        if rec is None or rec.depth or _holds_tensor(args):
            return original(*args)  # on Tensors (create_graph) its ops are recorded one by one
        spec = tuple(_pack(rec, original, a) for a in args)
        rec.depth += 1
        try:
            result = original(*args)
        finally:
            rec.depth -= 1
        paths: list = []
        _output_paths(result, (), paths)
        outs = tuple(rec.write(array) for _, array in paths)
        payload = (original, tuple(path for path, _ in paths))
        rec.program.append(("call", payload, spec, outs))
        return result

    return pure


def _holds_tensor(value: Any) -> bool:
    if isinstance(value, (tuple, list)):
        return any(_holds_tensor(v) for v in value)
    return isinstance(value, Tensor)


def _output_paths(value: Any, path: tuple, out: list) -> None:
    if isinstance(value, (tuple, list)):
        for i, v in enumerate(value):
            _output_paths(v, path + (i,), out)
    elif hasattr(value, "shape") and hasattr(value, "dtype"):
        out.append((path, value))


# (module, function) recorded by ``_recording_pure`` while a step records; a name a module no
# longer has is skipped (the arrays it would make are then refused, so nothing goes wrong).
_PURE_CALLS = (
    ("autograd.ops.conv", "_columns"),
    ("autograd.ops.recurrent", "_rnn_backward"),
    ("autograd.ops.recurrent", "_lstm_backward"),
    ("autograd.ops.recurrent", "_gru_backward"),
    ("autograd.ops.recurrent", "_weight_grads"),
    ("autograd.ops.recurrent", "_sequence_backward"),
)


def _recording_add_arrays(a: Tensor, b: Tensor) -> Tensor:
    rec = _recorder
    result = _ORIGINAL_ADD_ARRAYS(a, b)
    if rec is not None and not rec.depth:
        ins = (rec.read(a.data), rec.read(b.data))
        rec.program.append(("add", a._backend.xp, ins, (rec.write(result.data),)))
    return result


def _recording_owned(g: Tensor) -> Tensor:
    rec = _recorder
    result = _ORIGINAL_OWNED(g)
    if rec is not None and not rec.depth:
        ins = (rec.read(g.data),)
        rec.program.append(("copy", None, ins, (rec.write(result.data),)))
    return result


def _recording_total(parts: list, create_graph: bool) -> Tensor:
    rec = _recorder
    if rec is None or rec.depth or create_graph or len(parts) < 3:
        return _ORIGINAL_TOTAL(parts, create_graph)
    result = _ORIGINAL_TOTAL(parts, create_graph)
    ins = tuple(rec.read(p.data) for p in parts)
    rec.program.append(("total", parts[0]._backend.xp, ins, (rec.write(result.data),)))
    return result


def _recording_accumulate(grad: Tensor, data: Any) -> bool:
    rec = _recorder
    if rec is None or rec.depth:
        return _ORIGINAL_ACCUMULATE(grad, data)
    buffer = grad.data
    done = _ORIGINAL_ACCUMULATE(grad, data)
    if done:
        rec.side_effect()
        ins = (rec.read(buffer), rec.read(data))
        rec.program.append(("accumulate", grad._backend.xp, ins, ()))
    return done


def _recording_duty(name: str, original: Callable) -> Callable:
    @functools.wraps(original)
    def duty(backend: Any, *arrays_and_scalars: Any) -> Any:
        rec = _recorder
        if rec is None or rec.depth:
            return original(backend, *arrays_and_scalars)
        spec = tuple(rec.read(a) if backend.is_array(a) else _Value(a) for a in arrays_and_scalars)
        rec.side_effect()
        rec.depth += 1
        try:
            result = original(backend, *arrays_and_scalars)
        finally:
            rec.depth -= 1
        rec.program.append(("duty", (original, backend), spec, ()))
        return result

    return duty


def _recording_module_call(original: Callable) -> Callable:
    @functools.wraps(original)
    def record_module_call(module: Any, inputs: Any, outputs: Any) -> None:
        rec = _recorder
        if rec is not None and not rec.depth:
            rec.modules.setdefault(id(module), module)
        return original(module, inputs, outputs)

    return record_module_call


def _recording_to_host(original: Callable) -> Callable:
    @functools.wraps(original)
    def to_host(backend: Any, array: Any) -> Any:
        result = original(backend, array)
        rec = _recorder
        if rec is not None and not rec.depth and backend.is_array(array):
            seen = result.copy() if hasattr(result, "copy") else result
            rec.program.append(("read", (original, backend, seen), (rec.read(array),), ()))
        return result

    return to_host


class _Pack:
    """A tuple or list argument holding arrays: its items are slots, ``_Value``s or packs."""

    __slots__ = ("kind", "items")

    def __init__(self, kind: type, items: tuple) -> None:
        self.kind = kind
        self.items = items

    def __eq__(self, other: object) -> bool:
        return type(other) is _Pack and self.kind is other.kind and self.items == other.items

    def __hash__(self) -> int:
        return hash(self.items)


def _holds_array(value: Any) -> bool:
    if type(value) in (tuple, list):
        return any(_holds_array(v) for v in value)
    return not isinstance(value, Tensor) and hasattr(value, "shape") and hasattr(value, "dtype")


def _pack(rec: _Recorder, cls: Any, value: Any) -> Any:
    if type(value) in (tuple, list):
        if not any(_holds_array(v) for v in value):
            return _Value(value)
        return _Pack(type(value), tuple(_pack(rec, cls, v) for v in value))
    if isinstance(value, Tensor):
        rec.refused = rec.refused or f"{cls.__name__} received a Tensor inside a tuple"
        return _Value(value)
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        if id(value) not in rec.slot_of and id(value) not in rec.constants and not rec.refused:
            rec.refused = (
                f"{cls.__name__} received an array computed outside the ops the recorder sees"
            )
        return rec.read(value)
    return _Value(value)


def _slots_in(ins: Any) -> list:
    """The slots an instruction's arguments read (inside packs too), in order."""
    out = []
    for s in ins:
        if isinstance(s, _Pack):
            out += _slots_in(s.items)
        elif not isinstance(s, _Value):
            out.append(s)
    return out


class _Value:
    """A non-array argument, recorded by value."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return type(other) is _Value and _same_value(self.value, other.value)

    def __hash__(self) -> int:
        return 0


# Objects a forward only stores on ctx for its backward, made anew by every call: two recordings
# hold different ones, equal by type. A replay hands its call the recorded one, which no backward
# reads (the RNN steps' ``SequenceWeightGrad``, where a layer's steps leave their weight-gradient
# shares).
_PER_CALL_OBJECTS = {
    ("autograd.ops.recurrent", "SequenceWeightGrad"),
    ("autograd.ops.recurrent", "_ArrayMath"),  # holds only its array module
}


def _same_value(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if (type(a).__module__, type(a).__name__) in _PER_CALL_OBJECTS:
        return True
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(_same_value(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same_value(a[k], b[k]) for k in a)
    if hasattr(a, "shape") and hasattr(a, "dtype"):
        return a is b
    try:
        return bool(a == b)
    except Exception:  # an object without a usable ==
        return a is b


_ORIGINAL_APPLY = _function.Function.apply.__func__
_ORIGINAL_INPLACE = _elementwise._array_inplace
_ORIGINAL_MAKE = Tensor._make
_ORIGINAL_ADD_ARRAYS = _function._add_arrays
_ORIGINAL_TOTAL = _function._total
_ORIGINAL_OWNED = _function._owned
_ORIGINAL_ACCUMULATE = _function._accumulate_in_place
_DUTIES = ("sgd_update_", "adam_update_")


class _recording:
    """Install the recorder on the op entry points for one eager call (and remove it)."""

    def __init__(self, rec: _Recorder) -> None:
        self.rec = rec
        self.patched: list = []

    def _patch(self, owner: Any, name: str, value: Any) -> None:
        self.patched.append((owner, name, owner.__dict__[name]))
        setattr(owner, name, value)

    def __enter__(self) -> _Recorder:
        global _recorder
        if _recorder is not None:
            raise NotReplayable("a compiled step called another compiled step while recording")
        _recorder = self.rec
        self._patch(_function.Function, "apply", classmethod(_recording_apply))
        self._patch(Tensor, "_make", staticmethod(_recording_make))
        self._patch(_views, "_apply", _recording_apply)  # view ops hold the unpatched apply
        self._patch(_elementwise, "_array_inplace", _recording_inplace)
        self._patch(_function, "_add_arrays", _recording_add_arrays)
        self._patch(_function, "_total", _recording_total)
        self._patch(_function, "_owned", _recording_owned)
        self._patch(_function, "_make", _recording_make)
        self._patch(_function, "_accumulate_in_place", _recording_accumulate)
        module_file = sys.modules.get("nn.module")  # autograd does not import nn: patch if loaded
        if module_file is not None and "record_module_call" in module_file.__dict__:
            original = module_file.__dict__["record_module_call"]
            self._patch(module_file, "record_module_call", _recording_module_call(original))
        for module_name, name in _PURE_CALLS:
            module = sys.modules.get(module_name)
            if module is not None and name in module.__dict__:
                self._patch(module, name, _recording_pure(module.__dict__[name]))
        for cls in _backend_classes():
            for name in _DUTIES:
                if name in cls.__dict__:
                    self._patch(cls, name, _recording_duty(name, cls.__dict__[name]))
            if "to_host" in cls.__dict__:
                self._patch(cls, "to_host", _recording_to_host(cls.__dict__["to_host"]))
        return self.rec

    def __exit__(self, *exc: Any) -> None:
        global _recorder
        for owner, name, value in reversed(self.patched):
            setattr(owner, name, value)
        _recorder = None


def _backend_classes() -> list:
    import backends

    classes = {type(b) for b in backends._backends.values()} | {backends.Backend}
    return sorted(classes, key=lambda c: len(c.__mro__))


# ------------------------------------------------------------------------------ the schedule
class Schedule:
    """One recorded step: the program over numbered array slots, and how to rebuild results."""

    def __init__(self, rec: _Recorder, n_inputs: int, outputs: Any, opts: list) -> None:
        if rec.refused:
            raise NotReplayable(rec.refused)
        self.n_inputs = n_inputs
        self.n_slots = rec.n_slots
        self.bound = dict(rec.bound)
        handed_out = set(_output_slots(_output_spec(outputs, rec)))
        for leaf in list(rec.leaves.values()) + [p for o in opts for p in o._compile_params()]:
            if leaf.grad is not None and id(leaf.grad.data) in rec.slot_of:
                handed_out.add(rec.slot_of[id(leaf.grad.data)])
        before = set(self.bound)
        self.program = _fold_constants(rec, self.bound, handed_out)
        self.folded = set(self.bound) - before  # constants nothing writes: never snapshotted
        self.scalar_outs = rec.scalar_outs
        self.reads = any(kind in ("read", "check") for kind, *_ in rec.program)
        self.host_reads = any(kind == "read" for kind, *_ in rec.program)
        self.written_before_read = _written_before_last_read(rec.program, self.bound)
        self.random = rec.random
        self.backends = list(rec.backends.values())
        self.template: list = [None] * rec.n_slots
        for slot, array in self.bound.items():
            self.template[slot] = array
        self.outputs = _output_spec(outputs, rec)
        for leaf in rec.leaves.values():
            if leaf._hooks:
                raise NotReplayable(
                    "a leaf has gradient hooks (e.g. DistributedDataParallel's all-reduce): a "
                    "replay would skip the Python code they run"
                )
        for module in rec.modules.values():
            if getattr(module, "_forward_hooks", None) or getattr(
                module, "_forward_pre_hooks", None
            ):
                raise NotReplayable(
                    f"{type(module).__name__} has forward hooks: a replay would skip them"
                )
        leaves = {}
        for key, leaf in rec.leaves.items():
            slot = rec.slot_of.get(id(leaf.data))
            if slot is not None and slot < n_inputs:
                raise NotReplayable(
                    "a Tensor argument requires grad: a replay would set .grad on the recorded "
                    "argument, not on this call's (make it a parameter, or pass it without "
                    "requires_grad)"
                )
            if slot is not None and slot not in rec.bound:
                continue  # a leaf made inside the step (x.detach().requires_grad_()): not state
            leaves[key] = leaf
        for opt in opts:
            for p in opt._compile_params():
                leaves[id(p)] = p
        self.leaves = []  # (leaf, its array, slot of its .grad or None)
        for leaf in leaves.values():
            grad = leaf.grad
            if grad is None:
                self.leaves.append((leaf, leaf.data, None))
                continue
            slot = rec.slot_of.get(id(grad.data))
            if slot is None:
                raise NotReplayable(
                    f"the .grad of a leaf of shape {leaf.shape} was made by code the recorder "
                    "cannot see (a copy or an assignment outside the ops)"
                )
            self.leaves.append((leaf, leaf.data, slot))
        self.opts = [(opt, opt._compile_guard()) for opt in opts]
        self.modules = [(weakref.ref(m), m.training) for m in rec.modules.values()]
        self.frees = self._last_uses()
        self.replay = _generate(self, free=True)
        self.replay_step = _generate(self, free=True, finish=True)
        self.graph = None  # a CUDA graph, once captured
        self.grad_guards: list = []
        self._guards = None  # made on first use, after guard_grads

    def _last_uses(self) -> list:
        """Per call, the slots nothing later reads: a replay drops them there, as backward frees
        saved arrays, so peak memory stays near eager's and freed blocks are reused warm."""
        keep = set(range(self.n_inputs)) | set(self.bound)
        keep |= {slot for _, _, slot in self.leaves if slot is not None}
        keep |= set(_output_slots(self.outputs))
        last: dict[int, int] = {}
        for i, (kind, payload, ins, outs) in enumerate(self.program):
            made = list(outs)
            if kind == "apply":
                made += [slot for _, _, slot in payload[6]]
            for slot in made + _slots_in(ins):
                last[slot] = i
        frees: list[list[int]] = [[] for _ in self.program]
        for slot, i in last.items():
            if slot not in keep:
                frees[i].append(slot)
        return [tuple(f) for f in frees]

    # ---------------------------------------------------------------- guards
    def guard_grads(self, grads_before: dict) -> None:
        """Guard each parameter's .grad as the recording found it: absent, present, or (when
        the schedule adds into it or zeroes it) that very buffer."""
        bound = {id(a) for a in self.bound.values()}
        self.grad_guards = []
        for leaf, _, _ in self.leaves:
            if id(leaf) not in grads_before:
                continue
            _, before = grads_before[id(leaf)]
            exact = before is not None and id(before) in bound
            self.grad_guards.append((leaf, before is None, before if exact else None))

    def guards_hold(self) -> bool:
        """Do the assumptions of the recording still hold? (Generated once: ``_guard_source``.)"""
        check = self._guards
        if check is None:
            check = self._guards = _guard_function(self)
        return check()

    def structure(self) -> list:
        """What two recordings must share: every call, its arguments' slots and values."""
        out = []
        for kind, payload, ins, outs in self.program:
            if kind == "apply":
                cls, backend, out_backend, flags, kwargs, multi, extra, kw_names = payload
                key = (cls, backend, out_backend, flags, _Value(kwargs), multi, extra, kw_names)
            elif kind == "read":
                key = (payload[0], payload[1])
            else:
                key = payload if not isinstance(payload, tuple) else tuple(payload)
            out.append((kind, key, ins, outs))
        bound = sorted((slot, a.shape, a.dtype.str) for slot, a in self.bound.items())
        return [out, bound, self.n_slots, [(id(leaf), slot) for leaf, _, slot in self.leaves]]

    def same_as(self, other: Schedule) -> bool:
        """Two recordings of the same step: same calls on the same slots, and each bound array
        either the very same object (state) or equal in value (a constant made during the step)."""
        if self.structure() != other.structure():
            return False
        for slot, array in self.bound.items():
            theirs = other.bound[slot]
            if array is not theirs and not _same_results([array], [theirs]):
                return False
        return True

    # ---------------------------------------------------------------- replay
    def run(self, input_arrays: list, free: bool = True, flag: Any = None) -> list:
        """The calls on ``input_arrays``; the frame of slots after them (the inputs, bound
        arrays, outputs and ``.grad`` slots; the intermediates were dropped at their last
        reader). ``free=False`` keeps every slot (a CUDA graph capture needs all its arrays
        alive)."""
        if free:
            return self.replay(input_arrays)
        return _generate(self, free=False, flag=flag)(input_arrays)

    def source(self) -> str:
        """The Python source a replay runs (see ``_generate``)."""
        return self.replay.source

    def finish(self, frame: list) -> Any:
        """Hand the replay's results to the world: leaves' ``.grad``, then the return value."""
        make = Tensor._make
        for leaf, _, slot in self.leaves:
            if slot is None:
                leaf.grad = None
            else:
                array = frame[slot]
                grad = leaf.grad
                if grad is None or grad.data is not array:
                    leaf.grad = make(array, leaf._backend)
        return _rebuild(self.outputs, frame)

    def describe(self) -> str:
        """The schedule in replay order: one line per call, with the slots it reads and writes
        (slots below ``n_inputs`` are the inputs; ``b<n>`` marks arrays bound by identity)."""

        def name(slot: Any) -> str:
            if isinstance(slot, _Value):
                return repr(slot.value)
            if isinstance(slot, _Pack):
                inner = ", ".join(name(s) for s in slot.items)
                return f"({inner},)" if slot.kind is tuple else f"[{inner}]"
            return f"b{slot}" if slot in self.bound else f"%{slot}"

        lines = [f"schedule: {len(self.program)} calls, {self.n_slots} slots"]
        for i, (kind, payload, ins, outs) in enumerate(self.program):
            what = _call_name(kind, payload)
            args = ", ".join(name(s) for s in ins)
            result = ", ".join(name(s) for s in outs)
            lines.append(f"{i:4d} {what}({args})" + (f" -> {result}" if result else ""))
        return "\n".join(lines)

    def to_dot(self) -> str:
        """The schedule as Graphviz DOT: calls in replay order (numbered), an edge per array
        passed from one call to another (labelled with its slot), bound arrays (state,
        constants) as grey boxes, and "frees" listing the slots a call is the last reader of."""
        lines = ["digraph schedule {", '  rankdir=TB; node [fontname="Helvetica", fontsize=10];']
        for slot in range(self.n_inputs):
            lines.append(f'  s{slot} [label="input %{slot}", shape=ellipse, color=blue];')
        for slot, array in self.bound.items():
            shape = "x".join(map(str, array.shape)) or "scalar"
            label = f"b{slot} {shape} {array.dtype}"
            lines.append(f'  s{slot} [label="{label}", shape=box, style=filled, color=grey85];')
        made_by: dict[int, str] = {slot: f"s{slot}" for slot in range(self.n_inputs)}
        made_by.update({slot: f"s{slot}" for slot in self.bound})
        for i, (kind, payload, ins, outs) in enumerate(self.program):
            label = _dot_label(f"{i}: {_call_name(kind, payload)}")
            if self.frees[i]:
                label += "\\nfrees " + " ".join(f"%{s}" for s in self.frees[i])
            lines.append(f'  c{i} [label="{label}", shape=box];')
            for slot in _slots_in(ins):
                if slot in made_by:
                    lines.append(f'  {made_by[slot]} -> c{i} [label="%{slot}"];')
            extra = [e[2] for e in payload[6]] if kind == "apply" else []
            for slot in list(outs) + extra:
                made_by[slot] = f"c{i}"
        lines.append("}")
        return "\n".join(lines)


def _dot_label(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _call_name(kind: str, payload: Any) -> str:
    if kind == "apply":
        name = payload[0].__name__ + ".forward"
        op = payload[4].get("name")  # a NoGradOp says which xp function it runs
        return f"{name}[{op}]" if op else name
    if kind == "inplace":
        return f"inplace {payload[0]}"
    if kind == "duty":
        return f"backend.{payload[0].__name__}"
    if kind == "call":
        return f"{payload[0].__module__}.{payload[0].__name__}"
    if kind == "read":
        return "host read"
    if kind == "check":
        return "check any"
    return f"engine {kind}"


def _fold_constants(rec: _Recorder, bound: dict, handed_out: set) -> list:
    """The program without the calls that only read fresh constants (the backward seed's
    broadcast to the loss's shape, a factory's zeros scaled): their recorded results become
    bound constants in ``bound``. A call is folded only if it draws no random numbers, and
    nothing in the step writes its results in place or hands them out (outputs, ``.grad``)."""
    written = set(handed_out)
    for kind, _payload, ins, _outs in rec.program:
        if kind in ("inplace", "accumulate"):
            written.add(ins[0])
        elif kind == "duty":
            written.update(_slots_in(ins))
    # A constant written anywhere in the step (filled in place) is not one.
    constants = {
        slot for slot, a in bound.items() if id(a) in rec.fresh_constants and slot not in written
    }
    if not constants:
        return rec.program
    array_of = {rec.slot_of[id(a)]: a for a in rec.keep if id(a) in rec.slot_of}
    program = []
    for step in rec.program:
        kind, payload, ins, outs = step
        if kind == "apply" and not getattr(payload[0], "draws_random", False):
            slots = _slots_in(ins)
            made = list(outs) + [slot for _, _, slot in payload[6]]
            if (
                slots
                and all(s in constants for s in slots)
                and not any(s in written for s in made)
                and all(s in array_of for s in made)
            ):
                for slot in made:
                    bound[slot] = array_of[slot]
                    constants.add(slot)
                continue
        program.append(step)
    return program


def _written_before_last_read(program: list, bound: dict) -> list:
    """State arrays written in place before the last host read: a replay that stops at a read
    (another value than recorded) puts them back before running the step eagerly."""
    last = max((i for i, step in enumerate(program) if step[0] in ("read", "check")), default=-1)
    written: dict[int, Any] = {}
    for kind, _payload, ins, _outs in program[:last]:
        if kind in ("inplace", "accumulate"):
            targets = ins[:1]
        elif kind == "duty":
            targets = _slots_in(ins)
        else:
            continue
        for slot in targets:
            if slot in bound:
                written[slot] = bound[slot]
    return list(written.values())


class _Source:
    """Python source for a replay, and the objects its names stand for."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.names: dict[str, Any] = {}
        self.by_id: dict[int, str] = {}
        self.capture: Any = None  # a CUDA graph's device flag for the checks
        self.scalar_outs: set = set()  # slots of 0-d results

    def const(self, value: Any, hint: str = "k") -> str:
        """A name for ``value`` in the generated function's globals (one per object)."""
        name = self.by_id.get(id(value))
        if name is None:
            name = f"{hint}{len(self.names)}"
            self.names[name] = value
            self.by_id[id(value)] = name
        return name

    def arg(self, slot: Any) -> str:
        if isinstance(slot, _Value):
            return self.const(slot.value, "v")
        if isinstance(slot, _Pack):
            inner = "".join(f"{self.arg(s)}, " for s in slot.items)
            return f"({inner})" if slot.kind is tuple else f"[{inner}]"
        return f"s{slot}"


def _generate(
    schedule: Schedule, free: bool, finish: bool = False, flag: Any = None
) -> Callable[[list], Any]:
    """The schedule as one straight-line Python function of the input arrays: each slot a local
    variable, each bound array, ctx, ``forward`` and value a global of the function, and a
    ``del`` after each slot's last reader (``free``; a CUDA graph capture keeps everything).
    It returns the frame: a list with the inputs, bound arrays, outputs and ``.grad`` slots;
    with ``finish``, it does ``Schedule.finish``'s work itself and returns the step's result."""
    src = _Source()
    src.capture = flag
    src.scalar_outs = schedule.scalar_outs
    src.names.update(_Diverged=_Diverged, _equal_read=_equal_read, _Tensor_make=Tensor._make)
    body = src.lines
    inputs = ", ".join(f"s{i}" for i in range(schedule.n_inputs))
    if schedule.n_inputs:
        body.append(f"({inputs},) = inputs")
    for slot, array in schedule.bound.items():
        src.names[f"s{slot}"] = array
    for i, step in enumerate(schedule.program):
        _emit(src, i, *step)
        dead = [f"s{s}" for s in schedule.frees[i] if s not in schedule.bound] if free else []
        if dead:
            body.append(f"del {', '.join(dead)}")
    if finish:
        _emit_finish(src, schedule)
        return _exec(src, schedule)
    kept = _kept_slots(schedule) if free else range(schedule.n_slots)
    made = set(range(schedule.n_inputs))
    for kind, payload, _ins, outs in schedule.program:
        made.update(outs)
        if kind == "apply":
            made.update(slot for _, _, slot in payload[6])
    src.names["_template"] = schedule.template
    body.append("frame = _template.copy()")
    for slot in sorted(set(kept) & made):
        body.append(f"frame[{slot}] = s{slot}")
    body.append("return frame")
    return _exec(src, schedule)


def _exec(src: _Source, schedule: Schedule) -> Callable[[list], Any]:
    text = "def replay(inputs):\n" + "".join(f"    {line}\n" for line in src.lines)
    namespace = dict(src.names)
    exec(builtins.compile(text, f"<replay of {len(schedule.program)} calls>", "exec"), namespace)  # noqa: S102
    replay = namespace["replay"]
    replay.source = text
    return replay


def _guard_function(schedule: Schedule) -> Callable[[], bool]:
    """``Schedule.guards_hold`` as one generated function: each leaf's array identity, each
    parameter's ``.grad`` as the recording found it, each module's ``training`` flag (modules
    by weak reference), each optimizer's ``_compile_guard()`` snapshot."""
    src = _Source()
    body = src.lines
    for leaf, array, _ in schedule.leaves:
        leaf_name, array_name = src.const(leaf, "leaf"), src.const(array, "a")
        body.append(f"if {leaf_name}.data is not {array_name}: return False")
    for leaf, was_none, buffer in schedule.grad_guards:
        body.append(f"g = {src.const(leaf, 'leaf')}._grad")
        body.append(f"if g is {'not ' if was_none else ''}None: return False")
        if buffer is not None:
            body.append(f"if g.data is not {src.const(buffer, 'a')}: return False")
    for ref, training in schedule.modules:
        body.append(f"m = {src.const(ref, 'ref')}()")
        body.append(f"if m is None or m.training != {training!r}: return False")
    for opt, snapshot in schedule.opts:
        if _is_base_optimizer_guard(opt):
            _emit_optimizer_guard(src, opt, snapshot)
            continue
        guard = f"{src.const(opt, 'opt')}._compile_guard()"
        body.append(f"if {guard} != {src.const(snapshot, 'snapshot')}: return False")
    body.append("return True")
    text = "def guards():\n" + "".join(f"    {line}\n" for line in body)
    namespace = dict(src.names)
    exec(builtins.compile(text, "<replay guards>", "exec"), namespace)  # noqa: S102
    return namespace["guards"]


def _is_base_optimizer_guard(opt: Any) -> bool:
    guard = getattr(type(opt), "_compile_guard", None)
    return (
        getattr(guard, "__qualname__", "") == "Optimizer._compile_guard"
        and getattr(guard, "__module__", "") == "optim.optimizer"
    )


def _emit_optimizer_guard(src: _Source, opt: Any, snapshot: tuple) -> None:
    """``optim.Optimizer._compile_guard() == snapshot`` unrolled: the same group options (each
    key and value; the groups' count and sizes) and the same state dict and size, without
    building the snapshot tuple on every call."""
    options, state_id, state_len = snapshot
    body = src.lines
    name = src.const(opt, "opt")
    body.append(f"groups = {name}.param_groups")
    body.append(f"if len(groups) != {len(options)}: return False")
    for i, items in enumerate(options):
        body.append(f"group = groups[{i}]")
        extra = sum(k in ("params", "param_names") for k in opt.param_groups[i])
        body.append(f"if len(group) != {len(items) + extra}: return False")
        for key, value in items:
            value_name = src.const(value, "option")
            body.append(f"if {key!r} not in group or group[{key!r}] != {value_name}: return False")
    body.append(f"state = {name}.state")
    body.append(f"if id(state) != {state_id} or len(state) != {state_len}: return False")


def _replay_ctx(cls: type, backend: Any, flags: tuple, keeps_saved: bool) -> Any:
    """The one ctx of a call site, reused by every replay (nothing keeps it past the call).

    It is an instance of a subclass of ``cls`` made for the site: what ``forward`` asks ctx
    (``needs_input_grad``, ``xp``, ``backend``) is answered by class attributes fixed at
    recording time instead of properties computed per call, and ``save_for_backward`` stores
    nothing unless a later call reads what was saved."""
    namespace = {
        "__slots__": (),
        "needs_input_grad": tuple(map(bool, flags)),
        "xp": backend.xp,
        "backend": backend,
    }
    if not keeps_saved:
        namespace["save_for_backward"] = _save_nothing
    site = type(cls.__name__, (cls,), namespace)
    ctx = object.__new__(site)
    ctx._backend = backend
    ctx._saved = None
    ctx._next = flags
    return ctx


def _save_nothing(ctx: Any, *arrays: Any) -> None:
    """``save_for_backward`` of a replayed call: no backward will read it."""


def _emit_finish(src: _Source, schedule: Schedule) -> None:
    """``Schedule.finish`` as source: the leaves' ``.grad`` (set directly: the recording's eager
    run passed the setter's checks with these very shapes, dtypes and devices), then the
    step's return value."""
    body = src.lines
    for leaf, _, slot in schedule.leaves:
        name = src.const(leaf, "leaf")
        if slot is None:
            body.append(f"{name}._grad = None")
            continue
        backend = src.const(leaf._backend, "backend")
        body.append(f"g = {name}._grad")
        body.append(
            f"if g is None or g.data is not s{slot}: {name}._grad = _Tensor_make(s{slot}, "
            f"{backend})"
        )
    body.append(f"return {_rebuild_source(src, schedule.outputs)}")


def _rebuild_source(src: _Source, spec: Any) -> str:
    """``_rebuild`` as an expression over the slots' local variables."""
    kind = spec[0]
    if kind == "tensor":
        return f"_Tensor_make(s{spec[1]}, {src.const(spec[2], 'backend')})"
    if kind in ("tuple", "list"):
        items = "".join(f"{_rebuild_source(src, s)}, " for s in spec[1])
        return f"({items})" if kind == "tuple" else f"[{items}]"
    if kind == "dict":
        items = ", ".join(
            f"{src.const(k, 'key')}: {_rebuild_source(src, s)}" for k, s in spec[1].items()
        )
        return "{" + items + "}"
    return src.const(spec[1], "v")


def _kept_slots(schedule: Schedule) -> set:
    keep = set(range(schedule.n_inputs))
    keep |= {slot for _, _, slot in schedule.leaves if slot is not None}
    keep |= set(_output_slots(schedule.outputs))
    return keep


def _emit(src: _Source, i: int, kind: str, payload: Any, ins: tuple, outs: tuple) -> None:
    """The source lines of one call."""
    body = src.lines
    if kind == "apply":
        cls, backend, out_backend, flags, kwargs, multi, extra, kw_names = payload
        ctx = _replay_ctx(cls, backend, flags, any(what == "saved" for what, _, _ in extra))
        c = src.const(ctx, f"ctx{i}_")
        forward = src.const(cls.forward, "forward")
        ndarray = src.const(out_backend.ndarray, "ndarray")
        asarray = src.const(out_backend.xp.asarray, "asarray")
        n_pos = len(ins) - len(kw_names)
        args = [c] + [src.arg(s) for s in ins[:n_pos]]
        args += [f"{k}={src.const(v, 'v')}" for k, v in kwargs.items()]
        args += [f"{k}=s{s}" for k, s in zip(kw_names, ins[n_pos:])]
        call = f"{forward}({', '.join(args)})"
        # NumPy gives scalars for 0-d results: those are made arrays again, as apply does.
        scalars = src.scalar_outs
        if multi:
            body.append(f"o = {call}")
            for j, slot in enumerate(outs):
                body.append(f"s{slot} = o[{j}]")
                if slot in scalars:
                    body.append(f"if type(s{slot}) is not {ndarray}: s{slot} = {asarray}(s{slot})")
        else:
            (slot,) = outs
            body.append(f"s{slot} = {call}")
            if slot in scalars:
                body.append(f"if type(s{slot}) is not {ndarray}: s{slot} = {asarray}(s{slot})")
        for what, key, slot in extra:
            if what == "saved":
                body.append(f"s{slot} = {c}._saved[{key}]")
            else:
                body.append(f"s{slot} = {c}.{key}")
    elif kind == "inplace":
        op, backend = payload
        target, other = ins
        inplace = src.const(_ORIGINAL_INPLACE, "inplace")
        b = src.const(backend, "backend")
        body.append(f"{inplace}(_Tensor_make(s{target}, {b}), {op!r}, {src.arg(other)})")
    elif kind == "add":
        (out,) = outs
        body.append(f"s{out} = {src.const(payload.add, 'add')}(s{ins[0]}, s{ins[1]})")
    elif kind == "copy":
        body.append(f"s{outs[0]} = s{ins[0]}.copy()")
    elif kind == "total":
        stack = src.const(payload.stack, "stack")
        parts = ", ".join(f"s{s}" for s in ins)
        body.append(f"s{outs[0]} = {stack}([{parts}]).sum(axis=0)")
    elif kind == "accumulate":
        buffer, data = ins
        body.append(f"{src.const(payload.add, 'add')}(s{buffer}, s{data}, out=s{buffer})")
    elif kind == "duty":
        original, backend = payload
        args = ", ".join([src.const(backend, "backend")] + [src.arg(s) for s in ins])
        body.append(f"{src.const(original, 'duty')}({args})")
    elif kind == "call":
        original, paths = payload
        call = f"{src.const(original, 'fn')}({', '.join(src.arg(s) for s in ins)})"
        body.append(f"o = {call}")
        for slot, path in zip(outs, paths):
            body.append(f"s{slot} = o{''.join(f'[{i}]' for i in path)}")
    elif kind == "check":
        if src.capture:  # no sync inside a CUDA graph: or into the flag read after the launch
            flag = src.const(src.capture, "flag")
            any_ = src.const(payload.logical_or, "logical_or")
            body.append(f"{any_}({flag}, s{ins[0]}.any(), out={flag})")
        else:
            body.append(f"if s{ins[0]}.any(): raise _Diverged")
    elif kind == "read":
        original, backend, seen = payload
        call = f"{src.const(original, 'read')}({src.const(backend, 'backend')}, s{ins[0]})"
        body.append(f"if not _equal_read({call}, {src.const(seen, 'seen')}): raise _Diverged")
    else:
        raise AssertionError(f"unknown instruction {kind}")


def _equal_read(now: Any, seen: Any) -> bool:
    if getattr(now, "shape", None) != getattr(seen, "shape", None):
        return False
    return bool((now == seen).all()) if hasattr(now, "all") else now == seen


def _output_spec(value: Any, rec: _Recorder) -> Any:
    if isinstance(value, Tensor):
        slot = rec.slot_of.get(id(value.data))
        if slot is None:
            raise NotReplayable("the step returns a Tensor made by code the recorder cannot see")
        return ("tensor", slot, value._backend, value.requires_grad and value.grad_fn is None)
    if isinstance(value, (tuple, list)):
        return (type(value).__name__, [_output_spec(v, rec) for v in value])
    if isinstance(value, dict):
        return ("dict", {k: _output_spec(v, rec) for k, v in value.items()})
    if value is None or isinstance(value, (str, bool)):
        return ("value", value)
    raise NotReplayable(
        f"the step returns a {type(value).__name__}: a replay cannot recompute Python values "
        "(return Tensors, e.g. the loss itself rather than loss.item())"
    )


def _rebuild(spec: Any, frame: list) -> Any:
    kind = spec[0]
    if kind == "tensor":
        return Tensor._make(frame[spec[1]], spec[2])
    if kind in ("tuple", "list"):
        items = [_rebuild(s, frame) for s in spec[1]]
        return tuple(items) if kind == "tuple" else items
    if kind == "dict":
        return {k: _rebuild(s, frame) for k, s in spec[1].items()}
    return spec[1]


# ------------------------------------------------------------------------------ the front end
class _Entry:
    """What a compiled step knows about one input signature."""

    __slots__ = ("calls", "schedules", "pending", "misses", "eager_reason")

    def __init__(self) -> None:
        self.calls = 0
        self.schedules: list[Schedule] = []
        self.pending: Schedule | None = None
        self.misses = 0
        self.eager_reason: str | None = None


class CompiledStep:
    """``A.compile(fn)``: see the module docstring. ``schedule()`` shows what is replayed."""

    def __init__(self, fn: Callable) -> None:
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.entries: dict = {}
        self.warned = False
        self.replays = 0
        self.eager_calls = 0

    def __call__(self, *args: Any) -> Any:
        key, arrays = _signature(args)
        entry = self.entries.get(key)
        if entry is None:
            entry = self.entries[key] = _Entry()
        entry.calls += 1
        if entry.eager_reason is not None or entry.calls == 1:
            return self._eager(args)
        for schedule in entry.schedules:
            if schedule.guards_hold():
                try:
                    return self._replay(schedule, arrays)
                except _Diverged:
                    entry.misses += 1
                    if entry.misses >= _MAX_MISSES:
                        self._give_up(entry, "host reads in the step keep seeing new values")
                    return self._eager(args)
        if _recorder is not None:
            self._give_up(entry, "a compiled step called from inside another one's recording")
            return self._eager(args)
        return self._record(args, arrays, entry)

    def schedule(self, *args: Any) -> Schedule | None:
        """The verified schedule that a call with ``args`` would replay (None if there is none)."""
        entry = self.entries.get(_signature(args)[0])
        return entry.schedules[0] if entry is not None and entry.schedules else None

    # ---------------------------------------------------------------- the three paths
    def _eager(self, args: tuple) -> Any:
        self.eager_calls += 1
        return self.fn(*args)

    def _give_up(self, entry: _Entry, reason: str) -> None:
        entry.eager_reason = reason
        entry.pending = None
        if not self.warned:
            self.warned = True
            warnings.warn(
                f"compile({getattr(self.fn, '__name__', 'step')}): running eagerly: {reason}",
                RuntimeWarning,
                stacklevel=3,
            )

    def _record_once(self, args: tuple, arrays: list) -> tuple[Schedule | None, Any, str]:
        """Run the step eagerly while recording: (schedule or None, its result, why not)."""
        rec = _Recorder(arrays)
        # What each parameter's .grad was before the step: accumulate into it, or start anew.
        grads_before = {
            id(p): (p, None if p.grad is None else p.grad.data)
            for o in list(_stateful)
            for p in o._compile_params()
        }
        with _recording(rec):
            result = self.fn(*args)
        self.eager_calls += 1
        opts = [o for o in list(_stateful) if any(id(p) in rec.leaves for p in o._compile_params())]
        try:
            schedule = Schedule(rec, len(arrays), result, opts)
            schedule.guard_grads(grads_before)
            return schedule, result, ""
        except NotReplayable as exc:
            return None, result, str(exc)

    def _record(self, args: tuple, arrays: list, entry: _Entry) -> Any:
        pending = entry.pending
        if pending is None:
            entry.pending, result, reason = self._record_once(args, arrays)
            if entry.pending is None:
                self._give_up(entry, reason)
            return result
        # Verify: replay the pending schedule, put everything back, run eagerly, compare.
        entry.pending = None
        snapshot = _Snapshot(pending)
        try:
            replayed = snapshot.results(pending.run(arrays))
        except _Diverged:
            replayed = None
        snapshot.restore()
        schedule, result, reason = self._record_once(args, arrays)
        if schedule is None:
            self._give_up(entry, reason)
        elif replayed is not None and schedule.same_as(pending):
            if _same_results(replayed, snapshot.results_eager(result)):
                entry.schedules.insert(0, schedule)
                del entry.schedules[_MAX_SCHEDULES:]
                self._maybe_capture(schedule, arrays)
            else:
                self._give_up(
                    entry,
                    "replaying the recorded step did not give eager mode's numbers (an array "
                    "changed by code the recorder cannot see)",
                )
        else:
            entry.pending = schedule  # the recordings differ: compare the next one with this
            entry.misses += 1
            if entry.misses >= _MAX_MISSES:
                self._give_up(entry, "successive recordings of the step differ")
        return result

    def _replay(self, schedule: Schedule, arrays: list) -> Any:
        if schedule.graph is not None:
            frame = schedule.graph.launch(arrays)
        elif schedule.reads:
            # A read may stop the replay: keep what it would have to put back.
            saved = _save_rngs(schedule) if schedule.random else []
            state = [(a, a.copy()) for a in schedule.written_before_read]
            try:
                result = schedule.replay_step(arrays)
            except _Diverged:
                for array, copy_ in state:
                    array[...] = copy_
                _restore_rngs(schedule, saved)
                raise
            self.replays += 1
            return result
        else:
            result = schedule.replay_step(arrays)
            self.replays += 1
            return result
        self.replays += 1
        return schedule.finish(frame)

    def _maybe_capture(self, schedule: Schedule, arrays: list) -> None:
        backends = schedule.backends
        if len(backends) != 1 or getattr(backends[0], "name", "") != "cupy":
            return
        if schedule.host_reads or schedule.random:
            return
        if any(
            kind == "duty" and getattr(p[0], "host_sync", False) for kind, p, *_ in schedule.program
        ):
            return
        schedule.graph = _CudaGraphStep(schedule, backends[0], arrays)


def compile(fn: Callable | None = None) -> Any:  # noqa: A001 (PyTorch's name)
    """Record ``fn`` (a training or inference step taking Tensors) once, replay it afterwards.

    Usable as ``step = A.compile(train_step)`` or as a decorator. See ``autograd.replay``'s
    module docstring for what is recorded, the guards, and what falls back to eager mode.
    """
    if fn is None:
        return compile
    return CompiledStep(fn)


# ------------------------------------------------------------------------------ helpers
def _signature(args: tuple) -> tuple[tuple, list]:
    key = []
    arrays = []
    for arg in args:
        if isinstance(arg, Tensor):
            data = arg.data
            key.append((data.shape, data.dtype, arg._backend, arg.requires_grad))
            arrays.append(data)
        else:
            try:
                hash(arg)
            except TypeError:
                raise TypeError(
                    f"compile: a compiled step takes Tensors and hashable values, got a "
                    f"{type(arg).__name__}"
                ) from None
            key.append(("V", type(arg), arg))
    return tuple(key), arrays


class _Snapshot:
    """Copies of everything a schedule may write (bound arrays, leaves' .grad, generators)."""

    def __init__(self, schedule: Schedule) -> None:
        folded = schedule.folded
        self.arrays = [(a, a.copy()) for s, a in schedule.bound.items() if s not in folded]
        self.grads = [(leaf, leaf.grad) for leaf, _, _ in schedule.leaves]
        self.rngs = _save_rngs(schedule)
        self.schedule = schedule

    def results(self, frame: list) -> list:
        """After a replay: the state arrays, the leaves' gradients and the outputs."""
        schedule = self.schedule
        out = [a.copy() for a, _ in self.arrays]
        out += [None if slot is None else frame[slot].copy() for _, _, slot in schedule.leaves]
        out += [frame[s].copy() for s in _output_slots(schedule.outputs)]
        return out

    def results_eager(self, result: Any) -> list:
        """The same after an eager run."""
        out = [a.copy() for a, _ in self.arrays]
        for leaf, _, _ in self.schedule.leaves:
            out.append(None if leaf.grad is None else leaf.grad.data.copy())
        out += [t.data.copy() for t in _output_tensors(result)]
        return out

    def restore(self) -> None:
        for array, saved in self.arrays:
            array[...] = saved
        for leaf, grad in self.grads:
            leaf.grad = grad
        _restore_rngs(self.schedule, self.rngs)


def _output_slots(spec: Any) -> list:
    if spec[0] == "tensor":
        return [spec[1]]
    if spec[0] in ("tuple", "list"):
        return [s for item in spec[1] for s in _output_slots(item)]
    if spec[0] == "dict":
        return [s for item in spec[1].values() for s in _output_slots(item)]
    return []


def _output_tensors(value: Any) -> list:
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in _output_tensors(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _output_tensors(v)]
    return []


def _same_results(a: list, b: list) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if (x is None) != (y is None):
            return False
        if x is None:
            continue
        if x.shape != y.shape or x.dtype != y.dtype:
            return False
        same = (x == y) | ((x != x) & (y != y)) if x.dtype.kind in "fc" else x == y
        if not bool(same.all()):
            return False
    return True


def _save_rngs(schedule: Schedule) -> list:
    return [(b, copy.deepcopy(b.rng)) for b in schedule.backends]


def _restore_rngs(schedule: Schedule, saved: list) -> None:
    for backend, rng in saved:
        backend.rng = rng


class _CudaGraphStep:
    """A verified schedule captured as one CUDA graph (CuPy): static input buffers, every array
    of the capture kept alive, launched on a non-default stream. Not exercised without a GPU."""

    def __init__(self, schedule: Schedule, backend: Any, arrays: list) -> None:
        cupy = backend.xp
        self.stream = cupy.cuda.Stream(non_blocking=True)
        self.inputs = [cupy.empty_like(a) for a in arrays]
        # The schedule's checks (any_true) or into this flag inside the graph; it is read once
        # after the launch's sync. A check that fired means the graph already applied the
        # step's updates (as a CUDA device-side assert would): the step raises, naming it.
        self.flag = (
            cupy.zeros((), dtype=bool) if any(k == "check" for k, *_ in schedule.program) else None
        )
        with self.stream:
            for buffer, array in zip(self.inputs, arrays):
                buffer[...] = array
            self.stream.begin_capture()
            try:
                self.frame = schedule.run(self.inputs, free=False, flag=self.flag)
            finally:
                self.graph = self.stream.end_capture()
        self.stream.synchronize()
        self.captured_once = True

    def launch(self, arrays: list) -> list:
        with self.stream:
            if self.flag is not None:
                self.flag.fill(False)
            for buffer, array in zip(self.inputs, arrays):
                buffer[...] = array  # written in place: the graph reads these addresses
            self.graph.launch(stream=self.stream)
        self.stream.synchronize()
        if self.flag is not None and bool(self.flag):
            raise RuntimeError(
                "compile: an argument check in the captured step failed (a class index out of "
                "range?); the step's updates were applied. Run the step eagerly for the message."
            )
        return self.frame
