"""Ingest: find transcript files, read each with the reader for its format, attach metadata.

One reader module per format (`READERS`, chosen by suffix through `SUFFIX_FORMATS` or forced
with ``ingest.format``). A file that cannot be read is skipped with one `Skipped` record naming
file, line and reason, and the rest of the corpus is still read; ``ingest.strict`` makes the
first such file fatal, and a corpus where nothing could be read is an error either way.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cppthemes.config import IngestConfig
from cppthemes.errors import CppthemesError, InputError, display_name
from cppthemes.ingest.decode import mixed_encoding_note, read_bytes
from cppthemes.ingest.docx import read_docx
from cppthemes.ingest.manifest import (
    meta_from_name,
    name_pattern,
    read_manifest,
    split_facilitators,
)
from cppthemes.ingest.roles import assign_roles
from cppthemes.ingest.srt import read_srt
from cppthemes.ingest.summary import summarise, turns_jsonl
from cppthemes.ingest.table import read_csv, read_tsv, read_xlsx
from cppthemes.ingest.text import read_text_transcript
from cppthemes.ingest.vtt import read_vtt
from cppthemes.ingest.whisper import read_whisper_json
from cppthemes.records import Skipped, Transcript

Reader = Callable[[Path, str, str, Mapping[str, str]], list[Transcript]]


def _text(path: Path, transcript_id: str, source: str, _: Mapping[str, str]) -> list[Transcript]:
    return [read_text_transcript(path, transcript_id, source)]


def _no_columns(
    read: Callable[[Path, str, str], list[Transcript]],
) -> Reader:
    def reader(path: Path, transcript_id: str, source: str, _: Mapping[str, str]):
        return read(path, transcript_id, source)

    return reader


@dataclass(frozen=True)
class ReaderEntry:
    """One format: the function that reads it, the suffixes that select it (the first are
    those a folder is searched for by default), and whether its bytes are decoded as text."""

    read: Reader
    suffixes: tuple[str, ...]
    searched: int = 1  # how many of ``suffixes`` ``ingest.suffixes`` lists by default
    text: bool = True

    def __call__(
        self, path: Path, transcript_id: str, source: str, columns: Mapping[str, str]
    ) -> list[Transcript]:
        return self.read(path, transcript_id, source, columns)


# READERS: every transcript format -> its reader. The single source of truth for formats: the
# suffix table, the formats checked for mixed encodings and the default ``ingest.suffixes``
# derive from it (config.py's ``Format`` and configs/default.toml are kept equal to it by
# tests/test_registries.py, which also runs every entry through the same checks).
READERS: dict[str, ReaderEntry] = {
    "text": ReaderEntry(_text, (".txt", ".md", ".markdown", ".text"), searched=2),
    "docx": ReaderEntry(read_docx, (".docx",), text=False),
    "vtt": ReaderEntry(_no_columns(read_vtt), (".vtt",)),
    "srt": ReaderEntry(_no_columns(read_srt), (".srt",)),
    "json": ReaderEntry(_no_columns(read_whisper_json), (".json",)),
    "csv": ReaderEntry(read_csv, (".csv",)),
    "tsv": ReaderEntry(read_tsv, (".tsv", ".tab")),
    "xlsx": ReaderEntry(read_xlsx, (".xlsx", ".xlsm"), text=False),
}
SUFFIX_FORMATS = {suffix: name for name, r in READERS.items() for suffix in r.suffixes}
DEFAULT_SUFFIXES = [s for r in READERS.values() for s in r.suffixes[: r.searched]]
MANIFEST_SUFFIXES = (".csv", ".yaml", ".yml")
# Formats read as text (their bytes decoded by `decode.py`): checked for mixed encodings.
TEXT_FORMATS = frozenset(name for name, r in READERS.items() if r.text)
# No one speaks a million characters (about 150,000 words, many hours) without a break: such a
# turn means missing speaker labels or line breaks, and would exhaust the sentence splitter.
MAX_TURN_CHARS = 1_000_000


@dataclass(frozen=True)
class Corpus:
    """What ingest read: transcripts, files skipped, and notes that did not stop reading."""

    transcripts: tuple[Transcript, ...]
    skipped: tuple[Skipped, ...] = ()
    warnings: tuple[Skipped, ...] = ()


class NothingReadError(InputError):
    """No file of the corpus could be read; ``skipped`` says why for each."""

    def __init__(self, path: str | Path, skipped: Sequence[Skipped]) -> None:
        self.skipped = tuple(skipped)
        super().__init__(path, f"none of the {len(skipped)} files could be read (see above)")


def format_of(path: Path, cfg: IngestConfig) -> str | None:
    """The reader's name for ``path``: ``ingest.format`` if set, else by suffix."""
    return cfg.format if cfg.format != "auto" else SUFFIX_FORMATS.get(path.suffix.lower())


