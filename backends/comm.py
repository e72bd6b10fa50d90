"""Communicators for data-parallel training: thin layers over proven engines, no protocol of ours.

- ``MPICommunicator``: mpi4py over any MPI (``pip install mpi4py mpich``). Host (NumPy) buffers;
  CuPy buffers too when the MPI is CUDA-aware (mpi4py reads ``__cuda_array_interface__``).
- ``NCCLCommunicator``: CuPy's ``cupyx.distributed`` NCCL backend, one process per GPU.

Both offer the same small set of collectives on backend arrays, each returning a ``Work`` whose
``wait()`` blocks until the result is in place. Collectives run in place on contiguous arrays.
A wait that outlasts the communicator's timeout raises ``TimeoutError`` naming the collective
and the rank, so a rank whose peer died does not hang forever.
"""

from __future__ import annotations

import os
import time
from typing import Any

OPS = ("sum", "max", "min", "prod")


class Work:
    """A collective in flight. ``wait()`` returns once its result is in the output array."""

    def __init__(self, comm: Any, what: str, request: Any = None, finish: Any = None) -> None:
        self._comm = comm
        self._what = what
        self._request = request
        self._finish = finish
        self._done = request is None

    def is_completed(self) -> bool:
        if not self._done and self._request is not None and self._request.Test():
            self._done = True
        return self._done

    def wait(self, timeout: float | None = None) -> bool:
        if not self._done:
            self._comm._wait(self._request, self._what, timeout)
            self._done = True
        if self._finish is not None:
            finish, self._finish = self._finish, None
            finish()
        return True


class MPICommunicator:
    """Collectives over ``mpi4py`` (``MPI.COMM_WORLD`` duplicated, so user MPI calls don't mix)."""

    name = "mpi"

    def __init__(self, timeout: float) -> None:
        try:
            from mpi4py import MPI
        except ImportError as exc:  # pragma: no cover - depends on the machine
            raise RuntimeError(
                "init_process_group(backend='mpi') needs mpi4py and an MPI runtime: "
                "pip install mpi4py mpich (then launch with mpiexec -n N python ...)"
            ) from exc
        self.MPI = MPI
        self.comm = MPI.COMM_WORLD.Dup()
        self.rank = self.comm.Get_rank()
        self.size = self.comm.Get_size()
        self.timeout = timeout
        self._ops = {"sum": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN, "prod": MPI.PROD}

    def _wait(self, request: Any, what: str, timeout: float | None) -> None:
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        spins = 0
        # MPI progresses non-blocking collectives inside MPI calls: poll Test(), briefly
        # spinning, then sleeping a little so the other rank on a 2-core machine gets the CPU.
        while not request.Test():
            spins += 1
            if spins > 200:
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"distributed: {what} on rank {self.rank} of {self.size} did not finish "
                        f"within {limit:.0f} s: another rank died, hangs, or called a different "
                        "collective"
                    )
                time.sleep(0.0002)

    def all_reduce(self, array: Any, op: str) -> Work:
        request = self.comm.Iallreduce(self.MPI.IN_PLACE, array, op=self._ops[op])
        return Work(self, f"all_reduce({op}) of {array.size} elements", request)

    def broadcast(self, array: Any, src: int) -> Work:
        request = self.comm.Ibcast(array, root=src)
        return Work(self, f"broadcast from rank {src}", request)

    def all_gather(self, send: Any, recv: Any) -> Work:
        request = self.comm.Iallgather(send, recv)
        return Work(self, f"all_gather of {send.size} elements", request)

    def reduce_scatter(self, send: Any, recv: Any, op: str) -> Work:
        request = self.comm.Ireduce_scatter_block(send, recv, op=self._ops[op])
        return Work(self, f"reduce_scatter({op}) of {send.size} elements", request)

    def barrier(self) -> Work:
        return Work(self, "barrier", self.comm.Ibarrier())

    def all_gather_object(self, obj: Any) -> list:
        """Every rank's ``obj``, pickled: the sizes, then the padded bytes (each with a timeout)."""
        import pickle

        import numpy

        payload = numpy.frombuffer(pickle.dumps(obj), dtype=numpy.uint8)
        sizes = numpy.empty(self.size, dtype=numpy.int64)
        self.all_gather(numpy.array([payload.size], dtype=numpy.int64), sizes).wait()
        width = int(sizes.max())
        mine = numpy.zeros(width, dtype=numpy.uint8)
        mine[: payload.size] = payload
        everything = numpy.empty(width * self.size, dtype=numpy.uint8)
        self.all_gather(mine, everything).wait()
        return [
            pickle.loads(everything[r * width : r * width + int(n)].tobytes())
            for r, n in enumerate(sizes)
        ]

    def abort(self, code: int = 1) -> None:
        self.MPI.COMM_WORLD.Abort(code)

    def close(self) -> None:
        self.comm.Free()


