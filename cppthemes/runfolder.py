"""The run folder: what a run writes, and reading it back for evaluation, review and export.

``write_run`` renders every output of a finished pipeline run. ``load_run`` rebuilds the same
``Result`` from the files of a run folder (passages.jsonl, codebook.yaml, transcripts.jsonl,
run.json), so ``export_run`` can regenerate any output without running the pipeline again,
and picks up what the analyst changed in codebook.yaml (labels, descriptions) on the way.
"""

from __future__ import annotations

import json
import platform
import re
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from cppthemes.codebook.book import dump_codebook, load_codebook
from cppthemes.config import Config
from cppthemes.errors import CppthemesError, RunDirError
from cppthemes.export import codes_csv, passages_csv, render_qdc, render_qdpx, render_xlsx
from cppthemes.files import atomic_write_text, sha256_bytes, write_all
from cppthemes.pseudonymize import pseudonym_map_path, pseudonyms_csv
from cppthemes.records import (
    Code,
    Passage,
    Prevalence,
    Quote,
    Result,
    SegmentStats,
    Theme,
    Transcript,
    Turn,
)
from cppthemes.report import render_html, render_markdown

Rendered = dict[str, str | bytes]

# What `cppthemes export --to FORMAT` regenerates: format -> renderer of file name -> content.
EXPORTS: dict[str, Callable[[Result], Rendered]] = {
    "qdpx": lambda r: {"project.qdpx": render_qdpx(r)},
    "qdc": lambda r: {"codebook.qdc": render_qdc(r)},
    "csv": lambda r: {"codes.csv": codes_csv(r), "passages.csv": passages_csv(r)},
    "xlsx": lambda r: {"tables.xlsx": render_xlsx(r)},
    "html": lambda r: {"report.html": render_html(r)},
    "md": lambda r: {"report.md": render_markdown(r)},
}

FILES = (
    "passages.jsonl", "transcripts.jsonl", "codebook.yaml", "codes.csv", "passages.csv",
    "tables.xlsx", "report.md", "report.html", "project.qdpx", "codebook.qdc", "run.json",
)  # fmt: skip
# The codebook's audit trail, one JSON object a line: written by runs that applied a codebook.
AUDIT_FILE = "audit.jsonl"


def passages_jsonl(result: Result) -> str:
    theme_of = result.theme_of()
    lines = []
    for p in result.passages:
        code = result.passage_codes.get(p.id)
        record = {
            "id": p.id,
            "source": p.source,
            "transcript": p.transcript_id,
            "speaker": p.speaker,
            "role": p.role,
            "line_start": p.line_start,
            "line_end": p.line_end,
            "ref_line": p.ref_line,
            "ref_row": p.ref_row,
            "start_s": p.start_s,
            "char_start": p.char_start,
            "char_end": p.char_end,
            "text": p.text,
            "context": p.context,
            "metadata": p.metadata,
            "code": code,
            "theme": theme_of.get(code) if code else None,
        }
        if p.id in result.coords:
            record["x"], record["y"] = result.coords[p.id]
        if p.id in result.passage_constructs:
            record["construct"], record["construct_similarity"] = result.passage_constructs[p.id]
        lines.append(json.dumps(record, ensure_ascii=False))
    return "\n".join(lines) + "\n" if lines else ""


def transcripts_jsonl(result: Result) -> str:
    """Each transcript's plain text and turn spans: what the REFI-QDA export needs as sources.

    Kept in the run folder so that exports never depend on the input files still being where
    they were (or unchanged); ``sha256`` is that of the file that was read.
    """
    lines = []
    for t in result.transcripts:
        record = {
            "id": t.id,
            "source": t.source,
            "format": t.format,
            "sha256": t.sha256,
            "metadata": t.metadata,
            # speaker, lines and chars of plain_text, then where in the original file:
            # start seconds, line, row (null where the format has none)
            "turns": [
                [
                    turn.speaker,
                    turn.line_start,
                    turn.line_end,
                    turn.char_start,
                    turn.char_end,
                    turn.start_s,
                    turn.ref_line,
                    turn.ref_row,
                ]
                for turn in t.turns
            ],
            "plain_text": t.plain_text,
        }
        lines.append(json.dumps(record, ensure_ascii=False))
    return "\n".join(lines) + "\n" if lines else ""


