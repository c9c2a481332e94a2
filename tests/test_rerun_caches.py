"""The rerun's shortcuts (issue 20): each gives exactly what the long way gives.

Ward trees cached by content, codebook.yaml read through libyaml, the workbook's cells written
without openpyxl's cell objects, GUIDs without UUID objects, the last sentence found from the
end, procedural verdicts remembered: each is compared with the way it replaces, and a rerun's
run folder with a fresh run's, byte for byte.
"""

from __future__ import annotations

import io
import json
import re
import uuid
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML
from typer.testing import CliRunner

from cppthemes import fastyaml, procedural
from cppthemes.cli.app import app
from cppthemes.cluster import fastward, linkcache
from cppthemes.codebook import book
from cppthemes.errors import InputError
from cppthemes.export import xlsx
from cppthemes.export.guids import fast_uuid5
from cppthemes.ingest.roles import _LAST_SENTENCE, last_sentence
from cppthemes.runfolder import FILES
from tests.conftest import use_fake_model

runner = CliRunner()
FAST = ["--set", "cluster.stability_resamples=3"]
# Text with what YAML and XML treat specially: quotes, colons, hashes, escapes, non-ASCII.
TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), max_codepoint=0x1F64F), max_size=60
)


# -- Ward trees (cppthemes/cluster/linkcache.py) ------------------------------------------


def _points(n: int, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, 8))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_linkcache_miss_then_hit_gives_the_same_partition(tmp_path: Path) -> None:
    x = _points(60)
    plain = fastward.ward(x, 7)
    with linkcache.caching(tmp_path):
        first = fastward.ward(x, 7)  # miss: built and stored
        stored = sorted((tmp_path / linkcache.FOLDER).glob("*.npy"))
        again = fastward.ward(x, 4)  # hit: the same tree, another cut
    assert len(stored) == 1
    assert np.array_equal(plain, first)
    assert np.array_equal(again, fastward.ward(x, 4))


def test_linkcache_hit_reads_the_tree_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    x = _points(40)
    with linkcache.caching(tmp_path):
        fastward.ward(x, 5)

    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("the tree was built again")

    monkeypatch.setattr(fastward, "build_tree", fail)
    with linkcache.caching(tmp_path):
        assert np.array_equal(fastward.ward(x, 5), fastward.cut(_tree(x), len(x), 5))


def _tree(x: np.ndarray) -> np.ndarray:
    from scipy.cluster.hierarchy import linkage

    return linkage(fastward.condensed_distances(x), method="ward")


def test_linkcache_key_changes_with_the_vectors() -> None:
    x = _points(30)
    y = x.copy()
    y[3, 2] = np.nextafter(y[3, 2], 1.0)  # one float one step away
    assert linkcache.key(x) != linkcache.key(y)
    assert linkcache.key(x) != linkcache.key(x[:-1])
    assert linkcache.key(x) != linkcache.key(x.astype(np.float32))
    assert linkcache.key(x) == linkcache.key(x.copy())


def test_linkcache_damaged_or_misshapen_file_is_rebuilt(tmp_path: Path) -> None:
    x = _points(30)
    with linkcache.caching(tmp_path):
        fastward.ward(x, 3)
    (path,) = (tmp_path / linkcache.FOLDER).glob("*.npy")
    path.write_bytes(b"not a tree")
    assert linkcache.load(tmp_path, path.stem, len(x)) is None
    with linkcache.caching(tmp_path):
        assert np.array_equal(fastward.ward(x, 3), fastward.cut(_tree(x), len(x), 3))
    np.save(path, np.zeros((5, 4)))  # a tree of another size under this key
    assert linkcache.load(tmp_path, path.stem, len(x)) is None


def test_linkcache_off_writes_nothing_and_unwritable_costs_only_the_rebuild(
    tmp_path: Path,
) -> None:
    x = _points(20)
    fastward.ward(x, 3)
    assert not (tmp_path / linkcache.FOLDER).exists()
    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache folder would be")
    with linkcache.caching(blocked):
        assert np.array_equal(fastward.ward(x, 3), fastward.cut(_tree(x), len(x), 3))


def test_linkcache_keeps_the_newest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(linkcache, "KEEP", 3)
    with linkcache.caching(tmp_path):
        for seed in range(5):
            fastward.ward(_points(12, seed), 2)
    assert len(list((tmp_path / linkcache.FOLDER).glob("*.npy"))) == 3


# -- codebook.yaml through libyaml (cppthemes/fastyaml.py) ---------------------------------


