"""Where the embedding work runs: this process (the default) or a Dask cluster; and on what.

Embedding is the one stage whose cost grows with the corpus and the model, so it is the one
stage worth moving: to a GPU when there is one (``embed.device = "auto"``), to all cores of this
machine (``embed.threads``), or to the workers of a ``dask.distributed`` cluster
(``embed.engine = "dask"``). Both engines receive the same chunks of texts (``chunks``) and encode
each chunk with the same model and batch size, so they return the same vectors; only where the
arithmetic happens differs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

import numpy as np

from cppthemes.errors import ConfigError

Chunk = list[str]


class ChunkEncoder(Protocol):
    """Encode chunks of texts; yields ``(chunk index, vectors)`` as each chunk finishes."""

    def __call__(self, embedder: Any, parts: Sequence[Chunk]) -> Iterator[tuple[int, np.ndarray]]:
        """One result per chunk, in any order."""
        ...


def chunks(texts: Sequence[str], size: int) -> list[Chunk]:
    """Texts in order of length (then text), cut into chunks of ``size``.

    Batches of similar length waste little on padding: sentence-transformers pads every text in
    a batch to the longest one. Sorting here, over all texts rather than within each chunk, is
    what lets a chunk hold texts of one length class. The order is a pure function of the texts,
    so every engine sees the same chunks.
    """
    ordered = sorted(texts, key=lambda t: (len(t), t))
    return [ordered[i : i + size] for i in range(0, len(ordered), size)]


def local_encoder(embedder: Any, parts: Sequence[Chunk]) -> Iterator[tuple[int, np.ndarray]]:
    """Encode the chunks one after another in this process."""
    for index, part in enumerate(parts):
        yield index, np.asarray(embedder.encode(part), dtype=np.float32)


def _encode_on_worker(embedder: Any, part: Chunk) -> np.ndarray:
    return np.asarray(embedder.encode(part), dtype=np.float32)


class DaskEncoder:
    """Encode chunks on the workers of a ``dask.distributed`` cluster.

    The embedder is sent to every worker once (``scatter(broadcast=True)``); a
    ``SentenceTransformerEmbedder`` pickles as its settings and loads the model on the worker,
    so the weights are read from the worker's own installation, not shipped over the network.
    """

    def __init__(self, client: Any) -> None:
        self.client = client

    @classmethod
    def connect(cls, address: str = "", workers: int = 0) -> DaskEncoder:
        """A client of the scheduler at ``address``, or of a new local cluster if empty."""
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:
            raise ConfigError(
                "embed.engine='dask' needs dask.distributed: pip install 'cppthemes[dask]'"
            ) from None
        if address:
            return cls(Client(address))
        n = workers or max(1, (os.cpu_count() or 1))
        cluster = LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None
        )
        return cls(Client(cluster))

    def __call__(self, embedder: Any, parts: Sequence[Chunk]) -> Iterator[tuple[int, np.ndarray]]:
        from dask.distributed import as_completed

        if not parts:
            return
        remote = self.client.scatter(embedder, broadcast=True, hash=False)
        futures = [
            self.client.submit(_encode_on_worker, remote, part, pure=False) for part in parts
        ]
        index = {f.key: i for i, f in enumerate(futures)}
        for future in as_completed(futures):
            yield index[future.key], future.result()

    def close(self) -> None:
        cluster = getattr(self.client, "cluster", None)
        self.client.close()
        if cluster is not None:
            cluster.close()


def resolve_device(setting: str, *, cuda_available: Callable[[], bool] | None = None) -> str:
    """``"auto"`` becomes ``"cuda"`` when torch sees a GPU, else ``"cpu"``; others pass through.

    Apple's ``mps`` is not picked automatically: its float results differ enough from the CPU's
    to move borderline passages between codes, which would surprise a rerun.
    """
    if setting != "auto":
        return setting
    if cuda_available is None:
        try:
            import torch
        except ImportError:
            return "cpu"
        cuda_available = torch.cuda.is_available
    return "cuda" if cuda_available() else "cpu"


def auto_threads(cores: int, load: float) -> int:
    """Threads for the model: one per core that other processes are not keeping busy now.

    ``load`` is the number of cores busy with other work (``busy_cores``). Measured again for
    issue 20 (docs/benchmarks.md): the ONNX model on 800 swda-small turns at load average 8
    took 24.6 s with 1 thread and 32.0 s with 2 (medians of 3, alternating).

    torch's OpenMP threads meet at a barrier after every operation; when another process holds
    one of the cores, each barrier waits for a time slice. Measured on a 2-core machine at load
    average 6: MiniLM embedded passages at 19-23/s with 2 threads and 36/s with 1, keyphrases
    (a few tokens each) at 25-50/s against 480/s. On an idle machine 2 threads beat 1 (110/s
    against 60/s, docs/benchmarks.md).
    """
    return max(1, min(cores, cores - int(load)))


def busy_cores(interval: float = 0.05) -> float:
    """How many cores other processes keep busy right now (Linux: /proc/stat over ``interval``).

    Not the 1-minute load average, which lags: it still counts a run that ended seconds ago, so
    a run started right after another one (the analyst's loop, a batch script) got 1 thread of
    2 on an idle machine and embedded 1.6x slower (serdif-usability: 43.0 s against 26.5 s).
    This process sleeps while sampling, so what is seen busy is the others' work. Falls back to
    the load average where /proc/stat cannot be read.
    """
    import time

    def sample() -> tuple[int, int]:
        with open("/proc/stat", encoding="ascii") as fh:
            fields = [int(v) for v in fh.readline().split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
        return sum(fields[:8]), idle

    try:
        total0, idle0 = sample()
        time.sleep(interval)
        total1, idle1 = sample()
    except (OSError, ValueError, IndexError):
        try:
            return float(os.getloadavg()[0])
        except (AttributeError, OSError):
            return 0.0
    elapsed = total1 - total0
    if elapsed <= 0:
        return 0.0
    return _cores() * (1.0 - (idle1 - idle0) / elapsed)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def resolve_threads(threads: int) -> int:
    """``threads``, or for 0 ``auto_threads`` for this machine now (cores minus busy cores).

    Without torch, so that an embedder that does not use it (onnxruntime) need not import it.
    """
    if threads > 0:
        return threads
    return auto_threads(_cores(), busy_cores())


def limit_blas(threads: int) -> None:
    """Cap numpy's BLAS threads, which spin at the same kind of barrier as torch's.

    On a busy machine a 2-thread PCA of 3,000 passages took 0.5-15 s, a 1-thread one 0.15-0.2 s.
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads, user_api="blas")


def set_threads(threads: int) -> int:
    """Give torch ``threads`` intra-op threads (0 = ``auto_threads`` for this machine now)."""
    import torch

    threads = resolve_threads(threads)
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    limit_blas(threads)
    return threads


def open_encoder(cfg: Any) -> DaskEncoder | None:
    """The chunk encoder ``cfg.engine`` asks for (None = this process)."""
    if cfg.engine == "dask":
        return DaskEncoder.connect(cfg.dask_address, cfg.dask_workers)
    return None
