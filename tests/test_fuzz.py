"""Bad input, fuzzed: manifests, settings, codebooks, encodings, archives, huge lines.

Every parser that reads a user's file answers anything with a value or one of our errors (one
line, naming the file); never another exception, never a hang, never unbounded memory. The
readers of transcripts are fuzzed in test_ingest_robust.py; long runs: scripts/fuzz.py.
"""

from __future__ import annotations

import io
import shutil
import tempfile
import time
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from cppthemes.codebook.book import load_codebook
from cppthemes.config import load_config
from cppthemes.errors import ConfigError, CppthemesError, InputError, RunDirError
from cppthemes.ingest import READERS, load_corpus
from cppthemes.ingest.decode import read_text
from cppthemes.ingest.manifest import read_manifest
from cppthemes.runfolder import load_run
from tests.conftest import examples

# The fuzz tests take about 3 minutes together on the 2-core machine: outside the README's
# test command, run by CI (-m long, and scripts/fuzz.py at twice their examples).
pytestmark = pytest.mark.long

FUZZ = settings(
    max_examples=examples(100),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def _one_line(exc: CppthemesError) -> None:
    assert "\n" not in str(exc) and str(exc).strip()


def _in_temp(name: str, raw: bytes):
    folder = tempfile.mkdtemp()
    path = Path(folder) / name
    path.write_bytes(raw)
    return path, folder


# -- manifests --------------------------------------------------------------------------------

_cell = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)
_yaml_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | _cell,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_cell, inner, max_size=4),
    max_leaves=20,
)


@given(rows=st.lists(st.lists(_cell, max_size=5), max_size=8))
@FUZZ
def test_fuzz_manifest_csv_any_rows(rows: list[list[str]]) -> None:
    import csv

    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    path, folder = _in_temp("manifest.csv", buffer.getvalue().encode("utf-8"))
    try:
        out = read_manifest(path)
        assert all(isinstance(v, str) for attrs in out.values() for v in attrs.values())
    except InputError as exc:
        _one_line(exc)
    finally:
        shutil.rmtree(folder)


@given(data=_yaml_value)
@FUZZ
def test_fuzz_manifest_yaml_any_structure(data: object) -> None:
    buffer = io.StringIO()
    YAML(typ="safe").dump(data, buffer)
    path, folder = _in_temp("manifest.yaml", buffer.getvalue().encode("utf-8"))
    try:
        out = read_manifest(path)
        assert all(isinstance(v, str) for attrs in out.values() for v in attrs.values())
    except InputError as exc:
        _one_line(exc)
    finally:
        shutil.rmtree(folder)


@given(raw=st.binary(max_size=400) | st.text(max_size=400).map(str.encode))
@FUZZ
def test_fuzz_manifest_random_bytes(raw: bytes) -> None:
    for name in ("manifest.csv", "manifest.yaml"):
        path, folder = _in_temp(name, raw)
        try:
            read_manifest(path)
        except InputError as exc:
            _one_line(exc)
        finally:
            shutil.rmtree(folder)


# -- settings ---------------------------------------------------------------------------------

_keys = st.sampled_from(
    ["cluster.n_codes", "cluster.seed", "cluster.method", "segment.min_words", "embed.model",
     "ingest.columns", "label.fillers", "themes.distance_threshold", "privacy.names_file",
     "nosuch.key", "cluster", "a.b.c", ""]
)  # fmt: skip


@given(items=st.lists(st.tuples(_keys, st.text(max_size=30)), max_size=4))
@FUZZ
def test_fuzz_config_set_overrides(items: list[tuple[str, str]]) -> None:
    try:
        load_config(None, [f"{k}={v}" for k, v in items])
    except ConfigError as exc:
        _one_line(exc)


@given(raw=st.binary(max_size=400) | st.text(max_size=400).map(str.encode))
@FUZZ
def test_fuzz_config_toml_file(raw: bytes) -> None:
    path, folder = _in_temp("c.toml", raw)
    try:
        load_config(path)
    except ConfigError as exc:
        _one_line(exc)
    finally:
        shutil.rmtree(folder)


