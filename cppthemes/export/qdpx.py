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

Participants become Cases that hold their passages (see export/cases.py for the form, which
is what QualCoder reads); transcript metadata become file variables on each TextSource; the
run's model and settings travel as the project's Description.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable, Iterable

from lxml import etree

from cppthemes import __version__
from cppthemes.errors import ExportError
from cppthemes.export.cases import (
    CASE_CODE_COLOUR,
    Person,
    people,
    people_by,
    person_attribute,
    project_description,
)
from cppthemes.export.guids import Guids
from cppthemes.palette import code_colour
from cppthemes.provenance import kind_of, place
from cppthemes.records import Passage, Result, Transcript

PROJECT_NS = "urn:QDA-XML:project:1.0"
CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
USER_NAME = "cppthemes"
# Zip entries carry this date, so two exports of the same run are byte-identical.
ZIP_DATE = (2000, 1, 1, 0, 0, 0)
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _where(p: Passage) -> str:
    """A selection's name: its lines for text files, else its place in the original file."""
    return f"lines {p.line_start}-{p.line_end}" if kind_of(p.source) == "text" else place(p)


def _clean(text: str) -> str:
    """Drop characters XML 1.0 cannot hold (control characters) from names and descriptions."""
    return _ILLEGAL.sub("", text)


def _unique_names(items: Iterable[tuple[str, str]], taken: Iterable[str] = ()) -> dict[str, str]:
    """id -> display name, unique across the whole codebook (importers drop duplicates)."""
    names: dict[str, str] = {}
    seen: set[str] = set(taken)
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


def _codes_element(result: Result, guids: Guids, ns: str) -> etree._Element:
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


def _variables(
    project: etree._Element, guids: Guids, ns: str, files: list[str], persons: list[str]
) -> None:
    """File variables (transcript metadata) and, apart from them, case (person) variables."""
    if not files and not persons:
        return
    variables = etree.SubElement(project, f"{{{ns}}}Variables")
    for kind, names in (("variable", files), ("person-variable", persons)):
        for name in names:
            label = name if kind == "variable" else person_attribute(name)
            etree.SubElement(
                variables,
                f"{{{ns}}}Variable",
                guid=guids(kind, name),
                name=_clean(label),
                typeOfVariable="Text",
            )


def _add_values(
    parent: etree._Element, ns: str, values: Iterable[tuple[str, str]], guid: Callable[[str], str]
) -> None:
    for name, value in values:
        vv = etree.SubElement(parent, f"{{{ns}}}VariableValue")
        etree.SubElement(vv, f"{{{ns}}}VariableRef", targetGUID=guid(name))
        etree.SubElement(vv, f"{{{ns}}}TextValue").text = _clean(value)


def _case_codes(
    codes_el: etree._Element, guids: Guids, ns: str, persons: list[Person]
) -> dict[str, str]:
    """A codable code per person, with the case's GUID (QualCoder and NVivo read cases so).

    Returns passage id -> the GUID of its person's case code.
    """
    taken = {str(el.get("name")).casefold() for el in codes_el.iter(f"{{{ns}}}Code")}
    names = _unique_names([(p.name, f"Case: {p.name}") for p in persons], taken)
    case_of: dict[str, str] = {}
    for person in persons:
        guid = guids("case", *person.key)
        el = etree.SubElement(
            codes_el,
            f"{{{ns}}}Code",
            guid=guid,
            name=_clean(names[person.name]),
            isCodable="true",
            color=CASE_CODE_COLOUR,
        )
        etree.SubElement(el, f"{{{ns}}}Description").text = _clean(
            f"The passages of {person.name}: the text of the case of that name (QualCoder and "
            "NVivo turn this code into the case on import)."
        )
        case_of.update((pid, guid) for pid in person.passage_ids)
    return case_of


class _Deferred:
    """Runs of small repetitive elements (selections, selection references) kept as XML text.

    Each run stands in the tree as a comment; ``splice`` puts the text in its place in the
    tree's compact serialisation and parses the whole again, so lxml pretty-prints the same
    tree it would have built element by element (``render_qde(fast=False)``, which
    tests/test_write_fast.py compares byte for byte), at a fraction of the time: 16,000
    ``SubElement`` calls were most of writing swda-small's project.
    """

    def __init__(self) -> None:
        self.parts: list[str] = []

    def add(self, parent: etree._Element, xml: str) -> None:
        if xml:
            parent.append(etree.Comment(f"d{len(self.parts)}"))
            self.parts.append(xml)

    def splice(self, root: etree._Element) -> etree._Element:
        text = etree.tostring(root, encoding="unicode")
        text = _PLACEHOLDER.sub(lambda m: self.parts[int(m.group(1))], text)
        return etree.fromstring(text.encode("utf-8"), _PARSER)


_PLACEHOLDER = re.compile(r"<!--d([0-9]+)-->")
_PARSER = etree.XMLParser(huge_tree=True, resolve_entities=False, no_network=True)
_ATTR = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\t": "&#9;", "\n": "&#10;",
     "\r": "&#13;"}
)  # fmt: skip


def _attr(value: str) -> str:
    """An attribute value as XML text (tabs and line breaks as references: kept as they are)."""
    return value.translate(_ATTR)


