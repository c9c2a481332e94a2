"""Quotes worth reading, central sentences, phrase names, people and adaptive themes (issue 17)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cppthemes import people, procedural
from cppthemes.cluster.themes import cut_tree, theme_linkage, weighted_silhouette
from cppthemes.config import Config, ThemesConfig
from cppthemes.ingest import load_corpus
from cppthemes.label_phrases import acronyms, phrase_label
from cppthemes.own_words import own_span, own_text
from cppthemes.pipeline import run
from cppthemes.quotes import central_sentence, pick_quotes, sentences
from cppthemes.records import Passage, Result
from cppthemes.segment import segment
from tests.conftest import FakeEmbedder, SampleRuns

MIXED = (
    "Interviewer: How did the home visits go?\n"
    "maria: Honestly the first home visits left me feeling unprepared and alone with the "
    "family.\n"
    "Erik: Wow.\n"
    "Interviewer: And later?\n"
    "maria: Later the supervisor came along twice and the checklist finally made sense to me.\n"
    "erik: Mm.\n"
)


def _corpus(tmp_path: Path, text: str = MIXED, name: str = "visit.txt") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _passages(path: Path) -> tuple[list[Passage], dict[str, object]]:
    cfg = Config()
    corpus = load_corpus([path], cfg.ingest, known_facilitators=cfg.ingest.facilitator_labels)
    passages, _ = segment(corpus.transcripts, cfg.segment, sentencizer=sentences)
    return passages, {t.id: t for t in corpus.transcripts}


def test_quote_leaves_out_another_speakers_backchannel(tmp_path: Path) -> None:
    passages, transcripts = _passages(_corpus(tmp_path))
    first = passages[0]
    assert "Erik: Wow." in first.text  # the back-channel was merged into the passage
    turns = {tid: t.turns for tid, t in transcripts.items()}  # type: ignore[attr-defined]
    start, end, omitted = own_span(first, turns)
    plain = transcripts[first.transcript_id].plain_text  # type: ignore[attr-defined]
    assert "Erik" not in plain[start:end] and omitted == ("Erik: Wow.",)
    assert own_text(first, turns) == plain[start:end]
    vectors = np.eye(len(passages))
    texts = {tid: t.plain_text for tid, t in transcripts.items()}  # type: ignore[attr-defined]
    quotes = pick_quotes([0], passages, vectors, vectors[0], 3, turns=turns, texts=texts)
    assert len(quotes) == 1
    q = quotes[0]
    assert q.text == plain[q.char_start : q.char_end] and "Erik" not in q.text
    assert q.omitted == ("Erik: Wow.",)
    assert q.line == 2 and q.line_end == 2


def test_quote_cites_its_full_line_range(tmp_path: Path) -> None:
    text = (
        "Interviewer: Tell me about the waiting list.\n"
        "Anna: The waiting list for the parenting course lasted six long months\n"
        "and nobody at the clinic ever explained the delay to our family.\n"
    )
    path = _corpus(tmp_path, text, "multi.txt")
    result = run([path], Config(), embedder=FakeEmbedder())
    quotes = [q for c in result.codes for q in c.quotes]
    assert not quotes or all(q.line_end >= q.line for q in quotes)
    passages, transcripts = _passages(path)
    p = passages[0]
    plain = transcripts[p.transcript_id].plain_text  # type: ignore[attr-defined]
    vectors = np.eye(1)
    q = pick_quotes([0], passages, vectors, vectors[0], 1, texts={p.transcript_id: plain})[0]
    assert (q.line, q.line_end) == (2, 3) and q.where == "lines 2-3"


def test_no_quote_is_small_talk_or_short(tmp_path: Path) -> None:
    lines = ["Interviewer: Welcome everyone."]
    lines += [f"P{i}: Hi all, can you hear me? Okay." for i in range(1, 4)]
    lines += [f"P{i}: xxx, xx, xxx." for i in range(1, 4)]
    lines += [f"P{i}: [redacted] [redacted] [redacted] ***" for i in range(1, 4)]
    lines += [f"P{i}: Sorry, that's my phone, sorry." for i in range(1, 4)]
    lines += [
        f"P{i}: The waiting list for the parenting course lasted {n} months and nobody "
        "explained the delay."
        for i, n in zip(range(1, 4), ("six", "seven", "eight"), strict=True)
    ]
    lines += ["P1: I have to run. But thank you, everyone."]
    result = run([_corpus(tmp_path, "\n".join(lines) + "\n", "fg.txt")], Config(),
                 embedder=FakeEmbedder())  # fmt: skip
    for code in result.codes:
        for q in code.quotes:
            assert procedural.quotable(q.text), q.text
            assert "xxx" not in q.text and "[redacted]" not in q.text and "phone" not in q.text
    binned = result.info.procedural
    # Short mask turns are back-channels to segment (merged into a neighbour); the rest bin.
    assert isinstance(binned, dict) and binned["passages"] >= 5
    assert set(binned["kinds"]) >= {"greeting", "mask", "technical"}
    for pid in binned["passage_ids"]:
        assert result.passage_codes[pid] is None


def test_sample_run_quotes_descriptions_and_people(sample_runs: SampleRuns) -> None:
    result: Result = sample_runs.result()  # data/sample, default settings, the fake embedder
    plain = {t.id: t.plain_text for t in result.transcripts}
    speakers = {p.speaker for p in result.passages}
    for code in result.codes:
        for q in code.quotes:
            assert q.text == plain[q.transcript_id][q.char_start : q.char_end]
            assert procedural.content_words(q.text) >= procedural.QUOTE_MIN_WORDS
            assert not any(f"\n{s}:" in q.text for s in speakers - {q.speaker})
        if code.central is not None:
            c = code.central
            assert c.text == plain[c.transcript_id][c.char_start : c.char_end]
            assert any(c.text in q.text for q in code.quotes)
            assert procedural.quotable(c.text)
        assert 1 <= len(code.label.split()) <= 6
    info = result.info.people
    assert isinstance(info, dict)
    # data/sample: the same named people speak in wave 1 and wave 2.
    assert info["people"] < info["speaker_transcript_pairs"]
    assert 3 <= len(result.themes) <= 12


@pytest.mark.parametrize(
    ("label", "generic"),
    [
        ("Maria", False), ("erik", False), ("Anne-Marie", False), ("Kari Nordmann", False),
        ("Speaker 2", True), ("P3", True), ("A", True), ("Grad A", True),
        ("Project Manager", True), ("Deltaker 4", True), ("Teilnehmerin 2", True), ("R1", True),
    ],
)  # fmt: skip
def test_people_generic_labels(label: str, generic: bool) -> None:
    assert people.is_generic(label) is generic


def _p(transcript: str, speaker: str, **meta: str) -> Passage:
    return Passage(id=f"{transcript}{speaker}", transcript_id=transcript, source=transcript,
                   speaker=speaker, role="participant", text="x", turn_start=0, turn_end=0,
                   line_start=1, line_end=1, char_start=0, char_end=1, metadata=meta)  # fmt: skip


def test_people_across_transcripts() -> None:
    # Maria in two waves is one person; P1 of two groups is two; a manifest id links labels.
    ps = [_p("w1", "Maria"), _p("w2", "maria"), _p("g1", "P1"), _p("g2", "P1")]
    assert people.count_people(ps) == 3
    linked = [_p("a", "Kari", participant_ids="Kari=ID7"), _p("b", "K.", participant_ids="K.=ID7")]
    assert people.count_people(linked) == 1
    single = [_p("i1", "Respondent", participant="ID9"), _p("i2", "Speaker 1", participant="ID9")]
    assert people.count_people(single) == 1
    assert "generic" in people.summary(ps)["rule"]  # type: ignore[operator]


def test_phrase_label_prefers_phrases_and_keeps_acronyms() -> None:
    caps = acronyms(["The CPP group met. CPP again.", "cpp once", "the CPP is fine", "CPP!"])
    assert "cpp" in caps
    taken: set[str] = set()
    assert phrase_label(["cpp", "cpp family", "wait"], taken, "C01", caps) == "CPP family"
    assert phrase_label(["cpp family", "home visit"], taken, "C02", caps) == "home visit"
    assert phrase_label(["budget", "manager"], taken, "C03", caps) == "budget, manager"
    assert phrase_label([], taken, "C04", caps) == "C04"


def test_central_sentence_is_verbatim_and_closest() -> None:
    from cppthemes.records import Quote

    text = "Hi there. The home visits left me feeling unprepared and alone every time. Okay."
    q = Quote(passage_id="p", text=text, source="a.txt", transcript_id="a", speaker="S",
              line=4, char_start=100, char_end=100 + len(text), similarity=0.9)  # fmt: skip
    found = central_sentence([q], np.ones(3) / np.sqrt(3), None)
    assert found is not None and found.text.startswith("The home visits")
    assert found.char_start == 100 + text.index("The home") and found.line == 4
    assert central_sentence([], np.ones(3), None) is None


def test_adaptive_themes_between_three_and_twelve() -> None:
    rng = np.random.default_rng(1)
    for n_groups, per in [(2, 6), (5, 4), (20, 3)]:
        centres = rng.normal(size=(n_groups, 16))
        cents = np.vstack([c + 0.05 * rng.normal(size=(per, 16)) for c in centres])
        tree = theme_linkage(cents)
        groups = cut_tree(tree, len(cents), ThemesConfig(), cents, [1] * len(cents))
        assert 3 <= len(set(groups.tolist())) <= 12
    # Five clear groups of codes are found as five themes.
    centres = np.eye(16)[:5] * 3
    cents = np.vstack([c + 0.05 * rng.normal(size=(4, 16)) for c in centres])
    groups = cut_tree(theme_linkage(cents), 20, ThemesConfig(), cents, [1] * 20)
    assert len(set(groups.tolist())) == 5
    assert weighted_silhouette(cents, groups, np.ones(20)) > 0.5
    assert cut_tree(theme_linkage(cents), 20, ThemesConfig(n_themes=2)).max() == 1


def test_quote_drops_opening_and_closing_courtesies() -> None:
    from cppthemes.quotes import trim_courtesies

    text = (
        "Thank you, Madam Chair. Small businesses have been hit extremely hard by the shutdown "
        "and many owners cannot pay their rent this month. Thanks."
    )
    p = Passage(id="p", transcript_id="t", source="t.txt", speaker="MP", role="participant",
                text=text, turn_start=0, turn_end=0, line_start=1, line_end=1, char_start=10,
                char_end=10 + len(text))  # fmt: skip
    start, end, _ = trim_courtesies(p, (10, 10 + len(text), ()), procedural.blocked_words())
    quoted = text[start - 10 : end - 10]
    assert quoted.startswith("Small businesses") and quoted.endswith("this month.")
    # Nothing is trimmed when what would be left is too short to quote.
    short = "Thank you. The rent is due."
    p2 = Passage(id="q", transcript_id="t", source="t.txt", speaker="MP", role="participant",
                 text=short, turn_start=0, turn_end=0, line_start=1, line_end=1, char_start=0,
                 char_end=len(short))  # fmt: skip
    assert trim_courtesies(p2, (0, len(short), ()), procedural.blocked_words())[:2] == (
        0,
        len(short),
    )


def test_run_folder_keeps_quote_spans_central_sentence_and_bin(
    sample_runs: SampleRuns, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from cppthemes.cli.app import app
    from cppthemes.runfolder import load_run

    # `cppthemes run data/sample -q` with the fake model (shared, conftest); a copy of its
    # own, as the export below writes into the folder.
    out = sample_runs.cli().copy_to(tmp_path / "run")
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "In their words:" in report and "## Procedural bin" in report
    back = load_run(out)
    plain = {t.id: t.plain_text for t in back.transcripts}
    assert any(c.central is not None for c in back.codes)
    for code in back.codes:
        for q in code.quotes:
            assert q.text == plain[q.transcript_id][q.char_start : q.char_end]
    again = CliRunner().invoke(app, ["export", str(out), "--to", "md"])
    assert again.exit_code == 0, again.output
    assert (out / "report.md").read_text(encoding="utf-8") == report
