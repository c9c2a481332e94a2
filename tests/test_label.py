from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from cppthemes import procedural
from cppthemes.cluster.codes import centroids
from cppthemes.config import ClusterConfig, Config, LabelConfig
from cppthemes.label import (
    TermMatrix,
    class_keyphrases,
    class_scores,
    passage_terms,
    pick_quotes,
    prevalence,
    rerank,
    separation,
    short_label,
)
from cppthemes.nlp import TRAINED, has_parser, load_nlp, stop_words
from cppthemes.own_words import own_span
from cppthemes.pipeline import run
from cppthemes.quotes import QUOTE_POOL
from cppthemes.records import Code, Passage, Result, passage_id
from tests.conftest import SAMPLE, FakeEmbedder, SampleRuns


def P(i: int, text: str, speaker: str = "Anna", transcript: str = "t1", wave: str = "1") -> Passage:
    return Passage(
        id=passage_id(transcript, i * 100, i * 100 + len(text)), transcript_id=transcript,
        source=f"{transcript}.txt", speaker=speaker, role="participant", text=text,
        turn_start=i, turn_end=i, line_start=i + 1, line_end=i + 1,
        char_start=i * 100, char_end=i * 100 + len(text), metadata={"wave": wave},
    )  # fmt: skip


def test_label_terms_drop_stop_words_fillers_and_names() -> None:
    terms = passage_terms(
        [P(0, "Yeah, you know, Anna and I think the reflective supervision helps.")],
        LabelConfig(),
        names=["Anna"],
    )[0]
    assert "reflective supervision" in terms and "supervision" in terms
    for bad in ("yeah", "know", "anna", "the", "think", "and reflective"):
        assert bad not in terms


def test_label_ngrams_never_bridge_removed_words() -> None:
    terms = passage_terms([P(0, "waiting list and the budget")], LabelConfig())[0]
    assert "waiting list" in terms or "wait list" in terms
    assert not any("budget" in t and " " in t for t in terms)


def test_label_ctfidf_prefers_distinctive_phrases() -> None:
    terms = [
        ["budget", "meeting"],
        ["budget", "manager", "meeting"],
        ["forms", "meeting"],
        ["forms", "paperwork", "meeting"],
    ]
    top = class_keyphrases(terms, [[0, 1], [2, 3]], 1)
    assert top == [["budget"], ["forms"]]


def test_label_short_label_is_unique() -> None:
    taken: set[str] = set()
    assert short_label(["budget", "manager"], taken, "C01") == "budget, manager"
    assert short_label(["budget", "manager", "time"], taken, "C02") == "budget, time"
    assert short_label(["budget", "manager"], taken, "C03") == "budget, manager (C03)"
    assert short_label([], taken, "C04") == "C04"
    # Same words in another order are the same name; parts never repeat a word.
    assert short_label(["manager", "budget", "plan"], taken, "C05") == "manager, plan"
    assert short_label(["cpp", "cpp family", "wait"], taken, "C06") == "cpp, wait"
    assert short_label(["waiting list", "summer"], taken, "C07") == "waiting list"
    assert taken >= {"budget, manager", "budget, time", "manager, plan", "waiting list"}


def test_label_short_label_has_two_to_four_words() -> None:
    taken: set[str] = set()
    for phrases in (["a b c", "d e", "f"], ["one", "two three four"], ["x y z w", "v"]):
        words = short_label(phrases, taken, "C01").replace(",", " ").split()
        assert 2 <= len(words) <= 4, words


def test_label_quotes_verbatim_spread_over_speakers() -> None:
    passages = [
        P(
            i,
            f"waiting list families programme budget manager grew in week {i}",
            speaker="Anna" if i < 3 else "Ben",
        )
        for i in range(5)
    ]
    vectors = np.array([[1, 0], [0.99, 0.14], [0.98, 0.2], [0.9, 0.44], [0.8, 0.6]], dtype=float)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    quotes = pick_quotes(range(5), passages, vectors, np.array([1.0, 0.0]), 2)
    assert [q.speaker for q in quotes] == ["Anna", "Ben"]
    assert all(
        q.text == passages[[p.id for p in passages].index(q.passage_id)].text for q in quotes
    )


