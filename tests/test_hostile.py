"""Hostile and unlucky inputs (issue 15): each reproducer of the adversarial pass, as a test.

Every one ends in a correct result or one line naming the file, line or setting with exit code
1: tiny corpora, file names that are not UTF-8, CSV quoting, edited codebooks with duplicate
ids or unknown statuses or themes, xlsx sheets that declare a huge dimension, unreadable
sub-folders, read-only or full cache folders, tables.xlsx reproducibility, and names that
survived pseudonymisation. File permissions are tested for real: under root the command runs
in a child process dropped to an unprivileged user (tests/asuser.py).
"""

from __future__ import annotations

import json
import os
import re
import stat
import time
import unicodedata
import zipfile
from pathlib import Path

import numpy as np
import pytest
from openpyxl import Workbook
from typer.testing import CliRunner

from cppthemes.cli.app import app
from cppthemes.config import IngestConfig
from cppthemes.embed.embedder import EmbeddingCache
from cppthemes.errors import InputError
from cppthemes.ingest import load_corpus
from cppthemes.ingest.table import MAX_SHEET_CELLS, read_csv, read_xlsx
from cppthemes.pseudonymize import Pseudonymizer, is_name, pseudonymize
from cppthemes.records import Transcript
from tests.asuser import as_unprivileged, give_to_nobody, is_root, reachable
from tests.conftest import SAMPLE, SampleRuns, use_fake_model, write_corpus
from tests.test_ingest_formats import check_offsets
from tests.test_privacy import _all_output_text

runner = CliRunner()


