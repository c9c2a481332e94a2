"""Exporting the packaged model to ONNX: once, checked against torch, into the user cache.

What onnx_model.py runs is made here: ``export`` writes the graph (and, for the int8 model,
quantises it) into a temporary folder, checks its vectors against torch's on fixed sentences
(``CHECK_MIN_COSINE``) and renames it into place; ``ensure_auto_export`` does that once per
version of the packaged weights, remembering a failure so later runs fall back at once.
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from cppthemes.embed import onnx_graph
from cppthemes.embed.onnx_model import (
    CHECK_MIN_COSINE,
    CHECK_SENTENCES,
    CONFIG_FILE,
    FP32_NAME,
    INPUTS,
    INT8_NAME,
    MODEL_FILE,
    OPSET,
    TOKENIZER_FILES,
    OnnxEmbedder,
    mean_pool_normalize,
    onnx_model_dir,
)
from cppthemes.errors import ModelError


def _pipeline_settings(folder: Path) -> int:
    """The packaged model's max_seq_length, after checking its pipeline is what we reproduce."""
    modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
    kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
    if kinds != ["Transformer", "Pooling", "Normalize"]:
        raise ModelError(f"{folder}: pipeline {kinds} is not Transformer, Pooling, Normalize")
    pooling_dir = next(m["path"] for m in modules if m["type"].endswith("Pooling"))
    pooling = json.loads((folder / pooling_dir / "config.json").read_text(encoding="utf-8"))
    modes = [k for k, v in pooling.items() if k.startswith("pooling_mode") and v]
    if modes != ["pooling_mode_mean_tokens"]:
        raise ModelError(f"{folder}: pooling {modes} is not mean pooling")
    bert = json.loads((folder / "sentence_bert_config.json").read_text(encoding="utf-8"))
    if bert.get("do_lower_case"):  # the pipeline would lower-case before the tokenizer does
        raise ModelError(f"{folder}: do_lower_case in the pipeline is not supported")
    return int(bert["max_seq_length"])


