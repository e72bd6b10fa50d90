"""Samplers: the order in which a ``DataLoader`` visits a dataset's indices.

Random orders come from a NumPy ``Generator``: one passed in, one seeded from an int, or (None)
the CPU backend's generator, which ``autograd.manual_seed`` seeds, so runs are reproducible.
"""

from __future__ import annotations

from collections.abc import Iterator, Sized
from typing import Any

import numpy

import backends


def as_generator(generator: Any) -> numpy.random.Generator | None:
    """None stays None (use the global generator at draw time); an int seeds a new Generator."""
    if generator is None or isinstance(generator, numpy.random.Generator):
        return generator
    if isinstance(generator, (int, numpy.integer)) and not isinstance(generator, bool):
        return numpy.random.default_rng(int(generator))
    raise TypeError(
        "generator should be None, an int seed or a numpy.random.Generator, got "
        f"{type(generator).__name__}"
    )


def _permutation(n: int, generator: Any) -> numpy.ndarray:
    rng = as_generator(generator)
    if rng is None:
        rng = backends.get_backend("cpu").rng
    return rng.permutation(n).astype(numpy.int64)


class Sampler:
    """Base class: ``__iter__`` yields dataset indices."""

    def __iter__(self) -> Iterator[int]:
        raise NotImplementedError

    def _order(self) -> numpy.ndarray | None:
        """One epoch's indices as an int64 array, when the sampler can give them at once."""
        return None


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def _order(self) -> numpy.ndarray:
        return numpy.arange(len(self.data_source), dtype=numpy.int64)

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """A new random permutation of the indices each epoch (or draws with ``replacement``).

    ``generator``: None (the CPU generator, seeded by ``autograd.manual_seed``), an int seed or
    a ``numpy.random.Generator``; an int is turned into a Generator once, so successive epochs
    differ and two samplers with the same seed give the same sequence of epochs.
    """

    def __init__(
        self,
        data_source: Sized,
        replacement: bool = False,
        num_samples: int | None = None,
        generator: Any = None,
    ) -> None:
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = as_generator(generator)
        if not isinstance(replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got {replacement!r}")
        if not isinstance(self.num_samples, int) or self.num_samples <= 0:
            raise ValueError(
                f"num_samples should be a positive integer value, but got {self.num_samples!r}"
            )

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def _order(self) -> numpy.ndarray:
        n = len(self.data_source)
        rng = self.generator if self.generator is not None else backends.get_backend("cpu").rng
        if self.replacement:
            return rng.integers(0, n, size=self.num_samples, dtype=numpy.int64)
        # Whole permutations, enough to cover num_samples (PyTorch's behaviour when it exceeds n).
        rounds = -(-self.num_samples // n)
        order = numpy.concatenate([rng.permutation(n) for _ in range(rounds)])
        return order[: self.num_samples].astype(numpy.int64)

    def __iter__(self) -> Iterator[int]:
        return iter(self._order().tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Groups another sampler's indices into lists of ``batch_size`` (the last may be short)."""

    def __init__(self, sampler: Any, batch_size: int, drop_last: bool) -> None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(
                f"batch_size should be a positive integer value, but got batch_size={batch_size!r}"
            )
        if not isinstance(drop_last, bool):
            raise ValueError(
                f"drop_last should be a boolean value, but got drop_last={drop_last!r}"
            )
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def _index_arrays(self) -> Iterator[numpy.ndarray]:
        """The batches as int64 arrays (the DataLoader's fast path)."""
        order = self.sampler._order() if isinstance(self.sampler, Sampler) else None
        if order is None:
            order = numpy.fromiter(iter(self.sampler), dtype=numpy.int64)
        stop = len(order) - len(order) % self.batch_size if self.drop_last else len(order)
        for start in range(0, stop, self.batch_size):
            yield order[start : start + self.batch_size]

    def __iter__(self) -> Iterator[list[int]]:
        for indices in self._index_arrays():
            yield indices.tolist()

    def __len__(self) -> int:
        if self.drop_last:
            return len(self.sampler) // self.batch_size
        return -(-len(self.sampler) // self.batch_size)


class DistributedSampler(Sampler):
    """The share of a dataset one rank visits in data-parallel training (PyTorch's semantics).

    Each epoch, every rank draws the same permutation (seeded with ``seed + epoch``: call
    ``set_epoch`` before each epoch), pads it by repeating its head so it divides evenly (or, with
    ``drop_last``, cuts the tail), and keeps every ``num_replicas``-th index from ``rank`` on.
    ``num_replicas`` and ``rank`` default to the initialized process group's.
    """

    def __init__(
        self,
        dataset: Sized,
        num_replicas: int | None = None,
        rank: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ) -> None:
        if num_replicas is None or rank is None:
            from .. import distributed

            if not distributed.is_initialized():
                raise RuntimeError(
                    "DistributedSampler: give num_replicas and rank, or call "
                    "autograd.distributed.init_process_group first"
                )
            num_replicas = distributed.get_world_size() if num_replicas is None else num_replicas
            rank = distributed.get_rank() if rank is None else rank
        if not 0 <= rank < num_replicas:
            raise ValueError(
                f"DistributedSampler: invalid rank {rank}, rank should be in the interval "
                f"[0, {num_replicas - 1}]"
            )
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        self.shuffle = shuffle
        self.seed = seed
        n = len(dataset)
        if drop_last and n % num_replicas:
            self.num_samples = n // num_replicas
        else:
            self.num_samples = -(-n // num_replicas)
        self.total_size = self.num_samples * num_replicas

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        if self.shuffle:
            indices = numpy.random.default_rng(self.seed + self.epoch).permutation(n).tolist()
        else:
            indices = list(range(n))
        if not self.drop_last:
            padding = self.total_size - len(indices)
            while padding > 0 and indices:
                indices += indices[:padding]
                padding = self.total_size - len(indices)
        else:
            indices = indices[: self.total_size]
        return iter(indices[self.rank : self.total_size : self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """A different (but on every rank the same) shuffle each epoch."""
        self.epoch = epoch
