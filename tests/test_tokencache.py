"""Token counts remembered per corpus: a rerun counts nothing, damage is counted again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cppthemes import tokencache
from cppthemes.config import load_config
from cppthemes.pipeline import run
from tests.conftest import FakeEmbedder, write_corpus


class Counting(FakeEmbedder):
    """The fake embedder, counting what reaches its tokenizer."""

    def __init__(self) -> None:
        super().__init__()
        self.counted: list[str] = []
        self.batches: list[list[str]] = []

    def count_tokens(self, text: str) -> int:
        self.counted.append(text)
        return super().count_tokens(text)

    def count_tokens_many(self, texts: list[str]) -> None:
        self.batches.append(list(texts))


TURNS = ["Hello there.", "Ça va, très bien 😀", "", "x " * 300]


def test_counts_are_the_models_and_a_second_open_counts_nothing(tmp_path: Path) -> None:
    model = Counting()
    first = tokencache.TokenCounts(model, tmp_path, TURNS)
    assert model.batches == [TURNS]  # one batched call for the unknown turns
    assert [first(t) for t in TURNS] == [FakeEmbedder().count_tokens(t) for t in TURNS]
    assert first("a passage of two turns") == FakeEmbedder().count_tokens("a passage of two turns")
    first.save()
    (path,) = (tmp_path / tokencache.FOLDER).glob("*.json")
    again_model = Counting()
    again = tokencache.TokenCounts(again_model, tmp_path, TURNS)
    assert [again(t) for t in [*TURNS, "a passage of two turns"]] == [
        first(t) for t in [*TURNS, "a passage of two turns"]
    ]
    assert again_model.counted == [] and again_model.batches == []
    again.save()  # nothing new: the file is left as it was
    assert sorted((tmp_path / tokencache.FOLDER).glob("*.json")) == [path]


def test_key_follows_the_model_and_the_corpus() -> None:
    model, other = FakeEmbedder(), FakeEmbedder()
    other.fingerprint = "another-tokenizer"
    key = tokencache.corpus_key(model, TURNS)
    assert key == tokencache.corpus_key(FakeEmbedder(), list(TURNS))
    assert key != tokencache.corpus_key(other, TURNS)
    assert key != tokencache.corpus_key(model, TURNS[:-1])
    assert key != tokencache.corpus_key(model, ["Hello", " there."])  # not just joined text


@pytest.mark.parametrize(
    "damage", [b"not json", b"[1, 2]", b'{"k": "three"}', b"\xff\xfe", b'{"k": true}']
)
def test_damaged_file_or_entries_are_counted_again(tmp_path: Path, damage: bytes) -> None:
    tokencache.TokenCounts(Counting(), tmp_path, TURNS).save()
    (path,) = (tmp_path / tokencache.FOLDER).glob("*.json")
    path.write_bytes(damage)
    model = Counting()
    counts = tokencache.TokenCounts(model, tmp_path, TURNS)
    assert [counts(t) for t in TURNS] == [FakeEmbedder().count_tokens(t) for t in TURNS]
    assert model.batches == [TURNS]
    counts.save()  # rewritten whole
    assert len(json.loads(path.read_text())) == len(set(TURNS))


def test_one_wrong_entry_is_recounted_the_rest_read(tmp_path: Path) -> None:
    tokencache.TokenCounts(Counting(), tmp_path, TURNS).save()
    (path,) = (tmp_path / tokencache.FOLDER).glob("*.json")
    table = json.loads(path.read_text())
    table[next(iter(table))] = -4
    path.write_text(json.dumps(table))
    model = Counting()
    tokencache.TokenCounts(model, tmp_path, TURNS)
    assert len(model.batches) == 1 and len(model.batches[0]) == 1


def test_no_folder_or_unwritable_folder_only_costs_the_count(tmp_path: Path) -> None:
    model = Counting()
    counts = tokencache.TokenCounts(model, None, TURNS)
    assert counts("Hello there.") == FakeEmbedder().count_tokens("Hello there.")
    counts.save()
    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache folder would be")
    stuck = tokencache.TokenCounts(Counting(), blocked, TURNS)
    assert stuck("Hello there.") == FakeEmbedder().count_tokens("Hello there.")
    stuck.save()  # no error


def test_a_rerun_counts_no_token_and_gives_the_same_passages(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    cfg = load_config(None, [])
    from cppthemes.embed.embedder import EmbeddingCache

    cache = EmbeddingCache(tmp_path / "cache")
    first_model = Counting()
    first = run([corpus], cfg, embedder=first_model, cache=cache)
    assert first_model.counted or first_model.batches
    model = Counting()
    again = run([corpus], cfg, embedder=model, cache=EmbeddingCache(tmp_path / "cache"))
    assert model.counted == [] and model.batches == []
    assert again.passages == first.passages
