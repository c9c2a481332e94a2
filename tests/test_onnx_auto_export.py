"""The automatic ONNX export of the packaged model: cached, atomic, checked, with real failures.

Nothing here is mocked: the export is the real one (torch's exporter, onnxruntime's fusions)
and the failures are real ones (a damaged model file, a cache folder that cannot be written).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cppthemes.config import load_config
from cppthemes.embed import models, onnx_export
from cppthemes.embed.embedder import SentenceTransformerEmbedder, resolve_model, weights_digest
from cppthemes.embed.onnx_model import CONFIG_FILE, MODEL_FILE, OnnxEmbedder

TEXTS = [
    "Hi.",
    "We moved the clinic appointments online and nobody told the older patients.",
    "Honestly the booking system is confusing; I never know whether my slot was saved.",
    "naïve café — “quotes” 😀 and a very long tail " + "word " * 300,
]


def _sha() -> str:
    _, folder = resolve_model("all-MiniLM-L6-v2")
    assert folder is not None
    return weights_digest(folder)


def _fake_export(folder: Path, model_bytes: bytes) -> None:
    folder.mkdir(parents=True)
    (folder / MODEL_FILE).write_bytes(model_bytes)
    sha = onnx_export.file_sha256(folder / MODEL_FILE)
    config = {"max_seq_length": 256, "pad_token_id": 0, "model_sha256": sha}
    (folder / CONFIG_FILE).write_text(json.dumps(config))


def test_auto_export_damaged_model_file_is_noticed(tmp_path: Path) -> None:
    folder = tmp_path / "export"
    _fake_export(folder, b"the bytes the export wrote")
    assert onnx_export.damaged(folder) == ""
    (folder / MODEL_FILE).write_bytes(b"the bytes the export wrote, then half a disk")
    assert "not the file the export wrote" in onnx_export.damaged(folder)
    (folder / CONFIG_FILE).write_text("{not json")
    assert "unreadable" in onnx_export.damaged(folder)
    (folder / CONFIG_FILE).write_text("[]")
    assert "not an export" in onnx_export.damaged(folder)


def test_auto_export_folder_names_the_graph_and_the_weights(tmp_path: Path) -> None:
    path = onnx_export.auto_export_dir("ab" * 32, tmp_path)
    assert path.name == f"onnx-fp32-{onnx_export.AUTO_GRAPH}-{'ab' * 8}"
    assert path.parent == tmp_path / "models" / onnx_export.AUTO_FOLDER


def test_unwritable_cache_falls_back_to_torch_with_one_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A real failure: the cache's models folder is a file, so nothing can be made inside it
    # (chmod would not stop root, who runs the tests in CI containers).
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    (tmp_path / "cppthemes").mkdir()
    (tmp_path / "cppthemes" / "models").write_text("not a folder")
    cfg = load_config(None, ['embed.device="cpu"'])
    for _ in range(2):
        notes: list[str] = []
        embedder = models.load_embedder(cfg.embed, on_note=notes.append)
        assert isinstance(embedder, SentenceTransformerEmbedder) and not embedder.loaded
        warnings = [n for n in notes if n.startswith("warning")]
        assert len(warnings) == 1 and "cannot write the ONNX export" in warnings[0]
        assert len(notes) == 2  # the "exporting once" note, then the warning
    with pytest.raises(Exception, match="runtime='onnx'"):
        models.load_embedder(load_config(None, ['embed.runtime="onnx"']).embed)


@pytest.mark.integration
def test_auto_export_is_made_once_checked_and_reused(tmp_path: Path) -> None:
    sha = _sha()
    notes: list[str] = []
    path = onnx_export.ensure_auto_export(sha, cache_dir=tmp_path, on_note=notes.append)
    assert len(notes) == 1 and "once" in notes[0]
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary folder left
    config = json.loads((path / CONFIG_FILE).read_text())
    assert config["graph"] == "bert-fused" and config["check_min_cosine"] >= 0.9999
    assert config["model_sha256"] == onnx_export.file_sha256(path / MODEL_FILE)
    stamp = (path / MODEL_FILE).stat().st_mtime_ns
    again: list[str] = []
    assert onnx_export.ensure_auto_export(sha, cache_dir=tmp_path, on_note=again.append) == path
    assert again == [] and (path / MODEL_FILE).stat().st_mtime_ns == stamp
    # Same vectors as torch (the fusions reorder float sums only).
    onnx = OnnxEmbedder(path, name="onnx-fp32", threads=1).encode(TEXTS)
    torch = SentenceTransformerEmbedder(device="cpu", threads=1).encode(TEXTS)
    assert float(np.abs(onnx - torch).max()) < 1e-5

    # A damaged model file (truncated) is noticed before any run uses it, and made again.
    data = (path / MODEL_FILE).read_bytes()
    (path / MODEL_FILE).write_bytes(data[: len(data) // 2])
    notes = []
    fixed = onnx_export.ensure_auto_export(sha, cache_dir=tmp_path, on_note=notes.append)
    assert fixed == path and len(notes) == 1 and "damaged" in notes[0]
    assert (path / MODEL_FILE).read_bytes() == data  # the export is deterministic
    assert np.array_equal(OnnxEmbedder(path, name="onnx-fp32", threads=1).encode(TEXTS), onnx)

    # A folder with its model gone (a cleaner, a sync tool) is made again whole too.
    (path / MODEL_FILE).unlink()
    notes = []
    assert onnx_export.ensure_auto_export(sha, cache_dir=tmp_path, on_note=notes.append) == path
    assert "damaged" in notes[0] and (path / MODEL_FILE).is_file()
