"""Import a codebook from a REFI-QDA ``.qdc`` file (NVivo, ATLAS.ti, MAXQDA, QualCoder).

Codes become seeded codes (label, description); a code with child codes becomes a theme of
its children. The XML is parsed with entity resolution and network access turned off, so a
hostile file cannot read local files or reach the network.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lxml import etree

from cppthemes.errors import InputError


def _local(tag: object) -> str:
    return str(tag).rsplit("}", 1)[-1]


def read_qdc(path: Path) -> dict[str, Any]:
    """A codebook mapping (``seeded:`` and theme ``decisions:``) from a .qdc file."""
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        root = etree.parse(str(path), parser).getroot()
    except OSError:
        raise InputError(path, "codebook file not found") from None
    except etree.XMLSyntaxError as exc:
        raise InputError(path, f"not valid XML ({exc.msg})", exc.lineno) from None
    codes_el = next((el for el in root.iter() if _local(el.tag) == "Codes"), None)
    if _local(root.tag) != "CodeBook" or codes_el is None:
        raise InputError(path, "not a REFI-QDA codebook (no CodeBook/Codes)", 1)
    seeded: list[dict[str, Any]] = []
    decisions: list[dict[str, Any]] = []

    def walk(el: Any, parent: str | None) -> None:
        for code in (c for c in el if _local(c.tag) == "Code"):
            name = str(code.get("name") or "").strip()
            if not name:
                raise InputError(path, "a Code without a name", code.sourceline)
            desc = next((d for d in code if _local(d.tag) == "Description"), None)
            text = " ".join((desc.text or "").split()) if desc is not None else ""
            children = [c for c in code if _local(c.tag) == "Code"]
            if children:
                decisions.append({"theme": {"label": name, "description": text, "codes": []}})
                walk(code, name)
            elif code.get("isCodable", "true") != "false":
                entry: dict[str, Any] = {"label": name, "description": text}
                if parent:
                    entry["theme"] = parent
                seeded.append(entry)

    walk(codes_el, None)
    if not seeded:
        raise InputError(path, "the codebook has no codable codes")
    return {"codes": [], "decisions": decisions, "seeded": seeded}
