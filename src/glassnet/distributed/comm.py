"""The communicator: mpi4py collectives with a watchdog, and a one-process stand-in.

Every collective glassnet issues (broadcast, all-reduce, barrier) is started as a
*non-blocking* MPI call and then waited on in a polling loop with a deadline. If a peer
rank has died, hung or left early, the surviving ranks do not block forever inside
``MPI_Allreduce``: when the deadline passes they print one line naming the rank, the
collective and the timeout, and call ``MPI_Abort``, which ends the whole job with a
non-zero status. A rank whose Python code raises does the same through
:meth:`Communicator.abort`, instead of waiting in ``MPI_Finalize`` while its peers wait in
the next collective (the classic mpi4py hang).

mpi4py is imported only when :func:`init` is called: importing :mod:`glassnet.distributed`
never touches MPI.
"""
from __future__ import annotations

import os
import sys
import time

import numpy as np

__all__ = ["Communicator", "LocalCommunicator", "CollectiveTimeout", "init", "mpi_available",
           "DEFAULT_TIMEOUT"]

#: seconds a rank waits in one collective before it aborts the job
#: (override with the environment variable ``GLASSNET_MPI_TIMEOUT``).
DEFAULT_TIMEOUT = 300.0


class CollectiveTimeout(RuntimeError):
    """A collective did not complete before the deadline (raised only by
    ``Communicator(abort_on_timeout=False)``; by default the job is aborted instead)."""


def mpi_available() -> bool:
    """Whether mpi4py can be imported (without initialising MPI more than once).

    Example:
        >>> from glassnet.distributed import mpi_available
        >>> mpi_available()
        True
    """
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


def _timeout_from_env(timeout):
    if timeout is not None:
        value = timeout
    else:
        raw = os.environ.get("GLASSNET_MPI_TIMEOUT")
        try:
            value = float(raw) if raw else DEFAULT_TIMEOUT
        except ValueError:
            raise ValueError(f"GLASSNET_MPI_TIMEOUT={raw!r}: expected a number of seconds "
                             f"> 0") from None
    if not value > 0:
        raise ValueError(f"Communicator(timeout={value!r}): expected seconds > 0")
    return float(value)


class Communicator:
    """All the collectives data-parallel training needs, over an mpi4py communicator.

    Args:
        comm: an ``mpi4py.MPI.Comm`` (default ``MPI.COMM_WORLD``).
        timeout: seconds one collective may wait for the other ranks before the job is
            aborted (default :data:`DEFAULT_TIMEOUT`, or ``$GLASSNET_MPI_TIMEOUT``).
        abort_on_timeout: ``False`` raises :class:`CollectiveTimeout` instead of aborting.

    Attributes:
        rank: this process's rank (0 … size-1); size: number of ranks; is_main: rank == 0.

    Example:
        >>> comm = init()                          # under: mpiexec -n 2 python train.py
        >>> g = np.full(3, comm.rank, np.float32)
        >>> comm.allreduce_(g)                     # in place: sum over ranks
        array([1., 1., 1.], dtype=float32)
    """

    def __init__(self, comm=None, *, timeout: float | None = None,
                 abort_on_timeout: bool = True):
        from mpi4py import MPI
        self.MPI = MPI
        self.comm = comm if comm is not None else MPI.COMM_WORLD
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        self.is_main = self.rank == 0
        self.timeout = _timeout_from_env(timeout)
        self.abort_on_timeout = bool(abort_on_timeout)

    def __repr__(self):
        return f"Communicator(rank={self.rank}, size={self.size}, timeout={self.timeout:g})"

    # -- waiting with a deadline ---------------------------------------------------------------
    def wait(self, requests: list, what: str) -> None:
        """Complete non-blocking ``requests`` or, after ``timeout`` seconds, abort the job.

        Polls ``MPI.Request.Testall`` (each poll also drives MPI's progress engine),
        yielding the CPU between polls (``sleep(0)``); after 50 ms of waiting it sleeps
        between polls (50 µs, doubling up to 2 ms), so a rank that waits for a slow peer
        leaves the cores to the ranks still computing.
        """
        if not requests:
            return
        test = self.MPI.Request.Testall
        start = time.perf_counter()
        deadline, pause = start + self.timeout, 5e-5
        while not test(requests):
            now = time.perf_counter()
            if now > deadline:
                msg = (f"{what} did not complete within {self.timeout:g} s: another rank "
                       f"died, hung or left early (set GLASSNET_MPI_TIMEOUT to wait longer)")
                if not self.abort_on_timeout:
                    raise CollectiveTimeout(f"rank {self.rank}: {msg}")
                self.abort(msg)
            if now - start < 0.05:
                time.sleep(0)
            else:
                time.sleep(pause)
                pause = min(2 * pause, 2e-3)

    # -- collectives ---------------------------------------------------------------------------
    def allreduce_(self, array: np.ndarray, what: str = "allreduce") -> np.ndarray:
        """Sum ``array`` over all ranks, in place (a C-contiguous float32/float64 array)."""
        self.wait([self.start_allreduce_(array)], what)
        return array

    def start_allreduce_(self, array: np.ndarray):
        """Start an in-place sum over ranks; returns the MPI request (see :meth:`wait`)."""
        if not array.flags.c_contiguous:
            raise ValueError("Communicator.allreduce_(array): expected a C-contiguous array")
        return self.comm.Iallreduce(self.MPI.IN_PLACE, array, op=self.MPI.SUM)

    def broadcast_(self, array: np.ndarray, root: int = 0, what: str = "broadcast"):
        """Overwrite ``array`` on every rank with rank ``root``'s values (C-contiguous)."""
        if not array.flags.c_contiguous:
            raise ValueError("Communicator.broadcast_(array): expected a C-contiguous array")
        self.wait([self.comm.Ibcast(array, root=root)], what)
        return array

    def allreduce_sum(self, values, what: str = "allreduce of metrics") -> np.ndarray:
        """Sum a short vector of numbers over ranks (in float64); returns a new array."""
        arr = np.ascontiguousarray(values, dtype=np.float64).copy()
        return self.allreduce_(arr, what)

    def broadcast_object(self, obj, root: int = 0, what: str = "object broadcast"):
        """Rank ``root``'s JSON-serialisable ``obj``, returned on every rank (no pickle)."""
        import json
        data = json.dumps(obj).encode() if self.rank == root else b""
        size = self.broadcast_(np.array([len(data)], np.int64), root, what)
        buf = np.frombuffer(data, np.uint8).copy() if self.rank == root \
            else np.empty(int(size[0]), np.uint8)
        return json.loads(self.broadcast_(buf, root, what).tobytes().decode())

    def barrier(self, what: str = "barrier") -> None:
        """Wait until every rank reaches this point (with the watchdog)."""
        self.wait([self.comm.Ibarrier()], what)

    def abort(self, message: str, code: int = 1):
        """Print ``glassnet.distributed: rank R/N: message`` on stderr and end every rank
        of the job with status ``code`` (``MPI_Abort``). Does not return."""
        print(f"glassnet.distributed: rank {self.rank}/{self.size}: {message}",
              file=sys.stderr, flush=True)
        sys.stdout.flush()
        # The launcher forwards our stderr pipe asynchronously and MPI_Abort tears the job
        # down at once: without a pause the one line above is lost in about 1 run in 10.
        time.sleep(0.5)
        self.comm.Abort(code)
        os._exit(code)                              # not reached with a working MPI


