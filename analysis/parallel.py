"""Share work between this process and forked workers.

Forked workers inherit the function and its data instead of receiving them
pickled, so only each block's result crosses a process boundary.
"""

import concurrent.futures
import multiprocessing
import os

__all__ = ["can_fork", "effective_n_jobs", "fork_map_blocks"]

# Set for the lifetime of one fork_map_blocks call; workers read it after the fork.
_blocks_state = None


def effective_n_jobs(n_jobs):
    """``n_jobs`` as a process count: -1 (or None, 0) means every core."""
    return n_jobs if n_jobs and n_jobs > 0 else (os.cpu_count() or 1)


def can_fork():
    return "fork" in multiprocessing.get_all_start_methods()


def fork_map_blocks(function, items, n_jobs=1, min_items=4000):
    """``[function(block) for block in contiguous blocks of items]``, one block per process.

    This process takes the first block while ``n_jobs - 1`` forked workers
    take the others. Below ``min_items`` items, with one job or where fork is
    unavailable, ``function`` runs once on everything here.

    Parameters
    ----------
    function : callable
        Takes a list slice; its result must be picklable.
    items : list
    n_jobs : int, default=1
    min_items : int, default=4000
        Smaller inputs are not worth a fork.

    Returns
    -------
    list
        The results of the blocks, in order.
    """
    global _blocks_state
    n_jobs = min(effective_n_jobs(n_jobs), len(items) // max(min_items // 2, 1))
    if n_jobs <= 1 or len(items) < min_items or not can_fork():
        return [function(items)]
    bounds = [len(items) * i // n_jobs for i in range(n_jobs + 1)]
    _blocks_state = (function, items)
    try:
        context = multiprocessing.get_context("fork")
        with concurrent.futures.ProcessPoolExecutor(max_workers=n_jobs - 1, mp_context=context) as pool:
            futures = [pool.submit(_run_block, bounds[i], bounds[i + 1]) for i in range(1, n_jobs)]
            results = [function(items[bounds[0] : bounds[1]])]
            results += [future.result() for future in futures]
    finally:
        _blocks_state = None
    return results


def _run_block(start, stop):
    function, items = _blocks_state
    return function(items[start:stop])
