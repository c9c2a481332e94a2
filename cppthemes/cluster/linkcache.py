"""Ward merge trees cached on disk by content, so a rerun does not rebuild them.

A plain Ward run builds eleven trees (the fit, then ten stability refits on subsamples): the
pairwise distances and SciPy's linkage, 1.8 s of a 6.7 s rerun on swda-small on the 2-core
machine. A tree depends only on the vectors it is built from, not on where it is cut, so a
rerun with other ``cluster`` or ``label`` settings (granularity, min_size, keyphrases) on the
same passages reads back all eleven, and the cut gives exactly the partition it gave before.

The key is a SHA-256 over the matrix's bytes, shape and dtype, the SciPy version and this
module's format: anything else and the tree is built again. The cache is switched on for a
stretch of code (``caching(folder)``, used by the pipeline around clustering), so the
clusterers keep their signatures and tests that call them directly cache nothing. A cache
that cannot be read or written only costs the rebuild.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from cppthemes import cachefiles

FORMAT = "ward-linkage-v1"
FOLDER = "linkage"
KEEP = 64  # trees kept per cache folder (the most recent ones): a run writes eleven

_FOLDER: ContextVar[Path | None] = ContextVar("cppthemes_linkage_cache", default=None)


@contextmanager
def caching(folder: Path | None) -> Iterator[None]:
    """Within the block, ``cached`` reads and writes trees under ``folder/linkage``."""
    token = _FOLDER.set(folder)
    try:
        yield
    finally:
        _FOLDER.reset(token)


def _scipy() -> str:
    try:
        return version("scipy")
    except PackageNotFoundError:
        return ""


def key(x: np.ndarray) -> str:
    """Content key of the matrix a tree is built from."""
    x = np.ascontiguousarray(x)
    digest = hashlib.sha256(f"{FORMAT}|scipy={_scipy()}|{x.dtype.str}|{x.shape}".encode())
    digest.update(x.tobytes())
    return digest.hexdigest()


def load(folder: Path, name: str, n: int) -> np.ndarray | None:
    """The cached tree ``name`` for ``n`` leaves, or None when missing, damaged or misshapen."""
    path = folder / FOLDER / f"{name}.npy"
    try:
        merges = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    if merges.shape != (n - 1, 4) or merges.dtype != np.float64:
        return None
    with suppress(OSError):
        os.utime(path)  # recently used: kept by the pruning below
    return merges


def store(folder: Path, name: str, merges: np.ndarray) -> None:
    """Write the tree atomically (temporary file, rename); keep the ``KEEP`` newest."""

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as out:
            np.save(out, np.asarray(merges, dtype=np.float64), allow_pickle=False)

    cachefiles.store(folder / FOLDER, name, ".npy", write, KEEP)


def cached(x: np.ndarray, build: Callable[[], np.ndarray]) -> np.ndarray:
    """The Ward merges of ``x``: read back when caching is on and the tree is there, else
    built with ``build()`` (and stored when caching is on)."""
    folder = _FOLDER.get()
    if folder is None:
        return build()
    name = key(x)
    found = load(folder, name, len(x))
    if found is not None:
        return found
    merges = build()
    store(folder, name, merges)
    return merges
