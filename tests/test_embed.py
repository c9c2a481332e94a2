from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from cppthemes.embed.embedder import (
    EmbeddingCache,
    default_cache_dir,
    embed,
    embed_chunked,
    resolve_model,
)
from cppthemes.errors import ModelError


def test_embed_cache_reuses_vectors(tmp_path: Path, fake_embedder) -> None:
    cache = EmbeddingCache(tmp_path)
    texts = ["one text here", "another text", "one text here"]
    first, hits = embed(texts, fake_embedder, cache)
    assert hits == 0 and fake_embedder.calls == [2]  # duplicates embedded once
    second, hits = embed(texts, fake_embedder, cache)
    assert hits == 3 and fake_embedder.calls == [2]
    np.testing.assert_array_equal(first, second)
    assert first.shape == (3, 256)


def test_embed_cache_key_depends_on_model(fake_embedder) -> None:
    assert EmbeddingCache.key("model-a", "x") != EmbeddingCache.key("model-b", "x")


def test_embed_default_cache_dir_honours_xdg(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "cppthemes"


def test_embed_resolve_model(tmp_path: Path) -> None:
    _name, folder = resolve_model("all-MiniLM-L6-v2")
    assert folder is not None and (folder / "modules.json").is_file()
    with pytest.raises(ModelError, match="never downloads"):
        resolve_model("someone/not-installed")
    with pytest.raises(ModelError, match="no sentence-transformers model"):
        resolve_model(str(tmp_path))


def test_embed_chunked_averages_pieces_of_long_passages(fake_embedder) -> None:
    pieces = [["garden tomatoes beans"], ["garden tomatoes beans", "train signals platform"]]
    vectors, hits = embed_chunked(pieces, fake_embedder)
    single, _ = embed(["garden tomatoes beans", "train signals platform"], fake_embedder)
    np.testing.assert_array_equal(vectors[0], single[0])  # one piece: its own vector
    expected = (single[0] + single[1]) / np.linalg.norm(single[0] + single[1])
    np.testing.assert_allclose(vectors[1], expected, rtol=1e-6)
    assert vectors.shape == (2, 256) and hits == 0


def _flip_bit(cache: EmbeddingCache, key: str, byte: int = 5, bit: int = 3) -> None:
    with sqlite3.connect(cache.path) as conn:
        (blob,) = conn.execute(f"SELECT vec FROM {cache.TABLE} WHERE key = ?", (key,)).fetchone()
        damaged = bytearray(blob)
        damaged[byte] ^= 1 << bit
        conn.execute(f"UPDATE {cache.TABLE} SET vec = ? WHERE key = ?", (bytes(damaged), key))


def test_embed_cache_bit_flip_is_detected_and_recomputed(tmp_path: Path, fake_embedder) -> None:
    cache = EmbeddingCache(tmp_path)
    texts = ["the garden soil needs compost", "the train was late again", "soup with garlic"]
    first, _ = embed(texts, fake_embedder, cache)
    _flip_bit(cache, EmbeddingCache.key(fake_embedder.fingerprint, texts[1]))
    again = EmbeddingCache(tmp_path)
    second, hits = embed(texts, fake_embedder, again)
    assert again.corrupt == 1 and hits == 2  # the damaged vector was not trusted
    assert fake_embedder.calls == [3, 1]  # ... but embedded again
    np.testing.assert_array_equal(first, second)
    third, hits = embed(texts, fake_embedder, EmbeddingCache(tmp_path))
    assert hits == 3  # and the repaired entry is good from then on
    np.testing.assert_array_equal(first, third)


def test_embed_cache_truncated_blob_is_detected(tmp_path: Path, fake_embedder) -> None:
    cache = EmbeddingCache(tmp_path)
    embed(["a passage about trains"], fake_embedder, cache)
    key = EmbeddingCache.key(fake_embedder.fingerprint, "a passage about trains")
    with sqlite3.connect(cache.path) as conn:
        conn.execute(f"UPDATE {cache.TABLE} SET vec = substr(vec, 1, 7) WHERE key = ?", (key,))
    assert cache.get([key]) == {} and cache.corrupt == 1


def test_embed_cache_file_that_is_not_sqlite_is_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "embeddings.sqlite3").write_bytes(b"not a database at all" * 100)
    with pytest.raises(ModelError, match="delete the file and rerun"):
        EmbeddingCache(tmp_path).get(["k"])


def test_embed_cache_is_written_batch_by_batch(tmp_path: Path, fake_embedder) -> None:
    """An interrupted embed keeps every finished batch: the rerun embeds only the rest."""
    texts = [f"passage number {i} about gardens and trains" for i in range(10)]

    class Interrupting(type(fake_embedder)):  # type: ignore[misc]
        def encode(self, batch):
            if len(self.calls) == 2:
                raise KeyboardInterrupt
            return super().encode(batch)

    broken = Interrupting()
    with pytest.raises(KeyboardInterrupt):
        embed(texts, broken, EmbeddingCache(tmp_path), batch=4)
    _, hits = embed(texts, fake_embedder, EmbeddingCache(tmp_path), batch=4)
    assert hits == 8 and fake_embedder.calls == [2]


def test_embed_chunked_mixed_items_match_piecewise_reference(fake_embedder) -> None:
    # Items averaged in place must equal a fresh computation from each text's own vector,
    # whatever mixes of one-piece and many-piece items precede them.
    items = [
        ["alpha beta gamma"],
        ["delta epsilon", "zeta theta", "iota kappa"],
        ["lambda sigma"],
        ["omega omicron", "alpha beta gamma"],
        ["delta epsilon"],
    ]
    vectors, _ = embed_chunked(items, fake_embedder)
    for row, item in zip(vectors, items, strict=True):
        own, _ = embed(item, fake_embedder)
        mean = own.mean(axis=0)
        np.testing.assert_allclose(row, mean / np.linalg.norm(mean), rtol=1e-6, atol=1e-7)
    assert vectors.shape == (len(items), 256) and vectors.dtype == np.float32


def test_embed_cache_counts_repeated_texts_and_mixed_hits(tmp_path: Path, fake_embedder) -> None:
    cache = EmbeddingCache(tmp_path)
    embed(["kept text", "other words"], fake_embedder, cache)
    texts = ["kept text", "brand new words", "kept text", "other words", "brand new words"]
    vectors, hits = embed(texts, fake_embedder, cache)
    assert hits == 3  # both copies of "kept text" and "other words"
    assert fake_embedder.calls[-1] == 1  # the new text once, though it appears twice
    np.testing.assert_array_equal(vectors[0], vectors[2])
    np.testing.assert_array_equal(vectors[1], vectors[4])
    np.testing.assert_array_equal(vectors, embed(texts, fake_embedder)[0])