def empty_transcripts(result: Result) -> list[str]:
    """Sources of transcripts that were read but gave no passage (from the run's accounting)."""
    accounts = result.info.get("accounts")
    return [
        str(a.get("source"))
        for a in (accounts if isinstance(accounts, list) else [])
        if isinstance(a, dict) and a.get("passages") == 0
    ]


def run_summary(result: Result, out_dir: Path) -> str:
    """The end-of-run line. Coverage is a share of passages, so it is never shown alone when
    whole transcripts gave nothing: those are counted beside it."""
    raw = result.info.get("skipped")
    skipped = len(raw) if isinstance(raw, list) else 0
    empty = len(empty_transcripts(result))
    read = len(result.transcripts)
    codes = f"{len(result.codes)} codes in {len(result.themes)} themes"
    report = f"Report: {out_dir / 'report.md'}"
    if not skipped and not empty:
        return (
            f"{read} transcripts, {result.segment_stats.passages} passages, {codes}, "
            f"coverage {result.coverage:.0%}. {report}"
        )
    files = read + skipped
    missing = []
    if skipped:
        missing.append(f"{skipped} could not be read")
    if empty:
        missing.append(f"{empty} gave no passage")
    return (
        f"{files - skipped - empty} of {files} files gave passages ({', '.join(missing)}: see "
        f"the warnings); {result.segment_stats.passages} passages, {codes}, "
        f"{result.coverage:.0%} of those passages coded. {report}"
    )


def manifest(result: Result, cfg: Config, paths: list[str]) -> dict[str, Any]:
    """run.json: enough to know exactly what produced these outputs, and to redo it."""
    from importlib.metadata import version  # the libraries' own imports take seconds

    raw_accounts = result.info.get("accounts")
    accounts: dict[str, dict[str, Any]] = {
        str(a.get("source")): a
        for a in (raw_accounts if isinstance(raw_accounts, list) else [])
        if isinstance(a, dict)
    }
    counted = (
        "lines", "lines_in_turns", "lines_in_no_turn", "facilitator_turns",
        "participant_turns", "backchannels", "speakers", "passages",
    )  # fmt: skip
    return {
        "cppthemes": result.info.get("version"),
        "inputs": {
            "paths": paths,
            "transcripts": [
                {
                    "source": t.source,
                    "format": t.format,
                    "sha256": t.sha256,
                    "turns": len(t.turns),
                    **{
                        k: accounts[t.source][k] for k in counted if k in accounts.get(t.source, {})
                    },
                    "metadata": t.metadata,
                    "roles": t.roles,
                    "roles_from": t.roles_from,
                    "roles_evidence": t.roles_evidence,
                    "roles_uncertain": t.roles_uncertain,
                }
                for t in result.transcripts
            ],
        },
        "skipped": result.info.get("skipped", []),
        "warnings": result.info.get("warnings", []),
        # As the pipeline recorded it: with pseudonymisation, given names are pseudonyms here.
        "config": result.info.get("config") or cfg.model_dump(),
        "privacy": {
            "pseudonymized": bool(result.pseudonyms),
            "pseudonyms": len(set(result.pseudonyms.values())),
        },
        "model": {"id": result.info.get("model"), "sha256": result.info.get("model_fingerprint")},
        "language": result.info.get("language"),
        # Only for a model on another cosine scale than MiniLM's (cppthemes.embed.similarity).
        **({"similarity": result.info["similarity"]} if "similarity" in result.info else {}),
        **({"notes": result.info["notes"]} if result.info.get("notes") else {}),
        "seeds": {"cluster": cfg.cluster.seed},
        "counts": {
            **asdict(result.segment_stats),
            "codes": len(result.codes),
            "themes": len(result.themes),
            "coded_passages": sum(c.size for c in result.codes),
            "coverage": round(result.coverage, 4),
        },
        "clustering": result.info.get("cluster"),
        "stability": result.info.get("stability"),
        "theme_tree": result.info.get("theme_tree"),
        # Issue 17: the procedural bin, how people were counted, seeded codes' confidence.
        "procedural": result.info.get("procedural"),
        "people": result.info.get("people"),
        "seeded_codes": result.info.get("seeded_codes"),
        "neighbours": result.info.get("neighbours"),
        "codebook": result.info.get("codebook"),
        "framework": result.info.get("framework"),
        "embeddings": result.info.get("embeddings"),
        "timings_s": result.info.get("timings_s"),
        "environment": {
            "python": platform.python_version(),
            "scikit-learn": version("scikit-learn"),
            "spacy": version("spacy"),
        },
    }


