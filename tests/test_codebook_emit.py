"""codebook.yaml's fast writer (cppthemes/codebook/emit.py) against ruamel.yaml's own dump.

Every test compares bytes: the fast writer must write exactly what ruamel.yaml writes, or
say ``Unsupported`` (and book.py lets ruamel.yaml write the file). The analyst's file must
also read back as the data written, through the project's own reader.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarfloat import ScalarFloat
from ruamel.yaml.scalarstring import LiteralScalarString

from cppthemes.codebook import book, emit, lightbase
from cppthemes.records import Code, CodeStatus, Prevalence, Quote, Theme

# Text that YAML treats specially, in many scripts and shapes.
UGLY = [
    "",
    " ",
    "  ",
    "a",
    "-",
    "- x",
    "-x",
    "?",
    "? x",
    "?x",
    ":",
    ": x",
    ":x",
    "x:",
    "a: b",
    "a:b",
    "a #b",
    "a#b",
    "#x",
    "---",
    "--- x",
    "...",
    "... x",
    "'",
    "''",
    '"',
    "it's",
    "it's: here",
    'say "hi"',
    "both ' and \"",
    "yes",
    "no",
    "on",
    "off",
    "y",
    "n",
    "true",
    "True",
    "FALSE",
    "null",
    "Null",
    "~",
    "1",
    "01",
    "1e3",
    "1.5",
    ".5",
    "-.inf",
    ".nan",
    "0x1F",
    "0o17",
    "0b101",
    "+1",
    "1_000",
    "2026-12-01",
    "2026-12-01 10:00:00",
    "<<",
    "=",
    "!tag",
    "&anchor",
    "*alias",
    "|",
    ">",
    "%",
    "@",
    "`",
    "[a]",
    "{a: 1}",
    "a, b",
    "a,b",
    " lead",
    "trail ",
    " both ",
    "two  spaces",
    "tab\there",
    "line\nbreak",
    "end\n",
    "\nstart",
    "cr\rhere",
    "crlf\r\nhere",
    "nel\x85here",
    "ls\u2028here",
    "ps\u2029here",
    "bom\ufeffhere",
    "nul\x00here",
    "bell\x07",
    "esc\x1b",
    "nbsp\xa0here",
    "\xa0",
    "ø æ å",
    "é à ü",
    "日本語のテキスト",
    "中文：冒号",
    "Привет, мир",
    "مرحبا بالعالم",
    "שלום עולם",
    "हिन्दी पाठ",
    "😀 emoji 👍🏽",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "\ufffd",
    "\uffff",
    "\ud800",
    "back\\slash",
    "tilde ~ inside",
    "percent % inside",
    "a - b",
    "a -- b",
    "dash-word",
    "x" * 99,
    "x" * 130,
    "word " * 40,
    ("word " * 40).strip(),
    "a" * 95 + " b c",
    "I don't know, you know, " * 8 + "and that's that.",
    "long " + "y" * 120 + " end",
    ("Well, uh, " * 15).strip(),
    "a: " * 30,
    "# " * 40,
    "'" * 60,
    "it's " * 30,
    "x " + "it's a quote, " * 10,
    "sp  aces  " * 12 + "end",
]
TEXT = st.one_of(
    st.sampled_from(UGLY),
    st.text(max_size=40),
    st.text(alphabet=st.sampled_from(list("ab '\":#-?,\n\t é😀")), max_size=260),
    st.lists(st.sampled_from(["uh,", "I", "don't", "know:", "it's", "#1", "-", "yes"])).map(
        " ".join
    ),
)
NUMBER = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
)
SCALAR = st.one_of(TEXT, NUMBER, st.booleans(), st.none())
KEY = st.one_of(
    st.sampled_from(["id", "label", "wave", "1", "yes", "null", "a: b", "#k", " k", "x" * 99]),
    st.text(max_size=20),
)


def _ruamel(data: Any) -> str:
    buffer = io.StringIO()
    book._yaml().dump(data, buffer)
    return buffer.getvalue()


def _load(text: str) -> Any:
    return _plain(book._yaml().load(text))


def _same_or_unsupported(data: Any) -> bool:
    """The fast writer's bytes equal ruamel.yaml's (but where ruamel.yaml's text reads back
    other than the data, and the fast writer's reads back right); False when it declined."""
    expected = _ruamel(data)
    try:
        mine = emit.dump(data, book._yaml())
    except emit.Unsupported:
        assert book._dump(data) == expected
        return False
    if mine != expected:  # ruamel.yaml's plain folding lost spaces: written quoted instead
        assert "  " in expected
        assert _load(expected) != _plain(data)
        assert _load(mine) == _plain(data)
    assert book._dump(data) == mine
    return True


def _quote(text: str, n: int) -> dict[str, Any]:
    return {
        "text": text, "source": f"{text[:10]}.txt", "transcript": text[:5], "speaker": text[:3],
        "line": n, "char_start": 0, "char_end": len(text), "passage": f"p{n}",
        "similarity": 0.5, "metadata": {"wave": text[:4]} if n % 2 else {},
        **({"omitted": [f"B: {text[:20]}"]} if n % 3 == 0 else {}),
    }  # fmt: skip


def _codebook(texts: list[str], numbers: list[Any], keys: list[str]) -> dict[str, Any]:
    codes = []
    for i, text in enumerate(texts):
        codes.append(
            {
                "id": f"C{i:02d}",
                "label": text,
                "status": "candidate",
                "description": texts[(i + 1) % len(texts)],
                "theme": None if i % 2 else "T01",
                "keyphrases": texts[: i + 1],
                "size": i,
                "coherence": numbers[i % len(numbers)] if numbers else 0.25,
                "weak": bool(i % 2),
                "prevalence": {
                    "passages": i,
                    "by_metadata": {k: {text[:6]: i} for k in keys},
                },
                "quotes": [_quote(t, n) for n, t in enumerate(texts[i:])],
            }
        )
    return {
        "version": 1,
        "codes": codes,
        "themes": [{"id": "T01", "label": texts[0], "codes": ["C00"], "prevalence": {}}],
        "decisions": [],
        "seeded": [],
    }


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(TEXT, min_size=1, max_size=5), st.lists(NUMBER, max_size=3), st.lists(KEY, max_size=3)
)
def test_emit_writes_ruamel_bytes_for_generated_codebooks(
    texts: list[str], numbers: list[Any], keys: list[str]
) -> None:
    _same_or_unsupported(_codebook(texts, numbers, keys))