def test_fuzz_config_deeply_nested_toml_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "deep.toml"
    path.write_text("[cluster]\nseed = " + "[" * 50_000 + "]" * 50_000 + "\n")
    with pytest.raises(ConfigError, match="nested too deeply"):
        load_config(path)
    with pytest.raises(ConfigError, match="nested too deeply"):
        load_config(None, ["cluster.seed=" + "[" * 50_000 + "]" * 50_000])


# -- codebook.yaml ----------------------------------------------------------------------------

BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 9) + "]\n"
    for i in range(8)
)  # 9 ** 9 (387 million) strings from 700 bytes


@pytest.mark.parametrize(
    "text, message",
    [
        ("codes: " + "[" * 100_000 + "]" * 100_000 + "\n", "nested more than 100 levels"),
        ("codes:\n" + "".join("  " * i + "- \n" for i in range(1, 300)), "nested more than"),
        (BOMB + "codes: [*i]\n", "alias bomb"),
        ("codes: [\n", "not valid YAML"),
        ("just text\n", "no 'codes:' list"),
    ],
)
def test_fuzz_codebook_hostile_yaml_is_refused_fast(tmp_path: Path, text: str, message: str):
    path = tmp_path / "codebook.yaml"
    path.write_text(text, encoding="utf-8")
    start = time.perf_counter()
    with pytest.raises(InputError, match=message) as info:
        load_codebook(path)
    assert time.perf_counter() - start < 10
    _one_line(info.value)


def test_fuzz_manifest_hostile_yaml_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "manifest.yaml"
    path.write_text(BOMB + "f.txt: {wave: *i}\n", encoding="utf-8")
    with pytest.raises(InputError, match="alias bomb"):
        read_manifest(path)
    path.write_text("[" * 10_000 + "]" * 10_000, encoding="utf-8")
    with pytest.raises(InputError, match="nested more than"):
        read_manifest(path)


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from cppthemes.config import Config
    from cppthemes.pipeline import run
    from cppthemes.runfolder import write_run
    from tests.conftest import FakeEmbedder, write_corpus

    base = tmp_path_factory.mktemp("fuzzrun")
    corpus = write_corpus(base / "c", n_files=2)
    cfg = Config()
    result = run([corpus], cfg, embedder=FakeEmbedder())
    write_run(result, cfg, base / "run", [str(corpus)])
    return base / "run"


@given(data=_yaml_value, raw=st.binary(max_size=200), use_raw=st.booleans())
@FUZZ
def test_fuzz_codebook_anything_in_a_run_folder(
    run_folder: Path, data: object, raw: bytes, use_raw: bool
) -> None:
    """`cppthemes export` reads whatever the analyst left in codebook.yaml: one-line errors."""
    folder = Path(tempfile.mkdtemp())
    try:
        shutil.copytree(run_folder, folder / "run")
        book = folder / "run" / "codebook.yaml"
        if use_raw:
            book.write_bytes(raw)
        else:
            original = YAML(typ="safe").load(book.read_text(encoding="utf-8"))
            # Replace one part of a real codebook by a random structure.
            target = original["codes"][0] if original["codes"] else original
            key = sorted(target)[len(str(data)) % len(target)]
            target[key] = data
            buffer = io.StringIO()
            YAML(typ="safe").dump(original, buffer)
            book.write_text(buffer.getvalue(), encoding="utf-8")
        try:
            load_run(folder / "run")
        except (RunDirError, InputError) as exc:
            _one_line(exc)
    finally:
        shutil.rmtree(folder)


# -- encodings --------------------------------------------------------------------------------

_talk = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs", "Cc"), whitelist_characters="\n", max_codepoint=0x2FFF
    ),
    max_size=200,
)
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "cp1252",
             "latin-1", "mac_roman", "shift_jis", "koi8-r", "gb18030"]  # fmt: skip