def _state(result: Result) -> dict[str, Any] | None:
    state = result.info.get("codebook")
    return state if isinstance(state, dict) else None


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


def _json_escaping_surrogates(text: str) -> str:
    """JSON text whose lone surrogates (a file name that is not UTF-8, as given on the
    command line) are written as ``\\udcff`` escapes: valid UTF-8, and read back as the same
    name, so ``refine`` finds the file again."""
    return re.sub(r"[\ud800-\udfff]", lambda m: f"\\u{ord(m.group()):04x}", text) + "\n"


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
    rendered: Rendered = {
        "passages.jsonl": passages_jsonl(result),
        "transcripts.jsonl": transcripts_jsonl(result),
        "codebook.yaml": dump_codebook(
            result.codes, result.themes, _state(result), base=codebook_base
        ),
    }
    for render in EXPORTS.values():
        rendered.update(render(result))
    outputs = {
        name: sha256_bytes(c.encode("utf-8") if isinstance(c, str) else c)
        for name, c in rendered.items()
    }
    run = manifest(result, cfg, paths)
    run["outputs"] = outputs
    stages = dict(result.info.get("timings_s") or {})  # type: ignore[call-overload]
    timings = {"startup": round(startup_s, 3)} if startup_s is not None else {}
    timings.update(stages)
    timings["write"] = round(time.perf_counter() - clock, 3)
    if startup_s is not None:
        from cppthemes.proctime import age

        timings["total"] = round(age(), 3)
    run["timings_s"] = timings
    rendered["run.json"] = _json_escaping_surrogates(json.dumps(run, indent=2, ensure_ascii=False))
    if result.audit:
        rendered[AUDIT_FILE] = "".join(
            json.dumps(e, ensure_ascii=False, sort_keys=False) + "\n" for e in result.audit
        )
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


def read_run_json(run_dir: Path) -> dict[str, Any]:
    """A run folder's run.json; errors name the file (and line)."""
    path = run_dir / "run.json"
    try:
        run = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunDirError(f"{path}: missing; is {run_dir} a cppthemes run folder?") from None
    except json.JSONDecodeError as exc:
        raise RunDirError(f"{path}:{exc.lineno}: not JSON ({exc.msg})") from None
    if not isinstance(run, dict):
        raise RunDirError(f"{path}: expected a JSON object")
    return run


def read_passages(run_dir: Path) -> list[dict[str, Any]]:
    """The passages of a finished run; errors name the file and line."""
    path = run_dir / "passages.jsonl"
    if not run_dir.is_dir():
        raise RunDirError(f"{run_dir}: no such run folder")
    if not path.is_file():
        raise RunDirError(f"{path}: missing; is {run_dir} a cppthemes run folder?")
    records = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            try:
                record = json.loads(line)
                record["source"], record["line_start"], record["line_end"], record["code"]
            except (json.JSONDecodeError, TypeError, KeyError) as exc:
                raise RunDirError(f"{path}:{number}: not a passage record ({exc})") from None
            records.append(record)
    return records


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    records = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise RunDirError(f"{path}:{number}: not JSON ({exc.msg})") from None
            if not isinstance(record, dict):
                raise RunDirError(f"{path}:{number}: expected a JSON object")
            records.append(record)
    return records


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


def _optional(value: Any, kind: type[int] | type[float]) -> Any:
    return None if value is None else kind(value)


def _turn(tid: str, index: int, plain: str, row: list[Any]) -> Turn:
    """A turn of transcripts.jsonl (five fields before provenance was recorded, eight since)."""
    spk, ls, le, cs, ce = row[:5]
    start, ref_line, ref_row = [*row[5:8], None, None, None][:3]
    return Turn(
        tid,
        index,
        str(spk),
        plain[int(cs) : int(ce)],
        int(ls),
        int(le),
        int(cs),
        int(ce),
        start_s=_optional(start, float),
        ref_line=_optional(ref_line, int),
        ref_row=_optional(ref_row, int),
    )


