"""codebook.yaml written by a walk over the data, byte for byte what ruamel.yaml writes.

ruamel.yaml's round-trip dump of a 60-code codebook (11,000 nodes) took more than a second:
each node becomes a node object, then an event, then goes through the emitter's state
machine, tag resolution and a character-by-character scan of every scalar. The codebook's
shapes are few (block mappings and sequences of strings, numbers, booleans and nulls; empty
``{}`` and ``[]``), so this module walks the data once and writes it with ruamel.yaml's own
emitter state (``_Emitter`` subclasses its ``RoundTripEmitter``: the same column, indent,
whitespace and indention flags, the same ``write_indent`` and ``write_indicator``), with a
fast path for the common scalar: printable text without line breaks, tabs or control
characters, analysed with a few string tests and written plain or single-quoted by the same
folding rule as ruamel.yaml's writers (including its habit of leaving a space at the end of
a folded line). Every other scalar (double-quoted text, line breaks, odd characters) goes
through ruamel.yaml's own ``analyze_scalar`` and writers, on the same emitter state. A
string that plain would read back as something else (``true``, ``1e3``, ``null``, a date,
``<<``) is found with ruamel.yaml's own resolver table and quoted as ruamel.yaml quotes it.

One deliberate difference: where ruamel.yaml's plain folding would lose spaces (a run of two
or more before a word it moves to the next line: "a  b" reads back as "a b"), the text is
written single-quoted, which reads back exactly (``_fast_plain``).

``dump`` raises ``Unsupported`` (and the caller lets ruamel.yaml write the whole file) for
anything outside those shapes: comments, anchors or tags on a round-trip container, a flow
collection with items, the same list or mapping twice (ruamel.yaml writes an alias), a key
that is not a short one-line string, a sequence directly inside a sequence, an empty
collection as a list item, a type other than ``str``, ``int``, ``float``, ``bool``, ``None``,
``dict``, ``list`` and their round-trip forms, or an emitter configured otherwise than
codebook/book.py's. tests/test_codebook_emit.py compares the bytes with ruamel.yaml's on
generated codebooks with ugly text and on the edge cases named here.
"""

from __future__ import annotations

import re
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.anchor import Anchor
from ruamel.yaml.comments import (
    CommentedMap,
    CommentedSeq,
    comment_attrib,
    format_attrib,
    merge_attrib,
)
from ruamel.yaml.emitter import RoundTripEmitter
from ruamel.yaml.resolver import VersionedResolver
from ruamel.yaml.tag import Tag


class Unsupported(Exception):
    """Data this writer does not write as ruamel.yaml would: ruamel.yaml writes it."""


# Text the fast path analyses and writes itself: printable, one line, no tab, no BOM, none of
# the characters YAML reads as line breaks (NEL, LS, PS). Everything else goes to ruamel.yaml.
_FAST = re.compile(
    "[\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]*"
)
_TOKENS = re.compile(r" +|[^ ]+")
_QUOTED_TOKENS = re.compile(r" +|'|[^ ']+")
_LEADING_INDICATORS = "#,[]{}&*!|>'\"%@`"
# A mapping key longer than this is left to ruamel.yaml (its simple-key limit, 128 with the
# tag it counts in, and its folding of long keys).
_MAX_KEY = 100
_STR = "tag:yaml.org,2002:str"
_MAPS = (dict, CommentedMap)
_SEQS = (list, CommentedSeq)


class _Sink:
    """The stream the emitter writes to: a list of pieces, joined once at the end."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.write = self.parts.append


class _Analysis:
    """The fields of ruamel.yaml's ``ScalarAnalysis`` that choosing a style reads."""

    __slots__ = (
        "allow_block_plain", "allow_double_quoted", "allow_single_quoted", "empty",
        "multiline", "scalar",
    )  # fmt: skip

    def __init__(self, scalar: str, empty: bool, multiline: bool, block_plain: bool) -> None:
        self.scalar = scalar
        self.empty = empty
        self.multiline = multiline
        self.allow_block_plain = block_plain
        self.allow_single_quoted = True
        self.allow_double_quoted = True