class LocalCommunicator:
    """The communicator of a single process (size 1): every collective is a no-op.

    Lets ``glassnet.distributed.fit`` and the ``--distributed`` flag run without MPI and
    serves as the reference in tests.

    Example:
        >>> LocalCommunicator().allreduce_(np.ones(2, np.float32))
        array([1., 1.], dtype=float32)
    """

    rank, size, is_main = 0, 1, True
    timeout = float("inf")

    def __repr__(self):
        return "LocalCommunicator(rank=0, size=1)"

    def wait(self, requests, what=""):
        return None

    def allreduce_(self, array, what=""):
        return array

    def start_allreduce_(self, array):
        return None

    def broadcast_(self, array, root=0, what=""):
        return array

    def allreduce_sum(self, values, what=""):
        return np.asarray(values, dtype=np.float64).copy()

    def broadcast_object(self, obj, root=0, what=""):
        return obj

    def barrier(self, what=""):
        return None

    def abort(self, message: str, code: int = 1):
        print(f"glassnet.distributed: {message}", file=sys.stderr, flush=True)
        os._exit(code)


def _launched_by_mpi() -> bool:
    return any(k in os.environ for k in ("PMI_RANK", "PMI_SIZE", "PMIX_RANK",
                                         "OMPI_COMM_WORLD_SIZE", "HYDRA_CONTROL_FD"))


def init(*, timeout: float | None = None):
    """The communicator for this process: a :class:`Communicator` over ``MPI.COMM_WORLD``
    when mpi4py is installed, else a :class:`LocalCommunicator` (one process).

    Args:
        timeout: seconds a collective may wait (default ``$GLASSNET_MPI_TIMEOUT`` or
            :data:`DEFAULT_TIMEOUT`).

    Raises:
        RuntimeError: the process was started by ``mpiexec`` but mpi4py is missing.

    Example:
        >>> comm = glassnet.distributed.init()
        >>> comm.rank, comm.size
        (0, 2)
    """
    if not mpi_available():
        if _launched_by_mpi():
            raise RuntimeError("glassnet.distributed: started by mpiexec but mpi4py is not "
                               "installed (pip install 'glassnet[mpi]')")
        return LocalCommunicator()
    return Communicator(timeout=timeout)
