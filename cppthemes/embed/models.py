"""Which embedder a run gets: one function over ``embed.model`` (and ``embed.runtime``).

Every model name the tool understands is a branch of ``load_embedder``, so adding a model means
adding a branch here, not in the pipeline. What it returns loads lazily: the constructor costs
milliseconds (resolve the model, read its fingerprint, open its tokenizer for segmentation) and
the weights are loaded by the first text that misses the embedding cache, so a rerun with every
vector cached never imports torch, sentence-transformers or onnxruntime's session.

The packaged default (all-MiniLM-L6-v2) runs on onnxruntime by default: exported once, on first
use, into the user cache (``onnx_model.ensure_auto_export``), float32, checked against torch at
cosine >= 0.9999 (measured: identical to 1e-6). Float rather than the faster int8 model: the
int8 vectors differ (cosine 0.97-1.00) and its agreement with human labels moved by -0.027 to
+0.014 AMI on the sets measured, which is not shown equal (docs/benchmarks.md). Where the
export cannot be made the run falls back to torch with one warning.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version

from cppthemes.config import EmbedConfig
from cppthemes.embed.embedder import (
    DEFAULT_MODEL,
    PACKAGED_NAMES,
    Embedder,
    SentenceTransformerEmbedder,
)
from cppthemes.embed.multilingual import MULTILINGUAL_NAMES
from cppthemes.embed.onnx_model import ONNX_NAMES
from cppthemes.embed.static_model import STATIC_NAME
from cppthemes.errors import ModelError

Note = Callable[[str], None]
# Makes the embedder an ``embed.model`` name stands for (not loaded yet: see the module doc).
Factory = Callable[[EmbedConfig, "Note | None"], Embedder]


def _multilingual(cfg: EmbedConfig, on_note: Note | None) -> Embedder:
    from cppthemes.embed.multilingual import MultilingualEmbedder

    return MultilingualEmbedder(batch_size=cfg.batch_size, threads=cfg.threads)


def _static(cfg: EmbedConfig, on_note: Note | None) -> Embedder:
    from cppthemes.embed.static_model import StaticEmbedder

    return StaticEmbedder()


def _onnx(cfg: EmbedConfig, on_note: Note | None) -> Embedder:
    from cppthemes.embed.onnx_model import OnnxEmbedder

    return OnnxEmbedder(name=cfg.model, batch_size=cfg.batch_size, threads=cfg.threads)


def _packaged(cfg: EmbedConfig, on_note: Note | None) -> Embedder:
    """The packaged all-MiniLM-L6-v2: its ONNX export on the CPU, else torch."""
    if cfg.runtime != "torch" and _on_cpu(cfg.device):
        try:
            return _packaged_onnx(cfg, on_note)
        except ModelError as exc:
            if cfg.runtime == "onnx":
                raise ModelError(f"embed.runtime='onnx': {exc}") from None
            if on_note:
                on_note(
                    f"warning: the ONNX export of {cfg.model} is not available ({exc}); "
                    "embedding with torch instead (slower; same model). "
                    "Set embed.runtime='torch' to skip the attempt."
                )
        return _torch(cfg)
    return _local(cfg, on_note)


def _local(cfg: EmbedConfig, on_note: Note | None) -> Embedder:
    """Any other name: a sentence-transformers model in a folder or the local hub cache."""
    if cfg.runtime == "onnx":
        raise ModelError(
            f"embed.runtime='onnx' runs the packaged {DEFAULT_MODEL} on the CPU only; "
            f"embed.model={cfg.model!r}, embed.device={cfg.device!r}"
        )
    return _torch(cfg)


def _torch(cfg: EmbedConfig) -> Embedder:
    return SentenceTransformerEmbedder(
        cfg.model, batch_size=cfg.batch_size, device=cfg.device, threads=cfg.threads
    )


# EMBEDDERS: every model name the tool knows -> the factory of its embedder. The single
# source of truth for the names `--model` takes beside a folder or a cached hub name; a new
# embedder is one entry here. tests/test_registries.py runs every entry through the same
# checks; tests register the fake embedder here (conftest.py's ``fake_model`` fixture).
EMBEDDERS: dict[str, Factory] = {
    **dict.fromkeys(sorted(PACKAGED_NAMES), _packaged),
    **dict.fromkeys(sorted(MULTILINGUAL_NAMES), _multilingual),
    **dict.fromkeys(sorted(ONNX_NAMES), _onnx),
    STATIC_NAME: _static,
}


def load_embedder(cfg: EmbedConfig, *, on_note: Note | None = None) -> Embedder:
    """The embedder ``cfg`` asks for, not yet loaded; notes and warnings go to ``on_note``.

    An endpoint first, then a registered name (``EMBEDDERS``), else a local model folder or
    hub name. The Hugging Face libraries are put offline first, whichever is taken: an
    inherited ``HF_HUB_OFFLINE=0`` must not let a later export or fallback reach the network.
    """
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    if cfg.endpoint:
        from cppthemes.embed.endpoint import EndpointEmbedder

        return EndpointEmbedder(
            cfg.endpoint,
            model=cfg.endpoint_model,
            batch_size=cfg.batch_size,
            timeout=cfg.timeout,
            retries=cfg.retries,
            allow_remote=cfg.allow_remote,
        )
    return EMBEDDERS.get(cfg.model, _local)(cfg, on_note)


def check_model(cfg: EmbedConfig) -> None:
    """Raise ``ModelError`` now (milliseconds) when ``embed.model`` names no model this machine
    has, instead of after ingest and segmentation: a registered name, a model folder, or a hub
    name already in the local cache. An endpoint names its model itself."""
    if cfg.endpoint or (cfg.model in EMBEDDERS and cfg.model not in PACKAGED_NAMES):
        return
    from cppthemes.embed.embedder import resolve_model

    resolve_model(cfg.model)


def _packaged_onnx(cfg: EmbedConfig, on_note: Note | None) -> Embedder:
    from cppthemes.embed.embedder import resolve_model, weights_digest
    from cppthemes.embed.onnx_model import FP32_NAME, OnnxEmbedder, ensure_auto_export

    # Found, not imported (fails fast, before an export is attempted): a rerun never runs it.
    if importlib.util.find_spec("onnxruntime") is None:
        raise ModelError("onnxruntime is not installed")
    _, folder = resolve_model(cfg.model)
    assert folder is not None  # the packaged model always has a folder
    sha = weights_digest(folder)
    path = ensure_auto_export(sha, on_note=on_note)
    embedder = OnnxEmbedder(path, name=FP32_NAME, batch_size=cfg.batch_size, threads=cfg.threads)
    embedder.model_id = f"{cfg.model} (onnxruntime, fp32 export)"
    return embedder


def _on_cpu(device: str) -> bool:
    """Whether ``embed.device`` means the CPU, without importing torch where it can be helped.

    ``auto`` is the CPU when the installed torch is a CPU-only build (its version says
    ``+cpu``) or torch is not installed; otherwise torch is asked whether it sees a GPU.
    """
    if device == "cpu":
        return True
    if device != "auto":
        return False
    try:
        torch_version = version("torch")
    except PackageNotFoundError:
        return True
    if torch_version.endswith("+cpu"):
        return True
    from cppthemes.embed.engines import resolve_device

    return resolve_device("auto") == "cpu"
