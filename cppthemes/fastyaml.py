"""ruamel.yaml's round-trip loader fed by libyaml's parser: the same data, ten times sooner.

Reading codebook.yaml (180 KB for 60 codes) took ruamel.yaml's pure-Python scanner and parser
about a second, three times in a `cppthemes refine` (the safety check, the plan, and the file
the new codebook is written into): most of a rerun's start-up. libyaml (PyYAML's C parser)
produces the same event stream in 20 ms. Here its events are turned into ruamel.yaml's event
objects and handed to ruamel.yaml's own composer and round-trip constructor, so tags are
resolved by ruamel.yaml's YAML 1.2 rules and the result is the same ``CommentedMap`` with the
same line numbers (``.lc``) as ``YAML().load`` gives, but for comments, which libyaml skips.

``events`` returns None, and callers take ruamel.yaml's own path, whenever the two parsers
might disagree or the text is not valid YAML: libyaml is missing or rejects the text, a
``%`` directive or an explicit tag is used, a flow collection holds anything (``{}`` and
``[]`` are fine), or a character that YAML 1.1 reads as a line break and 1.2 as text
(NEL, LS, PS) or a byte-order mark appears. ruamel.yaml then reports errors in its own words.
tests/test_rerun_caches.py compares both loaders on generated codebooks and ugly edits.
"""

from __future__ import annotations

from typing import Any

# YAML 1.1 line breaks that YAML 1.2 reads as ordinary characters, and the byte-order mark.
_DIFFERENT = ("\x85", "\u2028", "\u2029", "\ufeff")


class _Fallback(Exception):
    """The text is one the two parsers might read differently: use ruamel.yaml's parser."""


def events(text: str) -> list[Any] | None:
    """ruamel.yaml events of ``text`` parsed by libyaml, or None (see the module)."""
    if any(ch in text for ch in _DIFFERENT):
        return None
    try:
        import yaml as pyyaml
    except ImportError:
        return None
    loader = getattr(pyyaml, "CSafeLoader", None)
    if loader is None:
        return None
    try:
        return _convert(pyyaml.parse(text, Loader=loader), pyyaml)
    except (_Fallback, pyyaml.YAMLError, ValueError, TypeError):
        return None


def _convert(stream: Any, pyyaml: Any) -> list[Any]:
    from ruamel.yaml import events as ev
    from ruamel.yaml.error import StreamMark

    def mark(m: Any) -> StreamMark:
        return StreamMark("<unicode string>", m.index, m.line, m.column)

    out: list[Any] = []
    flow_open = False  # the previous event opened a flow collection
    for e in stream:
        if flow_open and not isinstance(e, pyyaml.CollectionEndEvent):
            raise _Fallback  # a flow collection with items: YAML 1.1 and 1.2 differ there
        flow_open = False
        start, end = mark(e.start_mark), mark(e.end_mark)
        if isinstance(e, pyyaml.ScalarEvent):
            if e.tag is not None:
                raise _Fallback
            # libyaml calls the plain style "", ruamel.yaml None.
            style = e.style or None
            out.append(ev.ScalarEvent(e.anchor, None, e.implicit, e.value, start, end, style))
        elif isinstance(e, pyyaml.SequenceStartEvent | pyyaml.MappingStartEvent):
            if e.tag is not None:
                raise _Fallback
            flow_open = bool(e.flow_style)
            kind = (
                ev.SequenceStartEvent
                if isinstance(e, pyyaml.SequenceStartEvent)
                else ev.MappingStartEvent
            )
            out.append(kind(e.anchor, None, e.implicit, start, end, flow_style=e.flow_style))
        elif isinstance(e, pyyaml.SequenceEndEvent):
            out.append(ev.SequenceEndEvent(start, end))
        elif isinstance(e, pyyaml.MappingEndEvent):
            out.append(ev.MappingEndEvent(start, end))
        elif isinstance(e, pyyaml.AliasEvent):
            out.append(ev.AliasEvent(e.anchor, start, end))
        elif isinstance(e, pyyaml.DocumentStartEvent):
            if e.version is not None or e.tags:
                raise _Fallback
            out.append(ev.DocumentStartEvent(start, end, explicit=e.explicit))
        elif isinstance(e, pyyaml.DocumentEndEvent):
            out.append(ev.DocumentEndEvent(start, end, explicit=e.explicit))
        elif isinstance(e, pyyaml.StreamStartEvent):
            out.append(ev.StreamStartEvent(start, end))
        elif isinstance(e, pyyaml.StreamEndEvent):
            out.append(ev.StreamEndEvent(start, end))
        else:
            raise _Fallback
    # An empty value ("theme:" with nothing after it): ruamel.yaml marks it where the next
    # token starts, libyaml where the colon ends. ruamel.yaml's mark keeps its line numbers.
    for i, e in enumerate(out[:-1]):
        empty = isinstance(e, ev.ScalarEvent) and e.value == "" and e.style is None
        if empty and e.start_mark.index == e.end_mark.index:
            e.start_mark = e.end_mark = out[i + 1].start_mark
    return out


class _Feed:
    """The parser interface ruamel.yaml's composer reads events through."""

    def __init__(self, items: list[Any]):
        self._items = items
        self._at = 0

    def check_event(self, *choices: Any) -> bool:
        if self._at >= len(self._items):
            return False
        return not choices or isinstance(self._items[self._at], choices)

    def peek_event(self) -> Any:
        return self._items[self._at]

    def get_event(self) -> Any:
        item = self._items[self._at]
        self._at += 1
        return item

    def dispose(self) -> None:
        self._items = []


def load(items: list[Any], yaml: Any) -> Any:
    """The document of ``items`` (from ``events``) as ``yaml.load`` would construct it.

    ``yaml`` is a fresh round-trip ``ruamel.yaml.YAML`` (its settings do not matter to
    loading); ruamel.yaml's errors (a duplicate key, say) are raised as they would be.
    """
    from ruamel.yaml.main import DocInfo, version

    yaml.doc_infos.append(DocInfo(requested_version=version(yaml.version)))
    yaml.tags = {}
    yaml._parser = _Feed(items)
    try:
        return yaml.constructor.get_single_data()
    finally:
        yaml._parser.dispose()