def _same(a: object, b: object, where: str = "") -> None:
    """Equal data, types, line numbers and flow style, as ruamel.yaml's loader gives them."""
    assert type(a) is type(b), where
    lc_a, lc_b = getattr(a, "lc", None), getattr(b, "lc", None)
    if lc_a is not None and lc_b is not None:
        assert (lc_a.line, lc_a.col) == (lc_b.line, lc_b.col), where
        assert lc_a.data == lc_b.data, where
        assert a.fa.flow_style() == b.fa.flow_style(), where  # type: ignore[attr-defined]
    if isinstance(a, dict) and isinstance(b, dict):
        assert list(a) == list(b), where
        for k in a:
            _same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{where}[{i}]")
    else:
        assert a == b or (a != a and b != b), where  # NaN equals NaN here


def _fast(text: str) -> object:
    events = fastyaml.events(text)
    assert events is not None
    return fastyaml.load(events, book._yaml())


def _codebook(labels: list[str], quotes: list[str], numbers: list[float]) -> str:
    codes = [
        {
            "id": f"C{i:02d}",
            "label": label,
            "status": "candidate",
            "description": quotes[i % len(quotes)] if quotes else "",
            "theme": None,
            "keyphrases": labels[: i + 1],
            "size": i,
            "coherence": numbers[i % len(numbers)] if numbers else 0.5,
            "weak": bool(i % 2),
            "prevalence": {"passages": i, "by_metadata": {"wave": {"1": i}} if i else {}},
            "quotes": [{"text": q, "line": n, "metadata": {}} for n, q in enumerate(quotes)],
        }
        for i, label in enumerate(labels)
    ]
    buffer = io.StringIO()
    book._yaml().dump({"version": 1, "codes": codes, "themes": [], "decisions": []}, buffer)
    return book.HEADER + buffer.getvalue()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(TEXT, min_size=1, max_size=4),
    st.lists(TEXT, max_size=3),
    st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=3),
)
def test_fastyaml_loads_generated_codebooks_as_ruamel_does(
    labels: list[str], quotes: list[str], numbers: list[float]
) -> None:
    text = _codebook(labels, quotes, numbers)
    events = fastyaml.events(text)
    if events is None:  # a text the module leaves to ruamel.yaml (NEL, LS, PS, BOM)
        assert any(ch in text for ch in ("\x85", "\u2028", "\u2029", "\ufeff"))
        return
    _same(fastyaml.load(events, book._yaml()), book._yaml().load(text))


HAND_EDITED = [
    # Values YAML 1.1 and 1.2 read differently: ruamel.yaml's 1.2 resolver decides both ways.
    "codes:\n  - id: C01\n    label: yes\n    weak: on\n    size: 010\n    coherence: 1_000\n",
    "codes:\n- id: C01\n  label: 'quoted: #1'\n  description: \"tab\\there \\u00e9\"\n",
    "codes:\n  - id: C01\n    description: |\n      two\n      lines\n    keyphrases: []\n",
    "codes:\n  - &a\n    id: C01\n  - *a\n",  # an anchor and an alias
    "# note\ncodes:   # trailing comment\n  - id: C01  # another\n    label: x # y\n",
    "codes:\r\n  - id: C01\r\n    label: windows line ends\r\n",
    "codes:\n  - id: C01\n    label: >\n      folded\n      text\n    size: ~\n",
    "---\ncodes:\n  - id: C01\n...\n",
]


@pytest.mark.parametrize("text", HAND_EDITED)
def test_fastyaml_loads_hand_edits_as_ruamel_does(text: str) -> None:
    _same(_fast(text), book._yaml().load(text))


@pytest.mark.parametrize(
    "text",
    [
        "codes: [{id: C01, label: x}]\n",  # a flow collection with items
        "codes:\n  - !!str id: C01\n",  # an explicit tag
        "%YAML 1.1\n---\ncodes: []\n",  # a directive
        "codes:\n  - label: a\x85b\n",  # NEL: a line break in 1.1, a character in 1.2
        "codes:\n  - label: [unclosed\n",  # not YAML at all
        "codes:\n\t- tab\n",
    ],
)
def test_fastyaml_leaves_texts_the_parsers_might_differ_on_to_ruamel(text: str) -> None:
    assert fastyaml.events(text) is None


def test_load_codebook_errors_still_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "codebook.yaml"
    path.write_text("codes:\n  - id: C01\n    label: a\n  - id: C01\n    label: b\n")
    with pytest.raises(InputError, match="used twice") as info:
        book.load_codebook(path)
    assert "codebook.yaml:4:" in str(info.value) and "first on line 2" in str(info.value)
    path.write_text("codes:\n  - id: C01\n    label: a\n    label: b\n")
    with pytest.raises(InputError, match="not valid YAML"):
        book.load_codebook(path)  # a duplicate key: ruamel.yaml's constructor says so
    path.write_text("a: &x [1]\n" + "".join(f"b{i}: &x{i} [*x, *x, *x]\n" for i in range(1)))
    with pytest.raises(InputError, match="not a cppthemes codebook"):
        book.load_codebook(path)