def _transcripts(run_dir: Path, run: dict[str, Any]) -> list[Transcript]:
    """Transcripts with their plain text from transcripts.jsonl, checked against run.json."""
    path = run_dir / "transcripts.jsonl"
    hashes = {
        t.get("source"): t.get("sha256") for t in run.get("inputs", {}).get("transcripts", [])
    }
    recorded = {t.get("source"): t for t in run.get("inputs", {}).get("transcripts", [])}
    if not path.is_file():
        # A run folder from before transcripts.jsonl existed: metadata only, no plain text.
        return [
            Transcript(
                id=Path(str(t["source"])).with_suffix("").as_posix(),
                source=str(t["source"]),
                path=str(t["source"]),
                format="text",
                plain_text="",
                turns=(),
                metadata=dict(t.get("metadata") or {}),
                sha256=str(t.get("sha256", "")),
            )
            for t in run.get("inputs", {}).get("transcripts", [])
        ]
    transcripts = []
    for number, r in enumerate(_read_jsonl(path), start=1):
        try:
            tid, source, plain = str(r["id"]), str(r["source"]), str(r["plain_text"])
            turns = tuple(_turn(tid, i, plain, row) for i, row in enumerate(r.get("turns") or []))
        except (KeyError, TypeError, ValueError) as exc:
            raise RunDirError(f"{path}:{number}: not a transcript record ({exc})") from None
        known = recorded.get(source) or {}
        if hashes and hashes.get(source) != r.get("sha256"):
            raise RunDirError(
                f"{path}:{number}: {source} does not match the input recorded in run.json"
            )
        transcripts.append(
            Transcript(
                id=tid,
                source=source,
                path=source,
                format=str(r.get("format", "text")),
                plain_text=plain,
                turns=turns,
                metadata={str(k): str(v) for k, v in (r.get("metadata") or {}).items()},
                sha256=str(r.get("sha256", "")),
                roles={str(k): str(v) for k, v in (known.get("roles") or {}).items()},
                roles_from=str(known.get("roles_from") or ""),
                roles_evidence=str(known.get("roles_evidence") or ""),
                roles_uncertain=bool(known.get("roles_uncertain")),
            )
        )
    return transcripts


def _accounts(run: dict[str, Any]) -> list[dict[str, Any]]:
    """The per-transcript accounting as run.json lists it (what the report's table shows)."""
    out = []
    for t in (run.get("inputs") or {}).get("transcripts") or []:
        if isinstance(t, dict) and "lines" in t:
            roles = t.get("roles") or {}
            out.append(
                {
                    **t,
                    "facilitators": [s for s, r in roles.items() if r == "facilitator"],
                }
            )
    return out


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


