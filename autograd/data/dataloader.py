"""``DataLoader``: batches of a dataset, in order or shuffled, collated into Tensors."""

from __future__ import annotations

import collections.abc
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy

from ..factories import from_numpy, tensor
from ..tensor import Tensor
from .dataset import Dataset, Subset, TensorDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

_COLLATE_ERROR = (
    "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"
)


def default_collate(batch: list) -> Any:
    """Stack a list of samples into a batch, recursively (PyTorch's ``default_collate``).

    Tensors are stacked along a new first dimension (dtype and device kept); NumPy arrays and
    NumPy scalars become Tensors of their own dtype (float64 stays float64, as
    ``torch.as_tensor``); Python ints become int64 and bools bool. Tuples and lists are
    collated position by position (a list comes back, as PyTorch), dicts key by key,
    namedtuples field by field; strings are left as a list.
    Where we differ from PyTorch: Python floats become float32 (chalkgrad's default float),
    not float64.

    Shape: a list of B samples of shape (*) -> (B, *)
    """
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack(batch)
    if isinstance(elem, numpy.ndarray):
        if elem.dtype.kind in "OSUV":
            raise TypeError(_COLLATE_ERROR.format(elem.dtype))
        return from_numpy(numpy.stack(batch))
    if isinstance(elem, numpy.generic):
        return from_numpy(numpy.array(batch))
    if isinstance(elem, bool):
        return tensor(batch)
    if isinstance(elem, float):
        return tensor(batch, dtype="float32")
    if isinstance(elem, int):
        return tensor(batch, dtype="int64")
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        collated = {key: default_collate([d[key] for d in batch]) for key in elem}
        try:
            return type(elem)(collated)
        except TypeError:
            return collated
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):
        return type(elem)(*(default_collate(list(samples)) for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(sample) != size for sample in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        return [default_collate(list(samples)) for samples in zip(*batch)]
    raise TypeError(_COLLATE_ERROR.format(type(elem).__name__))


def _stack(tensors: list) -> Tensor:
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"default_collate: expected Tensors, got {type(t).__name__} at {i}")
        if t.device != tensors[0].device:
            raise RuntimeError(
                "default_collate: expected all samples on one device, found "
                f"{tensors[0].device} at entry 0 and {t.device} at entry {i}"
            )
        if t.shape != tensors[0].shape:
            raise RuntimeError(
                "default_collate: stack expects each tensor to be equal size, but got "
                f"{tuple(tensors[0].shape)} at entry 0 and {tuple(t.shape)} at entry {i}"
            )
    if any(t.requires_grad for t in tensors):
        from ..ops.shape import stack  # keep the graph (rare: data that requires grad)

        return stack(tensors)
    first = tensors[0]
    return tensor(first.xp.stack([t.data for t in tensors]), device=first.device)


def default_convert(data: Any) -> Any:
    """NumPy arrays inside ``data`` become Tensors; everything else is left as it is."""
    if isinstance(data, numpy.ndarray) and data.dtype.kind not in "OSUV":
        return from_numpy(data)
    if isinstance(data, numpy.generic):
        return from_numpy(numpy.asarray(data))
    if isinstance(data, collections.abc.Mapping):
        return {key: default_convert(value) for key, value in data.items()}
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, (list, tuple)):
        return type(data)(default_convert(d) for d in data)
    return data


def _to_device(data: Any, device: Any) -> Any:
    if isinstance(data, Tensor):
        return data.to(device)
    if isinstance(data, dict):
        return {key: _to_device(value, device) for key, value in data.items()}
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(_to_device(d, device) for d in data))
    if isinstance(data, (list, tuple)):
        return type(data)(_to_device(d, device) for d in data)
    return data