@pytest.mark.parametrize("text", UGLY)
def test_emit_writes_each_ugly_text_as_ruamel_does(text: str) -> None:
    data = {
        "a": text,
        "nested": {"deeper": {"value": text, "list": [text, text + text]}},
        "items": [{"text": text, "other": [text]}, {"x": None}],
        "key": {text[:50]: 1} if "\n" not in text and "\x85" not in text else {},
    }
    _same_or_unsupported(data)


@settings(max_examples=200, deadline=None)
@given(st.recursive(SCALAR, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(KEY, inner, max_size=3)
), max_leaves=12))  # fmt: skip
def test_emit_any_nesting_is_ruamel_bytes_or_declined(value: Any) -> None:
    _same_or_unsupported({"root": value, "after": "x"})


def test_emit_writes_the_fixed_shapes_itself() -> None:
    """The codebook's own shapes take the fast path (else it would save nothing)."""
    assert _same_or_unsupported(_codebook(["alpha beta", "it's: here", "日本語"], [0.5], ["wave"]))
    assert _same_or_unsupported({"a": [], "b": {}, "c": [{"d": []}], "e": None, "f": [None]})


@pytest.mark.parametrize(
    "data",
    [
        {"a": [[1, 2]]},  # a sequence in a sequence
        {"a": [{}]},  # an empty collection as a list item
        {"a": ("x", "y")},  # a tuple
        {"a": ScalarFloat(1.50, width=4, prec=2)},  # a round-trip scalar with its format
        {"a": LiteralScalarString("two\nlines\n")},
        {1: "a key that is not a string"},
        {"k" * 130: "a key too long to be simple"},
        {"two\nlines": "a multi-line key"},
        {"a": {"shared": 1}, "b": None},
    ],
)
def test_emit_declines_what_it_does_not_write(data: dict[Any, Any]) -> None:
    if "b" in data:
        data["b"] = data["a"]  # the same mapping twice: ruamel.yaml writes an anchor and alias
    assert not _same_or_unsupported(data)


def test_emit_declines_comments_anchors_and_flow_with_items() -> None:
    loaded = book._yaml().load("a: 1  # note\nb: [1, 2]\n")
    assert not _same_or_unsupported(loaded)
    flow = book._yaml().load("a: {x: 1}\n")
    assert not _same_or_unsupported(flow)
    anchored = CommentedMap(a=CommentedSeq([1]))
    anchored["a"].yaml_set_anchor("here", always_dump=True)
    assert not _same_or_unsupported(anchored)
    # A mapping marked flow and then filled is ruamel.yaml's business; an empty one read back
    # and filled (as _update fills `by_metadata: {}`) has no style of its own: block.
    marked = CommentedMap(a=CommentedMap(x=1))
    marked["a"].fa.set_flow_style()
    assert not _same_or_unsupported(marked)
    filled = book._yaml().load("a: {}\nb: 1\n")
    filled["a"]["x"] = 1
    assert _same_or_unsupported(filled)