def load_run(run_dir: Path) -> Result:
    """Rebuild a run's ``Result`` from its folder: passages, codebook, transcripts, manifest.

    Passage-to-code assignments come from passages.jsonl; labels, descriptions, keyphrases,
    quotes and prevalence from codebook.yaml (so an analyst's renames show in every export).
    """
    records = read_passages(run_dir)
    run = read_run_json(run_dir)
    book_path = run_dir / "codebook.yaml"
    try:
        book = load_codebook(book_path)
    except CppthemesError as exc:
        raise RunDirError(str(exc)) from None

    transcripts = _transcripts(run_dir, run)
    passages: list[Passage] = []
    passage_codes: dict[str, str | None] = {}
    coords: dict[str, tuple[float, float]] = {}
    constructs_of: dict[str, tuple[str, float]] = {}
    for r in records:
        if r.get("construct"):
            constructs_of[str(r["id"])] = (
                str(r["construct"]),
                float(r.get("construct_similarity") or 0.0),
            )
        passages.append(
            Passage(
                id=str(r["id"]),
                transcript_id=str(r.get("transcript", Path(r["source"]).with_suffix(""))),
                source=str(r["source"]),
                speaker=str(r.get("speaker", "")),
                role=r.get("role", "participant"),
                text=str(r.get("text", "")),
                turn_start=0,
                turn_end=0,
                line_start=int(r["line_start"]),
                line_end=int(r["line_end"]),
                char_start=int(r.get("char_start", 0)),
                char_end=int(r.get("char_end", 0)),
                context=r.get("context"),
                metadata={str(k): str(v) for k, v in (r.get("metadata") or {}).items()},
                ref_line=_optional(r.get("ref_line"), int),
                ref_row=_optional(r.get("ref_row"), int),
                start_s=_optional(r.get("start_s"), float),
            )
        )
        passage_codes[str(r["id"])] = r["code"]
        if "x" in r and "y" in r:
            coords[str(r["id"])] = (float(r["x"]), float(r["y"]))

    by_id = {p.id: p for p in passages}
    members: dict[str, list[str]] = {}
    for pid, code in passage_codes.items():
        if code is not None:
            members.setdefault(code, []).append(pid)
    codes = []
    for number, c in enumerate(book["codes"], start=1):
        try:
            cid = str(c["id"])
            quotes = [_quote(q, by_id) for q in c.get("quotes") or []]
            central = c.get("central_sentence")
            stability = c.get("stability")
            constructs = tuple(
                (str(k.get("construct")), float(k.get("similarity", 0.0)))
                for k in c.get("constructs") or []
                if isinstance(k, dict)
            )
            codes.append(
                Code(
                    id=cid,
                    label=str(c.get("label") or cid),
                    keyphrases=tuple(str(k) for k in c.get("keyphrases") or ()),
                    passage_ids=tuple(members.get(cid, ())),
                    quotes=tuple(quotes),
                    prevalence=_prevalence(c.get("prevalence")),
                    coherence=float(c.get("coherence") or 0.0),
                    status=str(c.get("status") or "candidate"),
                    description=str(c.get("description") or ""),
                    stability=float(stability) if stability is not None else None,
                    distinctiveness=float(c.get("distinctiveness") or 0.0),
                    nearest_code=str(c["nearest_code"]) if c.get("nearest_code") else None,
                    weak=bool(c.get("weak", False)),
                    examples=tuple(str(e) for e in c.get("examples") or ()),
                    constructs=constructs,
                    central=_quote(central, by_id) if isinstance(central, dict) else None,
                )
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise RunDirError(f"{book_path}: code number {number} is malformed ({exc})") from None
    themes = [
        Theme(
            id=str(t["id"]),
            label=str(t.get("label") or t["id"]),
            code_ids=tuple(str(cid) for cid in t.get("codes") or ()),
            prevalence=_prevalence(t.get("prevalence")),
            description=str(t.get("description") or ""),
        )
        for t in book.get("themes") or []
    ]
    counts = run.get("counts") or {}
    numbers = {
        name: int(counts.get(name, 0))
        for name in SegmentStats.__dataclass_fields__
        if name != "strategy"
    }
    stats = SegmentStats(**numbers, strategy=str(counts.get("strategy", "turn")))
    audit_path = run_dir / AUDIT_FILE
    audit = tuple(_read_jsonl(audit_path)) if audit_path.is_file() else ()
    info: dict[str, object] = {
        "version": run.get("cppthemes"),
        "model": (run.get("model") or {}).get("id"),
        "model_fingerprint": (run.get("model") or {}).get("sha256"),
        "cluster": run.get("clustering"),
        "stability": run.get("stability"),
        "theme_tree": run.get("theme_tree"),
        "procedural": run.get("procedural"),
        "people": run.get("people"),
        "seeded_codes": run.get("seeded_codes"),
        "neighbours": run.get("neighbours"),
        "codebook": run.get("codebook"),
        "framework": run.get("framework"),
        "embeddings": run.get("embeddings"),
        "timings_s": run.get("timings_s"),
        "config": run.get("config"),
        "warnings": run.get("warnings") or [],
        "skipped": run.get("skipped") or [],
        "accounts": _accounts(run),
    }
    return Result(
        transcripts=tuple(transcripts),
        passages=tuple(passages),
        passage_codes=passage_codes,
        codes=tuple(codes),
        themes=tuple(themes),
        segment_stats=stats,
        info=info,
        coords=coords,
        audit=audit,
        passage_constructs=constructs_of,
    )
