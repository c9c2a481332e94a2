"""The label stage's phrase counts, cached on disk by content like the vectors.

``label.passage_terms`` runs spaCy over every passage twice (proper nouns, then phrases): about
5 s of a rerun on swda-small on the 2-core machine, and the import of spaCy itself is seconds
more. The counts are a pure function of the passage texts, the label settings that shape
phrases, the speakers' names and the installed language data, so a rerun after a codebook edit
or with other cluster settings (same passages) reads the matrix back instead. The key is a
SHA-256 over all of those (and the versions of spaCy, its lookup tables and any trained
pipeline, read from package metadata without importing them); anything else changed and the
phrases are counted again. A cache that cannot be read or written only costs the recount.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from importlib.metadata import PackageNotFoundError, version
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from cppthemes import cachefiles
from cppthemes.config import LabelConfig

if TYPE_CHECKING:
    from cppthemes.label import TermMatrix

FORMAT = "terms-v1"
FOLDER = "terms"
KEEP = 16  # matrices kept per cache folder (the most recent ones)


def _version(dist: str) -> str:
    try:
        return version(dist)
    except PackageNotFoundError:
        return ""


def language_data(lang: str) -> list[str]:
    """What decides the spaCy pipeline ``load_nlp(lang)`` builds: versions and trained names."""
    from cppthemes.nlp import FILLERS, LEMMA_FIXES, TRAINED

    out = [
        f"spacy={_version('spacy')}",
        f"spacy-lookups-data={_version('spacy-lookups-data')}",
        json.dumps(LEMMA_FIXES.get(lang, {}), sort_keys=True),
        json.dumps(FILLERS.get(lang, ())),
    ]
    for name in TRAINED.get(lang, ()):
        try:
            found = find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if found:
            out.append(f"{name}={_version(name.replace('_', '-'))}")
    return out


def key(texts: Iterable[str], cfg: LabelConfig, names: Sequence[str]) -> str:
    from cppthemes.label_terms import SPLIT_FILLERS

    digest = hashlib.sha256()
    head = {
        # Words every run blocks besides the settings' (issue 17): a change makes a new key.
        "split_fillers": sorted(SPLIT_FILLERS),
        "format": FORMAT,
        "language": cfg.language,
        "max_ngram": cfg.max_ngram,
        "fillers": sorted(cfg.fillers),
        "names": sorted(names),
        "data": language_data(cfg.language),
    }
    digest.update(json.dumps(head, sort_keys=True).encode())
    for text in texts:
        digest.update(hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest())
    return digest.hexdigest()


def load(folder: Path, name: str, rows: int) -> TermMatrix | None:
    """The cached matrix ``name``, or None when it is missing, damaged or of another shape."""
    from cppthemes.label import TermMatrix

    path = folder / FOLDER / f"{name}.npz"
    try:
        with np.load(path, allow_pickle=False) as data:
            vocab = json.loads(bytes(data["vocab"]).decode("utf-8"))
            shape = (int(data["shape"][0]), int(data["shape"][1]))
            if shape[0] != rows or len(vocab) != shape[1]:
                return None
            # Checked as a CSR matrix of this shape (a ValueError for damaged arrays).
            matrix = TermMatrix((data["data"], data["indices"], data["indptr"], shape), vocab)
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None
    os.utime(path)  # recently used: kept by the pruning below
    return matrix


def store(folder: Path, name: str, matrix: TermMatrix) -> None:
    """Write the matrix atomically (temporary file, rename); keep the ``KEEP`` newest."""
    vocab = json.dumps([str(v) for v in matrix.vocab], ensure_ascii=False).encode("utf-8")

    def write(tmp: Path) -> None:
        np.savez(
            tmp,
            data=matrix.data,
            indices=matrix.indices,
            indptr=matrix.indptr,
            shape=np.asarray(matrix.shape, dtype=np.int64),
            vocab=np.frombuffer(vocab, dtype=np.uint8),
        )

    cachefiles.store(folder / FOLDER, name, ".npz", write, KEEP)