def test_label_prevalence_counts_groups() -> None:
    passages = [
        P(0, "a", "Anna", "t1", "1"),
        P(1, "b", "Ben", "t1", "1"),
        P(2, "c", "Anna", "t2", "2"),
        P(3, "d", "Cara", "t2", "2"),
    ]
    prev = prevalence([0, 1, 2], passages, 2)
    # Anna in t1 and t2 is one person (a name recurring in the study): issue 17.
    assert (prev.passages, prev.speakers, prev.transcripts) == (3, 2, 2)
    assert prev.by_metadata == {"wave": {"1": 2, "2": 1}}


def test_label_terms_drop_names_spoken_about_but_keep_acronyms() -> None:
    passages = [
        P(0, "Torunn told us the CPP training was long."),
        P(1, "We asked Torunn about the CPP manual and the training."),
        P(2, "Training with Torunn helped."),
    ]
    terms = passage_terms(passages, LabelConfig())
    flat = {g for grams in terms for g in grams}
    assert "torunn" not in flat and not any("torunn" in g.split() for g in flat)
    assert "cpp" in flat and flat & {"training", "train"}


def test_label_terms_fix_bad_lookup_lemmas() -> None:
    terms = passage_terms(
        [P(0, "The agenda had a second number of missing data items.")], LabelConfig()
    )[0]
    assert {"agenda", "number", "missing", "data"} <= set(terms)
    assert not {"agendum", "numb", "datum", "2"} & set(terms)


def test_label_terms_norwegian_stop_words_and_fillers() -> None:
    cfg = LabelConfig(language="nb")
    text = "Ja, altså, jeg synes at ventelisten er altfor lang for familiene i kommunen."
    terms = passage_terms([P(0, text)], cfg)[0]
    assert "ventelisten" in terms and "familiene" in terms
    for bad in ("ja", "altså", "jeg", "synes", "at", "er", "for", "i"):
        assert bad not in terms


def test_label_rerank_prefers_close_and_varied_phrases() -> None:
    basis = {
        "budget": [1.0, 0.0, 0.0],
        "budgets": [0.99, 0.14, 0.0],
        "leader": [0.0, 1.0, 0.0],
        "noise": [0.0, 0.0, 1.0],
    }

    def embed_texts(texts: Sequence[str]) -> np.ndarray:
        return np.array([basis[t] for t in texts], dtype=float)

    # c-TF-IDF ranks "noise" first; the centre points at budget and leader.
    candidates = [[("noise", 1.0), ("budget", 0.9), ("budgets", 0.85), ("leader", 0.8)]]
    centre = np.array([[0.8, 0.6, 0.0]])
    plain = rerank(candidates, centre, embed_texts, top=3, weight=0.0, diversity=0.0)
    assert plain == [["noise", "budget", "budgets"]]
    close = rerank(candidates, centre, embed_texts, top=2, weight=1.0, diversity=0.0)
    assert close[0][0] in {"budget", "budgets"} and "noise" not in close[0]
    varied = rerank(candidates, centre, embed_texts, top=2, weight=1.0, diversity=0.6)
    assert set(varied[0]) in ({"budget", "leader"}, {"budgets", "leader"})


def test_label_separation_flags_overlapping_codes() -> None:
    # Codes 0 and 1 lie close together; code 2 stands apart.
    vectors = np.array(
        [[1, 0, 0], [0.98, 0.2, 0], [0.9, 0.44, 0], [0.8, 0.6, 0], [0, 0, 1], [0, 0.2, 0.98]],
        dtype=float,
    )
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    labels = np.array([0, 0, 1, 1, 2, 2])
    cents = centroids(vectors, labels, 3)
    fit = separation(vectors, labels, cents)
    coherence, distinct, nearest = zip(*fit, strict=True)
    assert all(c > 0.95 for c in coherence)
    assert nearest[:2] == (1, 0)
    assert distinct[2] > 0.8 and distinct[0] < 0.2 and distinct[1] < 0.2
    assert all(d <= c for c, d in zip(coherence, distinct, strict=True))