@pytest.fixture(autouse=True)
def _fake_model(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fake_model(monkeypatch)


def invoke(*args: str | Path):
    return runner.invoke(app, [str(a) for a in args])


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def _one_error_line(result) -> str:  # type: ignore[no-untyped-def]
    errors = [line for line in _lines(result.output) if line.startswith("error:")]
    assert result.exit_code == 1 and len(errors) == 1, result.output
    assert "Traceback" not in result.output
    return errors[0]


# -- tiny and over-split corpora ----------------------------------------------------------------

TINY_TURNS = [
    "The supervision group on Thursdays helped me with the difficult home visits.",
    "Waiting lists for therapy are long and the families get stressed by them.",
    "The new journal system takes hours that we used to spend with the families.",
    "Cooperation with the schools and the teachers has become much better lately.",
    "Supervision on Thursdays is where I bring the hardest home visits of the week.",
]


@pytest.mark.parametrize("turns", [1, 2, 3, 4, 5])
def test_hostile_tiny_corpus_gives_a_tiny_honest_result(tmp_path: Path, turns: int) -> None:
    corpus = tmp_path / "tiny"
    corpus.mkdir()
    lines = ["Facilitator: Tell me?"]
    for i in range(turns):
        lines += [f"Kari: {TINY_TURNS[i]}"] if i == 0 else [f"Ola: {TINY_TURNS[i]}"]
    (corpus / "a.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    result = invoke("run", corpus, "--out", out, "-q")
    assert result.exit_code == 0, result.output
    book = (out / "codebook.yaml").read_text(encoding="utf-8")
    passages = _lines((out / "passages.jsonl").read_text(encoding="utf-8"))
    assert len(passages) == turns
    if "- id: C01" not in book:  # nothing coded: one line says why
        notes = [line for line in _lines(result.output) if line.startswith("note: no candidate")]
        assert len(notes) == 1 and "cluster.min_size=3" in notes[0]
    assert json.loads((out / "run.json").read_text())["outputs"]


@pytest.mark.parametrize(
    "args, says",
    [
        (["--codes", "600"], "cluster.n_codes=600"),  # 625 on the real model's passages
        (["--set", "cluster.min_size=1000"], "cluster.min_size=1000"),
    ],
)
def test_hostile_every_cluster_too_small_is_a_note_not_a_crash(
    tmp_path: Path, args: list[str], says: str
) -> None:
    out = tmp_path / "out"
    result = invoke("run", SAMPLE, "--out", out, "-q", *args)
    assert result.exit_code == 0, result.output
    note = [line for line in _lines(result.output) if line.startswith("note: no candidate codes")]
    records = [json.loads(x) for x in (out / "passages.jsonl").read_text().splitlines()]
    assert len(records) > 600
    if note or "min_size" in says:  # every cluster dropped: one line says why
        assert len(note) == 1 and says in note[0], result.output
        assert all(r["code"] is None for r in records)
        assert "Candidate codes: 0" in (out / "report.md").read_text(encoding="utf-8")


# -- file names that are not UTF-8 ----------------------------------------------------------


def _bad_name_corpus(tmp_path: Path) -> Path:
    corpus = write_corpus(tmp_path / "d", n_files=2, manifest=False)
    os.rename(corpus / "group2.txt", os.path.join(os.fsencode(corpus), b"bad\xff.txt"))
    return corpus


def test_hostile_non_utf8_file_name_is_read_and_cited_escaped(tmp_path: Path) -> None:
    corpus = _bad_name_corpus(tmp_path)
    out = tmp_path / "out"
    result = invoke("run", corpus, "--out", out, "-q")
    assert result.exit_code == 0, result.output
    sources = {json.loads(x)["source"] for x in (out / "passages.jsonl").read_text().splitlines()}
    assert sources == {"group1.txt", "bad\\xff.txt"}
    files = _all_output_text(out)
    assert any("bad\\xff" in text or "bad\\\\xff" in text for text in files.values())

    # Given by name on the command line: run.json keeps the name (escaped), refine finds it.
    given = os.fsdecode(os.path.join(os.fsencode(corpus), b"bad\xff.txt"))
    direct = invoke("run", given, "--out", tmp_path / "direct", "-q")
    assert direct.exit_code == 0, direct.output
    run_json = (tmp_path / "direct" / "run.json").read_bytes()
    assert b"bad\\udcff.txt" in run_json and run_json.decode("utf-8")
    again = invoke("refine", tmp_path / "direct", "-q")
    assert again.exit_code == 0, again.output

    jsonl = tmp_path / "turns.jsonl"
    ingest = invoke("ingest", corpus, "--out", jsonl)
    assert ingest.exit_code == 0, ingest.output
    assert '"source": "bad\\\\xff.txt"' in jsonl.read_text(encoding="utf-8")


def test_hostile_non_utf8_file_name_in_an_error_is_one_printable_line(tmp_path: Path) -> None:
    corpus = tmp_path / "d"
    corpus.mkdir()
    (corpus / "good.txt").write_text("Kari: The home visits are hard.\n", encoding="utf-8")
    bad = os.path.join(os.fsencode(corpus), b"bad\xfe.csv")
    with open(bad, "wb") as fh:
        fh.write(b"nothing,like,a,table\n")
    c = load_corpus([corpus], IngestConfig())
    assert [s.path for s in c.skipped] == [f"{corpus}/bad\\xfe.csv"]
    json.dumps([s.as_dict() for s in c.skipped], ensure_ascii=False).encode("utf-8")


# -- CSV quoting ------------------------------------------------------------------------------


def test_hostile_csv_quoted_multiline_cell_keeps_its_line_break(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(
        'Speaker,Text\nKari,"line one\nline two"\nOla,"said ""no"", then left"\n', encoding="utf-8"
    )
    (t,) = read_csv(path, "t", "t.csv", {})
    assert [(turn.speaker, turn.text) for turn in t.turns] == [
        ("Kari", "line one\nline two"),
        ("Ola", 'said "no", then left'),
    ]
    check_offsets(t)


def test_hostile_csv_unbalanced_quote_names_its_line(tmp_path: Path) -> None:
    corpus = tmp_path / "c"
    corpus.mkdir()
    rows = 'Speaker,Text\nKari,fine\nKari,"I said no\nOla,the next speaker\nKari,me again\n'
    (corpus / "t.csv").write_text(rows, encoding="utf-8")
    result = invoke("ingest", corpus, "--out", tmp_path / "t.jsonl")
    line = _one_error_line(result)
    assert "t.csv:3:" in line and "never closes" in line
    assert not (tmp_path / "t.jsonl").exists()


def test_hostile_csv_text_after_a_closing_quote_is_still_read(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text('Speaker,Text\nKari,"quoted" and more\nOla,plain\n', encoding="utf-8")
    (t,) = read_csv(path, "t", "t.csv", {})
    assert [turn.speaker for turn in t.turns] == ["Kari", "Ola"]


# -- edited codebooks -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_run(sample_runs: SampleRuns) -> Path:
    """`cppthemes run data/sample -q` with the fake model: the session's shared folder
    (conftest), which each test copies before editing its codebook."""
    return sample_runs.cli().out


@pytest.mark.parametrize(
    "old, new, says",
    [
        ("id: C02", "id: C01", "code id 'C01' is used twice (first on line"),
        ("status: candidate", "status: kepd", "unknown status 'kepd' (allowed: candidate, kept"),
        ("theme: T01", "theme: T99", "theme 'T99' is not the id or label of any theme"),
    ],
)
def test_hostile_edited_codebook_errors_name_the_line(
    sample_run: Path, tmp_path: Path, old: str, new: str, says: str
) -> None:
    import shutil

    run = shutil.copytree(sample_run, tmp_path / "run")
    book = run / "codebook.yaml"
    text = book.read_text(encoding="utf-8")
    at = text.index(old)
    edited = text[:at] + new + text[at + len(old) :]
    book.write_text(edited, encoding="utf-8")
    line_no = text[:at].count("\n") + 1
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    result = invoke("refine", run, "-q")
    line = _one_error_line(result)
    assert f"codebook.yaml:{line_no}: " in line and says in line, line
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before  # nothing written


# -- xlsx dimensions --------------------------------------------------------------------------


def test_hostile_xlsx_claiming_a_million_rows_reads_its_real_cells(tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["Speaker", "Text"])
    ws.append(["Kari", "We talked about the home visits."])
    ws.append(["Ola", "Supervision helped."])
    ws["XFD1048576"] = "x"
    path = tmp_path / "far.xlsx"
    wb.save(path)
    with zipfile.ZipFile(path) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
    assert 'ref="A1:XFD1048576"' in sheet and path.stat().st_size < 6000
    start = time.perf_counter()
    (t,) = read_xlsx(path, "far", "far.xlsx", {})
    assert time.perf_counter() - start < 30  # was a MemoryError after 6 GB
    assert [turn.speaker for turn in t.turns] == ["Kari", "Ola"]


def test_hostile_xlsx_with_too_many_real_cells_is_refused_in_one_line(tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["Speaker", "Text"])
    rows = MAX_SHEET_CELLS // 16384 + 2
    for r in range(2, rows + 2):  # one far cell a row: each row spans 16,384 columns
        ws.cell(row=r, column=1, value="Kari")
        ws.cell(row=r, column=16384, value="x")
    path = tmp_path / "wide.xlsx"
    wb.save(path)
    with pytest.raises(InputError) as caught:
        read_xlsx(path, "wide", "wide.xlsx", {})
    message = str(caught.value)
    assert "\n" not in message and "more than 5,000,000 cells" in message
    assert "column XFD" in message and caught.value.line is not None


# -- unreadable sub-folders and caches (real permissions) -------------------------------------


def _as_nobody(*args: str | Path) -> tuple[int, str]:
    def go() -> tuple[int, str]:
        result = invoke(*args)
        return result.exit_code, result.output

    return as_unprivileged(go)


def test_hostile_unreadable_sub_folder_is_reported(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus", n_files=2, manifest=False)
    (corpus / "sub").mkdir()
    (corpus / "sub" / "hidden.txt").write_text("Kari: The home visits.\n", encoding="utf-8")
    home = tmp_path / "home"
    home.mkdir()
    invoke("ingest", corpus, "--out", home / "warm.jsonl")  # imports, as this user
    give_to_nobody(corpus, home)
    reachable(home)
    os.chmod(corpus / "sub", 0)
    try:
        code, output = _as_nobody("ingest", corpus, "--strict", "--out", home / "a.jsonl")
        assert code == 1, output
        errors = [line for line in _lines(output) if line.startswith("error:")]
        assert errors == [
            f"error: {corpus}/sub: cannot read folder (Permission denied); its files were left out"
        ]
        code, output = _as_nobody("run", corpus, "--out", home / "run", "-q")
        assert code == 0, output
        assert f"{corpus}/sub: cannot read folder (Permission denied)" in output
        run = json.loads((home / "run" / "run.json").read_text())
        assert [s["path"] for s in run["skipped"]] == [f"{corpus}/sub"]
    finally:
        os.chmod(corpus / "sub", 0o755)


@pytest.mark.parametrize("kind", ["read-only", "full"])
def test_hostile_unusable_cache_warns_once_and_runs_without(tmp_path: Path, kind: str) -> None:
    corpus = write_corpus(tmp_path / "corpus", n_files=2)
    home = tmp_path / "home"
    home.mkdir()
    cache = tmp_path / "cache"
    cache.mkdir()
    invoke("run", corpus, "--out", home / "warm", "-q", "--cache-dir", tmp_path / "warm-cache")
    give_to_nobody(corpus, home)
    reachable(home)
    if kind == "read-only":
        os.chmod(cache, 0o555)  # and, under root, owned by root: nobody may write it
        code, output = _as_nobody("run", corpus, "--out", home / "run", "-q", "--cache-dir", cache)
    else:  # every write fails with ENOSPC, at the real system call
        os.symlink("/dev/full", cache / "embeddings.sqlite3")
        result = invoke("run", corpus, "--out", home / "run", "-q", "--cache-dir", cache)
        code, output = result.exit_code, result.output
    assert code == 0, output
    warnings = [line for line in _lines(output) if "embedding cache" in line]
    assert len(warnings) == 1 and warnings[0].startswith("warning: "), output
    assert "damaged" not in warnings[0] and "--cache-dir" in warnings[0]
    assert ("disk is full" in warnings[0]) == (kind == "full")
    run = json.loads((home / "run" / "run.json").read_text())
    assert run["embeddings"]["cache_off"] and run["outputs"]


def test_hostile_cache_file_and_folder_are_private(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path / "deep" / "cache")
    cache.put({"k": np.ones(4, dtype=np.float32)})
    assert stat.S_IMODE(cache.path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(cache.path.stat().st_mode) == 0o600
    assert cache.get(["k"])["k"].tolist() == [1.0] * 4 and cache.problem is None


def test_hostile_damaged_cache_file_is_still_an_error(tmp_path: Path) -> None:
    from cppthemes.errors import ModelError

    (tmp_path / "embeddings.sqlite3").write_bytes(b"not a database at all" * 100)
    with pytest.raises(ModelError, match="damaged"):
        EmbeddingCache(tmp_path).get(["k"])


@pytest.mark.skipif(not is_root(), reason="checks the helper's root path")
def test_hostile_unprivileged_helper_really_drops_root(tmp_path: Path) -> None:
    assert as_unprivileged(os.geteuid) == 65534
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o700)
    reachable(tmp_path)
    assert as_unprivileged(lambda: os.access(locked, os.W_OK)) is False


# -- tables.xlsx ------------------------------------------------------------------------------


def test_hostile_tables_xlsx_is_byte_reproducible(sample_run: Path, monkeypatch) -> None:
    from cppthemes.export import xlsx
    from cppthemes.runfolder import load_run

    result = load_run(sample_run)
    first = xlsx.render_xlsx(result)
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 3600 * 24 * 400)  # a later "now"
    later = xlsx.render_xlsx(result)
    assert first == later
    with zipfile.ZipFile(sample_run / "tables.xlsx") as z:
        assert {i.date_time for i in z.infolist()} == {(2000, 1, 1, 0, 0, 0)}
        assert b"2000-01-01T00:00:00Z</dcterms:modified>" in z.read("docProps/core.xml")


# -- pseudonymisation ---------------------------------------------------------------------------

ROLE_LIKE = ["Al", "Ai", "Ty", "Cy", "Mo", "Ma", "Mi", "Si", "Ro", "Ri", "Ivy", "Iva", "Ivo"]
ROLE_LIKE += ["Modi"]


@pytest.mark.parametrize("name", ROLE_LIKE)
def test_hostile_role_like_names_are_names(name: str) -> None:
    assert is_name(name)
    plain = f"Interviewer: Hello.\n{name}: I agree, {name} said so, and {name.upper()} too.\n"
    from cppthemes.ingest.text import parse_turns

    t = Transcript("t", "t.txt", "t.txt", "text", plain, tuple(parse_turns(plain, "t")))
    (new,), mapping = pseudonymize([t], listed=[name], not_names=["interviewer"])
    assert mapping == {name: "P01"}
    assert not re.search(rf"(?i)(?<![^\W\d_]){name}(?![^\W\d_])", new.plain_text), new.plain_text
    check_offsets(new)


@pytest.mark.parametrize("label", ["Speaker 1", "Speaker A", "P3", "P3a", "Int.", "Resp_B", "I"])
def test_hostile_role_labels_stay_roles(label: str) -> None:
    assert not is_name(label)


def test_hostile_listed_names_survive_nowhere(tmp_path: Path) -> None:
    zoe = unicodedata.normalize("NFD", "Zoë")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    topics = [
        "supervision group helped with difficult home visits",
        "waiting lists for therapy are long and stressful",
        "the new electronic journal system takes time from families",
        "cooperation with schools and teachers works well",
    ]
    lines = []
    for i in range(16):
        topic = topics[i % 4]
        lines.append(f"Interviewer: What about {topic.split()[1]}?")
        lines.append(f"Ivy: I think the {topic}, and Al said so too.")
        lines.append(
            f"Mo: Yes, {topic}; ask {zoe} or maria, or Maria_Hansen, write to "
            "maria.hansen@example.org or call +47 912 34 567 before 2026-12-01."
        )
    (corpus / "focus.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    names = tmp_path / "names.txt"
    names.write_text("Ivy\nAl\nMo\nZoë\nMaria Hansen\n", encoding="utf-8")
    out = tmp_path / "runs" / "run"
    result = invoke(
        "run", corpus, "--out", out, "-q", "--pseudonymize", "--names", names,
        "--set", "privacy.entities=false",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    files = _all_output_text(out)
    assert {"codebook.yaml", "report.md", "report.html", "run.json"} <= set(files)
    assert any(k.startswith("project.qdpx!") for k in files)
    assert any(k.startswith("tables.xlsx!") for k in files)
    survivors = ["ivy", "al", "mo", "zoë", "maria", "hansen", "example.org", "912 34 567"]
    for name, text in files.items():
        folded = unicodedata.normalize("NFC", text).casefold()
        for word in survivors:
            assert not re.search(rf"(?<![^\W\d_]){re.escape(word)}(?![^\W\d_])", folded), (
                name,
                word,
            )
    assert "[email]" in files["passages.jsonl"] and "[phone]" in files["passages.jsonl"]
    assert "2026-12-01" in files["passages.jsonl"]  # a date is not a phone number


def test_hostile_names_that_are_common_words_keep_the_words() -> None:
    p = Pseudonymizer()
    p.add("Will Hansen")
    p.add("Maria")
    text = "Will said it will rain; WILL, maria and MARIA came, hansen too."
    assert p.substitute(text) == "P01 said it will rain; P01, P02 and P02 came, P01 too."


def test_hostile_contacts_can_be_left_alone() -> None:
    p = Pseudonymizer(contacts=False)
    p.add("Maria Hansen")
    text = "Mail maria.hansen@example.org or call 912 34 567."
    assert p.substitute(text) == "Mail P01.P01@example.org or call 912 34 567."