def test_check_yaml_walks_fast_events_as_its_own(tmp_path: Path) -> None:
    from cppthemes.safeyaml import MAX_DEPTH, check_yaml

    deep = "a:\n" + "".join(" " * (2 * i) + "  - b:\n" for i in range(MAX_DEPTH + 5))
    # Block style (the fast path leaves flow collections with items to ruamel.yaml).
    bomb = (
        "a: &a\n"
        + "  - x\n" * 10
        + "".join(
            f"{n}: &{n}\n" + f"  - *{p}\n" * 10 for p, n in zip("abcdef", "bcdefg", strict=True)
        )
    )
    for text in (deep, bomb):
        with pytest.raises(InputError):
            check_yaml(text, "x.yaml")
        events = fastyaml.events(text)
        assert events is not None
        with pytest.raises(InputError):
            check_yaml(text, "x.yaml", events)


def _slow_dump(base: str, data: dict[str, object]) -> str:
    old = book._yaml().load(base)
    buffer = io.StringIO()
    book._yaml().dump(book._update(old, data), buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "edit",
    [
        lambda t: t,
        lambda t: "# my own note\n\n" + t,
        lambda t: t.replace("label: ", "label: Renamed ", 1),
        lambda t: t.replace("version: 1\n", "version: 1\nnotes: {}\n"),
        lambda t: t.replace("version: 1\n", "version: 1  # keep this one\n"),  # slow path
    ],
)
def test_dump_into_base_equals_ruamel_round_trip(edit) -> None:  # type: ignore[no-untyped-def]
    base = edit(_codebook(["alpha beta", "gamma: delta", "#hash"], ["a quote, with words"], [0.5]))
    data = YAML().load(_codebook(["alpha", "new label", "x"], ["another quote"], [0.25]))
    data = json.loads(json.dumps(data))  # plain dicts and lists, as codebook_dict gives
    lead, tree = book._base_tree(base)
    buffer = io.StringIO()
    book._yaml().dump(book._update(tree, data), buffer)
    mine = (lead or "") + buffer.getvalue()
    assert mine == _slow_dump(base, data)
    if "keep this one" in base:  # a comment below the top: ruamel.yaml's loader keeps it
        assert lead is None and "# keep this one" in mine


# -- the workbook (cppthemes/export/xlsx.py) ----------------------------------------------

CELL = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30),
    st.sampled_from(["", " lead", "trail ", "=SUM(A1)", "a & <b> \r\n\t\x07", "😀 é"]),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.sampled_from(["id", "text", "label", "group %", "n"]), min_size=1, max_size=5),
    st.lists(st.lists(CELL, min_size=5, max_size=5), max_size=4),
    st.lists(st.lists(CELL, min_size=5, max_size=5), max_size=3),
)
def test_xlsx_fast_cells_are_openpyxl_bytes(
    header: list[str], rows: list[list[object]], prevalence: list[list[object]]
) -> None:
    width = len(header)
    sheets = [
        ("codes", header, [r[:width] for r in rows]),
        ("themes", ["id", "label"], []),
        ("prevalence", header, [r[:width] for r in prevalence]),
        ("passages", ["id", "text"], [[r[0], r[1]] for r in rows]),
    ]
    assert xlsx.workbook(sheets) == xlsx.workbook_openpyxl(sheets)  # type: ignore[arg-type]


def test_xlsx_unusual_values_are_left_to_openpyxl() -> None:
    sheets = [("codes", ["id", "n"], [["a", float("nan")], ["b", np.float64(1.5)]])]
    assert xlsx.workbook(sheets) == xlsx.workbook_openpyxl(sheets)  # type: ignore[arg-type]
    long = [("passages", ["id", "text"], [["a", "word " * 7000]])]  # cut at 32,767 characters
    assert xlsx.workbook(long) == xlsx.workbook_openpyxl(long)  # type: ignore[arg-type]
    with zipfile.ZipFile(io.BytesIO(xlsx.workbook(long))) as z:  # type: ignore[arg-type]
        assert b"word wo</t>" in z.read("xl/worksheets/sheet1.xml")  # 32,767 = 5 * 6,553 + 2


# -- small exact replacements -------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab .!?\n\t\u00a0\x1c\u2028", max_size=30))
def test_last_sentence_matches_the_pattern(text: str) -> None:
    found = _LAST_SENTENCE.search(text)
    assert found is not None and found.group(0) == last_sentence(text)


