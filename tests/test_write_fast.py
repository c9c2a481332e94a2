"""The write stage's fast paths against what they replaced: the same bytes out.

report.html's passage lists (report/html.py ``passage_html``) against the Jinja loop they
replaced, rendered by the report's own environment; project.qde's selections written as text
against the element tree; the report template's bytecode cache. Ugly text throughout.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cppthemes import pipeline
from cppthemes.config import load_config
from cppthemes.export import qdpx
from cppthemes.records import Result
from cppthemes.report import html
from tests.conftest import FakeEmbedder, write_corpus

# The template's per-passage loop before it moved into report/html.py, verbatim.
LOOP = """{% for p in items %}
<li class="passage" id="p-{{ p.id }}" data-code="{{ p.code }}" data-theme="{{ p.theme }}" data-speaker="{{ p.speaker }}" data-groups='{{ p.groups|tojson }}'>
{% for t in p.context if t.role == 'prompt' %}<p class="asked">Asked: {{ t.text }}</p>{% endfor %}
<p class="text">{{ p.text }}</p>
<footer>{{ p.where }}</footer>
{% set around = p.context|rejectattr('role', 'equalto', 'prompt')|list %}
{% if around %}
<details class="around"><summary>Turns around it</summary><ol>
{% for t in around %}<li><span class="who">{{ 'before' if t.role == 'before' else 'after' }}: {{ t.speaker }}, line {{ t.line }}</span> {{ t.text }}</li>{% endfor %}
</ol></details>
{% endif %}
</li>
{% endfor %}
"""  # noqa: E501

UGLY = st.one_of(
    st.sampled_from(["", 'it\'s <b>3</b> & "so"', "a'b", "</li><script>x</script>", "😀 é ø"]),
    st.text(max_size=30),
)
TURN = st.fixed_dictionaries(
    {
        "role": st.sampled_from(["prompt", "before", "after"]),
        "speaker": UGLY,
        "text": UGLY,
        "line": st.one_of(st.just(""), st.integers(0, 999).map(str)),
    }
)
ITEM = st.fixed_dictionaries(
    {
        "id": UGLY,
        "code": UGLY,
        "theme": UGLY,
        "speaker": UGLY,
        "groups": st.lists(UGLY, max_size=3),
        "text": UGLY,
        "where": UGLY,
        "context": st.lists(TURN, max_size=4),
    }
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ITEM, max_size=4))
def test_passage_html_is_the_template_loop(items: list[dict[str, Any]]) -> None:
    env = html._environment()
    expected = env.from_string(LOOP).render(items=items)
    assert html.passages_html({"C01": items}, env)["C01"] == expected


# -- project.qdpx (export/qdpx.py: selections written as text, spliced, parsed) -----------

SPEAKERS = ["A&B", 'say "hi"', "<tag>", "tab\there", "two\nlines", "cr\rhere", "ø 😀", "x'y"]


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> Result:
    corpus = write_corpus(tmp_path_factory.mktemp("fast") / "corpus")
    made = pipeline.run([corpus], load_config(None, ["cluster.n_codes=3"]), embedder=FakeEmbedder())
    passages = tuple(
        dataclasses.replace(p, speaker=SPEAKERS[i % len(SPEAKERS)])
        for i, p in enumerate(made.passages)
    )
    return dataclasses.replace(made, passages=passages)


def test_qde_spliced_text_is_the_element_tree(result: Result) -> None:
    fast, files = qdpx.render_qde(result)
    slow, slow_files = qdpx.render_qde(result, fast=False)
    assert fast == slow and files == slow_files
    assert b"A&amp;B" in fast and b"tab&#9;here" in fast  # the ugly names took the fast path
    assert qdpx.render_qdpx(result) == qdpx.render_qdpx(result)


def test_qde_text_lxml_rejects_is_left_to_lxml(result: Result) -> None:
    bad = dataclasses.replace(result.passages[0], speaker="lone \ud800 surrogate")
    broken = dataclasses.replace(result, passages=(bad, *result.passages[1:]))
    with pytest.raises(ValueError) as fast:
        qdpx.render_qde(broken)
    with pytest.raises(ValueError) as slow:
        qdpx.render_qde(broken, fast=False)
    assert str(fast.value) == str(slow.value)


# -- report.html's template, compiled once per machine (report/html.py _Bytecode) ----------


def test_report_template_bytecode_cache_gives_the_same_page(
    result: Result, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    first = html.render_html(result)  # compiles and stores
    stored = list((tmp_path / "cppthemes" / "templates").rglob("*.cache"))
    assert len(stored) == 1
    assert html.render_html(result) == first  # loads the stored code
    stored[0].write_bytes(b"j2 damaged")
    assert html.render_html(result) == first
    template = html._environment().get_template("report.html.j2")  # no cache at all
    assert html.render_html(result) == first and template is not None
    (tmp_path / "cppthemes").chmod(0o500)  # unwritable: only costs the compile
    try:
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cppthemes" / "sub"))
        assert html.render_html(result) == first
    finally:
        (tmp_path / "cppthemes").chmod(0o700)


HEAT_LOOP = """{% for row in rows %}
{% if row.theme is defined %}
<tr class="theme-row"><th colspan="{{ columns + 1 }}">{{ row.theme }}</th></tr>
{% else %}
<tr><th scope="row"><a href="#{{ row.code.id }}">{{ row.code.id }}</a> {{ row.code.label }}</th>{% for cell in row.cells %}<td style="background: {{ cell.colour }}"{% if cell.dark %} class="dark"{% endif %}><a href="#list-{{ row.code.id }}" data-code="{{ row.code.id }}" data-group="{{ cell.group }}" title="{{ cell.title }}">{{ cell.count }}</a></td>{% endfor %}</tr>
{% endif %}
{% endfor %}
"""  # noqa: E501
CELL = st.fixed_dictionaries(
    {"count": st.integers(0, 99), "group": UGLY, "colour": UGLY, "dark": st.booleans(),
     "title": UGLY}
)  # fmt: skip
HEAT_ROW = st.one_of(
    st.fixed_dictionaries({"theme": UGLY}),
    st.fixed_dictionaries(
        {"code": st.fixed_dictionaries({"id": UGLY, "label": UGLY}), "cells": st.lists(CELL)}
    ),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(HEAT_ROW, max_size=5), st.integers(0, 9))
def test_heat_html_is_the_template_loop(rows: list[dict[str, Any]], columns: int) -> None:
    expected = html._environment().from_string(HEAT_LOOP).render(rows=rows, columns=columns)
    assert html.heat_html(rows, columns) == expected
