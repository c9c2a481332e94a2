from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cppthemes.embed import EmbeddingCache, default_cache_dir, embed, embed_chunked, resolve_model
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
    assert resolve_model("someone/not-installed") == ("someone/not-installed", None)
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
