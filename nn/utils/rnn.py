"""``nn.utils.rnn``: batches of sequences of different lengths, as PyTorch packs them.

A ``PackedSequence`` stores the time steps of a batch one after the other, each step holding only
the sequences still running: ``data`` is (sum of lengths, *), ``batch_sizes[t]`` is how many
sequences are longer than t. Sequences are kept sorted by decreasing length (``sorted_indices``
says which input sequence each row is; ``unsorted_indices`` undoes it). Every conversion is one
differentiable gather (``index_select``), so gradients flow back to the padded input.

Index arithmetic (which row goes where) is done once per call on the lengths, with the array
module of the data's device; no Python loop over the elements.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import autograd as A
from autograd import Tensor


class PackedSequence(NamedTuple):
    """``(data, batch_sizes, sorted_indices, unsorted_indices)``, as ``torch.nn.utils.rnn``.

    Shape: data (sum(lengths), *); batch_sizes (max_length,) int64 on the CPU; the index tensors
    (batch,) int64 on data's device, or None when the batch was already sorted.
    """

    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None = None
    unsorted_indices: Tensor | None = None

    def to(self, *args: Any, **kwargs: Any) -> PackedSequence:
        """The same packing with ``data`` (and the indices, for a device) moved or cast."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        device = data.device

        def move(t: Tensor | None) -> Tensor | None:
            return None if t is None else t.to(device)

        return PackedSequence(
            data, self.batch_sizes, move(self.sorted_indices), move(self.unsorted_indices)
        )

    @property
    def is_cuda(self) -> bool:
        return self.data.is_cuda

    def is_pinned(self) -> bool:
        return False


def _lengths_list(lengths: Any, op: str) -> list:
    if isinstance(lengths, Tensor):
        if lengths.ndim != 1:
            raise ValueError(f"{op}: lengths must be 1-D, got shape {lengths.shape}")
        if lengths.dtype.kind not in "iu":
            raise TypeError(f"{op}: lengths must be an int64 tensor, got {lengths.dtype}")
        return [int(v) for v in lengths.tolist()]
    return [int(v) for v in lengths]


def _index(values: Any, like: Tensor) -> Tensor:
    """An int64 index tensor on ``like``'s device from a backend array."""
    return A.tensor(values, dtype=A.int64, device=like.device)


def _step_mask(xp: Any, batch_sizes: list) -> Any:
    """(T, B) bool: row b is running at step t (the sorted batch shrinks from the end)."""
    return xp.arange(batch_sizes[0])[None, :] < xp.asarray(batch_sizes)[:, None]


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    if permutation is None:
        return None
    xp = permutation.xp
    inverse = xp.empty_like(permutation.data)
    inverse[permutation.data] = xp.arange(permutation.shape[0])
    return _index(inverse, permutation)


def pack_padded_sequence(
    input: Tensor, lengths: Any, batch_first: bool = False, enforce_sorted: bool = True
) -> PackedSequence:
    """Pack a padded batch (T, B, *) (or (B, T, *) with ``batch_first``) of sequences of the
    given lengths. With ``enforce_sorted`` the lengths must be decreasing; otherwise the batch is
    sorted here and ``unsorted_indices`` remembers the order.

    Shape: input (T, B, *) -> PackedSequence with data (sum(lengths), *).
    """
    op = "pack_padded_sequence"
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(input).__name__}")
    if input.ndim < 2:
        raise ValueError(
            f"{op}: input must have at least 2 dimensions (time and batch), got {input.shape}"
        )
    lengths = _lengths_list(lengths, op)
    if batch_first:
        input = input.transpose(0, 1)
    steps, batch = input.shape[0], input.shape[1]
    if len(lengths) != batch:
        raise ValueError(
            f"{op}: expected len(lengths) to be equal to batch_size, but got {len(lengths)} "
            f"lengths for a batch of {batch} (input of shape {tuple(input.shape)}"
            f"{', batch_first' if batch_first else ''})"
        )
    if min(lengths) <= 0:
        raise RuntimeError(
            f"{op}: length of all samples has to be greater than 0, but found an element in "
            f"'lengths' that is <= 0: {lengths}"
        )
    if max(lengths) > steps:
        raise RuntimeError(
            f"{op}: a length of {max(lengths)} exceeds the {steps} time steps of the input "
            f"(shape {tuple(input.shape)}{', batch_first' if batch_first else ''})"
        )
    xp = input.xp
    sorted_indices = None
    if enforce_sorted:
        if any(a < b for a, b in zip(lengths, lengths[1:])):
            raise RuntimeError(
                f"{op}: `lengths` array must be sorted in decreasing order when `enforce_sorted` "
                f"is True, got {lengths}. You can pass `enforce_sorted=False` to "
                "pack_padded_sequence and/or pack_sequence to sidestep this requirement if you "
                "do not need ONNX exportability."
            )
    else:
        order = sorted(range(batch), key=lambda b: -lengths[b])  # stable, on B host ints
        sorted_indices = _index(xp.asarray(order, dtype="int64"), input)
        lengths = [lengths[b] for b in order]
        input = input.index_select(1, sorted_indices)
    batch_sizes = [sum(1 for n in lengths if n > t) for t in range(lengths[0])]
    mask = _step_mask(xp, batch_sizes)
    rows = xp.flatnonzero(mask.reshape(-1))  # time-major order: exactly the packed order
    flat = input[: len(batch_sizes)].reshape(len(batch_sizes) * batch, *input.shape[2:])
    data = flat.index_select(0, _index(rows, input))
    return PackedSequence(
        data,
        A.tensor(batch_sizes, dtype=A.int64),
        sorted_indices,
        invert_permutation(sorted_indices),
    )