@given(text=_talk, encoding=st.sampled_from(ENCODINGS))
@FUZZ
def test_fuzz_wrong_encodings_decode_or_refuse(text: str, encoding: str) -> None:
    raw = ("Ann: " + text).encode(encoding, errors="replace")
    path, folder = _in_temp("t.txt", raw)
    try:
        decoded = read_text(path)
        assert "\x00" not in decoded and "\r" not in decoded
        if encoding in ("utf-8", "utf-8-sig", "utf-16", "utf-32"):  # unambiguous: exact
            expected = ("Ann: " + text).replace("\r\n", "\n").replace("\r", "\n")
            assert decoded == expected.removeprefix("\ufeff")
        (t,) = READERS["text"](path, "t", "t.txt", {})
        assert t.plain_text == decoded
    except InputError as exc:
        _one_line(exc)
    finally:
        shutil.rmtree(folder)


# -- archives: zip bombs and entity bombs -----------------------------------------------------

LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "' + f"&lol{i - 1 if i > 1 else ''};" * 10 + '">' for i in range(1, 10)
    )
    + ']>\n<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
    "<w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p></w:body></w:document>"
)


def _rezip(raw: bytes, replace: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = replace.pop(info.filename, None)
            dst.writestr(info, data if data is not None else src.read(info))
        for name, data in replace.items():
            dst.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _valid(fmt: str) -> bytes:
    from tests.test_ingest_robust import VALID

    return VALID[fmt][-1]


@pytest.mark.parametrize(
    "fmt, member",
    [("docx", "word/document.xml"), ("xlsx", "xl/worksheets/sheet1.xml")],
)
def test_fuzz_billion_laughs_in_office_xml_is_refused(tmp_path: Path, fmt: str, member: str):
    path = tmp_path / f"f.{fmt}"
    path.write_bytes(_rezip(_valid(fmt), {member: LAUGHS.encode()}))
    start = time.perf_counter()
    with pytest.raises(InputError, match="declares a DTD"):
        READERS[fmt](path, "f", path.name, {})
    assert time.perf_counter() - start < 5


@pytest.mark.parametrize("fmt", ["docx", "xlsx"])
def test_fuzz_zip_bomb_is_refused_before_unpacking(tmp_path: Path, fmt: str) -> None:
    bomb = io.BytesIO()
    with (
        zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z,
        z.open("bomb.xml", "w") as fh,
    ):
        for _ in range(64):  # 64 MB of zeros pack into ~64 KB
            fh.write(bytes(1 << 20))
    path = tmp_path / f"f.{fmt}"
    raw = _valid(fmt)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        with zipfile.ZipFile(bomb) as b:
            info = b.getinfo("bomb.xml")
            dst.writestr(info, b.read(info))
    path.write_bytes(out.getvalue())
    with pytest.raises(InputError, match="zip bomb"):
        READERS[fmt](path, "f", path.name, {})


# -- huge single lines, vanishing files -------------------------------------------------------


@pytest.mark.parametrize(
    "shape",
    [
        "Anna: " + "the garden soil needs compost " * 3_400_000,  # one 100 MB turn
        "A" * 100_000_000,  # one 100 MB word
        "Anna Bob Cara: " + "x" * 100_000_000,
    ],
    ids=["long-turn", "long-word", "long-after-label"],
)
def test_fuzz_100mb_single_line_is_one_line_error_in_bounded_time(
    tmp_path: Path, shape: str
) -> None:
    from cppthemes.config import IngestConfig

    path = tmp_path / "huge.txt"
    path.write_text(shape + "\n", encoding="utf-8")
    start = time.perf_counter()
    skipped = []
    with pytest.raises(InputError) as info:
        load_corpus([path], IngestConfig(), on_skip=skipped.append)
    assert time.perf_counter() - start < 30
    _one_line(info.value)
    assert "characters" in str(info.value) or "no speaker turns" in str(info.value)


def test_fuzz_file_that_vanishes_mid_run_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cppthemes import ingest
    from cppthemes.config import IngestConfig

    for name in ("a.txt", "b.txt", "c.txt"):
        (tmp_path / name).write_text("Ann: Hello there, all is fine.\n", encoding="utf-8")
    real_find = ingest.find_files

    def find_then_delete(paths, cfg, *rest):  # the folder is listed, then a file disappears
        found = real_find(paths, cfg, *rest)
        (tmp_path / "b.txt").unlink()
        return found

    monkeypatch.setattr(ingest, "find_files", find_then_delete)
    seen = []
    corpus = load_corpus([tmp_path], IngestConfig(), on_skip=seen.append)
    assert [t.source for t in corpus.transcripts] == ["a.txt", "c.txt"]
    assert len(seen) == 1 and "b.txt" in str(seen[0]) and "cannot read file" in str(seen[0])


def test_fuzz_missing_and_duplicate_speakers(tmp_path: Path) -> None:
    from cppthemes.config import IngestConfig

    (tmp_path / "t.csv").write_text(
        "Speaker,Text\nAnn,first\n,continued without a speaker\nAnn,again\nAnn,and again\n",
        encoding="utf-8",
    )
    (tmp_path / "none.csv").write_text("Speaker,Text\n,no one\n,at all\n", encoding="utf-8")
    seen = []
    corpus = load_corpus([tmp_path], IngestConfig(), on_skip=seen.append)
    (t,) = corpus.transcripts
    assert [turn.speaker for turn in t.turns] == ["Ann", "Ann", "Ann"]
    assert "continued without a speaker" in t.turns[0].text
    assert len(seen) == 1 and "none.csv" in str(seen[0])


# -- CSV quoting, xlsx dimensions, file names, tiny corpora (issue 15) -----------------------

_csv_text = st.text(
    alphabet=st.sampled_from(list("abc XYZ,;|\"'\n\t.-:")) | st.characters(codec="utf-8"),
    max_size=40,
).filter(lambda t: t.strip() and "\r" not in t and "\x00" not in t)


@given(
    rows=st.lists(st.tuples(st.sampled_from(["Kari", "Ola", "Dr. Lee"]), _csv_text), max_size=8),
    delimiter=st.sampled_from([",", ";", "\t"]),
)
@FUZZ
def test_fuzz_csv_quoting_round_trips(rows: list[tuple[str, str]], delimiter: str) -> None:
    """Cells with quotes, delimiters and line breaks, written by a real CSV writer, come back
    as written (one turn a row); and one stray quote is an error naming a line, or a value."""
    import csv

    from cppthemes.ingest.build import clean_cell
    from cppthemes.ingest.table import read_csv

    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\n").writerows(
        [("Speaker", "Text"), *rows]
    )
    raw = buffer.getvalue()
    path, folder = _in_temp("t.csv", raw.encode("utf-8"))
    try:
        try:
            out = read_csv(path, "t", "t.csv", {})
        except InputError as exc:  # e.g. every text empty after cleaning
            _one_line(exc)
            assert not any(clean_cell(text) for _, text in rows), str(exc)
        else:
            turns = [(t.speaker, t.text) for tr in out for t in tr.turns]
            wanted = [(s, clean_cell(text)) for s, text in rows if clean_cell(text)]
            assert turns == wanted
        # One stray quote opening a cell: an error naming a line of the file, or rows.
        broken = raw.replace(f"{delimiter}", f'{delimiter}"', 1) if rows else raw
        path.write_text(broken, encoding="utf-8")
        try:
            read_csv(path, "t", "t.csv", {})
        except InputError as exc:
            _one_line(exc)
            assert exc.line is None or 1 <= exc.line <= broken.count("\n") + 1
    finally:
        shutil.rmtree(folder)