def test_last_sentence_is_linear_on_long_unpunctuated_turns() -> None:
    import time

    text = ("word " * 40_000 + ". ") * 2
    start = time.perf_counter()
    last_sentence(text)
    # The pattern's search takes seconds here; a bound a loaded CI machine still meets.
    assert time.perf_counter() - start < 0.5


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=16, max_size=16), TEXT)
def test_fast_uuid5_is_uuid5(namespace: bytes, name: str) -> None:
    assert fast_uuid5(namespace, name) == str(uuid.uuid5(uuid.UUID(bytes=namespace), name))


def test_procedural_memo_gives_the_verdicts_of_a_fresh_judgement() -> None:
    blocked = procedural.blocked_words()
    texts = [
        "Hi all, can you hear me? Okay.",
        "I have to run. But thank you",
        "We talked about the budget and the new staff rota for the ward at length today",
        "xxx, xx",
    ]
    first = [(procedural.kind_of(t, blocked), procedural.content_words(t, blocked)) for t in texts]
    fresh = [(procedural._kind(t, blocked), len(procedural._content(t, blocked))) for t in texts]
    again = [(procedural.kind_of(t, blocked), procedural.content_words(t, blocked)) for t in texts]
    assert first == fresh == again
    assert first[0][0] is not None and first[2][0] is None


def test_procedural_memo_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(procedural, "_MEMO_MAX", 5)
    blocked = frozenset({"the"})
    for i in range(20):
        procedural.kind_of(f"text number {i}", blocked)
    assert len(procedural._KINDS[blocked]) <= 6


# -- a rerun's run folder is a fresh run's ------------------------------------------------


def _outputs(folder: Path) -> dict[str, bytes]:
    out = {}
    for name in FILES:
        data = (folder / name).read_bytes()
        if name == "run.json":
            run = json.loads(data)
            run.pop("timings_s")
            # What the cache held differs by design; everything the analyst reads must not.
            for key in ("threads", "from_cache", "other_texts_embedded", "model_loaded"):
                run["embeddings"].pop(key, None)
            data = json.dumps(run, sort_keys=True).encode()
        out[name] = data
    return out


