"""The run folder: what a run writes, and reading it back for evaluation, review and export.

``write_run`` renders every output of a finished pipeline run. ``load_run`` rebuilds the same
``Result`` from the files of a run folder (passages.jsonl, codebook.yaml, transcripts.jsonl,
run.json), so ``export_run`` can regenerate any output without running the pipeline again,
and picks up what the analyst changed in codebook.yaml (labels, descriptions) on the way.
"""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from cppthemes.codebook.book import dump_codebook, load_codebook
from cppthemes.codec import (
    AUDIT_FILE,
    audit_jsonl,
    json_escaping_surrogates,
    manifest,
    passage_of,
    passages_jsonl,
    read_audit,
    read_passages,
    read_run_json,
    read_transcripts,
    run_info_of,
    transcripts_jsonl,
)
from cppthemes.config import Config
from cppthemes.errors import CppthemesError, RunDirError
from cppthemes.export.registry import EXPORTS
from cppthemes.files import atomic_write_text, sha256_bytes, write_all
from cppthemes.forkrender import Job, render_all
from cppthemes.pseudonymize import pseudonym_map_path, pseudonyms_csv
from cppthemes.records import (
    Code,
    CodeStatus,
    Passage,
    Prevalence,
    Quote,
    Result,
    SegmentStats,
    Theme,
)

__all__ = ["AUDIT_FILE", "EXPORTS", "FILES", "load_run", "read_passages", "read_run_json"]

FILES = (
    "passages.jsonl", "transcripts.jsonl", "codebook.yaml", "codes.csv", "passages.csv",
    "tables.xlsx", "report.md", "report.html", "project.qdpx", "codebook.qdc", "run.json",
)  # fmt: skip


def empty_transcripts(result: Result) -> list[str]:
    """Sources of transcripts that were read but gave no passage (from the run's accounting)."""
    return [a.source for a in result.info.accounts if a.passages == 0]


def run_summary(result: Result, out_dir: Path) -> str:
    """The end of a run, three lines: what was found (with the weak and unstable codes to
    check), where report.html is, and what to do next.

    Coverage is a share of passages, so it is never shown alone when whole transcripts gave
    nothing: those are counted beside it.
    """
    from cppthemes.report.context import unstable_codes

    skipped = len(result.info.skipped)
    empty = len(empty_transcripts(result))
    read = len(result.transcripts)
    codes = f"{len(result.codes)} codes in {len(result.themes)} themes"
    weak = sum(1 for c in result.codes if c.weak)
    unstable = len(unstable_codes(result) & {c.id for c in result.codes})
    if weak or unstable:
        flags = (
            f"; {weak} weak and {unstable} unstable (read their passages before relying on them)"
        )
    else:
        flags = "; no code weak or unstable" if result.codes else ""
    if not skipped and not empty:
        found = (
            f"{read} transcripts, {result.segment_stats.passages} passages, {codes}, "
            f"coverage {result.coverage:.0%}{flags}."
        )
    else:
        files = read + skipped
        missing = []
        if skipped:
            missing.append(f"{skipped} could not be read")
        if empty:
            missing.append(f"{empty} gave no passage")
        found = (
            f"{files - skipped - empty} of {files} files gave passages ({', '.join(missing)}: "
            f"see the warnings); {result.segment_stats.passages} passages, {codes}, "
            f"{result.coverage:.0%} of those passages coded{flags}."
        )
    folder = shlex.quote(str(out_dir))
    return "\n".join(
        [
            found,
            f"Report: {out_dir / 'report.html'} (open it in a browser; report.md is the text)",
            f"Next: edit {out_dir / 'codebook.yaml'} (rename, merge, split, discard codes), then "
            f"`cppthemes refine {folder}`; or import {out_dir / 'project.qdpx'} into NVivo, "
            "ATLAS.ti, MAXQDA or QualCoder.",
        ]
    )


def _state(result: Result) -> dict[str, Any] | None:
    return result.info.codebook


def backup_name(out_dir: Path, stem: str, suffix: str) -> Path:
    """``STEM.backup-N.SUFFIX`` (e.g. ``audit.backup-1.jsonl``) with the first N not yet taken."""
    n = 1
    while (out_dir / f"{stem}.backup-{n}{suffix}").exists():
        n += 1
    return out_dir / f"{stem}.backup-{n}{suffix}"


def _recorded_hashes(out_dir: Path) -> dict[str, str]:
    """SHA-256 of each output as the last run wrote it (run.json ``outputs``), if readable."""
    try:
        run = json.loads((out_dir / "run.json").read_text(encoding="utf-8"))
        outputs = run.get("outputs") or {}
        return {str(k): str(v) for k, v in outputs.items()}
    except (OSError, ValueError, AttributeError):
        return {}