class NCCLCommunicator:
    """Collectives over NCCL through ``cupyx.distributed`` (GPU arrays only, one GPU a process).

    NCCL calls are enqueued on the current CUDA stream; ``Work.wait`` synchronises it. Rank 0
    hosts CuPy's TCP store at ``MASTER_ADDR:MASTER_PORT`` (a trusted network only), or MPI
    exchanges the NCCL id when the job was started by ``mpiexec`` and mpi4py is present.
    """

    name = "nccl"

    def __init__(self, world_size: int, rank: int, timeout: float) -> None:
        try:
            import cupy
            from cupyx import distributed
        except ImportError as exc:  # pragma: no cover - needs a GPU machine
            raise RuntimeError(
                "init_process_group(backend='nccl') needs CuPy with NCCL: pip install -e "
                "'.[cuda]' on a machine with NVIDIA GPUs"
            ) from exc
        self.cupy = cupy
        host = os.environ.get("MASTER_ADDR", "127.0.0.1")
        port = int(os.environ.get("MASTER_PORT", "13333"))
        use_mpi = "RANK" not in os.environ and _launched_by_mpi()
        self.comm = distributed.init_process_group(
            world_size, rank, backend="nccl", host=host, port=port, use_mpi=use_mpi
        )
        self.rank = rank
        self.size = world_size
        self.timeout = timeout

    def _done(self, what: str) -> Work:
        stream = self.cupy.cuda.get_current_stream()
        event = stream.record()
        return Work(self, what, _EventRequest(event))

    def _wait(self, request: Any, what: str, timeout: float | None) -> None:
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        while not request.Test():
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"distributed: {what} on rank {self.rank} of {self.size} did not finish "
                    f"within {limit:.0f} s"
                )
            time.sleep(0.0002)

    def all_reduce(self, array: Any, op: str) -> Work:
        self.comm.all_reduce(array, array, op=op)
        return self._done(f"all_reduce({op})")

    def broadcast(self, array: Any, src: int) -> Work:
        self.comm.broadcast(array, root=src)
        return self._done(f"broadcast from rank {src}")

    def all_gather(self, send: Any, recv: Any) -> Work:
        self.comm.all_gather(send, recv, send.size)
        return self._done("all_gather")

    def reduce_scatter(self, send: Any, recv: Any, op: str) -> Work:
        self.comm.reduce_scatter(send, recv, recv.size, op=op)
        return self._done(f"reduce_scatter({op})")

    def barrier(self) -> Work:
        self.comm.barrier()
        return Work(self, "barrier")

    def all_gather_object(self, obj: Any) -> list:
        import pickle

        cupy = self.cupy
        payload = pickle.dumps(obj)
        size = cupy.asarray([len(payload)], dtype="int64")
        sizes = cupy.empty(self.size, dtype="int64")
        self.all_gather(size, sizes).wait()
        width = int(sizes.max())
        buf = cupy.zeros(width, dtype="uint8")
        buf[: len(payload)] = cupy.frombuffer(payload, dtype="uint8")
        everything = cupy.empty(width * self.size, dtype="uint8")
        self.all_gather(buf, everything).wait()
        host = everything.get().tobytes()
        return [
            pickle.loads(host[r * width : r * width + int(n)])
            for r, n in enumerate(sizes.get().tolist())
        ]

    def abort(self, code: int = 1) -> None:
        os._exit(code)

    def close(self) -> None:
        pass


class _EventRequest:
    def __init__(self, event: Any) -> None:
        self.event = event

    def Test(self) -> bool:  # noqa: N802  (MPI's spelling, so Work treats both alike)
        return self.event.done


def _launched_by_mpi() -> bool:
    return any(k in os.environ for k in ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK"))


def mpi_rank_and_size() -> tuple | None:
    """(rank, size) from the launcher's environment, or None when not started by mpiexec."""
    for rank_key, size_key in (
        ("PMI_RANK", "PMI_SIZE"),
        ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"),
        ("PMIX_RANK", "PMIX_SIZE"),
    ):
        if rank_key in os.environ and size_key in os.environ:
            return int(os.environ[rank_key]), int(os.environ[size_key])
    return None