@pytest.fixture
def _fake(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fake_model(monkeypatch)


@pytest.mark.usefixtures("_fake")
def test_rerun_on_a_warm_cache_writes_what_a_fresh_run_writes(corpus: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    other = ["--set", 'cluster.granularity="fine"', "--set", "cluster.min_size=2"]

    def run(out: str, cache_dir: Path, *extra: str) -> Path:
        folder = tmp_path / out
        args = ["run", str(corpus), "--out", str(folder), "--cache-dir", str(cache_dir), "-q"]
        result = runner.invoke(app, [*args, *FAST, *extra])
        assert result.exit_code == 0, result.output
        return folder

    run("cold", cache)
    trees = sorted((cache / linkcache.FOLDER).glob("*.npy"))
    assert trees  # the fit and its stability refits
    warm = run("warm-other", cache, *other)  # every tree read back, cut elsewhere
    fresh = run("fresh-other", tmp_path / "empty-cache", *other)
    assert _outputs(warm) == _outputs(fresh)
    assert sorted((cache / linkcache.FOLDER).glob("*.npy")) == trees  # nothing new built
    again = run("warm-same", cache)
    assert _outputs(again) == _outputs(tmp_path / "cold")
    assert "threads" in json.loads((again / "run.json").read_text())["embeddings"]


@pytest.mark.usefixtures("_fake")
def test_refine_after_an_edit_matches_a_refine_without_caches(corpus: Path, tmp_path: Path) -> None:
    import shutil

    cache = tmp_path / "cache"
    cold = tmp_path / "cold"
    args = ["run", str(corpus), "--out", str(cold), "--cache-dir", str(cache), "-q", *FAST]
    assert runner.invoke(app, args).exit_code == 0
    path = cold / "codebook.yaml"
    path.write_text(re.sub(r"(?m)^(    label: ).*$", r"\1Renamed", path.read_text(), count=1))
    edited = tmp_path / "edited"
    shutil.copytree(cold, edited)
    results = []
    for cache_dir in (cache, tmp_path / "empty"):  # the same folder both times: paths agree
        shutil.rmtree(cold)
        shutil.copytree(edited, cold)
        result = runner.invoke(app, ["refine", str(cold), "--cache-dir", str(cache_dir), "-q"])
        assert result.exit_code == 0, result.output
        results.append((_outputs(cold), (cold / "audit.jsonl").read_bytes()))
    assert results[0] == results[1]
    assert b"Renamed" in results[0][0]["codebook.yaml"]


# -- procedural verdicts across runs (cppthemes/verdictcache.py) ---------------------------


def _fresh_memo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(procedural, "_KINDS", {})
    monkeypatch.setattr(procedural, "_COUNTS", {})
    monkeypatch.setattr(procedural, "_STORED", {})


def test_verdictcache_hit_judges_nothing_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cppthemes import verdictcache

    _fresh_memo(monkeypatch)
    texts = ["Hi all, can you hear me? Okay.", "We planned the new staff rota for the ward today"]
    blocked = procedural.blocked_words()
    before = [(procedural.kind_of(t, blocked), procedural.content_words(t, blocked)) for t in texts]
    name = verdictcache.key(texts)
    verdictcache.store(tmp_path, name)
    _fresh_memo(monkeypatch)
    assert verdictcache.load(tmp_path, name)

    def fail(*args: object) -> None:
        raise AssertionError("judged again")

    monkeypatch.setattr(procedural, "_kind", fail)
    monkeypatch.setattr(procedural, "_content", fail)
    after = [(procedural.kind_of(t, blocked), procedural.content_words(t, blocked)) for t in texts]
    assert after == before
    with pytest.raises(AssertionError, match="judged again"):
        procedural.kind_of("a text the earlier run never saw", blocked)


def test_verdictcache_miss_and_invalidation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cppthemes import verdictcache

    assert not verdictcache.load(tmp_path, verdictcache.key(["never stored"]))
    assert verdictcache.key(["a", "b"]) != verdictcache.key(["a", "b "])
    key = verdictcache.key(["a"])
    monkeypatch.setattr(verdictcache, "_rule_source", lambda: b"an edited rule")
    assert verdictcache.key(["a"]) != key  # a change to the rule's code is a new key
    (tmp_path / verdictcache.FOLDER).mkdir()
    (tmp_path / verdictcache.FOLDER / f"{key}.json").write_text("{damaged")
    assert not verdictcache.load(tmp_path, key)
    # Another blocked-word set's table is not this one's.
    _fresh_memo(monkeypatch)
    procedural.kind_of("hello there", frozenset({"there"}))
    assert procedural._set_name(frozenset({"there"})) in procedural.verdicts()
    assert procedural._set_name(frozenset({"x"})) not in procedural.verdicts()


# -- the workbook's header-only skeleton, kept in the user cache ----------------------------


def _skeleton_files() -> list[Path]:
    folder = xlsx._cache_folder()
    assert folder is not None
    return sorted(folder.glob("*.bin")) if folder.is_dir() else []


def test_xlsx_core_part_name_is_openpyxls() -> None:
    from openpyxl.xml.constants import ARC_CORE

    assert xlsx.ARC_CORE == ARC_CORE


def test_xlsx_skeleton_is_shared_by_other_row_counts_and_rebuilt_when_damaged() -> None:
    def sheets(n: int) -> list[tuple[str, list[str], list[list[object]]]]:
        rows: list[list[object]] = [[f"c{i}", f"text {i} & <more>", i / 7] for i in range(n)]
        return [("codes", ["id", "text", "group %"], rows), ("themes", ["id"], [])]

    first = xlsx.workbook(sheets(3))  # type: ignore[arg-type]
    assert first == xlsx.workbook_openpyxl(sheets(3))  # type: ignore[arg-type]
    (kept,) = _skeleton_files()
    for n in (1, 40):  # other extents, one skeleton: the filter ranges are swapped in
        assert xlsx.workbook(sheets(n)) == xlsx.workbook_openpyxl(sheets(n))  # type: ignore[arg-type]
    assert _skeleton_files() == [kept]
    for damage in (b"", b"\x00\x00\x00\x05<core", kept.read_bytes()[:-100]):
        kept.write_bytes(damage)
        assert xlsx.workbook(sheets(3)) == first  # type: ignore[arg-type]
        assert xlsx._load(kept) is not None  # built again and stored whole
    other = [("codes", ["id", "label"], [["a", "b"]])]  # another shape: its own skeleton
    assert xlsx.workbook(other) == xlsx.workbook_openpyxl(other)  # type: ignore[arg-type]
    assert len(_skeleton_files()) == 2


def test_xlsx_skeleton_without_a_writable_cache_still_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    monkeypatch.setattr(xlsx, "_cache_folder", lambda: blocked / "xlsx")
    sheets = [("codes", ["id", "text"], [["a", "x"]])]
    assert xlsx.workbook(sheets) == xlsx.workbook_openpyxl(sheets)  # type: ignore[arg-type]
