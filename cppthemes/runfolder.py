"""The run folder: what a run writes, and reading it back for evaluation and review."""

from __future__ import annotations

import json
import platform
from dataclasses import asdict
from pathlib import Path
from typing import Any

from cppthemes.codebook import dump_codebook
from cppthemes.config import Config
from cppthemes.errors import RunDirError
from cppthemes.export import codes_csv, passages_csv
from cppthemes.files import write_all
from cppthemes.records import Result
from cppthemes.report import render_markdown

FILES = ("passages.jsonl", "codebook.yaml", "codes.csv", "passages.csv", "report.md", "run.json")


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
            "char_start": p.char_start,
            "char_end": p.char_end,
            "text": p.text,
            "context": p.context,
            "metadata": p.metadata,
            "code": code,
            "theme": theme_of.get(code) if code else None,
        }
        lines.append(json.dumps(record, ensure_ascii=False))
    return "\n".join(lines) + "\n" if lines else ""


def manifest(result: Result, cfg: Config, paths: list[str]) -> dict[str, Any]:
    """run.json: enough to know exactly what produced these outputs, and to redo it."""
    import sklearn
    import spacy

    return {
        "cppthemes": result.info.get("version"),
        "inputs": {
            "paths": paths,
            "transcripts": [
                {
                    "source": t.source,
                    "sha256": t.sha256,
                    "turns": len(t.turns),
                    "metadata": t.metadata,
                }
                for t in result.transcripts
            ],
        },
        "config": cfg.model_dump(),
        "model": {"id": result.info.get("model"), "sha256": result.info.get("model_fingerprint")},
        "language": result.info.get("language"),
        "seeds": {"cluster": cfg.cluster.seed},
        "counts": {
            **asdict(result.segment_stats),
            "codes": len(result.codes),
            "themes": len(result.themes),
            "coded_passages": sum(c.size for c in result.codes),
            "coverage": round(result.coverage, 4),
        },
        "clustering": result.info.get("cluster"),
        "embeddings": result.info.get("embeddings"),
        "timings_s": result.info.get("timings_s"),
        "environment": {
            "python": platform.python_version(),
            "scikit-learn": sklearn.__version__,
            "spacy": spacy.__version__,
        },
    }


def write_run(result: Result, cfg: Config, out_dir: Path, paths: list[str]) -> list[Path]:
    """Render every output first, then write each atomically into ``out_dir``."""
    rendered = {
        "passages.jsonl": passages_jsonl(result),
        "codebook.yaml": dump_codebook(result.codes, result.themes),
        "codes.csv": codes_csv(result),
        "passages.csv": passages_csv(result),
        "report.md": render_markdown(result),
        "run.json": json.dumps(manifest(result, cfg, paths), indent=2, ensure_ascii=False) + "\n",
    }
    write_all(out_dir, rendered)
    return [out_dir / name for name in rendered]


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
