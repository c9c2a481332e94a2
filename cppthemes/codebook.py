"""The codebook file: candidate codes and themes, human-editable, read back by later runs.

YAML because analysts edit it by hand; ruamel.yaml because it keeps comments and key order
when a file is read and written again.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from cppthemes.errors import InputError
from cppthemes.records import Code, Prevalence, Quote, Theme

SCHEMA_VERSION = 1
HEADER = """\
# cppthemes codebook: candidate codes and themes proposed by the tool.
# Every quote is verbatim: `source`, `speaker` and `line` point to where it was said.
# Schema: docs/outputs.md. The tool proposes; the analyst decides.
"""


def _yaml() -> YAML:
    yaml = YAML()
    yaml.width = 100
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.allow_unicode = True
    return yaml


def prevalence_dict(p: Prevalence) -> dict[str, Any]:
    return {
        "passages": p.passages,
        "speakers": p.speakers,
        "transcripts": p.transcripts,
        "transcripts_total": p.transcripts_total,
        "by_metadata": {k: dict(v) for k, v in p.by_metadata.items()},
    }


def quote_dict(q: Quote) -> dict[str, Any]:
    return {
        "text": q.text,
        "source": q.source,
        "speaker": q.speaker,
        "line": q.line,
        "passage": q.passage_id,
        "similarity": q.similarity,
    }


def codebook_dict(codes: Sequence[Code], themes: Sequence[Theme]) -> dict[str, Any]:
    theme_of = {cid: t.id for t in themes for cid in t.code_ids}
    return {
        "version": SCHEMA_VERSION,
        "codes": [
            {
                "id": c.id,
                "label": c.label,
                "status": c.status,
                "description": c.description,
                "theme": theme_of.get(c.id),
                "keyphrases": list(c.keyphrases),
                "size": c.size,
                "coherence": c.coherence,
                # Only written once stability is measured, so older codebooks stay unchanged.
                **({"stability": c.stability} if c.stability is not None else {}),
                "prevalence": prevalence_dict(c.prevalence),
                "quotes": [quote_dict(q) for q in c.quotes],
            }
            for c in codes
        ],
        "themes": [
            {
                "id": t.id,
                "label": t.label,
                "description": t.description,
                "codes": list(t.code_ids),
                "prevalence": prevalence_dict(t.prevalence),
            }
            for t in themes
        ],
    }


def dump_codebook(codes: Sequence[Code], themes: Sequence[Theme]) -> str:
    buffer = io.StringIO()
    _yaml().dump(codebook_dict(codes, themes), buffer)
    return HEADER + buffer.getvalue()


def load_codebook(path: Path) -> dict[str, Any]:
    """Read a codebook file back; errors name the file and line."""
    from cppthemes.safeyaml import check_yaml

    try:
        text = path.read_text(encoding="utf-8")
        check_yaml(text, path)  # depth and alias-bomb bounds before the recursive loader
        data = _yaml().load(text)
    except FileNotFoundError:
        raise InputError(path, "codebook file not found") from None
    except UnicodeDecodeError as exc:
        raise InputError(path, f"not UTF-8 text (byte {exc.start}); re-save as UTF-8") from None
    except OSError as exc:
        raise InputError(path, f"cannot read file ({exc.strerror or exc})") from None
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = " ".join(str(getattr(exc, "problem", None) or exc).split())  # one line
        raise InputError(path, f"not valid YAML ({problem})", line) from None
    if not isinstance(data, dict) or not isinstance(data.get("codes"), list):
        raise InputError(path, "not a cppthemes codebook (no 'codes:' list)", 1)
    return data