@pytest.fixture(scope="module")
def sample_run(sample_runs: SampleRuns) -> Result:
    """The bundled sample corpus through the whole pipeline with the fake embedder and the
    default settings (the session's shared run, conftest)."""
    return sample_runs.result()


def _banned(cfg: LabelConfig) -> set[str]:
    return {w.lower() for w in cfg.fillers} | set(stop_words(cfg.language))


def test_label_sample_top_keyphrases_have_no_filler_or_stop_word(sample_run: Result) -> None:
    banned = _banned(LabelConfig())
    assert sample_run.codes
    for code in sample_run.codes:
        assert code.keyphrases, code.id
        for phrase in code.keyphrases[:10]:
            assert not set(phrase.split()) & banned, (code.id, phrase)


def test_label_sample_labels_unique_and_short(sample_run: Result) -> None:
    names = [c.label for c in sample_run.codes] + [t.label for t in sample_run.themes]
    assert len(names) == len(set(names))
    speakers = sorted({t.speaker for tr in sample_run.transcripts for t in tr.turns})
    terms = passage_terms(sample_run.passages, LabelConfig(), speakers)
    index = {p.id: i for i, p in enumerate(sample_run.passages)}
    for code in sample_run.codes:
        words = code.label.lower().replace(",", " ").split()
        assert 2 <= len(words) <= 6, code.label
        # Every part of the name is a candidate phrase of the code's own passages.
        own = {g for pid in code.passage_ids for g in terms[index[pid]]}
        assert all(part.strip() in own for part in code.label.lower().split(",")), code.label


def test_label_sample_quotes_verbatim_with_provenance(sample_run: Result) -> None:
    plain = {t.id: t for t in sample_run.transcripts}
    by_id = {p.id: p for p in sample_run.passages}
    for code in sample_run.codes:
        quotable = [p for p in _quotable_members(sample_run, code)]
        assert len(code.quotes) == min(5, len(quotable)) and code.quotes, code.id
        assert len({q.passage_id for q in code.quotes}) == len(code.quotes)
        for q in code.quotes:
            source = plain[q.transcript_id]
            assert q.text == source.plain_text[q.char_start : q.char_end]
            assert q.passage_id in code.passage_ids
            lines = source.plain_text.split("\n")
            assert q.text.split("\n")[0] in lines[q.line - 1]
            assert q.text.split("\n")[-1] in lines[q.line_end - 1]
            assert q.speaker == by_id[q.passage_id].speaker
            # One speaker's words: no other speaker's label starts a line of the quote.
            others = {p.speaker for p in sample_run.passages} - {q.speaker}
            assert not any(line.startswith(f"{o}:") for o in others for line in q.text.split("\n"))
            assert q.metadata == source.metadata and "wave" in q.metadata


def _quotable_members(result: Result, code: Code) -> list[Passage]:
    """The code's passages whose own speaker's words pass the quote rule."""
    by_id = {p.id: p for p in result.passages}
    turns = {t.id: t.turns for t in result.transcripts}
    out = []
    for pid in code.passage_ids:
        p = by_id[pid]
        a, b, _ = own_span(p, turns)
        if procedural.quotable(p.text[a - p.char_start : b - p.char_start]):
            out.append(p)
    return out


def test_label_sample_quotes_spread_over_speakers_and_files(sample_run: Result) -> None:
    for code in sample_run.codes:
        members = _quotable_members(sample_run, code)
        files = {p.transcript_id for p in members}
        speakers = {(p.transcript_id, p.speaker) for p in members}
        quoted_files = {q.transcript_id for q in code.quotes}
        quoted_speakers = {(q.transcript_id, q.speaker) for q in code.quotes}
        # Every quote from a new transcript and a new speaker while there are any left.
        assert len(quoted_files) == min(len(code.quotes), len(files)), code.id
        assert len(quoted_speakers) == min(len(code.quotes), len(speakers)), code.id