@given(
    declared=st.tuples(st.integers(1, 16384), st.integers(1, 1_048_576)),
    far=st.lists(st.tuples(st.integers(1, 16384), st.integers(4, 1_048_576)), max_size=3),
)
@settings(max_examples=examples(12), deadline=None)
def test_fuzz_xlsx_declared_dimension_does_not_bound_the_work(
    declared: tuple[int, int], far: list[tuple[int, int]]
) -> None:
    """A sheet declaring any dimension, with stray cells anywhere: read within bounded time
    and memory (the real cells), or refused in one line."""
    import re

    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    from cppthemes.ingest.table import read_xlsx

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["Speaker", "Text"])
    ws.append(["Kari", "We talked about the home visits."])
    for col, row in far:
        ws.cell(row=row, column=col, value="x")
    buffer = io.BytesIO()
    wb.save(buffer)
    ref = f"A1:{get_column_letter(declared[0])}{declared[1]}"
    patched = io.BytesIO()
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(patched, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb'<dimension ref="[^"]*"', f'<dimension ref="{ref}"'.encode(), data)
            dst.writestr(item, data)
    path, folder = _in_temp("t.xlsx", patched.getvalue())
    try:
        start = time.perf_counter()
        try:
            out = read_xlsx(path, "t", "t.xlsx", {})
            assert out[0].turns[0].speaker == "Kari"
        except InputError as exc:
            _one_line(exc)
        assert time.perf_counter() - start < 30
    finally:
        shutil.rmtree(folder)