def _cases(
    project: etree._Element, guids: Guids, ns: str, persons: list[Person],
    deferred: _Deferred | None = None,
) -> None:  # fmt: skip
    if not persons:
        return
    cases = etree.SubElement(project, f"{{{ns}}}Cases")
    for person in persons:
        guid = guids("case", *person.key)
        case = etree.SubElement(cases, f"{{{ns}}}Case", guid=guid, name=_clean(person.name))
        etree.SubElement(case, f"{{{ns}}}Description").text = _clean(
            f"Participant {person.speaker}: {len(person.passage_ids)} passages in "
            + ", ".join(person.transcripts)
        )
        etree.SubElement(case, f"{{{ns}}}CodeRef", targetGUID=guid)
        _add_values(case, ns, person.attributes, lambda n: guids("person-variable", n))
        if deferred is not None:
            deferred.add(
                case,
                "".join(
                    f'<SelectionRef targetGUID="{guids("selection", pid)}"/>'
                    for pid in person.passage_ids
                ),
            )
            continue
        for pid in person.passage_ids:
            etree.SubElement(case, f"{{{ns}}}SelectionRef", targetGUID=guids("selection", pid))


def _selection(
    source: etree._Element, guids: Guids, ns: str, user: str, p: Passage, codes: list[str]
) -> None:
    """A passage's selection with one coding per code GUID (its code, its person's case)."""
    selection = etree.SubElement(
        source,
        f"{{{ns}}}PlainTextSelection",
        guid=guids("selection", p.id),
        name=_clean(f"{p.speaker}, {_where(p)}"),
        startPosition=str(p.char_start),
        endPosition=str(p.char_end),
        creatingUser=user,
    )
    for code_guid in codes:
        coding = etree.SubElement(
            selection,
            f"{{{ns}}}Coding",
            guid=guids("coding", p.id, code_guid),
            creatingUser=user,
        )
        etree.SubElement(coding, f"{{{ns}}}CodeRef", targetGUID=code_guid)


def _selection_xml(guids: Guids, user: str, p: Passage, codes: list[str]) -> str:
    """``_selection``'s element as XML text (for ``_Deferred``)."""
    parts = [
        f'<PlainTextSelection guid="{guids("selection", p.id)}" '
        f'name="{_attr(_clean(f"{p.speaker}, {_where(p)}"))}" '
        f'startPosition="{p.char_start}" endPosition="{p.char_end}" creatingUser="{user}">'
    ]
    for code_guid in codes:
        parts.append(
            f'<Coding guid="{guids("coding", p.id, code_guid)}" creatingUser="{user}">'
            f'<CodeRef targetGUID="{code_guid}"/></Coding>'
        )
    parts.append("</PlainTextSelection>")
    return "".join(parts)


def _sources(
    project: etree._Element, guids: Guids, ns: str, user: str, result: Result,
    case_of: dict[str, str], deferred: _Deferred | None = None,
) -> dict[str, bytes]:  # fmt: skip
    """TextSources with their selections and file variables; returns the zip's source files."""
    known_codes = {c.id for c in result.codes}
    by_transcript: dict[str, list[Passage]] = {}
    for p in result.passages:
        if result.passage_codes.get(p.id) is not None or p.id in case_of:
            by_transcript.setdefault(p.transcript_id, []).append(p)
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
        texts = []
        for p in sorted(by_transcript.get(t.id, []), key=lambda p: p.char_start):
            code = result.passage_codes.get(p.id)
            if code is not None and code not in known_codes:
                raise ExportError(f"passage {p.id} has code {code!r}, which is not in the codebook")
            _check_selection(p, t)
            codes = [guids("code", str(code))] if code is not None else []
            codes += [case_of[p.id]] if p.id in case_of else []
            if deferred is None:
                _selection(source, guids, ns, user, p, codes)
            else:
                texts.append(_selection_xml(guids, user, p, codes))
        if deferred is not None:
            deferred.add(source, "".join(texts))
        _add_values(source, ns, sorted(t.metadata.items()), lambda n: guids("variable", n))
    return files


def render_qde(result: Result, fast: bool = True) -> tuple[bytes, dict[str, bytes]]:
    """``project.qde`` and the source files it references (zip member name -> bytes).

    ``fast``: selections and selection references written as text (``_Deferred``), else
    element by element (the reference the fast path is tested against; also the path taken
    when the text cannot be parsed back, so lxml's own error is what the user sees).
    """
    if fast:
        try:
            return _render_qde(result, _Deferred())
        except (ValueError, etree.XMLSyntaxError):
            pass  # text lxml would not take as an element: let it say so below
    return _render_qde(result, None)


def _render_qde(result: Result, deferred: _Deferred | None) -> tuple[bytes, dict[str, bytes]]:
    guids = Guids(result)
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
    codes_el = _codes_element(result, guids, ns)
    codebook.append(codes_el)
    linked_by = people_by(result)
    persons = people(result, linked_by)
    case_of = _case_codes(codes_el, guids, ns, persons)
    file_attrs = sorted({k for t in result.transcripts for k in t.metadata})
    person_attrs = sorted({k for p in persons for k, _ in p.attributes})
    _variables(project, guids, ns, file_attrs, person_attrs)
    _cases(project, guids, ns, persons, deferred)
    files = _sources(project, guids, ns, user, result, case_of, deferred)
    etree.SubElement(project, f"{{{ns}}}Description").text = _clean(
        project_description(result, linked_by)
    )
    if deferred is not None:
        project = deferred.splice(project)
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
    guids = Guids(result)
    root = etree.Element(
        f"{{{CODEBOOK_NS}}}CodeBook", nsmap={None: CODEBOOK_NS}, origin=f"cppthemes {__version__}"
    )
    root.append(_codes_element(result, guids, CODEBOOK_NS))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
