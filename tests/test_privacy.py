"""Privacy: pseudonyms in every output, and participants' words never in an error or log."""

from __future__ import annotations

import json
import re
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from cppthemes import coding
from cppthemes.cli.app import app
from cppthemes.pseudonymize import Pseudonymizer, pseudonym_map_path, pseudonymize
from cppthemes.records import Transcript
from tests.conftest import FAKE_MODEL_SCRIPT, ROOT, TOPICS, use_fake_model
from tests.test_ingest_formats import check_offsets

runner = CliRunner()

# People in the corpus below: speakers, a facilitator given by name, and names only mentioned.
SPEAKERS = ["Anna Berg", "Bjorn", "CARA"]
FACILITATOR = "Jana Novak"
MENTIONED = ["Dorothea", "Emil Strand"]  # in the text only; listed in the names file
NAMES = [*SPEAKERS, FACILITATOR, *MENTIONED]
# Every word of every name, as it might survive on its own.
NAME_WORDS = sorted({w.lower() for n in NAMES for w in n.split()})


def _private_corpus(folder: Path, n_files: int = 3) -> Path:
    folder.mkdir(parents=True)
    for f in range(n_files):
        lines = [f"{FACILITATOR}: Welcome. Dorothea sends her regards."]
        for t, (topic, sentences) in enumerate(TOPICS.items()):
            lines.append(f"{FACILITATOR}: What about {topic}? Anna, you first.")
            for s, sentence in enumerate(sentences):
                who = SPEAKERS[(f + t + s) % 3]
                aside = [" as Anna Berg said", " like Bjorn's dad", ", Emil Strand agrees", ""]
                lines.append(f"{who}: {sentence}{aside[s]}, file {f}.")
        (folder / f"group{f + 1}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def _all_output_text(folder: Path) -> dict[str, str]:
    """Every file of a run folder as text, zip members (qdpx, xlsx) unpacked."""
    out: dict[str, str] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                for member in z.namelist():
                    out[f"{path.name}!{member}"] = z.read(member).decode("utf-8", "replace")
        else:
            out[path.name] = path.read_bytes().decode("utf-8", "replace")
    return out


@pytest.fixture
def fake_model(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fake_model(monkeypatch)


def test_privacy_pseudonymize_no_name_survives_in_any_output(tmp_path: Path, fake_model) -> None:
    corpus = _private_corpus(tmp_path / "corpus")
    names_file = tmp_path / "names.txt"
    names_file.write_text("# people mentioned\nDorothea\nEmil Strand\n", encoding="utf-8")
    out = tmp_path / "runs" / "run"
    args = ["run", str(corpus), "--out", str(out), "--pseudonymize", "--names", str(names_file),
            "--facilitator", FACILITATOR, "--set", "privacy.entities=false"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    files = _all_output_text(out)
    expected = {"passages.jsonl", "codebook.yaml", "codes.csv", "passages.csv", "report.md",
                "report.html", "codebook.qdc", "transcripts.jsonl", "run.json"}  # fmt: skip
    assert expected <= set(files)
    assert any(k.startswith("project.qdpx!") for k in files)
    assert any(k.startswith("tables.xlsx!") for k in files)
    for name, text in files.items():
        for word in NAME_WORDS:
            assert not re.search(rf"\b{re.escape(word)}\b", text, re.IGNORECASE), (name, word)
    assert "P02" in files["passages.jsonl"] and "P02" in files["report.md"]

    # The mapping: beside the run folder, private, complete.
    mapping = pseudonym_map_path(out)
    assert mapping.parent == out.parent and mapping.is_file()
    assert stat.S_IMODE(mapping.stat().st_mode) == 0o600
    table = mapping.read_text(encoding="utf-8")
    for name in NAMES:
        assert f",{name}\n" in table
    run = json.loads(files["run.json"])
    assert run["privacy"] == {"pseudonymized": True, "pseudonyms": 6}

    # Offsets still point into the (pseudonymised) plain text.
    plain = {
        json.loads(line)["id"]: json.loads(line)["plain_text"]
        for line in files["transcripts.jsonl"].splitlines()
    }
    for line in files["passages.jsonl"].splitlines():
        p = json.loads(line)
        assert plain[p["transcript"]][p["char_start"] : p["char_end"]] == p["text"]

    # A second run keeps everyone's pseudonym.
    again = runner.invoke(app, args)
    assert again.exit_code == 0 and mapping.read_text(encoding="utf-8") == table
    assert (out / "passages.jsonl").read_text(encoding="utf-8") == files["passages.jsonl"]


def test_privacy_pseudonyms_stable_and_offsets_consistent() -> None:
    plain = "Anna: I met Bob and ANNA's friend.\nInterviewer: And Bob?\nBob Smith: Yes, Anna.\n"
    from cppthemes.ingest.text import parse_turns

    t = Transcript("t", "t.txt", "t.txt", "text", plain, tuple(parse_turns(plain, "t")))
    (new,), mapping = pseudonymize([t], names=["Bob"], not_names=["interviewer"])
    assert mapping == {"Anna": "P01", "Bob Smith": "P02"}  # "Bob" is part of "Bob Smith"
    assert (
        new.plain_text
        == "P01: I met P02 and P01's friend.\nInterviewer: And P02?\nP02: Yes, P01.\n"
    )
    assert [turn.speaker for turn in new.turns] == ["P01", "Interviewer", "P02"]
    check_offsets(new)
    # Known names keep their pseudonyms; a new one gets the next number.
    again = Pseudonymizer(mapping)
    assert again.add("Anna") == "P01" and again.add("Zed") == "P03"


def test_privacy_generic_labels_are_not_names() -> None:
    from cppthemes.pseudonymize import is_name

    for label in ["Speaker 1", "P3", "Interviewer", "I", "R", "Participant 12", "Moderator"]:
        assert not is_name(label), label
    for label in ["Anna", "Dr. Lee", "Jana Novak"]:
        assert is_name(label), label


def test_privacy_entities_from_trained_pipeline_when_installed() -> None:
    spacy = pytest.importorskip("spacy")
    from cppthemes.pseudonymize import ENTITY_MODELS, entity_names

    if not any(spacy.util.is_package(m) for m in ENTITY_MODELS):
        pytest.skip("no trained spaCy pipeline with NER installed (optional)")
    plain = "Interviewer: Who helped?\nP1: My neighbour Margaret Thompson helped a lot.\n"
    from cppthemes.ingest.text import parse_turns

    t = Transcript("t", "t.txt", "t.txt", "text", plain, tuple(parse_turns(plain, "t")))
    assert "Margaret Thompson" in entity_names([t])
    (new,), _ = pseudonymize([t])
    assert "Margaret" not in new.plain_text and "Thompson" not in new.plain_text
    check_offsets(new)


# -- no leaks ---------------------------------------------------------------------------------

SECRET = "My daughter Wilhelmina ran away on the fourteenth of March"


def _secret_corpus(folder: Path) -> Path:
    folder.mkdir(parents=True)
    lines = ["Facilitator: What happened?"]
    for i, sentences in enumerate(TOPICS.values()):
        lines += [f"Anna: {s}." for s in sentences]
        lines.append(f"Ben: {SECRET}, said in part {i}.")
    (folder / "t.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def _boom(*args, **kwargs):
    raise ValueError(f"cannot cluster {SECRET!r} with {args!r}")


FAILURES = {
    "bad config": (["--set", "cluster.min_size=zero"], None),
    "missing model": (["--set", 'embed.model="nobody/none"'], None),
    "clustering bug": ([], ("cluster", _boom)),
    "labelling bug": ([], ("label", _boom)),
    "write error": (["--out", "/proc/forbidden/run"], None),
    "interrupt": ([], ("cluster", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt()))),
}


@pytest.mark.parametrize("stage", list(FAILURES))
def test_privacy_failing_runs_never_print_passage_text(
    stage: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = _secret_corpus(tmp_path / "c")
    extra, patch = FAILURES[stage]
    if stage != "missing model":
        use_fake_model(monkeypatch)
    if patch is not None:
        monkeypatch.setattr(coding, patch[0], patch[1])
    args = ["run", str(corpus), "--out", str(tmp_path / "out"), *extra]
    result = runner.invoke(app, args)
    assert result.exit_code != 0
    assert SECRET not in result.output and "Wilhelmina" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(("error:", "internal error", "interrupted")), last
    if "bug" in stage:
        assert result.exit_code == 3 and "--debug" in last


def test_privacy_internal_error_in_a_real_process_has_no_traceback(tmp_path: Path) -> None:
    """Outside CliRunner: the real console script, with an exception carrying passage text."""
    corpus = _secret_corpus(tmp_path / "c")
    script = (
        "import sys; from cppthemes import coding; from cppthemes.cli import app as cli\n"
        + FAKE_MODEL_SCRIPT
        + "def boom(vectors, cfg, *a, **k):\n"
        f"    raise RuntimeError({SECRET!r})\n"
        "coding.cluster = boom\n"
        "sys.argv = ['cppthemes', *sys.argv[1:]]; cli.main()\n"
    )
    cmd = [sys.executable, "-c", script, "run", str(corpus), "--out", str(tmp_path / "o")]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 3
    assert SECRET not in done.stderr + done.stdout and "Traceback" not in done.stderr
    debug = subprocess.run(
        [*cmd[:3], "--debug", *cmd[3:]], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert "Traceback" in debug.stderr  # asked for: shown


def test_privacy_run_json_records_hashes_not_contents(tmp_path: Path, fake_model) -> None:
    corpus = _secret_corpus(tmp_path / "c")
    out = tmp_path / "out"
    assert runner.invoke(app, ["run", str(corpus), "--out", str(out), "-q"]).exit_code == 0
    text = (out / "run.json").read_text(encoding="utf-8")
    assert "Wilhelmina" not in text
    run = json.loads(text)
    import hashlib

    (entry,) = run["inputs"]["transcripts"]
    assert entry["sha256"] == hashlib.sha256((corpus / "t.txt").read_bytes()).hexdigest()
    for name, digest in run["outputs"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest, name


def test_privacy_embedding_cache_holds_no_text(tmp_path: Path, fake_model) -> None:
    corpus = _secret_corpus(tmp_path / "c")
    cache = tmp_path / "cache"
    args = ["run", str(corpus), "--out", str(tmp_path / "o"), "--cache-dir", str(cache)]
    assert runner.invoke(app, args).exit_code == 0
    raw = (cache / "embeddings.sqlite3").read_bytes()
    assert b"Wilhelmina" not in raw and np.frombuffer(raw[:16], dtype=np.uint8).size == 16


def test_privacy_mapping_is_never_inside_the_run_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for given in (Path("."), Path("run"), Path("run/"), tmp_path / "a" / "run"):
        path = pseudonym_map_path(given)
        assert given.resolve() not in path.resolve().parents, given