class DataLoader:
    """Iterate over ``dataset`` in batches (PyTorch's ``torch.utils.data.DataLoader``).

    Args:
        dataset: a map-style dataset (``__getitem__`` and ``__len__``).
        batch_size: samples per batch (default 1); None yields single samples, uncollated.
        shuffle: a new random order every epoch (a ``RandomSampler``).
        sampler, batch_sampler: custom index orders (exclusive with shuffle / batch options).
        num_workers, pin_memory: accepted for PyTorch compatibility; loading always happens in
            the calling process (a warning says so for ``num_workers > 0``).
        collate_fn: turns a list of samples into a batch (default ``default_collate``).
        drop_last: drop the last batch if it is smaller than ``batch_size``.
        generator: randomness of ``shuffle``: None (the CPU generator, seeded by
            ``autograd.manual_seed``), an int seed, or a ``numpy.random.Generator``.
        seed: the same as an int ``generator`` (give one or the other).
        device: move every batch to this device (e.g. ``"cuda"``).

    A ``TensorDataset`` (or a ``Subset`` of one) with the default ``collate_fn`` is batched by
    indexing each of its tensors once per batch instead of collating sample by sample; the
    batch is the same, much faster.

    Shape: a dataset of N samples of shape (*) -> ceil(N / batch_size) batches (B, *)
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler: Any = None,
        batch_sampler: Any = None,
        num_workers: int = 0,
        collate_fn: Callable[[list], Any] | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        *,
        generator: Any = None,
        seed: int | None = None,
        device: Any = None,
    ) -> None:
        if seed is not None:
            if generator is not None:
                raise ValueError("DataLoader: give either generator or seed, not both")
            generator = seed
        if num_workers > 0:
            warnings.warn(
                f"DataLoader: num_workers={num_workers} is ignored; chalkgrad loads batches in "
                "the calling process",
                stacklevel=2,
            )
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "batch_sampler option is mutually exclusive with batch_size, shuffle, "
                    "sampler, and drop_last"
                )
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise ValueError(
                "batch_size=None option disables auto-batching and is mutually exclusive with "
                "drop_last"
            )
        if sampler is None:
            if shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.generator = generator
        self.device = device
        self.collate_fn = default_collate if collate_fn is None else collate_fn
        self._auto_collation = batch_sampler is not None

    def __len__(self) -> int:
        if self._auto_collation:
            return len(self.batch_sampler)
        return len(self.sampler)

    def __iter__(self) -> Iterator[Any]:
        if not self._auto_collation:
            for index in self.sampler:
                yield self._move(default_convert(self.dataset[index]))
            return
        source = None
        if self.collate_fn is default_collate:
            source = _tensor_source(self.dataset)
        if source is not None and isinstance(self.batch_sampler, BatchSampler):
            tensors, index_map = source
            for indices in self.batch_sampler._index_arrays():
                if index_map is not None:
                    indices = index_map[indices]
                yield self._move([t[_on_device(indices, t)] for t in tensors])
            return
        for indices in self.batch_sampler:
            yield self._move(self.collate_fn([self.dataset[i] for i in indices]))

    def _move(self, batch: Any) -> Any:
        return batch if self.device is None else _to_device(batch, self.device)


def _tensor_source(dataset: Any) -> tuple | None:
    """``(tensors, index_map)`` when batches are rows of tensors: a TensorDataset, or Subsets of
    one (``index_map`` maps the Subset's indices to the tensors' rows); else None."""
    index_map = None
    while type(dataset) is Subset:
        indices = numpy.asarray(dataset.indices, dtype=numpy.int64)
        index_map = indices if index_map is None else indices[index_map]
        dataset = dataset.dataset
    if isinstance(dataset, TensorDataset) and dataset._batchable():
        return dataset.tensors, index_map
    return None


def _on_device(indices: numpy.ndarray, t: Tensor) -> Any:
    # Host indices index host tensors directly; a GPU tensor wants them on its own device.
    if t.device == "cpu":
        return indices
    return from_numpy(indices).to(t.device)


__all__ = [
    "BatchSampler",
    "DataLoader",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "default_collate",
    "default_convert",
]