def _packed_to_padded(data: Tensor, batch_sizes: list, padding_value: float) -> Tensor:
    """(sum, *) packed rows -> (T, B, *) in the packed (sorted) batch order; one gather."""
    xp = data.xp
    steps, batch = len(batch_sizes), batch_sizes[0]
    mask = _step_mask(xp, batch_sizes).reshape(-1)
    rank = xp.cumsum(mask) - 1
    rows = xp.where(mask, rank, data.shape[0])  # padding points at the extra row
    filler = A.full((1, *data.shape[1:]), padding_value, dtype=data.dtype, device=data.device)
    padded = A.cat([data, filler], 0).index_select(0, _index(rows, data))
    return padded.reshape(steps, batch, *data.shape[1:])


def _padded_to_packed(padded: Tensor, batch_sizes: list) -> Tensor:
    """(T, B, *) in the packed batch order -> (sum, *) packed rows; one gather."""
    xp = padded.xp
    steps, batch = padded.shape[0], padded.shape[1]
    rows = xp.flatnonzero(_step_mask(xp, batch_sizes).reshape(-1))
    flat = padded.reshape(steps * batch, *padded.shape[2:])
    return flat.index_select(0, _index(rows, padded))


def pad_packed_sequence(
    sequence: PackedSequence,
    batch_first: bool = False,
    padding_value: float = 0.0,
    total_length: int | None = None,
) -> tuple:
    """Undo ``pack_padded_sequence``: (padded, lengths) in the original batch order.

    Shape: PackedSequence -> padded (T, B, *) (or (B, T, *)), lengths (B,) int64 on the CPU.
    """
    op = "pad_packed_sequence"
    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"{op}: expected a PackedSequence, got {type(sequence).__name__}")
    batch_sizes = [int(v) for v in sequence.batch_sizes.tolist()]
    steps = len(batch_sizes)
    padded = _packed_to_padded(sequence.data, batch_sizes, padding_value)
    if total_length is not None:
        if total_length < steps:
            raise ValueError(
                f"{op}: expected total_length to be at least the length of the longest "
                f"sequence in input, but got total_length={total_length} and max sequence "
                f"length being {steps}"
            )
        if total_length > steps:
            extra = A.full(
                (total_length - steps, *padded.shape[1:]),
                padding_value,
                dtype=padded.dtype,
                device=padded.device,
            )
            padded = A.cat([padded, extra], 0)
    lengths = [sum(1 for n in batch_sizes if n > b) for b in range(batch_sizes[0])]
    lengths = A.tensor(lengths, dtype=A.int64)
    if sequence.unsorted_indices is not None:
        padded = padded.index_select(1, sequence.unsorted_indices)
        lengths = lengths.index_select(0, sequence.unsorted_indices.cpu())
    if batch_first:
        padded = padded.transpose(0, 1)
    return padded, lengths


def pad_sequence(
    sequences: Any,
    batch_first: bool = False,
    padding_value: float = 0.0,
    padding_side: str = "right",
) -> Tensor:
    """Stack sequences of shape (L_i, *) into (T, B, *) (or (B, T, *)), padding with
    ``padding_value`` on the ``padding_side`` ("right" or "left"). One differentiable gather.
    """
    op = "pad_sequence"
    if isinstance(sequences, Tensor):
        sequences = list(sequences)  # a (B, L, *) tensor: B sequences of equal length
    sequences = list(sequences)
    if not sequences:
        raise ValueError(f"{op}: received an empty list of sequences")
    if padding_side not in ("left", "right"):
        raise ValueError(f"{op}: padding_side must be 'left' or 'right', got {padding_side!r}")
    first = sequences[0]
    for i, s in enumerate(sequences):
        if not isinstance(s, Tensor):
            raise TypeError(f"{op}: sequences[{i}] is a {type(s).__name__}, not a Tensor")
        if s.ndim == 0 or s.shape[1:] != first.shape[1:]:
            raise RuntimeError(
                f"{op}: every sequence must be (L, *) with the same trailing shape; sequences[0] "
                f"is {first.shape} and sequences[{i}] is {s.shape}"
            )
    xp = first.xp
    lengths = xp.asarray([s.shape[0] for s in sequences])
    steps, batch = int(lengths.max()), len(sequences)
    starts = xp.cumsum(lengths) - lengths
    t = xp.arange(steps)[:, None]
    if padding_side == "right":
        valid = t < lengths[None, :]
        source = starts[None, :] + t
    else:
        valid = t >= (steps - lengths)[None, :]
        source = starts[None, :] + t - (steps - lengths)[None, :]
    total = int(lengths.sum())
    rows = xp.where(valid, source, total).reshape(-1)
    filler = A.full((1, *first.shape[1:]), padding_value, dtype=first.dtype, device=first.device)
    joined = A.cat([*sequences, filler], 0)
    padded = joined.index_select(0, _index(rows, first)).reshape(steps, batch, *first.shape[1:])
    return padded.transpose(0, 1) if batch_first else padded


def pack_sequence(sequences: Any, enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of (L_i, *) sequences: ``pack_padded_sequence(pad_sequence(...))``."""
    sequences = list(sequences)
    lengths = [s.shape[0] if isinstance(s, Tensor) and s.ndim else 0 for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)
