"""The ONNX models exported from the real packaged model (marked: slower, but CI runs it).

Skipped when onnxruntime or onnx is not installed (the ``onnx`` extra).
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from cppthemes.cli.app import app
from cppthemes.codebook.book import load_codebook
from cppthemes.embed.embedder import SentenceTransformerEmbedder
from cppthemes.embed.onnx_model import CONFIG_FILE, MODEL_FILE, OnnxEmbedder, onnx_model_dir
from tests.conftest import SAMPLE, made_once

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

pytestmark = pytest.mark.integration

SENTENCES = [
    "I water the tomatoes in the garden every morning before work.",
    "The train to the city was late again because the signals failed.",
    "Honestly the booking system is confusing, I never know if my slot was saved.",
    "We talked to the manager about the rota but nothing changed for months.",
    "Mm, yes, I think that's right, the nurses said the same thing last week.",
]
# Measured 2026-11-27 on data/sample: AMI 0.393 with the torch model. The bar is
# test_integration's: below that, far above chance.
AMI_BAR = 0.30


@pytest.fixture(scope="module")
def _cache(real_model_cache: Path) -> Path:
    """The session's shared user cache (conftest): the model is exported into its default place."""
    return real_model_cache


@pytest.fixture(scope="module")
def int8_dir(_cache: Path) -> Path:
    """`cppthemes model export-onnx`, into the user cache, as a user would run it.

    Once per pytest run: under xdist the cache is every worker's, and the first worker to get
    here exports (and checks what the command printed) while the others wait on the lock.
    """
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(_cache))
        folder = onnx_model_dir()
        with made_once(_cache / "int8-export.done") as first:
            if first:
                result = CliRunner().invoke(app, ["model", "export-onnx"])
                assert result.exit_code == 0, result.output
                assert result.stdout.strip() == str(folder)
    assert (folder / MODEL_FILE).is_file() and (folder / CONFIG_FILE).is_file()
    assert not list(folder.parent.glob(folder.name + ".*tmp"))
    return folder


@pytest.fixture(scope="module")
def fp32_dir(_cache: Path) -> Path:
    """The automatic float export a default run makes (and reuses) in the user cache."""
    from cppthemes.embed.embedder import resolve_model, weights_digest
    from cppthemes.embed.onnx_model import ensure_auto_export

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(_cache))
        _, folder = resolve_model("all-MiniLM-L6-v2")
        assert folder is not None
        return ensure_auto_export(weights_digest(folder))


@pytest.fixture(scope="module")
def torch_model() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder(device="cpu")


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1)


def test_onnx_int8_vectors_close_to_torch(
    int8_dir: Path, torch_model: SentenceTransformerEmbedder
) -> None:
    embedder = OnnxEmbedder(int8_dir)
    got = embedder.encode(SENTENCES)
    assert got.shape == (len(SENTENCES), 384) and got.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, rtol=1e-5)
    cos = _cosines(got, torch_model.encode(SENTENCES))
    assert cos.mean() > 0.98 and cos.min() > 0.97, cos
    assert embedder.model_id == "onnx-int8:onnx-int8-all-MiniLM-L6-v2"
    assert embedder.fingerprint.startswith("onnx-int8:")
    assert embedder.fingerprint != torch_model.fingerprint  # the cache never mixes them
    config = json.loads((int8_dir / CONFIG_FILE).read_text())
    assert config["quantized"] is True and config["check_min_cosine"] > 0.95


def test_onnx_fp32_matches_torch(fp32_dir: Path, torch_model: SentenceTransformerEmbedder) -> None:
    embedder = OnnxEmbedder(fp32_dir)
    cos = _cosines(embedder.encode(SENTENCES), torch_model.encode(SENTENCES))
    assert cos.min() > 0.999, cos
    assert embedder.model_id.startswith("onnx-fp32:")  # what the folder holds, not the default


def test_onnx_truncates_and_counts_as_torch(
    fp32_dir: Path, torch_model: SentenceTransformerEmbedder
) -> None:
    embedder = OnnxEmbedder(fp32_dir)
    long = " ".join(["the garden needs compost and the beans need water"] * 60)  # > 256 tokens
    texts = [long, "Hi.", ""]
    assert [embedder.count_tokens(t) for t in texts] == [torch_model.count_tokens(t) for t in texts]
    assert embedder.count_tokens(long) > embedder.max_tokens == 256
    embedder.count_tokens_many(texts)
    assert embedder._token_counts[long] == torch_model.count_tokens(long)
    cos = _cosines(embedder.encode(texts), torch_model.encode(texts))
    assert cos.min() > 0.999, cos