def fast_analysis(text: str) -> _Analysis | None:
    """ruamel.yaml's analysis of ``text`` when it is fast-path text, else None."""
    if not _FAST.fullmatch(text):
        return None
    if not text:
        return _Analysis(text, True, False, True)
    first = text[0]
    indicators = (
        text.startswith(("---", "..."))
        or first in _LEADING_INDICATORS
        or (first in "?:-" and (len(text) == 1 or text[1] == " "))
        or text.find(": ", 1) != -1
        or (len(text) > 1 and text[-1] == ":")
        or " #" in text
    )
    plain = not indicators and first != " " and text[-1] != " "
    return _Analysis(text, False, False, plain)


class _Emitter(RoundTripEmitter):
    """ruamel.yaml's emitter driven by a walk over the data instead of by events."""

    def __init__(self, yaml: YAML, resolvers: dict[Any, list[tuple[Any, Any]]]) -> None:
        super().__init__(
            None,
            canonical=yaml.canonical,
            indent=yaml.old_indent,
            width=yaml.width,
            allow_unicode=yaml.allow_unicode,
            line_break=yaml.line_break,
            prefix_colon=yaml.prefix_colon,
            brace_single_entry_mapping_in_flow_sequence=(
                yaml.brace_single_entry_mapping_in_flow_sequence
            ),
            dumper=yaml,
        )
        # As ruamel.yaml's YAML.emitter configures its emitter.
        if yaml.map_indent is not None:
            self.best_map_indent = yaml.map_indent
        if yaml.sequence_indent is not None:
            self.best_sequence_indent = yaml.sequence_indent
        if yaml.sequence_dash_offset is not None:
            self.sequence_dash_offset = yaml.sequence_dash_offset
        if (
            self.canonical
            or not self.allow_unicode
            or not self.unicode_supplementary
            or self.best_line_break != "\n"
            or self.prefixed_colon != ":"
            or yaml.top_level_colon_align is not None
            or yaml.compact_seq_seq is not None
            or yaml.compact_seq_map is not None
            or yaml.explicit_start
            or yaml.explicit_end
            or yaml.tags
            or yaml.default_style is not None
            or hasattr(yaml, "boolean_representation")
            or yaml.default_flow_style is not False
            or self.sequence_dash_offset + 2 > self.best_sequence_indent
        ):
            raise Unsupported("an emitter configured otherwise than codebook/book.py's")
        self.sink = _Sink()
        self.stream = self.sink
        self.tag_prefixes = dict(self.DEFAULT_TAG_PREFIXES)
        self._resolvers = resolvers
        self._seen: set[int] = set()
        self._keep: list[Any] = []  # keeps walked containers alive, so their ids stay unique

    # -- the walk (ruamel.yaml's expect_* states for the shapes a codebook has) -----------

    def document(self, data: Any) -> str:
        if type(data) not in _MAPS or not data:
            raise Unsupported("the document is not a non-empty mapping")
        self.node(data, root=True)
        self.indent = None
        self.write_indent()  # expect_document_end
        return "".join(self.sink.parts)

    def node(
        self, value: Any, *, root: bool = False, sequence: bool = False, mapping: bool = False
    ) -> None:
        self.root_context = root
        kind = type(value)
        if kind in _MAPS or kind in _SEQS:
            self._container(value)
            if not value:
                if sequence or root:
                    raise Unsupported("an empty collection as a list item")
                self._empty(kind in _MAPS)
            elif kind in _MAPS:
                self._mapping(value)
            else:
                self._sequence(value, mapping, sequence)
        else:
            self._scalar(value, sequence=sequence, simple_key=False)

    def _container(self, value: Any) -> None:
        if id(value) in self._seen:
            raise Unsupported("the same container twice (ruamel.yaml writes an alias)")
        self._seen.add(id(value))
        self._keep.append(value)
        if isinstance(value, (CommentedMap, CommentedSeq)):
            comment = getattr(value, comment_attrib, None)
            if comment is not None and (
                comment.comment is not None or comment._items or comment._post or comment._pre
            ):
                raise Unsupported("comments")
            anchor = getattr(value, Anchor.attrib, None)
            if anchor is not None and (anchor.value is not None or anchor.always_dump):
                raise Unsupported("an anchor")
            tag = getattr(value, Tag.attrib, None)
            if tag is not None and (tag.handle is not None or tag.suffix is not None):
                raise Unsupported("a tag")
            if getattr(value, merge_attrib, None):
                raise Unsupported("a merge key")
            style = getattr(value, format_attrib, None)
            if style is not None and style._flow_style and len(value):
                raise Unsupported("a flow collection with items")

    def _empty(self, is_map: bool) -> None:
        """``{}`` or ``[]`` as a mapping's value (expect_flow_mapping/sequence, then its end)."""
        self.write_indicator("{" if is_map else "[", True, whitespace=True)
        self.increase_indent(flow=True, sequence=not is_map)
        self.indent = self.indents.pop()
        self.write_indicator("}" if is_map else "]", False)
        self.write_line_break()

    def _mapping(self, value: Any) -> None:
        self.increase_indent(flow=False, sequence=False)
        for key, item in value.items():
            self.write_indent()
            if type(key) is not str or len(key) >= _MAX_KEY:
                raise Unsupported("a key that is not a short string")
            self.root_context = False
            self._scalar(key, sequence=False, simple_key=True)
            self.write_indicator(self.prefixed_colon, False)
            self.node(item, mapping=True)
        self.indent = self.indents.pop()

    def _sequence(self, value: Any, mapping_context: bool, in_sequence: bool) -> None:
        if in_sequence:
            raise Unsupported("a sequence in a sequence")
        indentless = not self.indention if mapping_context else False
        self.increase_indent(flow=False, sequence=True, indentless=indentless)
        dash = " " * self.sequence_dash_offset + "-"
        for item in value:
            nonl = self.no_newline if self.column == 0 else False
            self.write_indent()
            self.write_indicator(dash, True, indention=True)
            if nonl:
                self.no_newline = True
            self.node(item, sequence=True)
        self.indent = self.indents.pop()
        self.no_newline = False

    # -- scalars --------------------------------------------------------------------------

    def _represent(self, value: Any) -> tuple[str, str]:
        """The scalar's text and tag, as ruamel.yaml's round-trip representer makes them."""
        kind = type(value)
        if kind is str:
            return value, _STR
        if value is None:
            return "", "tag:yaml.org,2002:null"
        if kind is bool:
            return ("true" if value else "false"), "tag:yaml.org,2002:bool"
        if kind is int:
            return str(value), "tag:yaml.org,2002:int"
        if kind is float:
            if value != value:
                text = ".nan"
            elif value == float("inf"):
                text = ".inf"
            elif value == float("-inf"):
                text = "-.inf"
            else:
                text = repr(value).lower()
            return text, "tag:yaml.org,2002:float"
        raise Unsupported(f"a value of type {kind.__name__}")

    def _resolves_to(self, text: str) -> str:
        """The tag a plain ``text`` is read back as (ruamel.yaml's resolver table)."""
        for tag, regexp in self._resolvers.get(text[0] if text else "", ()):
            if regexp.match(text):
                return str(tag)
        for tag, regexp in self._resolvers.get(None, ()):
            if regexp.match(text):
                return str(tag)
        return _STR

    def _scalar(self, value: Any, *, sequence: bool, simple_key: bool) -> None:
        text, tag = self._represent(value)
        implicit = self._resolves_to(text) == tag
        if not implicit and tag != _STR:
            raise Unsupported("a value plain text would not read back as")  # ruamel tags it
        fast = fast_analysis(text)
        analysis: Any = fast if fast is not None else self.analyze_scalar(text)
        if simple_key and analysis.multiline:
            raise Unsupported("a key of more than one line")
        # choose_scalar_style, for an event with no style of its own and a core tag.
        if (
            implicit
            and not (simple_key and (analysis.empty or analysis.multiline))
            and analysis.allow_block_plain
        ):
            style = ""
        elif analysis.allow_double_quoted and ("'" in text or "\n" in text):
            style = '"'
        elif analysis.allow_single_quoted and not (simple_key and analysis.multiline):
            style = "'"
        else:
            style = '"'
        # expect_scalar and process_scalar.
        self.increase_indent(flow=True)
        split = not simple_key
        if sequence:
            self.write_indent()
        if style == "" and fast is not None and not self.no_newline:
            if not self._fast_plain(text, split):
                self._fast_single_quoted(text, split)
        elif style == "'" and fast is not None and not self.no_newline:
            self._fast_single_quoted(text, split)
        elif style == "":
            self.write_plain(text, split)
        elif style == "'":
            self.write_single_quoted(text, split)
        else:
            self.write_double_quoted(text, split)
        self.indent = self.indents.pop()

    def _break(self) -> None:
        """``write_indent`` after text on the line: a line break, then the indent."""
        indent = self.indent or 0
        self.sink.write("\n" + " " * indent)
        self.line += 1
        self.column = indent
        self.whitespace = True
        self.indention = True

    def _fast_plain(self, text: str, split: bool) -> bool:
        """ruamel.yaml's ``write_plain`` for fast-path text (no line breaks); False, with
        nothing written, where that would lose spaces.

        ruamel.yaml moves a word too long for the line onto the next one after writing the
        spaces before it; a reader drops the spaces at a line's end and reads the break as
        one space, so "a  b" folded there comes back as "a b". Such a text is written
        single-quoted instead (ruamel.yaml's next choice, which folds at single spaces only).
        """
        if not text:
            return True
        mark = (len(self.sink.parts), self.column, self.whitespace, self.indention, self.line)
        write = self.sink.write
        if not self.whitespace:
            write(" ")
            self.column += 1
        self.whitespace = False
        self.indention = False
        width = self.best_width
        if self.column + len(text) <= width:  # ends within the line: no fold anywhere
            write(text)
            self.column += len(text)
            return True
        indent = self.indent
        spaces = 0  # the length of the run of spaces just written
        for token in _TOKENS.findall(text):
            if token[0] == " ":
                if len(token) == 1 and self.column >= width and split:
                    self._break()
                    self.whitespace = False
                    self.indention = False
                    spaces = 0
                else:
                    write(token)
                    self.column += len(token)
                    spaces = len(token)
            else:
                if len(token) + self.column > width and indent is not None and self.column > indent:
                    if spaces > 1:
                        del self.sink.parts[mark[0] :]
                        self.column, self.whitespace, self.indention, self.line = mark[1:]
                        return False
                    self._break()
                write(token)
                self.column += len(token)
                spaces = 0
        return True

    def _fast_single_quoted(self, text: str, split: bool) -> None:
        """ruamel.yaml's ``write_single_quoted`` for fast-path text (no line breaks)."""
        self.write_indicator("'", True)
        write = self.sink.write
        width = self.best_width
        quoted = text.replace("'", "''")
        if self.column + len(quoted) <= width:  # ends within the line: no fold anywhere
            write(quoted)
            self.column += len(quoted)
            self.write_indicator("'", False)
            return
        position = 0
        end_of_text = len(text)
        for token in _QUOTED_TOKENS.findall(text):
            end = position + len(token)
            if token[0] == " ":
                if (
                    len(token) == 1
                    and self.column > width
                    and split
                    and position != 0
                    and end != end_of_text
                ):
                    self._break()
                else:
                    write(token)
                    self.column += len(token)
            elif token == "'":
                write("''")
                self.column += 2
            else:
                write(token)
                self.column += len(token)
            position = end
        self.write_indicator("'", False)


def _resolver_table() -> dict[Any, list[tuple[Any, Any]]]:
    resolver = VersionedResolver()
    table: dict[Any, list[tuple[Any, Any]]] = resolver.versioned_resolver
    return {key: list(value) for key, value in table.items()}


def dump(data: Any, yaml: YAML) -> str:
    """``data`` as YAML, the text ``yaml.dump(data, stream)`` writes (``Unsupported``: see
    the module for what is left to ruamel.yaml)."""
    if yaml.version is not None:
        raise Unsupported("a YAML version other than the default")
    try:
        return _Emitter(yaml, _resolver_table()).document(data)
    finally:
        # The emitter registered itself and a serializer on ``yaml``: gone again, so that
        # ``yaml.dump`` after ``Unsupported`` starts from a clean state.
        for attr in ("_emitter", "_serializer"):
            yaml.__dict__.pop(attr, None)