def test_label_sample_prevalence_and_fit(sample_run: Result) -> None:
    for code in sample_run.codes:
        prev = code.prevalence
        assert prev.passages == code.size
        assert prev.transcripts <= prev.transcripts_total == 8
        assert sum(prev.by_metadata["wave"].values()) == code.size
        assert code.distinctiveness <= code.coherence
        assert code.nearest_code in {c.id for c in sample_run.codes} - {code.id}
        assert code.weak == (code.coherence < 0.5 or code.distinctiveness < 0.15)


def test_label_quote_count_is_configurable() -> None:
    cfg = Config(label=LabelConfig(quotes=2), cluster=ClusterConfig(n_codes=4))
    result = run([SAMPLE], cfg, embedder=FakeEmbedder())
    assert all(len(c.quotes) == 2 for c in result.codes)


def test_label_noun_chunks_with_trained_pipeline() -> None:
    if not any(importlib.util.find_spec(name) for name in TRAINED["en"]):
        pytest.skip("no trained English spaCy pipeline installed (optional)")
    assert has_parser(load_nlp("en"))
    text = "The new fidelity form takes ages, and the waiting list keeps growing quickly."
    terms = set(passage_terms([P(0, text), P(1, text)], LabelConfig())[0])
    assert {"fidelity form", "new fidelity form"} <= terms
    assert terms & {"waiting list", "wait list"}
    assert "quickly" not in terms  # adverbs never name a code on their own