# Rendered in a forked child where that is safe (cppthemes/forkrender.py): the two largest
# renders, about half of the write stage, beside codebook.yaml, project.qdpx and the rest here.
OFFLOADED = frozenset({"html", "xlsx"})

# Files that analysts edit by hand: replaced only after a backup when they were changed.
EDITABLE = ("codebook.yaml",)


def write_run(
    result: Result,
    cfg: Config,
    out_dir: Path,
    paths: list[str],
    codebook_base: str | None = None,
    *,
    on_backup: Callable[[Path], None] | None = None,
    startup_s: float | None = None,
) -> list[Path]:
    """Render every output first, then write them all into ``out_dir`` (files.write_all).

    ``codebook_base`` is the analyst's codebook the run applied: the new codebook.yaml is
    written into it so that its comments survive. run.json records the SHA-256 of every other
    output, so the next run can tell whether the analyst edited codebook.yaml since, and back
    it up before replacing it. With pseudonymisation the name -> pseudonym mapping goes beside
    the folder (never into it).

    run.json's ``timings_s`` gain ``write`` (rendering every output, the bulk of writing) and,
    given ``startup_s`` (the process's age when the pipeline started: interpreter, imports,
    settings), ``startup`` and ``total`` (the process's age when run.json is rendered), so the
    stages account for the command's whole wall time but the final renames.
    """
    clock = time.perf_counter()
    jobs: list[Job] = [
        ("passages.jsonl", lambda: {"passages.jsonl": passages_jsonl(result)}),
        ("transcripts.jsonl", lambda: {"transcripts.jsonl": transcripts_jsonl(result)}),
        (
            "codebook.yaml",
            lambda: {
                "codebook.yaml": dump_codebook(
                    result.codes, result.themes, _state(result), base=codebook_base
                )
            },
        ),
        *((name, partial(render, result)) for name, render in EXPORTS.items()),
    ]
    rendered = render_all(jobs, OFFLOADED)
    outputs = {
        name: sha256_bytes(c.encode("utf-8") if isinstance(c, str) else c)
        for name, c in rendered.items()
    }
    run = manifest(result, cfg, paths)
    run["outputs"] = outputs
    stages = dict(result.info.timings_s)
    timings = {"startup": round(startup_s, 3)} if startup_s is not None else {}
    timings.update(stages)
    timings["write"] = round(time.perf_counter() - clock, 3)
    if startup_s is not None:
        from cppthemes.proctime import age

        timings["total"] = round(age(), 3)
    run["timings_s"] = timings
    rendered["run.json"] = json_escaping_surrogates(json.dumps(run, indent=2, ensure_ascii=False))
    if result.audit:
        rendered[AUDIT_FILE] = audit_jsonl(result.audit)
    recorded = _recorded_hashes(out_dir)
    if result.pseudonyms:
        # The key to re-identification: beside the run folder, readable by the owner only.
        atomic_write_text(
            pseudonym_map_path(out_dir), pseudonyms_csv(result.pseudonyms), mode=0o600
        )
    write_all(
        out_dir,
        rendered,
        last_written={name: recorded.get(name) for name in EDITABLE},
        on_backup=on_backup,
    )
    old_audit = out_dir / AUDIT_FILE
    if not result.audit and old_audit.is_file():
        # A fresh run starts a new audit trail; the old one is kept beside it, never deleted.
        old_audit.rename(backup_name(out_dir, "audit", ".jsonl"))
    return [out_dir / name for name in (*FILES, AUDIT_FILE) if name in rendered]


def export_run(run_dir: Path, to: str, out_dir: Path | None = None) -> list[Path]:
    """Regenerate one output format from a run folder, without running the pipeline again."""
    if to not in EXPORTS:
        raise RunDirError(f"--to {to}: unknown format (allowed: {', '.join(EXPORTS)})")
    rendered = EXPORTS[to](load_run(run_dir))
    target = out_dir or run_dir
    write_all(target, rendered)
    return [target / name for name in rendered]