_name_bytes = st.binary(min_size=1, max_size=20).filter(
    lambda b: b"/" not in b and b"\x00" not in b and not b.startswith((b".", b"~$"))
)


@given(names=st.lists(_name_bytes, min_size=1, max_size=3, unique=True))
@FUZZ
def test_fuzz_file_names_of_any_bytes(names: list[bytes]) -> None:
    """Any file name the file system allows is read, and cited as text every output holds."""
    import json
    import os

    from cppthemes.config import IngestConfig
    from cppthemes.records import passage_id

    folder = tempfile.mkdtemp()
    try:
        for n, name in enumerate(names):
            with open(os.path.join(os.fsencode(folder), name + b".txt"), "wb") as fh:
                fh.write(f"Kari: The home visits were hard, file {n}.\n".encode())
        try:
            corpus = load_corpus([folder], IngestConfig())
        except InputError as exc:  # e.g. two names that are one after escaping
            _one_line(exc)
            return
        assert len(corpus.transcripts) + len(corpus.skipped) == len(names)
        for t in corpus.transcripts:
            json.dumps([t.source, t.id], ensure_ascii=False).encode("utf-8")
            passage_id(t.id, 0, 1)
        for s in corpus.skipped:
            json.dumps(s.as_dict(), ensure_ascii=False).encode("utf-8")
    finally:
        shutil.rmtree(folder)


@given(
    turns=st.lists(
        st.tuples(
            st.sampled_from(["Kari", "Ola", "Interviewer", "P1"]),
            st.lists(
                st.sampled_from(
                    [
                        "home",
                        "visits",
                        "supervision",
                        "waiting",
                        "lists",
                        "school",
                        "the",
                        "and",
                        "was",
                        "very",
                        "long",
                        "hard",
                        "good",
                        "Thursday",
                        "families",
                    ]
                ),
                min_size=1,
                max_size=14,
            ).map(" ".join),
        ),
        min_size=1,
        max_size=5,
    ),
    min_size=st.integers(1, 5),
)
@settings(
    max_examples=examples(15),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
def test_fuzz_tiny_corpora_give_a_result_or_one_line(
    turns: list[tuple[str, str]], min_size: int
) -> None:
    """One to five turns, any speakers: a (maybe empty) result, or one of our errors."""
    from cppthemes.config import load_config
    from cppthemes.pipeline import run
    from tests.conftest import FakeEmbedder

    folder = tempfile.mkdtemp()
    try:
        text = "".join(f"{who}: {said}.\n" for who, said in turns)
        Path(folder, "t.txt").write_text(text, encoding="utf-8")
        cfg = load_config(None, [f"cluster.min_size={min_size}"])
        try:
            result = run([folder], cfg, embedder=FakeEmbedder())
        except CppthemesError as exc:
            _one_line(exc)
            return
        coded = sum(1 for c in result.passage_codes.values() if c)
        assert coded <= len(result.passages) <= len(turns)
        assert all(c.size >= min_size for c in result.codes)
    finally:
        shutil.rmtree(folder)