def _manifest_names(cfg: IngestConfig) -> set[str]:
    stem = Path(cfg.manifest).stem
    names = {cfg.manifest.lower()} | {f"{stem}{s}".lower() for s in MANIFEST_SUFFIXES}
    if cfg.manifest_path:
        names.add(Path(cfg.manifest_path).name.lower())
    return names


def _walk(folder: Path, unreadable: list[InputError]) -> list[Path]:
    """Every file under ``folder``; a sub-folder that cannot be listed is noted, not skipped
    in silence (``Path.rglob`` swallows its PermissionError)."""

    def note(exc: OSError) -> None:
        where = Path(exc.filename) if exc.filename else folder
        unreadable.append(
            InputError(
                where,
                f"cannot read folder ({exc.strerror or type(exc).__name__}); "
                "its files were left out",
            )
        )

    out: list[Path] = []
    for root, _dirs, files in os.walk(folder, onerror=note):
        out.extend(Path(root) / name for name in files)
    return out


def find_files(
    paths: Sequence[str | Path],
    cfg: IngestConfig,
    unreadable: list[InputError] | None = None,
) -> list[tuple[Path, str]]:
    """Expand folders into transcript files; return (path, source name) in a stable order.

    The source name is the path relative to the folder given (or the name of a file given
    directly), which is what outputs cite and what gold files are matched on (`display_name`:
    a name that is not UTF-8 is cited with ``\\x..`` escapes). Manifests, hidden files and
    Word's lock files (``~$...``) are not transcripts. Sub-folders that cannot be listed are
    added to ``unreadable`` (if given) as errors.
    """
    suffixes = {s.lower() for s in cfg.suffixes}
    skip_names = _manifest_names(cfg)
    found: list[tuple[Path, str]] = []
    problems: list[InputError] = [] if unreadable is None else unreadable
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            inside = sorted(
                p
                for p in _walk(path, problems)
                if p.is_file()
                and p.suffix.lower() in suffixes
                and not p.name.startswith((".", "~$"))
                and p.name.lower() not in skip_names
            )
            if not inside:
                if problems:
                    raise problems[0]
                raise InputError(
                    path, f"no transcript files ({', '.join(sorted(suffixes))}) in this folder"
                )
            found.extend((p, display_name(p.relative_to(path).as_posix())) for p in inside)
        elif path.is_file():
            if format_of(path, cfg) is None:
                raise InputError(
                    path,
                    f"unsupported format (readable: {', '.join(sorted(SUFFIX_FORMATS))}; "
                    "or say which with --format)",
                )
            found.append((path, display_name(path.name)))
        else:
            raise InputError(path, "no such file or folder")
    return found


def _manifest_for(paths: Sequence[str | Path], cfg: IngestConfig) -> dict[str, dict[str, str]]:
    if cfg.manifest_path:
        given = Path(cfg.manifest_path)
        if not given.is_file():
            raise InputError(given, "manifest not found (--manifest)")
        return read_manifest(given)
    merged: dict[str, dict[str, str]] = {}
    stem = Path(cfg.manifest).stem
    for raw in paths:
        folder = Path(raw) if Path(raw).is_dir() else Path(raw).parent
        for name in dict.fromkeys([cfg.manifest] + [f"{stem}{s}" for s in MANIFEST_SUFFIXES]):
            candidate = folder / name
            if candidate.is_file():
                merged.update(read_manifest(candidate))
                break
    return merged


def _lookup(
    manifest: Mapping[str, dict[str, str]], transcript: Transcript, path: Path
) -> dict[str, str] | None:
    part = transcript.source.rsplit("#", 1)[1] if "#" in transcript.source else None
    keys = [transcript.source, path.name] if part is None else [transcript.source, part]
    keys += [Path(k).stem for k in keys]
    return next((manifest[k] for k in keys if k in manifest), None)


def _name_of(transcript: Transcript) -> str:
    name = transcript.source.rsplit("#", 1)[1] if "#" in transcript.source else transcript.source
    return Path(Path(name).name).stem if "." in Path(name).name else Path(name).name