def load_run(run_dir: Path) -> Result:
    """Rebuild a run's ``Result`` from its folder: passages, codebook, transcripts, manifest.

    Passage-to-code assignments come from passages.jsonl; labels, descriptions, keyphrases,
    quotes and prevalence from codebook.yaml (so an analyst's renames show in every export).
    Every file is read by cppthemes/codec.py, the module that wrote it.
    """
    records = read_passages(run_dir)
    run = read_run_json(run_dir)
    book_path = run_dir / "codebook.yaml"
    try:
        book = load_codebook(book_path)
    except CppthemesError as exc:
        raise RunDirError(str(exc)) from None
    transcripts = read_transcripts(run_dir, run)
    turns = {t.id: t.turns for t in transcripts}
    passages = [passage_of(r, turns) for r in records]
    passage_codes: dict[str, str | None] = {str(r["id"]): r["code"] for r in records}
    coords = {
        str(r["id"]): (float(r["x"]), float(r["y"])) for r in records if "x" in r and "y" in r
    }
    constructs_of = {
        str(r["id"]): (str(r["construct"]), float(r.get("construct_similarity") or 0.0))
        for r in records
        if r.get("construct")
    }
    members: dict[str, list[str]] = {}
    for pid, code in passage_codes.items():
        if code is not None:
            members.setdefault(code, []).append(pid)
    by_id = {p.id: p for p in passages}
    codes = []
    for number, c in enumerate(book["codes"], start=1):
        try:
            codes.append(_code(c, by_id, tuple(members.get(str(c["id"]), ()))))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise RunDirError(f"{book_path}: code number {number} is malformed ({exc})") from None
    return Result(
        transcripts=tuple(transcripts),
        passages=tuple(passages),
        passage_codes=passage_codes,
        codes=tuple(codes),
        themes=tuple(_theme(t) for t in book.get("themes") or []),
        segment_stats=_segment_stats(run.get("counts") or {}),
        info=run_info_of(run),
        coords=coords,
        audit=read_audit(run_dir),
        passage_constructs=constructs_of,
    )


def _segment_stats(counts: dict[str, Any]) -> SegmentStats:
    numbers = {
        name: int(counts.get(name, 0))
        for name in SegmentStats.__dataclass_fields__
        if name != "strategy"
    }
    return SegmentStats(**numbers, strategy=str(counts.get("strategy", "turn")))


def _quote(q: dict[str, Any], by_id: dict[str, Passage]) -> Quote:
    """A quote of codebook.yaml back as a record (its own span and lines when written)."""
    p = by_id.get(str(q.get("passage")))
    return Quote(
        passage_id=str(q.get("passage")),
        text=str(q["text"]),
        source=str(q.get("source", "")),
        transcript_id=p.transcript_id if p else "",
        speaker=str(q.get("speaker", "")),
        line=int(q.get("line", 0)),
        char_start=int(q.get("char_start", p.char_start if p else 0)),
        char_end=int(q.get("char_end", p.char_end if p else 0)),
        similarity=float(q.get("similarity", 0.0)),
        metadata=dict(p.metadata) if p else {},
        where=str(q.get("where") or ""),
        line_end=int(q.get("line_end", 0)),
        omitted=tuple(str(o) for o in q.get("omitted") or ()),
    )


def _code(c: dict[str, Any], by_id: dict[str, Passage], passage_ids: tuple[str, ...]) -> Code:
    """A code of codebook.yaml, with its passages from passages.jsonl."""
    cid = str(c["id"])
    stability = c.get("stability")
    central = c.get("central_sentence")
    return Code(
        id=cid,
        label=str(c.get("label") or cid),
        keyphrases=tuple(str(k) for k in c.get("keyphrases") or ()),
        passage_ids=passage_ids,
        quotes=tuple(_quote(q, by_id) for q in c.get("quotes") or []),
        prevalence=_prevalence(c.get("prevalence")),
        coherence=float(c.get("coherence") or 0.0),
        status=CodeStatus.of(c.get("status")),
        description=str(c.get("description") or ""),
        stability=float(stability) if stability is not None else None,
        distinctiveness=float(c.get("distinctiveness") or 0.0),
        nearest_code=str(c["nearest_code"]) if c.get("nearest_code") else None,
        weak=bool(c.get("weak", False)),
        examples=tuple(str(e) for e in c.get("examples") or ()),
        constructs=tuple(
            (str(k.get("construct")), float(k.get("similarity", 0.0)))
            for k in c.get("constructs") or []
            if isinstance(k, dict)
        ),
        central=_quote(central, by_id) if isinstance(central, dict) else None,
    )


def _theme(t: dict[str, Any]) -> Theme:
    return Theme(
        id=str(t["id"]),
        label=str(t.get("label") or t["id"]),
        code_ids=tuple(str(cid) for cid in t.get("codes") or ()),
        prevalence=_prevalence(t.get("prevalence")),
        description=str(t.get("description") or ""),
    )


def _prevalence(data: Any) -> Prevalence:
    data = data or {}
    return Prevalence(
        passages=int(data.get("passages", 0)),
        speakers=int(data.get("speakers", 0)),
        transcripts=int(data.get("transcripts", 0)),
        transcripts_total=int(data.get("transcripts_total", 0)),
        by_metadata={
            str(k): {str(v): int(n) for v, n in (counts or {}).items()}
            for k, counts in (data.get("by_metadata") or {}).items()
        },
    )
