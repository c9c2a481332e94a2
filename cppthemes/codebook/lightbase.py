"""A light tree of the analyst's codebook.yaml, for writing a refine's codebook into it.

``light_base`` reads the file as plain dicts and lists from libyaml's events, and
``merge_light`` repeats codebook/book.py's ``_update`` on it (key order, matching by id,
sharing). Building ruamel.yaml's commented tree instead took half a second of every refine on
a 60-code codebook (issue 20). Wherever the two could differ, ``Heavy`` is raised and book.py
builds ruamel.yaml's tree as before.
"""

from __future__ import annotations

from typing import Any

from cppthemes import fastyaml
from cppthemes.codebook import emit


class _Old:
    """A scalar of the analyst's file in ``light_base``'s tree: its text, and whether
    ruamel.yaml reads it as a string (quoted, or plain that resolves to ``str``)."""

    __slots__ = ("is_str", "value")

    def __init__(self, value: str, is_str: bool) -> None:
        self.value = value
        self.is_str = is_str


class Heavy(Exception):
    """A base ``light_base`` cannot stand in for: ruamel.yaml's own tree is built."""


def light_base(base: str) -> Any:
    """The analyst's file as plain dicts and lists, enough for ``merge_light``: key order,
    string keys and ids, and which values are mappings or lists (every scalar value is
    replaced by the new run's). Built from libyaml's events in a tenth of the time ruamel.yaml
    takes to construct its tree (half a second on a 60-code codebook, every refine).

    Raises ``Heavy`` wherever the two could differ: whatever cppthemes/fastyaml.py leaves to
    ruamel.yaml (tags, directives, flow collections with items, YAML 1.1 line breaks),
    anchors and aliases, merge keys, duplicate keys, more than one document, and an ``id``
    that ruamel.yaml reads as something other than a string or null.
    """
    if any(ch in base for ch in fastyaml._DIFFERENT):
        raise Heavy
    try:
        import yaml as pyyaml

        loader = pyyaml.CSafeLoader
        stream = list(pyyaml.parse(base, Loader=loader))
    except Exception:  # no libyaml, or not YAML: ruamel.yaml says why
        raise Heavy from None
    resolvers = emit._resolver_table()

    def is_str(value: str, style: str | None) -> bool:
        if style:  # quoted or a block scalar
            return True
        for tag, regexp in [
            *resolvers.get(value[0] if value else "", ()),
            *resolvers.get(None, ()),
        ]:
            if regexp.match(value):
                return str(tag) == "tag:yaml.org,2002:str"
        return True

    stack: list[tuple[Any, bool]] = []  # open collections, and whether each is flow style
    documents: list[Any] = []
    for e in stream:
        kind = type(e)
        if kind in (pyyaml.StreamStartEvent, pyyaml.StreamEndEvent, pyyaml.DocumentEndEvent):
            continue
        if kind is pyyaml.DocumentStartEvent:
            if e.version is not None or e.tags:
                raise Heavy
            continue
        if kind is pyyaml.AliasEvent or getattr(e, "anchor", None) is not None:
            raise Heavy
        if kind in (pyyaml.MappingStartEvent, pyyaml.SequenceStartEvent):
            if e.tag is not None:
                raise Heavy
            stack.append((_Pairs() if kind is pyyaml.MappingStartEvent else [], bool(e.flow_style)))
            continue
        if kind in (pyyaml.MappingEndEvent, pyyaml.SequenceEndEvent):
            node = stack.pop()[0]
            value = node.close() if isinstance(node, _Pairs) else node
        elif kind is pyyaml.ScalarEvent:
            if e.tag is not None:
                raise Heavy
            value = _Old(e.value, is_str(e.value, e.style or None))
        else:
            raise Heavy
        if not stack:
            documents.append(value)
            continue
        parent, flow = stack[-1]
        if flow:
            raise Heavy  # a flow collection with items
        if isinstance(parent, _Pairs):
            parent.add(value)
        else:
            parent.append(value)
    if len(documents) != 1:
        raise Heavy
    return documents[0]


_KEY = object()


class _Pairs:
    """A mapping being read: keys and values in turn; ``close`` gives the dict."""

    def __init__(self) -> None:
        self.items: dict[Any, Any] = {}
        self.key: Any = _KEY
        self.others = 0

    def add(self, node: Any) -> None:
        if self.key is _KEY:
            self.key = node
            return
        key = self.key
        self.key = _KEY
        if not isinstance(key, _Old):
            raise Heavy  # a mapping or list as a key
        if key.is_str:
            if key.value in self.items:
                raise Heavy  # a duplicate key: ruamel.yaml's error
            self.items[key.value] = node
        elif key.value == "<<":
            raise Heavy  # a merge key
        else:
            # Not a string (a number, a date...): no key of the new codebook equals it, and
            # ruamel.yaml would say if two were the same.
            self.others += 1

    def close(self) -> dict[Any, Any]:
        if self.others > 1:
            raise Heavy  # two keys that are not strings might be one: ruamel.yaml decides
        return self.items


def _old_id(item: dict[str, Any]) -> str | None:
    """``str(item["id"])`` as ruamel.yaml's tree gives it, or None for no id."""
    found = item.get("id")
    if found is None:
        return None
    if isinstance(found, _Old):
        if found.is_str:
            return found.value
        if found.value in ("", "~", "null", "Null", "NULL"):
            return None
    raise Heavy  # a number, boolean, date, mapping or list as an id


def merge_light(old: Any, new: Any) -> Any:
    """``_update(old, new)`` on ``light_base``'s tree: the same data, order and sharing."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = {}
        for key in old:
            if key in new:
                out[key] = merge_light(old[key], new[key])
        for key, value in new.items():
            if key not in old:
                out[key] = value
        return out
    if isinstance(old, list) and isinstance(new, list):
        by_id = {}
        for item in old:
            if isinstance(item, dict):
                ident = _old_id(item)
                if ident is not None:
                    by_id[ident] = item
        if not by_id:
            return new
        matched: set[str] = set()
        items = []
        for value in new:
            ident = str(value.get("id")) if isinstance(value, dict) else None
            if ident is not None and ident in by_id:
                if ident in matched:
                    raise Heavy  # one old entry merged twice: ruamel.yaml writes an alias
                matched.add(ident)
                items.append(merge_light(by_id[ident], value))
            else:
                items.append(value)
        return items
    return new
