"""The codebook file: candidate codes and themes, human-editable, read back by later runs.

YAML because analysts edit it by hand; ruamel.yaml because it keeps comments and key order
when a file is read and written again. The file is written by cppthemes/codebook/emit.py,
which writes ruamel.yaml's bytes eight times sooner, and by ruamel.yaml itself for what that
writer leaves to it (comments the analyst added, anchors, unusual shapes).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from cppthemes import fastyaml
from cppthemes.codebook import emit, lightbase
from cppthemes.errors import InputError
from cppthemes.records import Code, CodeStatus, Prevalence, Quote, Theme

SCHEMA_VERSION = 1
HEADER = """\
# cppthemes codebook: candidate codes and themes proposed by the tool.
# Every quote is verbatim: `source`, `speaker` and `line` point to where it was said.
# The tool proposes; the analyst decides. Edit a code's label, description, theme or status
# (kept, discarded), or add entries under `decisions:` (rename, describe, merge, split, discard,
# keep, theme) and new codes under `seeded:`; then `cppthemes refine RUN_DIR` applies them.
# Schema and examples: docs/codebook.md.
"""


def _yaml() -> YAML:
    yaml = YAML()
    yaml.width = 100
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.allow_unicode = True
    return yaml


def _dump(data: Any) -> str:
    """``data`` as ruamel.yaml writes it with ``_yaml()``'s settings, by the fast writer of
    cppthemes/codebook/emit.py where it writes the same bytes, else by ruamel.yaml."""
    try:
        return emit.dump(data, _yaml())
    except emit.Unsupported:
        buffer = io.StringIO()
        _yaml().dump(data, buffer)
        return buffer.getvalue()


def prevalence_dict(p: Prevalence) -> dict[str, Any]:
    return {
        "passages": p.passages,
        "speakers": p.speakers,
        "transcripts": p.transcripts,
        "transcripts_total": p.transcripts_total,
        "by_metadata": {k: dict(v) for k, v in p.by_metadata.items()},
    }


def quote_dict(q: Quote) -> dict[str, Any]:
    where = {"where": q.where} if q.where else {}
    return {
        "text": q.text,
        "source": q.source,
        "transcript": q.transcript_id,
        "speaker": q.speaker,
        "line": q.line,
        **where,
        "char_start": q.char_start,
        "char_end": q.char_end,
        "passage": q.passage_id,
        "similarity": q.similarity,
        "metadata": dict(sorted(q.metadata.items())),
        # The quote's last line and the other speakers' words it leaves out (issue 17).
        **({"line_end": q.line_end} if q.line_end > q.line else {}),
        **({"omitted": list(q.omitted)} if q.omitted else {}),
    }


def codebook_dict(
    codes: Sequence[Code], themes: Sequence[Theme], state: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The codebook as plain data; ``state`` (run.json's "codebook") adds what reruns need."""
    theme_of = {cid: t.id for t in themes for cid in t.code_ids}
    state = state or {}
    kept_themes = set(state.get("kept_themes") or ())
    book: dict[str, Any] = {
        "version": SCHEMA_VERSION,
        "codes": [
            {
                "id": c.id,
                "label": c.label,
                "status": str(c.status),
                "description": c.description,
                "theme": theme_of.get(c.id),
                "keyphrases": list(c.keyphrases),
                "size": c.size,
                "coherence": c.coherence,
                # Only written once stability is measured, so older codebooks stay unchanged.
                **({"stability": c.stability} if c.stability is not None else {}),
                "distinctiveness": c.distinctiveness,
                "nearest_code": c.nearest_code,
                "weak": c.weak,
                **({"examples": list(c.examples)} if c.examples else {}),
                **(
                    {"constructs": [{"construct": k, "similarity": v} for k, v in c.constructs]}
                    if c.constructs
                    else {}
                ),
                "prevalence": prevalence_dict(c.prevalence),
                "quotes": [quote_dict(q) for q in c.quotes],
                # The code's most central sentence, verbatim, with its place (issue 17).
                **({"central_sentence": quote_dict(c.central)} if c.central else {}),
            }
            for c in codes
        ],
        "themes": [
            {
                "id": t.id,
                "label": t.label,
                "status": "kept" if t.id in kept_themes else "candidate",
                "description": t.description,
                "codes": list(t.code_ids),
                "prevalence": prevalence_dict(t.prevalence),
            }
            for t in themes
        ],
        "decisions": [],
        "seeded": [],
    }
    if state.get("discarded"):
        book["discarded"] = [dict(d) for d in state["discarded"]]
    if state.get("retired"):
        book["retired"] = list(state["retired"])
    return book


def _update(old: Any, new: Any) -> Any:
    """``new`` written into ``old`` in place where shapes agree, so comments stay attached.

    Mappings keep their comments per key; lists of codes or themes are matched by ``id``.
    """
    if isinstance(old, CommentedMap) and isinstance(new, dict):
        for key in [k for k in old if k not in new]:
            del old[key]
        for key, value in new.items():
            old[key] = _update(old[key], value) if key in old else value
        return old
    if isinstance(old, CommentedSeq) and isinstance(new, list):
        by_id = {
            str(item["id"]): item
            for item in old
            if isinstance(item, CommentedMap) and item.get("id") is not None
        }
        if not by_id:
            return new
        items = [
            _update(by_id[str(v["id"])], v)
            if isinstance(v, dict) and str(v.get("id")) in by_id
            else v
            for v in new
        ]
        old.clear()
        old.extend(items)
        return old
    return new


