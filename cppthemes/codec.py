"""The run folder's file formats, written and read in one place.

passages.jsonl, transcripts.jsonl, audit.jsonl and run.json are written here from a run's
records and read back here into the same records; every reader of a run folder (``load_run``,
reruns, ``evaluate``) goes through these functions, and a write/read round trip gives the
records back unchanged (tests/test_codec.py). Errors name the file and line.
"""

from __future__ import annotations

import bisect
import json
import platform
import re
from dataclasses import asdict
from pathlib import Path
from typing import Any

from cppthemes.config import Config
from cppthemes.errors import RunDirError
from cppthemes.records import (
    Account,
    AuditEvent,
    ModelInfo,
    Passage,
    Result,
    RunInfo,
    Skipped,
    Transcript,
    Turn,
)

AUDIT_FILE = "audit.jsonl"
# The per-transcript counts run.json lists under ``inputs.transcripts`` (with ``passages``).
_COUNTED = (
    "lines", "lines_in_turns", "lines_in_no_turn", "facilitator_turns", "participant_turns",
    "backchannels", "speakers",
)  # fmt: skip


def passages_jsonl(result: Result) -> str:
    """passages.jsonl: one passage a line, with its code, theme, map place and construct.

    Turn indices are not written: ``passage_of`` finds them again from transcripts.jsonl.
    """
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


def audit_jsonl(audit: tuple[AuditEvent, ...]) -> str:
    """audit.jsonl: one event a line, oldest first."""
    return "".join(json.dumps(e.as_dict(), ensure_ascii=False) + "\n" for e in audit)


def read_audit(run_dir: Path) -> tuple[AuditEvent, ...]:
    """A run folder's audit trail (empty without audit.jsonl)."""
    path = run_dir / AUDIT_FILE
    return tuple(AuditEvent.from_dict(e) for e in read_jsonl(path)) if path.is_file() else ()


def manifest(result: Result, cfg: Config, paths: list[str]) -> dict[str, Any]:
    """run.json: enough to know exactly what produced these outputs, and to redo it."""
    from importlib.metadata import version  # the libraries' own imports take seconds

    info = result.info
    accounts = {a.source: a.as_dict() for a in info.accounts}
    counted = (*_COUNTED, "passages")
    return {
        "cppthemes": info.cppthemes,
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
        "skipped": [s.as_dict() for s in info.skipped],
        "warnings": [w.as_dict() for w in info.warnings],
        # As the pipeline recorded it: with pseudonymisation, given names are pseudonyms here.
        "config": info.config or cfg.model_dump(),
        "privacy": {
            "pseudonymized": bool(result.pseudonyms),
            "pseudonyms": len(set(result.pseudonyms.values())),
        },
        "model": {"id": info.model.id, "sha256": info.model.sha256},
        "language": info.language,
        # Only for a model on another cosine scale than MiniLM's (cppthemes.embed.similarity).
        **({"similarity": info.similarity} if info.similarity is not None else {}),
        **({"notes": list(info.notes)} if info.notes else {}),
        "seeds": {"cluster": cfg.cluster.seed},
        "counts": {
            **asdict(result.segment_stats),
            "codes": len(result.codes),
            "themes": len(result.themes),
            "coded_passages": sum(c.size for c in result.codes),
            "coverage": round(result.coverage, 4),
        },
        "clustering": info.clustering,
        "stability": info.stability,
        "theme_tree": info.theme_tree,
        # Issue 17: the procedural bin, how people were counted, seeded codes' confidence.
        "procedural": info.procedural,
        "people": info.people,
        "seeded_codes": info.seeded_codes,
        "neighbours": info.neighbours,
        "codebook": info.codebook,
        "framework": info.framework,
        "embeddings": info.embeddings,
        "timings_s": info.timings_s,
        "environment": {
            "python": platform.python_version(),
            "scikit-learn": version("scikit-learn"),
            "spacy": version("spacy"),
        },
    }


