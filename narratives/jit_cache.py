"""Keep UMAP's compiled kernels on disk, so that a training does not compile them again.

UMAP's numba kernels (``smooth_knn_dist`` and ``compute_membership_strengths`` of the fuzzy
simplicial set, the layout's epoch) are declared without numba's ``cache=True``, so every fresh
Python process compiles them again: about 6 s of every `narratives train` on this machine, and
more at 100k passages, where the parallel kernels are compiled too (benchmarks/README.md). Enabling
numba's own cache on those dispatchers (``Dispatcher.enable_caching``, what ``cache=True`` does)
compiles them once per installation. Numba keys the cached code by the function's source file,
its signature and the CPU, keeps it beside the module (or in its user-wide cache directory, or
``$NUMBA_CACHE_DIR``, when that folder is read-only) and compiles afresh when any of them changes,
so results are the same as without the cache.
"""

from __future__ import annotations

import functools
import importlib

KERNEL_MODULES = ("umap.umap_", "umap.layouts")
"""The modules whose numba kernels UMAP's fit runs on our path (exact neighbours given)."""


@functools.cache
def cache_umap_kernels() -> int:
    """Turn numba's on-disk cache on for UMAP's kernels (once per process); how many."""
    from numba.core.dispatcher import Dispatcher

    enabled = 0
    for name in KERNEL_MODULES:
        module = importlib.import_module(name)
        for value in vars(module).values():
            if isinstance(value, Dispatcher):
                try:
                    value.enable_caching()
                except RuntimeError:  # no writable cache location: compile as before
                    continue
                enabled += 1
    return enabled