def export(
    out_dir: Path | None = None,
    *,
    quantize: bool = True,
    replace: bool = True,
    fuse: bool = False,
) -> Path:
    """Export the packaged MiniLM to ONNX (int8 unless ``quantize`` is False) into ``out_dir``.

    ``fuse`` (float only) rewrites the graph with onnxruntime's BERT fusions
    (``onnx_graph.bert_fused``): the same vectors (max abs difference to torch 3e-7 on
    swda-small) about 1.16x faster; if the fusion fails, the plain graph is kept and the
    config says why.

    Written to a temporary folder beside the target and renamed, so an interrupted export never
    leaves a half model that a later run would load. The result is checked against the torch
    model on a few sentences before it is kept. With ``replace`` False a finished export that
    appeared at the target meanwhile (another run's) is kept and this one dropped.
    """
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    try:
        import onnx  # noqa: F401  (quantize_dynamic needs it; fail here with the advice)
        import onnxruntime
    except ImportError:
        raise ModelError(
            "exporting to ONNX needs onnx and onnxruntime: pip install 'cppthemes[onnx]'"
        ) from None
    from cppthemes.embed.embedder import DEFAULT_MODEL, resolve_model

    _, folder = resolve_model(DEFAULT_MODEL)
    assert folder is not None  # the packaged model always has a folder
    max_len = _pipeline_settings(folder)
    target = out_dir or onnx_model_dir(INT8_NAME if quantize else FP32_NAME)
    if target.exists() and not (target / CONFIG_FILE).is_file() and any(target.iterdir()):
        # Replaced whole below: never a folder that an export did not write.
        raise ModelError(f"{target}: exists and is not an ONNX export; choose another --out")
    # One temporary folder per process: two first runs at once each export, one rename wins.
    # Made before torch is imported (seconds): a cache that cannot be written fails at once.
    tmp = _fresh_tmp(target)
    import torch
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        # Eager attention: plain MatMul and Softmax operators, the graph the quantiser and
        # the measurements in docs/benchmarks.md were made with (SDPA was not tried).
        model = AutoModel.from_pretrained(str(folder), attn_implementation="eager").eval()
        tokenizer = AutoTokenizer.from_pretrained(str(folder))
        # Before the export: tracing leaves the torch model giving other vectors.
        expected = _torch_vectors(model, tokenizer, max_len)
        graph = _write_graph(torch, model, tmp, quantize=quantize, fuse=fuse)
        for name in TOKENIZER_FILES:
            if (folder / name).is_file():
                shutil.copy2(folder / name, tmp / name)
        config = _export_config(folder, quantize, max_len, tokenizer, torch, onnxruntime)
        (tmp / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        config["check_min_cosine"] = _checked_cosine(tmp, expected, quantize)
        config["graph"] = graph
        config["model_sha256"] = file_sha256(tmp / MODEL_FILE)
        (tmp / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return _into_place(tmp, target, replace)


def _fresh_tmp(target: Path) -> Path:
    """An empty temporary folder beside ``target``, one per process (two first runs at once
    each export, one rename wins); a cache that cannot be written fails here, at once."""
    tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
    except OSError as exc:
        raise ModelError(
            f"cannot write the ONNX export into {target.parent} ({exc.strerror or exc})"
        ) from None
    return tmp


def _write_graph(torch: Any, model: Any, tmp: Path, *, quantize: bool, fuse: bool) -> str:
    """Trace ``model`` into ``tmp``'s model file, quantised or fused as asked; the graph kind
    for the config ("plain", "bert-fused", or plain with why the fusion failed)."""
    fp32 = tmp / ("model-fp32.onnx" if quantize or fuse else MODEL_FILE)
    _export_graph(torch, model, fp32)
    if quantize:
        onnx_graph.quantize(fp32, tmp / MODEL_FILE)
        fp32.unlink()
        return "plain"
    if not fuse:
        return "plain"
    try:
        onnx_graph.bert_fused(
            fp32,
            tmp / MODEL_FILE,
            heads=int(model.config.num_attention_heads),
            hidden=int(model.config.hidden_size),
        )
    except Exception as exc:  # an onnxruntime whose fusions changed: the plain graph
        (tmp / MODEL_FILE).unlink(missing_ok=True)
        fp32.rename(tmp / MODEL_FILE)
        return f"plain (fusion failed: {type(exc).__name__})"
    fp32.unlink()
    return "bert-fused"


def _checked_cosine(tmp: Path, expected: np.ndarray, quantize: bool) -> float:
    """The export in ``tmp`` against the torch model's vectors: the lowest cosine, or an error
    when it is under the bar (nothing is kept then)."""
    got = OnnxEmbedder(tmp, threads=1).encode(CHECK_SENTENCES)
    cosines = [float(c) for c in (expected * got).sum(axis=1)]
    if min(cosines) < CHECK_MIN_COSINE[quantize]:
        raise ModelError(
            f"ONNX export check failed: cosine to the torch model {min(cosines):.4f} < "
            f"{CHECK_MIN_COSINE[quantize]} (a torch or transformers version that exports "
            "differently?); nothing was written"
        )
    return round(min(cosines), 5)


def _into_place(tmp: Path, target: Path, replace: bool) -> Path:
    """Rename the checked export into place (keeping another run's, without ``replace``)."""
    if target.exists() and not replace and (target / CONFIG_FILE).is_file():
        shutil.rmtree(tmp, ignore_errors=True)
        return target
    if target.exists():
        shutil.rmtree(target, ignore_errors=True)
    try:
        tmp.rename(target)
    except OSError:  # another process renamed its export into place first: keep that one
        shutil.rmtree(tmp, ignore_errors=True)
        if not (target / CONFIG_FILE).is_file():
            raise
    return target


def _export_config(
    folder: Path, quantize: bool, max_len: int, tokenizer: Any, torch: Any, onnxruntime: Any
) -> dict[str, Any]:
    """CONFIG_FILE of an export: what it is, the settings that change vectors, versions."""
    from cppthemes.embed.embedder import DEFAULT_MODEL, weights_digest

    return {
        "name": INT8_NAME if quantize else FP32_NAME,
        "source": DEFAULT_MODEL,
        "source_weights_sha256": weights_digest(folder),
        "quantized": quantize,
        "quantization": (
            "dynamic, weights QInt8 per channel, activations QUInt8, MatMul with constant B"
            if quantize
            else None
        ),
        "max_seq_length": max_len,
        "pooling": "mean",
        "normalize": True,
        "pad_token": tokenizer.pad_token,
        "pad_token_id": tokenizer.pad_token_id,
        "opset": OPSET,
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
    }


AUTO_FOLDER = "auto"
# The graph the automatic export writes, part of its folder name: a change of graph is a new
# folder (and a new embedding-cache key), never an old folder read as the new graph.
AUTO_GRAPH = "fused"


def auto_export_dir(weights_sha256: str, cache_dir: Path | None = None) -> Path:
    """Where the automatic float export of the packaged model with these weights lives."""
    from cppthemes.embed.embedder import default_cache_dir

    root = (cache_dir or default_cache_dir()) / "models" / AUTO_FOLDER
    return root / f"onnx-fp32-{AUTO_GRAPH}-{weights_sha256[:16]}"


def file_sha256(path: Path) -> str:
    """SHA-256 of one file, remembered by its identity (``digests.remembered``)."""
    import hashlib

    from cppthemes.embed.digests import remembered

    def compute() -> str:
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()

    return remembered([path], compute)


def damaged(target: Path) -> str:
    """Why the export in ``target`` cannot be used as it is ("" when it can).

    A truncated or overwritten model.onnx (a full disk, a sync tool, a user's edit) would
    otherwise pass the existence check and fail mid-run, after ingest and segmentation, when
    the session opens; its SHA-256 is compared with the one the export recorded (read once,
    then remembered by the file's size, time and inode).
    """
    try:
        config = json.loads((target / CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return f"{CONFIG_FILE} is unreadable"
    if not isinstance(config, dict) or "max_seq_length" not in config:
        return f"{CONFIG_FILE} is not an export's"
    expected = config.get("model_sha256")
    try:
        if expected and file_sha256(target / MODEL_FILE) != expected:
            return f"{MODEL_FILE} is not the file the export wrote"
    except OSError as exc:
        return f"{MODEL_FILE} is unreadable ({exc.strerror or exc})"
    return ""


def ensure_auto_export(
    weights_sha256: str,
    *,
    cache_dir: Path | None = None,
    on_note: Callable[[str], None] | None = None,
) -> Path:
    """The float ONNX export of the packaged model, made once on first use and then reused.

    Keyed by the weights' SHA-256, so another version of the packaged model gets its own
    export. Made by ``export`` (temporary folder, BERT fusions, checked against torch at cosine
    >= 0.9999, renamed into place). An export found damaged (``damaged``) is made again, with a
    note. A failure is remembered beside it (``.failed``, with the versions it failed with) so
    that later runs fall back to torch at once instead of trying again; a change of torch,
    transformers or onnxruntime version tries again.
    """
    target = auto_export_dir(weights_sha256, cache_dir)
    problem = ""
    if (target / MODEL_FILE).is_file() and (target / CONFIG_FILE).is_file():
        problem = damaged(target)
        if not problem:
            return target
    elif target.is_dir() and any(target.iterdir()):
        problem = "files are missing"  # our own folder, never a user's: made again whole
    failed = target.with_name(target.name + ".failed")
    versions = _export_versions()
    try:
        record = json.loads(failed.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        record = None
    if isinstance(record, dict) and record.get("versions") == versions:
        raise ModelError(str(record.get("reason", "the ONNX export failed before")))
    if on_note:
        on_note(
            f"note: the ONNX export in {target} is damaged ({problem}); exporting it again"
            if problem
            else "note: exporting the embedding model to ONNX once (faster, same vectors); "
            f"kept in {target}"
        )
    try:
        if problem and not (target / CONFIG_FILE).is_file():
            shutil.rmtree(target, ignore_errors=True)
        # A damaged folder is replaced; otherwise another run's finished export is kept.
        made = export(target, quantize=False, replace=bool(problem), fuse=True)
        file_sha256(made / MODEL_FILE)  # remembered now: the next run's check reads no bytes
        return made
    except Exception as exc:
        reason = " ".join(str(exc).splitlines()) or type(exc).__name__
        try:
            failed.parent.mkdir(parents=True, exist_ok=True)
            failed.write_text(
                json.dumps({"reason": reason, "versions": versions}) + "\n", encoding="utf-8"
            )
        except OSError:
            pass
        raise ModelError(reason) from None


def _export_versions() -> dict[str, str]:
    """The installed versions an export depends on (read without importing them)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("torch", "transformers", "onnx", "onnxruntime"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = ""
    return out


def _export_graph(torch: Any, model: Any, path: Path) -> None:
    """Trace the transformer to ONNX with dynamic batch and sequence axes."""

    class LastHiddenState(torch.nn.Module):
        """The token vectors only: pooling runs in numpy (``mean_pool_normalize``)."""

        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            out = self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return out.last_hidden_state

    ids = torch.full((2, 16), 1000, dtype=torch.long)
    mask = torch.ones((2, 16), dtype=torch.long)
    mask[1, 9:] = 0  # a padded row, so the traced graph keeps the masking
    axes = {name: {0: "batch", 1: "sequence"} for name in (*INPUTS, "last_hidden_state")}
    with warnings.catch_warnings(), torch.no_grad():
        # The TorchScript exporter is deprecated in favour of the dynamo one, which needs
        # onnxscript (another dependency) and gives the same graph for this model.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            LastHiddenState(model),
            (ids, mask, torch.zeros_like(ids)),
            str(path),
            input_names=list(INPUTS),
            output_names=["last_hidden_state"],
            dynamic_axes=axes,
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )


def _torch_vectors(model: Any, tokenizer: Any, max_len: int) -> np.ndarray:
    """The torch model's sentence vectors for ``CHECK_SENTENCES``: what the export must match."""
    import torch

    batch = tokenizer(
        list(CHECK_SENTENCES),
        padding=True,
        truncation=True,
        max_length=max_len,
        return_tensors="pt",
    )
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state.numpy()
    return mean_pool_normalize(hidden, batch["attention_mask"].numpy())
