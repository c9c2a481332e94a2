"""Reruns that honour a codebook: ``run --codebook FILE`` and ``refine RUN_DIR``.

The codebook is read into a plan (cppthemes/codebook/decisions.py); the previous run it belongs to
(the folder it sits in, if that is a run folder) supplies the memberships that anchor kept
codes and the audit trail the new run appends to.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cppthemes.codebook.book import load_codebook
from cppthemes.codebook.decisions import Plan, Previous, read_plan, read_previous
from cppthemes.codebook.qdc import read_qdc
from cppthemes.codec import read_run_json
from cppthemes.config import Config, parse_overrides, validate_settings
from cppthemes.errors import RunDirError


@dataclass(frozen=True)
class Loaded:
    plan: Plan
    previous: Previous | None
    base: str | None  # the YAML text the new codebook is written into (keeps comments)


def load_plan(codebook: Path, previous_dir: Path | None = None) -> Loaded:
    """Read a codebook (.yaml, or REFI-QDA .qdc) and the run it came from, if any."""
    if codebook.suffix.lower() == ".qdc":
        book, base = read_qdc(codebook), None
    else:
        book = load_codebook(codebook)
        base = codebook.read_text(encoding="utf-8")
    folder = previous_dir or codebook.parent
    previous = read_previous(folder) if (folder / "passages.jsonl").is_file() else None
    return Loaded(read_plan(book, str(codebook), previous), previous, base)


def run_settings(run_dir: Path, overrides: list[str] | None = None) -> tuple[Config, list[str]]:
    """The settings and input paths recorded in a run folder's run.json (plus ``--set``)."""
    path = run_dir / "run.json"
    run = read_run_json(run_dir)
    data = run.get("config") or {}
    cfg = validate_settings(data, parse_overrides(overrides or []), f"{path} (with --set)")
    paths = [str(p) for p in (run.get("inputs") or {}).get("paths") or []]
    missing = [p for p in paths if not Path(p).exists()]
    if not paths or missing:
        raise RunDirError(
            f"{path}: the run's inputs are not where they were ({', '.join(missing) or 'none'});"
            " run `cppthemes run PATHS --codebook RUN_DIR/codebook.yaml` instead"
        )
    return cfg, paths