def test_onnx_int8_vector_depends_on_the_text_only(int8_dir: Path) -> None:
    # One text per run: no batch-mate or padding changes a vector, so a rerun with half the
    # passages cached gets the vectors a cold run would.
    embedder = OnnxEmbedder(int8_dir, batch_size=32)
    assert embedder.batch_size == 1
    together = embedder.encode(SENTENCES)
    alone = np.vstack([embedder.encode([s]) for s in SENTENCES])
    np.testing.assert_array_equal(together, alone)
    np.testing.assert_array_equal(embedder.encode(SENTENCES[::-1])[::-1], together)


def test_onnx_fp32_batches_in_the_callers_order(fp32_dir: Path) -> None:
    # encode sorts by token count inside; the rows must come back in the caller's order.
    embedder = OnnxEmbedder(fp32_dir, batch_size=2)
    forward = embedder.encode(SENTENCES)
    np.testing.assert_allclose(embedder.encode(SENTENCES[::-1])[::-1], forward, atol=1e-5)


def test_onnx_fp32_vector_depends_on_the_text_only(fp32_dir: Path) -> None:
    # The label stage embeds every code's central-sentence candidates in one call instead of
    # one call per code (cppthemes/embed/gathered.py); that keeps every output byte only if a
    # text's float vector is the same bit for bit whatever its batch-mates, its batch's
    # padding and the thread count. Measured true for the fused float export; if an
    # onnxruntime or export change breaks it, this fails and the gathering must be revisited.
    long = " ".join(SENTENCES) * 3  # a batch-mate many times longer: heavy padding
    one = OnnxEmbedder(fp32_dir, batch_size=32, threads=1)
    alone = np.vstack([one.encode([s]) for s in SENTENCES])
    padded = one.encode([long, *SENTENCES, long])[1:-1]
    np.testing.assert_array_equal(padded, alone)
    pairs = OnnxEmbedder(fp32_dir, batch_size=2, threads=2)
    np.testing.assert_array_equal(pairs.encode(SENTENCES[::-1])[::-1], alone)


def test_onnx_embedder_pickles_and_loads_again(int8_dir: Path) -> None:
    embedder = OnnxEmbedder(int8_dir, batch_size=8, threads=1)
    again = pickle.loads(pickle.dumps(embedder))
    assert again.fingerprint == embedder.fingerprint and again._settings == embedder._settings
    np.testing.assert_array_equal(again.encode(SENTENCES), embedder.encode(SENTENCES))


def test_onnx_int8_run_and_rerun_from_cache(int8_dir: Path, tmp_path: Path) -> None:
    # One transcript of data/sample: `--model onnx-int8` end to end, its manifest, and a rerun
    # from the embedding cache with the same codes. The int8 model embeds one text per call
    # (see test_onnx_int8_vector_depends_on_the_text_only), so the whole sample would be 8x the
    # texts for the same check; how good its codes are is test_onnx_int8_sample_clears_the_ami_bar.
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "c1-w1-mental-health.txt").write_bytes(
        (SAMPLE / "c1-w1-mental-health.txt").read_bytes()
    )
    runner = CliRunner()
    out = tmp_path / "run"
    result = runner.invoke(app, ["run", str(corpus), "--out", str(out), "--model", "onnx-int8"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["model"]["id"] == "onnx-int8:onnx-int8-all-MiniLM-L6-v2"
    assert manifest["config"]["embed"]["model"] == "onnx-int8"
    assert manifest["embeddings"]["from_cache"] == 0 and manifest["embeddings"]["pieces"] > 0
    assert len(load_codebook(out / "codebook.yaml")["codes"]) >= 2  # a comparison of something
    # Again: everything from the embedding cache, the same codes.
    again = tmp_path / "again"
    result = runner.invoke(app, ["run", str(corpus), "--out", str(again), "--model", "onnx-int8"])
    assert result.exit_code == 0, result.output
    second = json.loads((again / "run.json").read_text())
    assert second["embeddings"]["from_cache"] == second["embeddings"]["pieces"]
    assert (out / "codebook.yaml").read_bytes() == (again / "codebook.yaml").read_bytes()


@pytest.mark.long
def test_onnx_int8_sample_clears_the_ami_bar(int8_dir: Path, tmp_path: Path) -> None:
    """A model-quality evaluation, not a feature check: the int8 model's codes of the whole of
    data/sample against its gold labels. `long`: CI runs it in its own step (`pytest -m long`);
    the int8 run itself is checked in the default suite (test_onnx_int8_run_and_rerun_from_cache).
    """
    runner = CliRunner()
    out = tmp_path / "run"
    result = runner.invoke(app, ["run", str(SAMPLE), "--out", str(out), "--model", "onnx-int8"])
    assert result.exit_code == 0, result.output
    scored = runner.invoke(
        app, ["evaluate", str(out), "--gold", str(SAMPLE / "gold.jsonl"), "--json"]
    )
    assert json.loads(scored.stdout)["ami"] >= AMI_BAR, scored.stdout
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["model"]["id"] == "onnx-int8:onnx-int8-all-MiniLM-L6-v2"
