"""REFI-QDA exchange files: ``project.qdpx`` and ``codebook.qdc``.

NVivo, ATLAS.ti, MAXQDA and QualCoder import these. The choices below follow what a real
importer does with them (QualCoder, observed; see docs/reports.md):

- sources are plain-text files inside the zip (``sources/<guid>.txt``, UTF-8 without BOM, LF),
  referenced as ``internal://<guid>.txt``; never inline ``PlainTextContent``;
- ``origin`` is set on ``Project``; ``isCodable`` is the literal ``true``/``false``;
- themes are non-codable parent codes with their codes beneath; every code name is unique;
- every ``PlainTextSelection`` carries ``creatingUser``, and that user is listed in ``Users``;
- every selection is checked against its source text before anything is written;
- GUIDs are uuid5 of the corpus fingerprint and the item's id, so re-exports diff cleanly.

Speakers become Cases (one per speaker per transcript, as prevalence counts them), linked to
their coded selections; manifest attributes become Variables, with values on each TextSource
and on each of its speakers' Cases.
"""

from __future__ import annotations

import hashlib
import io
import re
import uuid
import zipfile
from collections.abc import Iterable

from lxml import etree

from cppthemes import __version__
from cppthemes.errors import ExportError
from cppthemes.palette import code_colour
from cppthemes.provenance import kind_of, place
from cppthemes.records import Passage, Result, Transcript

PROJECT_NS = "urn:QDA-XML:project:1.0"
CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
USER_NAME = "cppthemes"
# Zip entries carry this date, so two exports of the same run are byte-identical.
ZIP_DATE = (2000, 1, 1, 0, 0, 0)
_BASE = uuid.uuid5(uuid.NAMESPACE_URL, "cppthemes:refi-qda")
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _where(p: Passage) -> str:
    """A selection's name: its lines for text files, else its place in the original file."""
    return f"lines {p.line_start}-{p.line_end}" if kind_of(p.source) == "text" else place(p)


def _clean(text: str) -> str:
    """Drop characters XML 1.0 cannot hold (control characters) from names and descriptions."""
    return _ILLEGAL.sub("", text)


class _Guids:
    """Deterministic GUIDs: uuid5 within a namespace derived from the corpus' file hashes."""

    def __init__(self, result: Result) -> None:
        fingerprint = hashlib.sha256(
            "\n".join(sorted(f"{t.source}\0{t.sha256}" for t in result.transcripts)).encode()
        ).hexdigest()
        self._ns = uuid.uuid5(_BASE, fingerprint)

    def __call__(self, kind: str, *parts: str) -> str:
        return str(uuid.uuid5(self._ns, "\0".join((kind, *parts))))


