"""Tunables of the fused executors (launch sizes, work split). Change them here, nowhere else.

These settings affect speed only, never results: every executor produces the same values for any
setting (tests run with small values to exercise the loops that stride over blocks and chunks).
They are read at each call, so they can be changed at run time.

Example:
    >>> from skelaug.augment import config
    >>> config.CUDA_THREADS_PER_BLOCK
    128
"""

from __future__ import annotations

__all__ = [
    "CPU_CHUNKS_PER_THREAD",
    "CPU_PARALLEL_MIN_WORK",
    "CUDA_MAX_BLOCKS",
    "CUDA_MAX_SHARED_BYTES",
    "CUDA_THREADS_PER_BLOCK",
]

#: numba CPU: ``(n, m)`` slabs are split into ``threads * CPU_CHUNKS_PER_THREAD`` chunks; each chunk
#: allocates its scratch once and runs its slabs in order (more chunks balance uneven lengths, each
#: costs a thread hand-off of tens of microseconds).
CPU_CHUNKS_PER_THREAD: int = 2

#: numba CPU: jobs touching fewer array elements than this run on the calling thread only.
CPU_PARALLEL_MIN_WORK: int = 200_000

#: numba CUDA: threads per block. A block runs one ``(n, m)`` slab at a time; its threads stride over
#: the slab's ``(t, v)`` positions.
CUDA_THREADS_PER_BLOCK: int = 128

#: numba CUDA: at most this many blocks; the kernel grid-strides over slabs beyond it.
CUDA_MAX_BLOCKS: int = 4096

#: numba CUDA: a slab's two scratch buffers (and noise knots) live in dynamic shared memory when they
#: fit in this many bytes (the CUDA default limit per block); otherwise in a global scratch array.
CUDA_MAX_SHARED_BYTES: int = 48 * 1024
