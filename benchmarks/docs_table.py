"""Write a benchmark's table into docs/benchmarks.md between its two marker comments."""

from __future__ import annotations

from pathlib import Path


def replace_between(doc_path: Path, start: str, end: str, text: str) -> None:
    """Replace what lies between the ``start`` and ``end`` markers with ``text``."""
    doc = doc_path.read_text(encoding="utf-8")
    i, j = doc.index(start) + len(start), doc.index(end)
    doc_path.write_text(doc[:i] + "\n" + text + "\n" + doc[j:], encoding="utf-8")
