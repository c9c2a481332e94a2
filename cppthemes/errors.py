"""Errors the library raises.

Every error names what was at fault (a file and line, or a setting) so the CLI can print it as
one line. Messages never quote participants' words: transcripts are sensitive.
"""

from __future__ import annotations

from pathlib import Path


class CppthemesError(Exception):
    """Base class: the CLI prints ``str(err)`` as one line and exits with ``exit_code``."""

    exit_code = 1


def display_name(name: str) -> str:
    """A file name as text every output can hold: bytes that are not UTF-8 written as ``\\xff``.

    Python gives such names as lone surrogates, which no UTF-8 file, JSON, YAML or XML can
    hold (UnicodeEncodeError); the file itself is still opened by its real name.
    """
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


class InputError(CppthemesError):
    """A transcript, manifest or gold file that cannot be read as given."""

    def __init__(self, path: str | Path, message: str, line: int | None = None) -> None:
        self.path = display_name(str(path))
        self.line = line
        self.message = message
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")


class ConfigError(CppthemesError):
    """A setting that is not allowed; the message names key, value and what is allowed."""


class ModelError(CppthemesError):
    """The embedding model or the spaCy pipeline could not be loaded."""


class RunDirError(CppthemesError):
    """A run folder that is missing files or holds files of another shape."""


class ExportError(CppthemesError):
    """An output that cannot be written faithfully (e.g. a selection outside its source)."""