def dump_codebook(
    codes: Sequence[Code],
    themes: Sequence[Theme],
    state: dict[str, Any] | None = None,
    base: str | None = None,
) -> str:
    """The codebook file; with ``base`` (the analyst's edited file) its comments are kept."""
    data = codebook_dict(codes, themes, state)
    if base is not None:
        return _dump_into(base, data)
    return HEADER + _dump(data)


def _dump_into(base: str, data: dict[str, Any]) -> str:
    """``data`` written into the analyst's file ``base`` (see ``dump_codebook``): into a
    light tree of it where its only comments are the leading block (codebook/lightbase.py), else
    into ruamel.yaml's tree of it, which keeps every comment."""
    lines = base.splitlines(keepends=True)
    n = 0
    while n < len(lines) and lines[n].startswith("#"):
        n += 1
    if "#" not in "".join(lines[n:]):
        try:
            light = lightbase.light_base(base)
            if isinstance(light, dict):
                return "".join(lines[:n]) + _dump(lightbase.merge_light(light, data))
        except lightbase.Heavy:
            pass
    lead, old = _base_tree(base)
    if isinstance(old, CommentedMap):
        # ``lead``: the file's only comments, read past by libyaml, put back in front.
        return (lead or "") + _dump(_update(old, data))
    return HEADER + _dump(data)


def _base_tree(base: str) -> tuple[str | None, Any]:
    """The analyst's file as a tree to write the new codebook into, and its leading comment
    block when that is the only comment it has (else None: the tree then holds comments).

    ruamel.yaml's own loader keeps comments but takes a second on a 60-code codebook; a file
    whose only comments are the lines at its top (the header this module writes, or the
    analyst's own) is read by libyaml (cppthemes/fastyaml.py) and the block is put back in
    front, which is what ruamel.yaml writes for it. tests/test_rerun_caches.py compares both.
    """

    lines = base.splitlines(keepends=True)
    n = 0
    while n < len(lines) and lines[n].startswith("#"):
        n += 1
    rest = "".join(lines[n:])
    if "#" not in rest:
        events = fastyaml.events(base)
        if events is not None:
            return "".join(lines[:n]), fastyaml.load(events, _yaml())
    return None, _yaml().load(base)


def render_book(book: dict[str, Any]) -> str:
    """Any codebook-shaped mapping as YAML with the header (e.g. one imported from .qdc)."""
    return HEADER + _dump(book)


def load_yaml(text: str, path: Path | str) -> Any:
    """``text`` loaded as ruamel.yaml's round-trip loader does, after the safety check.

    Parsed by libyaml where it reads the text as ruamel.yaml would (cppthemes/fastyaml.py:
    a tenth of the time on a 60-code codebook), else by ruamel.yaml's own parser. The libyaml
    path attaches no comments to the tree; a plan reads none.
    """
    from cppthemes.safeyaml import check_yaml

    events = fastyaml.events(text)
    check_yaml(text, path, events)  # depth and alias-bomb bounds before the recursive loader
    return _yaml().load(text) if events is None else fastyaml.load(events, _yaml())


def load_codebook(path: Path) -> dict[str, Any]:
    """Read a codebook file back; errors name the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
        data = load_yaml(text, path)
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
    check_codes(data, path)
    return data


# What a code's `status` may say (docs/codebook.md): the tool's own, anchors, discards.
STATUSES = tuple(str(s) for s in CodeStatus)


def _line(node: Any, key: str | int | None = None) -> int | None:
    """1-based line of a mapping key's value (or a list item) as ruamel.yaml read it."""
    lc = getattr(node, "lc", None)
    if lc is None:
        return None
    try:
        if key is None:
            return int(lc.line) + 1
        if isinstance(key, int):
            return int(lc.item(key)[0]) + 1
        return int(lc.value(key)[0]) + 1
    except (AttributeError, KeyError, IndexError, TypeError):
        return None


def check_codes(book: dict[str, Any], path: Path) -> None:
    """Edits a rerun cannot honour faithfully are errors naming the line.

    Two codes with one id (an analyst changed ``id: C02`` to ``C01``) would merge them in
    silence and make YAML anchors of the output; an unknown status would be read as a
    candidate; a theme that no theme has as id or label would invent one.
    """
    themes: list[Any] = book["themes"] if isinstance(book.get("themes"), list) else []
    known_themes = {
        str(t.get(field)) for t in themes if isinstance(t, dict) for field in ("id", "label")
    }
    for entry in book.get("decisions") or []:
        rule = entry.get("theme") if isinstance(entry, dict) else None
        if isinstance(rule, dict):
            known_themes |= {str(rule.get("id")), str(rule.get("label"))}
    seen: dict[str, int | None] = {}
    codes = book["codes"]
    for index, code in enumerate(codes):
        if not isinstance(code, dict) or code.get("id") is None:
            continue  # reported by the plan ("a code without an id")
        cid = str(code["id"])
        line = _line(code, "id") or _line(codes, index)
        if cid in seen:
            first = f" (first on line {seen[cid]})" if seen[cid] else ""
            raise InputError(
                path, f"code id {cid!r} is used twice{first}; each code needs its own id", line
            )
        seen[cid] = line
        status = code.get("status")
        if status is not None and str(status).strip().lower() not in STATUSES:
            raise InputError(
                path,
                f"code {cid}: unknown status {str(status)!r} (allowed: {', '.join(STATUSES)})",
                _line(code, "status") or line,
            )
        theme = code.get("theme")
        if theme is not None and str(theme) not in known_themes:
            raise InputError(
                path,
                f"code {cid}: theme {str(theme)!r} is not the id or label of any theme under "
                "'themes:' (add it there, or as a 'theme:' decision)",
                _line(code, "theme") or line,
            )