def test_label_language_auto_detects_norwegian(tmp_path: Path) -> None:
    folder = tmp_path / "nb"
    folder.mkdir()
    lines = [
        "Intervjuer: Hvordan er ventelisten hos dere nå?",
        "Kari: Ja, altså, ventelisten er altfor lang, og familiene venter i månedsvis.",
        "Ole: Vi har ikke nok behandlere, så ventelisten blir bare lengre for familiene.",
        "Kari: Kommunen har kuttet budsjettet, og ventelisten vokser hver måned.",
        "Intervjuer: Hva med veiledningen?",
        "Ole: Veiledningen hjelper meg mye, jeg får snakket om vanskelige saker med veilederen.",
        "Kari: Veiledningen gir trygghet, og veilederen kjenner sakene godt.",
        "Ole: Uten veiledningen hadde jeg ikke klart de vanskelige sakene.",
    ]
    (folder / "gruppe1.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    cfg = Config(label=LabelConfig(language="auto"), cluster=ClusterConfig(n_codes=2, min_size=2))
    result = run([folder], cfg, embedder=FakeEmbedder())
    assert result.info.language == {"setting": "auto", "used": "nb"}
    words = {w for c in result.codes for k in c.keyphrases for w in k.split()}
    assert "ventelisten" in words or "veiledningen" in words
    assert not words & (set(stop_words("nb")) | {"ja", "altså"})


def test_label_settings_never_change_the_clustering(corpus: Path) -> None:
    plain = Config(label=LabelConfig(rerank_weight=0.0, quotes=1), cluster=ClusterConfig(n_codes=3))
    tuned = Config(label=LabelConfig(rerank_weight=1.0, diversity=0.9), cluster=plain.cluster)
    a = run([corpus], plain, embedder=FakeEmbedder())
    b = run([corpus], tuned, embedder=FakeEmbedder())
    assert a.passage_codes == b.passage_codes
    assert [c.passage_ids for c in a.codes] == [c.passage_ids for c in b.codes]


def test_label_term_matrix_counts_and_reads_back() -> None:
    matrix = TermMatrix.from_lists(
        iter([["budget", "meeting", "budget"], [], ["waiting list", "budget"]])
    )
    assert list(matrix.vocab) == ["budget", "meeting", "waiting list"]  # sorted columns
    assert matrix.counts.toarray().tolist() == [[2, 1, 0], [0, 0, 0], [1, 0, 1]]
    assert matrix[0] == ["budget", "meeting"] and matrix[1] == [] and len(matrix) == 3
    assert list(matrix)[2] == ["budget", "waiting list"]
    empty = TermMatrix.from_lists([[], []])
    assert class_keyphrases(empty, [[0, 1]], 3) == [[]]


def test_label_class_scores_same_from_lists_and_matrix() -> None:
    terms = [
        ["budget", "meeting", "budget manager"],
        ["budget", "manager", "meeting", "budget manager"],
        ["forms", "meeting", "paperwork"],
        ["forms", "paperwork", "meeting", "forms"],
        ["weather"],
    ]
    groups = [[0, 1], [2, 3]]
    assert class_scores(terms, groups, 5) == class_scores(TermMatrix.from_lists(terms), groups, 5)


def test_label_passage_terms_is_a_sparse_matrix_over_the_corpus() -> None:
    topics = ["budget meeting", "fidelity form", "home visit", "reflective supervision"]
    passages = [P(i, f"The waiting list and the {topics[i % 4]} were long.") for i in range(40)]
    matrix = passage_terms(passages, LabelConfig())
    assert isinstance(matrix, TermMatrix) and matrix.counts.shape[0] == 40
    assert matrix.counts.nnz < matrix.counts.shape[0] * matrix.counts.shape[1] / 2
    assert all("waiting list" in row or "wait list" in row for row in matrix)


def test_label_quotes_come_from_the_passages_closest_to_the_centre() -> None:
    rng = np.random.default_rng(0)
    n = QUOTE_POOL * 3
    vectors = rng.normal(size=(n, 8))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    centre = vectors.mean(axis=0)
    centre /= np.linalg.norm(centre)
    text = "waiting list families programme budget manager grew in week {}"
    passages = [P(i, text.format(i), speaker=f"S{i}", transcript=f"t{i % 50}") for i in range(n)]
    quotes = pick_quotes(range(n), passages, vectors, centre, 5)
    closest = set(np.argsort(-(vectors @ centre), kind="stable")[:QUOTE_POOL].tolist())
    index = {p.id: i for i, p in enumerate(passages)}
    assert len(quotes) == 5 and all(index[q.passage_id] in closest for q in quotes)
    assert len({q.transcript_id for q in quotes}) == 5  # spread over files


def test_term_matrix_without_scipy_sums_as_scipy_does() -> None:
    """TermMatrix keeps the CSR arrays itself (no scipy.sparse import on a rerun); its group
    sums and document counts are SciPy's, and ``counts`` is the same SciPy matrix."""
    from scipy import sparse

    rng = np.random.default_rng(4)
    words = [f"w{i}" for i in range(40)]
    lists = [[str(w) for w in rng.choice(words, size=int(rng.integers(0, 12)))] for _ in range(80)]
    matrix = TermMatrix.from_lists(lists)
    reference = sparse.csr_matrix(matrix.counts)
    dense = np.zeros(matrix.shape, dtype=np.int64)
    for r, terms in enumerate(lists):
        for t in terms:
            dense[r, list(matrix.vocab).index(t)] += 1
    assert np.array_equal(reference.toarray(), dense)
    for r in range(len(lists)):  # each row's columns in order, as sort_indices leaves them
        row = matrix.indices[matrix.indptr[r] : matrix.indptr[r + 1]]
        assert list(row) == sorted(row)
        assert matrix[r] == sorted(set(lists[r]))
    for rows in ([], [0], [3, 1, 2], list(range(80)), [5, 5, 9]):
        idx = np.asarray(rows, dtype=int)
        sums, used = matrix.group_counts(idx)
        assert np.array_equal(sums, np.asarray(reference[idx].sum(axis=0)).ravel())
        assert np.array_equal(used, np.asarray((reference[idx] > 0).sum(axis=0)).ravel())
    with pytest.raises(ValueError):
        TermMatrix((matrix.data, matrix.indices, matrix.indptr[:-1], matrix.shape), matrix.vocab)
    with pytest.raises(ValueError):
        TermMatrix((matrix.data, matrix.indices + 100, matrix.indptr, matrix.shape), matrix.vocab)