def _unique_names(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    """id -> display name, unique across the whole codebook (importers drop duplicates)."""
    names: dict[str, str] = {}
    seen: set[str] = set()
    for key, name in items:
        candidate, n = name, 2
        while candidate.casefold() in seen:
            candidate, n = f"{name} ({n})", n + 1
        seen.add(candidate.casefold())
        names[key] = candidate
    return names


def _code_description(result: Result, code_id: str) -> str:
    code = next(c for c in result.codes if c.id == code_id)
    parts = [code.description.strip()] if code.description.strip() else []
    parts.append(f"Keyphrases: {', '.join(code.keyphrases)}" if code.keyphrases else "")
    facts = f"Candidate code {code.id} proposed by cppthemes: {code.size} passages, "
    facts += f"coherence {code.coherence:.2f}"
    if code.stability is not None:
        facts += f", stability {code.stability:.2f}"
    parts.append(facts + ".")
    return _clean("\n".join(p for p in parts if p))


def _codes_element(result: Result, guids: _Guids, ns: str) -> etree._Element:
    """``<Codes>``: each theme a non-codable parent, its codes beneath; loose codes at the top."""
    names = _unique_names(
        [(t.id, f"{t.id} {t.label}") for t in result.themes]
        + [(c.id, f"{c.id} {c.label}") for c in result.codes]
    )
    colour = {c.id: code_colour(i) for i, c in enumerate(result.codes)}
    known = {c.id for c in result.codes}
    codes_el = etree.Element(f"{{{ns}}}Codes")

    def add_code(parent: etree._Element, code_id: str) -> None:
        el = etree.SubElement(
            parent,
            f"{{{ns}}}Code",
            guid=guids("code", code_id),
            name=_clean(names[code_id]),
            isCodable="true",
            color=colour[code_id],
        )
        etree.SubElement(el, f"{{{ns}}}Description").text = _code_description(result, code_id)

    placed: set[str] = set()
    for theme in result.themes:
        members = [cid for cid in theme.code_ids if cid in known]
        if not members:
            continue
        el = etree.SubElement(
            codes_el,
            f"{{{ns}}}Code",
            guid=guids("theme", theme.id),
            name=_clean(names[theme.id]),
            isCodable="false",
        )
        text = theme.description.strip() or f"Candidate theme {theme.id} proposed by cppthemes."
        etree.SubElement(el, f"{{{ns}}}Description").text = _clean(text)
        for cid in members:
            add_code(el, cid)
            placed.add(cid)
    for code in result.codes:
        if code.id not in placed:
            add_code(codes_el, code.id)
    return codes_el


def _check_selection(p: Passage, t: Transcript) -> None:
    """A selection must slice its source to exactly the passage text (importers do not check)."""
    n = len(t.plain_text)
    if not (0 <= p.char_start < p.char_end <= n):
        raise ExportError(
            f"passage {p.id} in {t.source}: span {p.char_start}-{p.char_end} lies outside the "
            f"source text ({n} characters)"
        )
    if t.plain_text[p.char_start : p.char_end] != p.text:
        raise ExportError(
            f"passage {p.id} in {t.source}: text at {p.char_start}-{p.char_end} differs from "
            "the passage; the run folder's transcripts.jsonl and passages.jsonl disagree"
        )


def _source_bytes(t: Transcript) -> bytes:
    if not t.plain_text:
        raise ExportError(
            f"{t.source}: no plain text in the run folder (transcripts.jsonl missing or empty); "
            "run `cppthemes run` again to write it"
        )
    if "\r" in t.plain_text or t.plain_text.startswith("\ufeff"):
        raise ExportError(f"{t.source}: plain text must be LF-only without a BOM")
    return t.plain_text.encode("utf-8")


def render_qde(result: Result) -> tuple[bytes, dict[str, bytes]]:
    """``project.qde`` and the source files it references (zip member name -> bytes)."""
    guids = _Guids(result)
    ns = PROJECT_NS
    user = guids("user", USER_NAME)
    project = etree.Element(
        f"{{{ns}}}Project",
        nsmap={None: ns},
        name="cppthemes candidate codes",
        origin=f"cppthemes {__version__}",
        creatingUserGUID=user,
    )
    users = etree.SubElement(project, f"{{{ns}}}Users")
    etree.SubElement(users, f"{{{ns}}}User", guid=user, name=USER_NAME)
    codebook = etree.SubElement(project, f"{{{ns}}}CodeBook")
    codebook.append(_codes_element(result, guids, ns))

    attributes = sorted({k for t in result.transcripts for k in t.metadata})
    if attributes:
        variables = etree.SubElement(project, f"{{{ns}}}Variables")
        for name in attributes:
            etree.SubElement(
                variables,
                f"{{{ns}}}Variable",
                guid=guids("variable", name),
                name=_clean(name),
                typeOfVariable="Text",
            )

    def add_values(parent: etree._Element, metadata: dict[str, str]) -> None:
        for name in attributes:
            if name in metadata:
                vv = etree.SubElement(parent, f"{{{ns}}}VariableValue")
                etree.SubElement(vv, f"{{{ns}}}VariableRef", targetGUID=guids("variable", name))
                etree.SubElement(vv, f"{{{ns}}}TextValue").text = _clean(metadata[name])

    by_transcript: dict[str, list[Passage]] = {}
    for p in result.passages:
        if result.passage_codes.get(p.id) is not None:
            by_transcript.setdefault(p.transcript_id, []).append(p)
    known_codes = {c.id for c in result.codes}

    # Cases: one per (transcript, speaker) with coded talk, linked to its selections.
    transcripts = {t.id: t for t in result.transcripts}
    case_selections: dict[tuple[str, str], list[str]] = {}
    for tid, passages in by_transcript.items():
        for p in passages:
            case_selections.setdefault((tid, p.speaker), []).append(guids("selection", p.id))
    if case_selections:
        cases = etree.SubElement(project, f"{{{ns}}}Cases")
        for (tid, speaker), selection_guids in sorted(case_selections.items()):
            t = transcripts.get(tid)
            case = etree.SubElement(
                cases,
                f"{{{ns}}}Case",
                guid=guids("case", tid, speaker),
                name=_clean(f"{speaker} ({tid})"),
            )
            etree.SubElement(case, f"{{{ns}}}Description").text = _clean(
                f"Speaker {speaker} in {t.source if t else tid}"
            )
            add_values(case, t.metadata if t else {})
            for sg in selection_guids:
                etree.SubElement(case, f"{{{ns}}}SelectionRef", targetGUID=sg)

    files: dict[str, bytes] = {}
    sources = etree.SubElement(project, f"{{{ns}}}Sources")
    for t in result.transcripts:
        guid = guids("source", t.source)
        files[f"sources/{guid}.txt"] = _source_bytes(t)
        source = etree.SubElement(
            sources,
            f"{{{ns}}}TextSource",
            guid=guid,
            name=_clean(t.source),
            plainTextPath=f"internal://{guid}.txt",
            creatingUser=user,
        )
        for p in by_transcript.get(t.id, []):
            code = result.passage_codes[p.id]
            if code not in known_codes:
                raise ExportError(f"passage {p.id} has code {code!r}, which is not in the codebook")
            _check_selection(p, t)
            selection = etree.SubElement(
                source,
                f"{{{ns}}}PlainTextSelection",
                guid=guids("selection", p.id),
                name=_clean(f"{p.speaker}, {_where(p)}"),
                startPosition=str(p.char_start),
                endPosition=str(p.char_end),
                creatingUser=user,
            )
            coding = etree.SubElement(
                selection,
                f"{{{ns}}}Coding",
                guid=guids("coding", p.id, str(code)),
                creatingUser=user,
            )
            etree.SubElement(coding, f"{{{ns}}}CodeRef", targetGUID=guids("code", str(code)))
        add_values(source, t.metadata)
    xml = etree.tostring(project, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return xml, files


def render_qdpx(result: Result) -> bytes:
    """``project.qdpx``: a zip of ``project.qde`` and ``sources/``, byte-identical on re-export."""
    qde, files = render_qde(result)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in [("project.qde", qde), *sorted(files.items())]:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return buffer.getvalue()


def render_qdc(result: Result) -> bytes:
    """``codebook.qdc``: the codebook alone (themes as non-codable parents, codes beneath)."""
    guids = _Guids(result)
    root = etree.Element(
        f"{{{CODEBOOK_NS}}}CodeBook", nsmap={None: CODEBOOK_NS}, origin=f"cppthemes {__version__}"
    )
    root.append(_codes_element(result, guids, CODEBOOK_NS))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
