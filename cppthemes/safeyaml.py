"""Checks that a YAML text is safe to load: not nested too deeply, no alias bomb.

Analysts edit codebook.yaml and manifest.yaml by hand, and files travel between colleagues.
A YAML parser builds a node per level of nesting by recursion (10,000 ``[`` crash it), and
aliases let a few hundred bytes stand for billions of nodes ("billion laughs"). Before a file
is loaded its event stream (which the parser produces without recursion) is walked once: the
nesting depth is bounded, and so is the number of nodes after expanding every alias.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from cppthemes.errors import InputError

MAX_DEPTH = 100
# A codebook of 60 codes is a few thousand nodes; this leaves ample room for big ones.
MAX_NODES = 2_000_000


def check_yaml(text: str, path: Path | str, events: list[Any] | None = None) -> None:
    """Raise ``InputError`` (naming file and line) when ``text`` is too deep or expands too far.

    ``events`` are the text's events already parsed (cppthemes/fastyaml.py), walked instead
    of parsing the text again.
    """
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError
    from ruamel.yaml.events import (
        AliasEvent,
        CollectionEndEvent,
        CollectionStartEvent,
        NodeEvent,
    )

    sizes: dict[str, int] = {}  # anchor -> nodes it stands for, aliases expanded
    stack: list[tuple[str | None, list[int]]] = []  # open collections: anchor, [nodes so far]
    total = 0

    def line(event: object) -> int | None:
        mark = getattr(event, "start_mark", None)
        return mark.line + 1 if mark is not None else None

    def count(nodes: int, event: object) -> None:
        """A node of ``nodes`` expanded nodes inside the innermost open collection."""
        nonlocal total
        total += nodes
        if total > MAX_NODES:
            raise InputError(
                path, f"expands to more than {MAX_NODES:,} nodes (an alias bomb?)", line(event)
            )
        if stack:
            stack[-1][1][0] += nodes

    try:
        stream = events if events is not None else YAML().parse(io.StringIO(text))
        for event in stream:
            if isinstance(event, AliasEvent):
                count(sizes.get(str(event.anchor), 1), event)
            elif isinstance(event, CollectionStartEvent):
                if len(stack) >= MAX_DEPTH:
                    raise InputError(path, f"nested more than {MAX_DEPTH} levels deep", line(event))
                count(1, event)
                stack.append((event.anchor, [1]))
            elif isinstance(event, CollectionEndEvent):
                anchor, (nodes,) = stack.pop()
                if anchor is not None:
                    sizes[str(anchor)] = nodes
                if stack:  # the collection's own node was counted when it opened
                    stack[-1][1][0] += nodes - 1
            elif isinstance(event, NodeEvent):  # a scalar
                if event.anchor is not None:
                    sizes[str(event.anchor)] = 1
                count(1, event)
    except YAMLError:
        return  # not valid YAML: the loader says where, with its own message
    except RecursionError:
        raise InputError(path, f"nested more than {MAX_DEPTH} levels deep") from None
