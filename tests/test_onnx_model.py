"""The ONNX backend without onnxruntime: pooling, the errors before a model exists, pickling."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from cppthemes.cli.app import app
from cppthemes.embed.onnx_model import (
    CONFIG_FILE,
    MODEL_FILE,
    OnnxEmbedder,
    _pipeline_settings,
    _rebuild,
    export,
    mean_pool_normalize,
    onnx_model_dir,
)
from cppthemes.errors import ModelError
from tests.conftest import SAMPLE


def test_onnx_mean_pool_leaves_padding_out_and_normalises() -> None:
    hidden = np.array(
        [
            [[1.0, 0.0], [3.0, 4.0], [100.0, -100.0]],  # third token is padding
            [[0.0, 2.0], [0.0, 2.0], [0.0, 2.0]],
        ],
        dtype=np.float32,
    )
    mask = np.array([[1, 1, 0], [1, 1, 1]])
    got = mean_pool_normalize(hidden, mask)
    # mean of the first row's real tokens: (2, 2) -> unit length (0.7071, 0.7071)
    np.testing.assert_allclose(got, [[2**-0.5, 2**-0.5], [0.0, 1.0]], rtol=1e-6)
    assert got.dtype == np.float32
    hidden[0, 2] = [-7.0, 9.0]  # what padding holds does not matter
    np.testing.assert_array_equal(mean_pool_normalize(hidden, mask), got)


def test_onnx_mean_pool_of_nothing_is_zeros_not_nan() -> None:
    # As torch: the count is clamped at 1e-9 and the norm at 1e-12.
    got = mean_pool_normalize(np.ones((1, 2, 3), dtype=np.float32), np.zeros((1, 2)))
    assert np.all(got == 0.0)


def test_onnx_reproduces_the_packaged_pipeline() -> None:
    from cppthemes.embed.embedder import DEFAULT_MODEL, resolve_model

    _, folder = resolve_model(DEFAULT_MODEL)
    assert folder is not None
    assert _pipeline_settings(folder) == 256  # Transformer, mean Pooling, Normalize


def test_onnx_model_missing_names_the_command(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"run `cppthemes model export-onnx` once"):
        OnnxEmbedder(tmp_path / "nothing-here")
    with pytest.raises(ModelError, match=r"export-onnx --no-quantize"):
        OnnxEmbedder(name="onnx-fp32")


def test_onnx_default_folder_is_in_the_user_cache() -> None:
    from cppthemes.embed.embedder import default_cache_dir

    assert onnx_model_dir() == default_cache_dir() / "models" / "onnx-int8-all-MiniLM-L6-v2"
    assert onnx_model_dir("onnx-fp32").name == "onnx-fp32-all-MiniLM-L6-v2"


def test_onnx_without_onnxruntime_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / MODEL_FILE).write_bytes(b"")
    (tmp_path / CONFIG_FILE).write_text("{}")
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails
    with pytest.raises(ModelError, match=r"pip install 'cppthemes\[onnx\]'"):
        OnnxEmbedder(tmp_path)


def test_onnx_export_without_onnx_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ModelError, match=r"pip install 'cppthemes\[onnx\]'"):
        export(tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_onnx_pickles_as_its_settings(tmp_path: Path) -> None:
    # Dask ships the embedder to workers: as settings, never as the model's bytes.
    embedder = object.__new__(OnnxEmbedder)
    embedder._settings = (tmp_path, "onnx-int8", 16, 1)
    func, args = embedder.__reduce__()
    assert func is _rebuild and args == (tmp_path, "onnx-int8", 16, 1)


@pytest.mark.parametrize("name", ["onnx-int8", "onnx-fp32"])
def test_onnx_cli_run_without_export_is_one_error_line(tmp_path: Path, name: str) -> None:
    result = CliRunner().invoke(
        app, ["run", str(SAMPLE), "--out", str(tmp_path / "out"), "--model", name, "-q"]
    )
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"error: embed.model='{name}'"), lines
    assert "cppthemes model export-onnx" in lines[0]
    assert not (tmp_path / "out").exists()


def test_onnx_fingerprint_covers_the_model_bytes_not_the_export_notes(tmp_path: Path) -> None:
    from cppthemes.embed.onnx_model import _digest

    (tmp_path / MODEL_FILE).write_bytes(b"graph v1")
    (tmp_path / "tokenizer.json").write_text("{}")
    config = {"max_seq_length": 256, "pad_token_id": 0, "pooling": "mean", "normalize": True}
    first = _digest(tmp_path, {**config, "check_min_cosine": 0.98, "torch": "2.13.0"})
    # A re-export with the same bytes keeps the embedding cache...
    assert _digest(tmp_path, {**config, "check_min_cosine": 0.97, "torch": "2.14.0"}) == first
    # ...other bytes or another window never share it.
    assert _digest(tmp_path, {**config, "max_seq_length": 128}) != first
    (tmp_path / MODEL_FILE).write_bytes(b"graph v2")
    assert _digest(tmp_path, config) != first


def test_onnx_export_never_replaces_a_folder_it_did_not_write(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ModelError, match="is not an ONNX export"):
        export(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"
