"""Ingest: find transcript files, read each with the reader for its format, attach metadata."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from cppthemes.config import IngestConfig
from cppthemes.errors import InputError
from cppthemes.ingest.manifest import read_manifest
from cppthemes.ingest.text import read_text_transcript
from cppthemes.records import Transcript

Reader = Callable[[Path, str, str], Transcript]

READERS: dict[str, Reader] = {
    ".txt": read_text_transcript,
    ".md": read_text_transcript,
}


def find_files(paths: Sequence[str | Path], cfg: IngestConfig) -> list[tuple[Path, str]]:
    """Expand folders into transcript files; return (path, source name) in a stable order.

    The source name is the path relative to the folder given (or the name of a file given
    directly), which is what outputs cite and what gold files are matched on.
    """
    suffixes = {s.lower() for s in cfg.suffixes}
    found: list[tuple[Path, str]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            inside = sorted(
                p
                for p in path.rglob("*")
                if p.is_file() and p.suffix.lower() in suffixes and not p.name.startswith(".")
            )
            if not inside:
                raise InputError(
                    path, f"no transcript files ({', '.join(sorted(suffixes))}) in this folder"
                )
            found.extend((p, p.relative_to(path).as_posix()) for p in inside)
        elif path.is_file():
            if path.suffix.lower() not in READERS:
                raise InputError(
                    path, f"unsupported format (readable: {', '.join(sorted(READERS))})"
                )
            found.append((path, path.name))
        else:
            raise InputError(path, "no such file or folder")
    return found


def _manifest_for(paths: Sequence[str | Path], cfg: IngestConfig) -> dict[str, dict[str, str]]:
    merged: dict[str, dict[str, str]] = {}
    for raw in paths:
        folder = Path(raw) if Path(raw).is_dir() else Path(raw).parent
        candidate = folder / cfg.manifest
        if candidate.is_file():
            merged.update(read_manifest(candidate))
    return merged


def read_corpus(paths: Sequence[str | Path], cfg: IngestConfig) -> list[Transcript]:
    """Read every transcript under ``paths``; metadata comes from a manifest beside them."""
    files = find_files(paths, cfg)
    manifest = _manifest_for(paths, cfg)
    transcripts: list[Transcript] = []
    seen: dict[str, str] = {}
    for path, source in files:
        reader = READERS.get(path.suffix.lower())
        if reader is None:
            raise InputError(path, f"unsupported format (readable: {', '.join(sorted(READERS))})")
        transcript_id = Path(source).with_suffix("").as_posix()
        if transcript_id in seen:
            raise InputError(path, f"same transcript id as {seen[transcript_id]}")
        seen[transcript_id] = str(path)
        transcript = reader(path, transcript_id, source)
        metadata = manifest.get(source) or manifest.get(path.name) or {}
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        transcripts.append(replace(transcript, metadata=dict(metadata), sha256=digest))
    return transcripts


__all__ = ["READERS", "find_files", "read_corpus"]