def _code(label: str, quote: str, n: int) -> Code:
    q = Quote(
        passage_id=f"p{n}", text=quote, source="a file.txt", transcript_id="a", speaker="B",
        line=n + 1, char_start=0, char_end=len(quote), similarity=0.5, metadata={"wave": "1"},
    )  # fmt: skip
    return Code(
        id=f"C{n:02d}",
        label=label,
        keyphrases=(label, quote[:12]),
        passage_ids=(f"p{n}",),
        quotes=(q,),
        prevalence=Prevalence(
            passages=1,
            speakers=1,
            transcripts=1,
            transcripts_total=2,
            by_metadata={"wave": {"1": 1, "yes": 2}},
        ),
        coherence=1 / 3,
        status=CodeStatus.CANDIDATE,
        description=quote,
        stability=0.5 if n % 2 else None,
        central=q if n % 2 else None,
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pairs=st.lists(st.tuples(TEXT, TEXT), min_size=1, max_size=4))
def test_dump_codebook_reads_back_through_the_project_reader(
    pairs: list[tuple[str, str]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    # NEL, LS and PS come back as line breaks: ruamel.yaml's own writing, left as it was.
    assume(not any(ch in "".join(map("".join, pairs)) for ch in "\x85\u2028\u2029"))
    codes = [_code(label, quote, n) for n, (label, quote) in enumerate(pairs)]
    themes = [
        Theme(
            id="T01", label=pairs[0][0], code_ids=(codes[0].id,), prevalence=Prevalence(1, 1, 1, 2)
        )
    ]
    text = book.dump_codebook(codes, themes)
    data = book.codebook_dict(codes, themes)
    assert text == book.HEADER + book._dump(data)
    path = Path(tmp_path_factory.mktemp("book")) / "codebook.yaml"
    path.write_text(text, encoding="utf-8", newline="")
    back = book.load_codebook(path)
    assert _plain(back) == _plain(data)
    # Written into itself as the analyst's base, the file comes back unchanged.
    assert book.dump_codebook(codes, themes, base=text) == text


def _plain(value: Any) -> Any:
    """Plain data; NaN as a string so that it equals itself."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    return value


@pytest.mark.parametrize(
    "edit",
    [
        lambda t: t.replace("label: ", "label: Renamed ", 1),
        lambda t: t.replace("version: 1\n", "version: 1\nnotes: {}\n"),
        lambda t: t.replace("version: 1\n", "version: 1  # keep this one\n"),
        lambda t: t.replace("decisions: []\n", "decisions:\n  - rename: {C00: New}\n"),
    ],
)
def test_dump_codebook_into_an_edited_base_is_ruamel_bytes(edit) -> None:  # type: ignore[no-untyped-def]
    codes = [_code("alpha beta", "it's: a quote", 0), _code("#hash", "yes", 1)]
    themes = [Theme(id="T01", label="t", code_ids=("C00",), prevalence=Prevalence(1, 1, 1, 2))]
    base = edit(book.dump_codebook(codes, themes))
    lead, tree = book._base_tree(base)
    buffer = io.StringIO()
    book._yaml().dump(book._update(tree, book.codebook_dict(codes, themes)), buffer)
    assert book.dump_codebook(codes, themes, base=base) == (lead or "") + buffer.getvalue()


def test_emit_keeps_double_spaces_that_ruamel_folding_loses() -> None:
    text = "sp  aces  " * 12 + "end"
    data = {"codes": [{"description": text, "label": "a  b " * 30 + "c"}]}
    assert _load(_ruamel(data)) != data  # ruamel.yaml's plain folding drops a space
    mine = emit.dump(data, book._yaml())
    assert _load(mine) == data
    assert "description: 'sp  aces" in mine


def test_fast_analysis_matches_ruamel_analyze_scalar() -> None:
    emitter = book._yaml().emitter
    for text in [*UGLY, *(json.loads(json.dumps(t)) for t in UGLY)]:
        fast = emit.fast_analysis(text)
        if fast is None:
            continue
        slow = emitter.analyze_scalar(text)
        got = (fast.empty, fast.multiline, fast.allow_block_plain, fast.allow_single_quoted)
        want = (slow.empty, slow.multiline, slow.allow_block_plain, slow.allow_single_quoted)
        assert got == want, text


def _ruamel_into(base: str, data: dict[str, Any]) -> str:
    """What dump_codebook wrote into ``base`` before the light tree: ruamel.yaml throughout."""
    lines = base.splitlines(keepends=True)
    n = 0
    while n < len(lines) and lines[n].startswith("#"):
        n += 1
    old = book._yaml().load(base)
    if not isinstance(old, CommentedMap):
        return book.HEADER + _ruamel(data)
    lead = "".join(lines[:n]) if "#" not in "".join(lines[n:]) else ""
    return lead + _ruamel(book._update(old, data))


BASE_EDITS = [
    lambda t: t,
    lambda t: "# my own note\n\n" + t,
    lambda t: t.replace("version: 1\n", "notes: {}\nversion: 1\n"),  # moved, a new key
    lambda t: t.replace("  - id: C01\n", "  - id: 'C01'\n"),
    lambda t: t.replace("  - id: C01\n", "  - id: 12\n"),  # a number as id
    lambda t: t.replace("  - id: C01\n", "  - id: ~\n"),
    lambda t: t.replace("  - id: C01\n", "  - id: C00\n"),  # two entries with one id
    lambda t: t.replace("  - id: C01\n", "  - id: &a C01\n"),  # an anchor
    lambda t: t.replace("version: 1\n", "version: 1\n1: one\n01: two\n"),  # non-string keys
    lambda t: t.replace("version: 1\n", "version: 1\nyes: 1\n'1': 2\n"),
    lambda t: t.replace("version: 1\n", "version: 1\nx: &m {a: 1}\n"),
    lambda t: t.replace("version: 1\n", "version: !!int 1\n"),
    lambda t: t.replace("version: 1\n", "<<: {a: 1}\nversion: 1\n"),
    lambda t: t.replace("decisions: []\n", "decisions:\n  - rename: {C00: New}\n"),
    lambda t: t.replace("    label:", "    extra: [1]\n    label:", 1),
    lambda t: t.replace("themes:\n", "themes:\n  - just a string\n", 1),
    lambda t: t + "---\nsecond: document\n",
    lambda t: "- a list\n",
    lambda t: "",
    lambda t: t.replace("version: 1\n", "version: 1  # a comment below the top\n"),
    lambda t: t.replace("  - id: C00\n", "  - id: C00\n    id2: [x]\n"),
]


@pytest.mark.parametrize("edit", BASE_EDITS)
def test_dump_codebook_into_a_base_is_ruamel_bytes(edit) -> None:  # type: ignore[no-untyped-def]
    codes = [_code("alpha beta", "it's: a quote", 0), _code("#hash", "yes", 1)]
    themes = [Theme(id="T01", label="t", code_ids=("C00",), prevalence=Prevalence(1, 1, 1, 2))]
    base = edit(book.dump_codebook(codes, themes))
    data = book.codebook_dict(codes, themes)
    try:
        expected = _ruamel_into(base, data)
    except Exception as exc:
        with pytest.raises(type(exc)):
            book.dump_codebook(codes, themes, base=base)
        return
    assert book.dump_codebook(codes, themes, base=base) == expected


NODE = st.recursive(
    SCALAR,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(KEY, inner, max_size=3),
        st.lists(
            st.fixed_dictionaries({"id": st.sampled_from(["a", "b", "1"]), "v": inner}), max_size=3
        ),
    ),
    max_leaves=10,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(KEY, NODE, min_size=1, max_size=4),
    st.dictionaries(KEY, NODE, min_size=1, max_size=4),
)
def test_light_base_merges_as_ruamel_tree(old: dict[str, Any], new: dict[str, Any]) -> None:
    base = _ruamel(old)
    try:
        expected = _ruamel_into(base, json.loads(json.dumps(new)))
    except Exception:
        return
    assert book._dump_into(base, json.loads(json.dumps(new))) == expected


def test_light_base_is_taken_for_the_tool_own_file_and_refused_where_it_could_differ() -> None:
    codes = [_code("alpha beta", "it's: a quote", 0)]
    themes = [Theme(id="T01", label="t", code_ids=("C00",), prevalence=Prevalence(1, 1, 1, 2))]
    text = book.dump_codebook(codes, themes)
    assert isinstance(lightbase.light_base(text), dict)
    for heavy in ("a: &x 1\nb: *x\n", "a: !!str 1\n", "a: [1]\n", "<<: {}\n", "a: 1\na: 2\n"):
        with pytest.raises(lightbase.Heavy):
            lightbase.light_base(heavy)