def _read_file(
    path: Path, source: str, fmt: str | None, cfg: IngestConfig
) -> tuple[list[Transcript], bytes]:
    """One file's transcripts and its bytes; every failure an InputError naming the file."""
    reader = READERS.get(fmt or "")
    if reader is None:
        raise InputError(path, "unsupported format; say which with --format")
    transcript_id = Path(source).with_suffix("").as_posix()
    try:
        read = reader(path, transcript_id, source, cfg.columns)
        raw = read_bytes(path)
    except InputError:
        raise
    except CppthemesError as exc:
        raise InputError(path, str(exc)) from None
    except Exception as exc:  # a reader bug must not cost the rest of the corpus
        raise InputError(path, f"could not be read ({type(exc).__name__}); please report") from None
    too_long = next(
        (turn for t in read for turn in t.turns if len(turn.text) > MAX_TURN_CHARS), None
    )
    if too_long is not None:
        raise InputError(
            path,
            f"a turn of {len(too_long.text):,} characters (more than "
            f"{MAX_TURN_CHARS:,}); are speaker labels or line breaks missing?",
            line=too_long.line_start,
        )
    return read, raw


def _name_metadata(
    transcript: Transcript,
    path: Path,
    pattern: Any,
    cfg: IngestConfig,
    warnings: list[Skipped],
) -> dict[str, str]:
    """Metadata read from the file name (``--meta-from-name``); a name that does not fit is a
    warning, not a skip."""
    if pattern is None:
        return {}
    parsed = meta_from_name(pattern, _name_of(transcript))
    if parsed is None:
        warnings.append(
            Skipped(
                str(path),
                None,
                f"name {_name_of(transcript)!r} does not fit --meta-from-name "
                f"{cfg.meta_from_name!r}",
            )
        )
    return dict(parsed or {})


def load_corpus(
    paths: Sequence[str | Path],
    cfg: IngestConfig,
    *,
    known_facilitators: Iterable[str] | None = None,
    on_skip: Callable[[Skipped], None] | None = None,
) -> Corpus:
    """Read every transcript under ``paths``; see the module docstring for bad files."""
    unreadable: list[InputError] = []
    files = find_files(paths, cfg, unreadable)
    manifest = _manifest_for(paths, cfg)
    pattern = name_pattern(cfg.meta_from_name) if cfg.meta_from_name else None
    transcripts: list[Transcript] = []
    skipped: list[Skipped] = []
    warnings: list[Skipped] = []
    errors: list[InputError] = []
    facilitators: dict[str, list[str]] = {}
    seen: dict[str, str] = {}

    def skip(exc: InputError, path: Path) -> None:
        if cfg.strict:
            raise exc
        errors.append(exc)
        skipped.append(Skipped.from_error(exc, path))

    for exc in unreadable:
        skip(exc, Path(exc.path))
    for path, source in files:
        fmt = format_of(path, cfg)
        try:
            read, raw = _read_file(path, source, fmt, cfg)
        except InputError as exc:
            skip(exc, path)
            continue
        digest = hashlib.sha256(raw).hexdigest()
        for transcript in read:
            if transcript.id in seen:
                skip(InputError(path, f"same transcript id as {seen[transcript.id]}"), path)
                continue
            seen[transcript.id] = str(path)
            metadata = _name_metadata(transcript, path, pattern, cfg, warnings)
            attrs, names = split_facilitators(_lookup(manifest, transcript, path) or {})
            metadata.update(attrs)
            if names:
                facilitators[transcript.id] = names
            notes = transcript.notes
            if fmt in TEXT_FORMATS:
                mixed = mixed_encoding_note(raw)
                notes = (*notes, mixed) if mixed else notes
            transcripts.append(replace(transcript, metadata=metadata, sha256=digest, notes=notes))
    if not transcripts:
        if len(errors) == 1:
            raise errors[0]
        if on_skip is not None:
            for item in skipped:
                on_skip(item)
        raise NothingReadError(paths[0] if len(paths) == 1 else Path("."), skipped)
    if on_skip is not None:
        for item in skipped:
            on_skip(item)
    with_roles = assign_roles(
        transcripts,
        known=cfg.facilitator_labels if known_facilitators is None else known_facilitators,
        given=cfg.facilitators,
        per_transcript=facilitators,
        detect=cfg.detect_facilitator,
    )
    return Corpus(tuple(with_roles), tuple(skipped), tuple(warnings))


def read_corpus(
    paths: Sequence[str | Path],
    cfg: IngestConfig,
    *,
    known_facilitators: Iterable[str] | None = None,
) -> list[Transcript]:
    """The transcripts of `load_corpus` (files that could not be read are left out)."""
    return list(load_corpus(paths, cfg, known_facilitators=known_facilitators).transcripts)


__all__ = [
    "READERS",
    "SUFFIX_FORMATS",
    "Corpus",
    "NothingReadError",
    "Skipped",
    "find_files",
    "load_corpus",
    "read_corpus",
    "summarise",
    "turns_jsonl",
]
