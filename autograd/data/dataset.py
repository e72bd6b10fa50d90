"""Datasets (PyTorch's ``torch.utils.data``): ``Dataset``, ``TensorDataset``, ``Subset``,
``ConcatDataset`` and ``random_split``."""

from __future__ import annotations

import bisect
import itertools
import math
import warnings
from collections.abc import Sequence
from typing import Any

from ..tensor import Tensor
from .sampler import _permutation


class Dataset:
    """A map-style dataset: ``__getitem__(index)`` returns one sample, ``__len__`` their count."""

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class TensorDataset(Dataset):
    """Samples are the rows of tensors of equal first dimension: ``(x[i], y[i], ...)``.

    ``DataLoader`` batches a ``TensorDataset`` by indexing each tensor once per batch (no
    per-sample work), so it is the fast way to feed in-memory data.

    Shape: tensors (N, *) each -> sample: a tuple of (*) each
    """

    def __init__(self, *tensors: Tensor) -> None:
        if not tensors:
            raise ValueError("TensorDataset: expected at least one tensor")
        for i, t in enumerate(tensors):
            if not isinstance(t, Tensor):
                raise TypeError(
                    f"TensorDataset: argument {i} is a {type(t).__name__}, expected a Tensor "
                    "(wrap NumPy arrays with autograd.from_numpy or autograd.tensor)"
                )
            if t.ndim == 0 or t.shape[0] != tensors[0].shape[0]:
                raise ValueError(
                    "TensorDataset: size mismatch between tensors: the first dimensions of "
                    f"shapes {tuple(tensors[0].shape)} and {tuple(t.shape)} differ"
                )
        self.tensors = tuple(tensors)

    def __getitem__(self, index: int) -> tuple:
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def _batchable(self) -> bool:
        """True when a batch is just the tensors indexed by the batch's indices."""
        return type(self).__getitem__ is TensorDataset.__getitem__


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset: Dataset, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, list):
            return self.dataset[[self.indices[i] for i in index]]
        return self.dataset[self.indices[index]]

    def __len__(self) -> int:
        return len(self.indices)


class ConcatDataset(Dataset):
    """The samples of several datasets, one after the other."""

    def __init__(self, datasets: Sequence[Dataset]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        self.cumulative_sizes = list(itertools.accumulate(len(d) for d in self.datasets))

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index: int) -> Any:
        if index < 0:
            if -index > len(self):
                raise IndexError(
                    f"ConcatDataset: index {index} is out of range for length {len(self)}"
                )
            index += len(self)
        which = bisect.bisect_right(self.cumulative_sizes, index)
        start = self.cumulative_sizes[which - 1] if which > 0 else 0
        return self.datasets[which][index - start]


def random_split(dataset: Dataset, lengths: Sequence[float], generator: Any = None) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random ``Subset``s of the given lengths.

    ``lengths`` are counts summing to ``len(dataset)``, or fractions summing to 1 (each gets
    ``floor(frac * len)`` items and the remainder is dealt one by one, round robin, as PyTorch).
    ``generator``: None (the CPU generator that ``autograd.manual_seed`` seeds), an int seed, or
    a ``numpy.random.Generator``. Where we differ: PyTorch takes a ``torch.Generator``, so the
    same seed gives a different split than PyTorch's.
    """
    n = len(dataset)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        counts = []
        for i, fraction in enumerate(lengths):
            if fraction < 0 or fraction > 1:
                raise ValueError(f"Fraction at index {i} is not between 0 and 1")
            counts.append(int(math.floor(n * fraction)))
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        for i, count in enumerate(counts):
            if count == 0:
                warnings.warn(
                    f"Length of split at index {i} is 0. This might result in an empty dataset.",
                    stacklevel=2,
                )
        lengths = counts
    if sum(lengths) != n:
        raise ValueError(
            "Sum of input lengths does not equal the length of the input dataset! "
            f"({sum(lengths)} vs {n})"
        )
    indices = _permutation(n, generator).tolist()
    return [
        Subset(dataset, indices[end - length : end])
        for end, length in zip(itertools.accumulate(lengths), lengths)
    ]