def run_info_of(run: dict[str, Any]) -> RunInfo:
    """The ``RunInfo`` a run.json records (what ``manifest`` wrote)."""
    model = run.get("model") or {}
    return RunInfo(
        cppthemes=run.get("cppthemes"),
        model=ModelInfo(model.get("id"), model.get("sha256")),
        language=run.get("language"),
        similarity=run.get("similarity"),
        notes=tuple(str(n) for n in run.get("notes") or ()),
        clustering=run.get("clustering"),
        stability=run.get("stability"),
        theme_tree=list(run.get("theme_tree") or []),
        procedural=run.get("procedural"),
        people=run.get("people"),
        seeded_codes=run.get("seeded_codes"),
        neighbours=dict(run.get("neighbours") or {}),
        codebook=run.get("codebook"),
        framework=run.get("framework"),
        embeddings=run.get("embeddings"),
        timings_s=dict(run.get("timings_s") or {}),
        config=dict(run.get("config") or {}),
        skipped=tuple(_skipped(s) for s in run.get("skipped") or ()),
        warnings=tuple(_skipped(w) for w in run.get("warnings") or ()),
        accounts=tuple(_account(t) for t in _inputs(run) if "lines" in t),
    )


def _inputs(run: dict[str, Any]) -> list[dict[str, Any]]:
    return [t for t in (run.get("inputs") or {}).get("transcripts") or [] if isinstance(t, dict)]


def _skipped(data: dict[str, Any]) -> Skipped:
    line = data.get("line")
    reason = str(data.get("reason"))
    return Skipped(str(data.get("path")), None if line is None else int(line), reason)


def _account(t: dict[str, Any]) -> Account:
    """A transcript's accounting as run.json lists it under ``inputs.transcripts``."""
    roles = t.get("roles") or {}
    passages = t.get("passages")
    counts = {k: int(t.get(k) or 0) for k in _COUNTED}
    return Account(
        source=str(t.get("source")),
        path=str(t.get("source")),
        turns=int(t.get("turns") or 0),
        passages=None if passages is None else int(passages),
        facilitators=tuple(s for s, r in roles.items() if r == "facilitator"),
        roles_from=str(t.get("roles_from") or ""),
        roles_evidence=str(t.get("roles_evidence") or ""),
        roles_uncertain=bool(t.get("roles_uncertain")),
        **counts,
    )


def json_escaping_surrogates(text: str) -> str:
    """JSON text whose lone surrogates (a file name that is not UTF-8, as given on the
    command line) are written as ``\\udcff`` escapes: valid UTF-8, and read back as the same
    name, so ``refine`` finds the file again."""
    return re.sub(r"[\ud800-\udfff]", lambda m: f"\\u{ord(m.group()):04x}", text) + "\n"


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


def read_jsonl(path: Path) -> list[dict[str, Any]]:
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


def read_transcripts(run_dir: Path, run: dict[str, Any]) -> list[Transcript]:
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
    for number, r in enumerate(read_jsonl(path), start=1):
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


def passage_of(record: dict[str, Any], turns: dict[str, tuple[Turn, ...]]) -> Passage:
    """A passage of passages.jsonl; its turn indices found again from its transcript's turns
    (those its first and last characters lie in)."""
    tid = str(record.get("transcript", Path(record["source"]).with_suffix("")))
    char_start, char_end = int(record.get("char_start", 0)), int(record.get("char_end", 0))
    spans = turns.get(tid) or ()
    starts = [t.char_start for t in spans]
    first = max(bisect.bisect_right(starts, char_start) - 1, 0)
    last = max(bisect.bisect_right(starts, max(char_end - 1, char_start)) - 1, 0)
    return Passage(
        id=str(record["id"]),
        transcript_id=tid,
        source=str(record["source"]),
        speaker=str(record.get("speaker", "")),
        role=record.get("role", "participant"),
        text=str(record.get("text", "")),
        turn_start=spans[first].index if spans else 0,
        turn_end=spans[last].index if spans else 0,
        line_start=int(record["line_start"]),
        line_end=int(record["line_end"]),
        char_start=char_start,
        char_end=char_end,
        context=record.get("context"),
        metadata={str(k): str(v) for k, v in (record.get("metadata") or {}).items()},
        ref_line=_optional(record.get("ref_line"), int),
        ref_row=_optional(record.get("ref_row"), int),
        start_s=_optional(record.get("start_s"), float),
    )
