"""Label: keyphrases, a short label, verbatim quotes and prevalence for each code.

Keyphrases are class-based TF-IDF (c-TF-IDF) over lemma n-grams: a phrase ranks high for a code
when it is frequent in that code's passages and rare in the rest of the corpus. Candidate
n-grams never span a stop word, a conversational filler, a speaker's name or a name spoken
about, which is what keeps "you know", "the" and "Torunn" out of labels. The best candidates are
then re-ranked by how close their embedding lies to the code's centroid (KeyBERT-style) and
diversified with maximal marginal relevance. Quotes are whole passages, sliced from the
transcript's plain text, so every quote is verbatim and traceable to file, speaker and line.
docs/labels.md explains every step and its settings.
"""

from __future__ import annotations

from array import array
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from scipy import sparse

from cppthemes.cluster.codes import as_float64, centroids
from cppthemes.config import LabelConfig
from cppthemes.nlp import FILLERS, LEMMA_FIXES, has_parser, load_nlp, stop_words

if TYPE_CHECKING:  # spaCy is imported (seconds) only when phrases must be counted
    from spacy.tokens import Doc, Token
from cppthemes.records import Assignment, Code, Passage, Prevalence, Quote

UNCODED = -1
# Quote candidates per code: the passages closest to its centre (see pick_quotes).
QUOTE_POOL = 1000


Embed = Callable[[Sequence[str]], np.ndarray]

# Word classes that can name a code on their own when a tagger is installed; adverbs,
# interjections, pronouns, numbers and auxiliaries cannot.
CONTENT_POS = {"NOUN", "VERB", "ADJ", "PROPN"}
# Components the proper-noun pass does without: it needs tokens and sentence starts only.
SENTENCE_ONLY_SKIPS = {"lemmatizer", "tagger", "morphologizer", "attribute_ruler", "ner"}


def blocked_words(cfg: LabelConfig, names: Sequence[str] = ()) -> set[str]:
    """Words that never enter a keyphrase: stop words, fillers (config + language) and names."""
    blocked = set(stop_words(cfg.language))
    blocked |= {w.lower() for w in cfg.fillers}
    blocked |= set(FILLERS.get(cfg.language, ()))
    blocked |= {part.lower() for name in names for part in name.split()}
    return blocked


def proper_nouns(docs: Iterable[Doc]) -> set[str]:
    """Words (lower case) written capitalised in at least 80% of their mid-sentence uses.

    Without a tagger this is how names that are spoken about but never speak ("Torunn said
    ...") are kept out of labels: a common noun is written in lower case in mid-sentence, a
    name is not. Acronyms (all capitals, e.g. "CPP") are kept, because they are often the
    subject of the talk. Sentence-initial words prove nothing and are not counted.
    """
    mid: Counter[str] = Counter()
    capital: Counter[str] = Counter()
    for doc in docs:
        for token in doc:
            if not token.is_alpha or token.is_sent_start or token.i == 0:
                continue
            mid[token.lower_] += 1
            if token.is_title and not token.is_upper:
                capital[token.lower_] += 1
    return {w for w, n in mid.items() if capital[w] >= 0.8 * n}


class TermMatrix:
    """Candidate phrase counts per passage: a sparse passages x phrases matrix and its vocabulary.

    Built once per run and shared by code labels, theme labels and refinement. Sparse, because
    a passage uses a few dozen of a corpus's hundreds of thousands of phrases: for a million
    passages the lists of phrase strings it replaces took gigabytes. Indexing gives one
    passage's phrases (each once), which is what tests and small callers want.
    """

    def __init__(self, counts: sparse.csr_matrix, vocab: Sequence[str]) -> None:
        self.counts = counts
        self.vocab = np.asarray(vocab, dtype=object)

    @classmethod
    def from_lists(cls, terms: Iterable[Iterable[str]]) -> TermMatrix:
        """Count phrases given as one iterable of strings per passage (streamed, not kept)."""
        vocabulary: dict[str, int] = {}
        indices: array[int] = array("i")
        data: array[int] = array("i")
        indptr: array[int] = array("q", [0])
        for grams in terms:
            row = Counter(grams)
            for gram, n in row.items():
                j = vocabulary.get(gram)
                if j is None:
                    j = vocabulary[gram] = len(vocabulary)
                indices.append(j)
                data.append(n)
            indptr.append(len(indices))
        # Columns in phrase order, so ties in every ranking break the same way in every run.
        names = sorted(vocabulary)
        remap = np.empty(len(names), dtype=np.int32)
        for new, name in enumerate(names):
            remap[vocabulary[name]] = new
        cols = remap[np.frombuffer(indices, dtype=np.int32)] if len(indices) else indices
        counts = sparse.csr_matrix(
            (
                np.frombuffer(data, dtype=np.int32),
                np.asarray(cols, dtype=np.int32),
                np.frombuffer(indptr, dtype=np.int64),
            ),
            shape=(len(indptr) - 1, len(names)),
        )
        counts.sort_indices()
        return cls(counts, names)

    def __len__(self) -> int:
        return int(self.counts.shape[0])

    def __getitem__(self, i: int) -> list[str]:
        start, end = self.counts.indptr[i], self.counts.indptr[i + 1]
        return [str(w) for w in self.vocab[self.counts.indices[start:end]]]

    def __iter__(self) -> Iterator[list[str]]:
        return (self[i] for i in range(len(self)))


Terms = TermMatrix | Sequence[Sequence[str]]


def as_matrix(terms: Terms) -> TermMatrix:
    """Hand-built lists (tests, small callers) become a ``TermMatrix``; a matrix is kept."""
    return terms if isinstance(terms, TermMatrix) else TermMatrix.from_lists(terms)


def passage_terms(
    passages: Sequence[Passage],
    cfg: LabelConfig,
    names: Sequence[str] = (),
    *,
    cache_dir: Path | None = None,
) -> TermMatrix:
    """Candidate n-grams (lemmas, lower case) of each passage, counted.

    An n-gram is built only from consecutive content words: a stop word, filler, name, proper
    noun, number or punctuation mark ends the run, so phrases never bridge words that were
    removed. With a trained pipeline (tagger and parser installed) single words must be nouns,
    verbs or adjectives and longer phrases must lie inside a noun chunk ("waiting list", "fidelity
    form"), which drops adverb and verb fragments such as "come back".

    Two streaming passes, no parsed document kept: the first finds the corpus's proper nouns
    (only sentence boundaries are needed, so lemmas and tags are switched off for it), the
    second builds the phrases with them blocked. Holding every parsed passage instead cost
    about 15 KB a passage, the largest share of a run's memory at scale.

    With ``cache_dir`` the matrix is cached there by content (``termcache``): a rerun on the
    same passages reads it back without spaCy.
    """
    if cache_dir is None:
        return _count_terms(passages, cfg, names)
    from cppthemes import termcache

    name = termcache.key((p.text for p in passages), cfg, names)
    found = termcache.load(cache_dir, name, len(passages))
    if found is not None:
        return found
    matrix = _count_terms(passages, cfg, names)
    termcache.store(cache_dir, name, matrix)
    return matrix


def _count_terms(
    passages: Sequence[Passage], cfg: LabelConfig, names: Sequence[str] = ()
) -> TermMatrix:
    nlp = load_nlp(cfg.language)
    tagged = has_parser(nlp)
    fixes = LEMMA_FIXES.get(cfg.language, {})
    blocked = blocked_words(cfg, names)
    texts = (p.text for p in passages)
    skipped = [n for n in nlp.pipe_names if n in SENTENCE_ONLY_SKIPS]
    with nlp.select_pipes(disable=skipped):
        blocked |= proper_nouns(nlp.pipe(texts, batch_size=256))

    def keep(token: Token) -> bool:
        lower = token.lower_
        if not token.is_alpha or len(lower) < 2 or lower in blocked:
            return False
        if tagged and token.pos_ == "PROPN" and token.is_title:
            return False
        return lemma_of(token) not in blocked

    def lemma_of(token: Token) -> str:
        lemma = fixes.get(token.lower_) or token.lemma_.lower()
        return lemma if lemma.isalpha() else token.lower_

    def grams_of(doc: Doc) -> list[str]:
        grams: list[str] = []
        if tagged:
            grams.extend(lemma_of(t) for t in doc if t.pos_ in CONTENT_POS and keep(t))
            for chunk in doc.noun_chunks:
                run: list[str] = []
                for token in reversed(chunk):  # the content words that end at the head noun
                    if not keep(token):
                        break
                    run.insert(0, lemma_of(token))
                for n in range(2, min(len(run), cfg.max_ngram) + 1):
                    grams.append(" ".join(run[-n:]))
        else:
            runs: list[list[str]] = [[]]
            for token in doc:
                if not keep(token):
                    if runs[-1]:
                        runs.append([])
                    continue
                runs[-1].append(lemma_of(token))
            for run in runs:
                for n in range(1, cfg.max_ngram + 1):
                    grams.extend(" ".join(run[i : i + n]) for i in range(len(run) - n + 1))
        return grams

    docs = nlp.pipe((p.text for p in passages), batch_size=64)
    return TermMatrix.from_lists(grams_of(doc) for doc in docs)


def class_scores(
    terms: Terms, groups: Sequence[Sequence[int]], top: int
) -> list[list[tuple[str, float]]]:
    """The ``top`` c-TF-IDF phrases of each group of passage indices, with their scores.

    Passages in no group form one more class, so words common everywhere are discounted. A
    phrase must occur in at least two passages of a group (one, for a group of one) so that a
    single talkative passage cannot name a whole code.
    """
    matrix = as_matrix(terms)
    if not len(matrix) or not groups or not len(matrix.vocab):  # no candidate phrase anywhere
        return [[] for _ in groups]
    per_passage, vocab = matrix.counts, matrix.vocab
    in_group = np.zeros(len(matrix), dtype=bool)
    rows = []
    for group in groups:
        idx = np.asarray(group, dtype=int)
        in_group[idx] = True
        rows.append(per_passage[idx].sum(axis=0))
    rest = np.flatnonzero(~in_group)
    if len(rest):
        rows.append(per_passage[rest].sum(axis=0))
    counts = np.asarray(np.vstack(rows), dtype=np.float64)
    words_per_class = counts.sum(axis=1, keepdims=True)
    tf = counts / np.maximum(words_per_class, 1.0)
    avg_words = float(words_per_class.mean())
    idf = np.log1p(avg_words / np.maximum(counts.sum(axis=0), 1.0))
    scores = tf * idf
    out: list[list[tuple[str, float]]] = []
    for g, group in enumerate(groups):
        idx = np.asarray(group, dtype=int)
        df = np.asarray((per_passage[idx] > 0).sum(axis=0)).ravel()
        needed = 2 if len(idx) > 1 else 1
        # Rank by score, then by phrase so ties break the same way in every run.
        order = sorted(
            (i for i in np.flatnonzero(df >= needed)),
            key=lambda i: (-scores[g, i], vocab[i]),
        )
        out.append([(str(vocab[i]), float(scores[g, i])) for i in order[:top]])
    return out


def _covered(phrase: str, chosen: Sequence[str]) -> bool:
    """Whether a longer phrase already chosen says ``phrase``."""
    return any(f" {phrase} " in f" {c} " for c in chosen)


def class_keyphrases(terms: Terms, groups: Sequence[Sequence[int]], top: int) -> list[list[str]]:
    """Top c-TF-IDF phrases of each group, skipping phrases a longer chosen one contains."""
    out: list[list[str]] = []
    for ranked in class_scores(terms, groups, max(top * 3, top + 10)):
        chosen: list[str] = []
        for phrase, _ in ranked:
            if not _covered(phrase, chosen):
                chosen.append(phrase)
            if len(chosen) == top:
                break
        out.append(chosen)
    return out


def _mmr(
    names: Sequence[str], vecs: np.ndarray, relevance: np.ndarray, top: int, diversity: float
) -> list[int]:
    """Maximal marginal relevance over candidate rows; skips phrases a chosen one contains."""
    chosen: list[int] = []
    remaining = list(range(len(names)))
    while remaining and len(chosen) < top:
        redundancy = (vecs[remaining] @ vecs[chosen].T).max(axis=1) if chosen else 0.0
        scores = (1 - diversity) * relevance[remaining] - diversity * redundancy
        # First best wins: candidates are in c-TF-IDF order, so ties break the same way.
        best = remaining[int(np.argmax(scores))]
        remaining.remove(best)
        if not _covered(names[best], [names[j] for j in chosen]):
            chosen.append(best)
    return chosen


def rerank(
    candidates: Sequence[Sequence[tuple[str, float]]],
    centres: np.ndarray,
    embed_texts: Embed,
    top: int,
    weight: float,
    diversity: float,
) -> list[list[str]]:
    """KeyBERT-style: re-rank each group's c-TF-IDF candidates by closeness to its centre.

    Relevance mixes the phrase embedding's cosine similarity to the group's centroid (rescaled
    to 0..1 over the group's candidates) with the c-TF-IDF score (divided by the group's best),
    ``weight`` being the embedding's share. Maximal marginal relevance then picks phrases that
    are relevant and unlike those already picked, so a label is not "foster, foster mum,
    foster parent". Phrases are embedded once for all groups (the caller caches them).
    """
    phrases = sorted({p for group in candidates for p, _ in group})
    if not phrases:
        return [[] for _ in candidates]
    matrix = np.asarray(embed_texts(phrases), dtype=np.float64)
    row = {p: i for i, p in enumerate(phrases)}
    out: list[list[str]] = []
    for g, group in enumerate(candidates):
        if not group:
            out.append([])
            continue
        vecs = matrix[[row[p] for p, _ in group]]
        sim = vecs @ centres[g]
        span = float(sim.max() - sim.min())
        closeness = (sim - sim.min()) / span if span > 0 else np.ones_like(sim)
        ctf = np.array([s for _, s in group], dtype=np.float64)
        ctf = ctf / (float(ctf.max()) or 1.0)
        relevance = weight * closeness + (1 - weight) * ctf
        names = [p for p, _ in group]
        chosen = _mmr(names, vecs, relevance, top, diversity)
        out.append([names[i] for i in chosen])
    return out


def keyphrases(
    terms: Terms,
    groups: Sequence[Sequence[int]],
    centres: np.ndarray,
    cfg: LabelConfig,
    embed_texts: Embed | None = None,
) -> list[list[str]]:
    """Keyphrases of each group: c-TF-IDF candidates, re-ranked when an embedder is given."""
    if embed_texts is None or cfg.rerank_weight == 0:
        return class_keyphrases(terms, groups, cfg.keyphrases)
    candidates = class_scores(terms, groups, max(cfg.candidates, cfg.keyphrases))
    return rerank(
        candidates, centres, embed_texts, cfg.keyphrases, cfg.rerank_weight, cfg.diversity
    )


def _words(label: str) -> frozenset[str]:
    return frozenset(label.replace(",", " ").split())


def short_label(keyphrases: Sequence[str], taken: set[str], fallback: str) -> str:
    """Two to four words from the top keyphrases, unique among labels already taken.

    The first choice joins the top phrases until two words are reached ("foster mum" alone,
    or "budget, manager"); when another code already has that label, the next phrases are
    tried in its place (never more than four words), and only then is ``fallback`` (the id)
    appended so two codes can never share a name.
    """

    def compose(first: str, rest: Sequence[str]) -> str | None:
        parts, words = [first], first.split()
        for phrase in rest:
            if len(words) >= 2:
                break
            new = phrase.split()
            # "cpp, cpp family" says "cpp" twice: a label's parts share no word.
            if len(words) + len(new) <= 4 and not set(new) & set(words):
                parts.append(phrase)
                words += new
        return ", ".join(parts) if len(words) >= 2 else None

    options: list[str] = []
    for i, first in enumerate(keyphrases):
        rest = list(keyphrases[i + 1 :])
        for j in range(len(rest) + 1):
            option = compose(first, rest[j:])
            if option and option not in options:
                options.append(option)
    if not options:  # a code with a single keyphrase of one word: one word rather than none
        options = list(dict.fromkeys(keyphrases))
    # "introductory paragraph" and "paragraph, introductory" name the same thing.
    used = {_words(t) for t in taken}
    label = next((o for o in options if _words(o) not in used), None)
    if label is None:
        label = f"{options[0]} ({fallback})" if options else fallback
    taken.add(label)
    return label


def pick_quotes(
    members: Sequence[int],
    passages: Sequence[Passage],
    vectors: np.ndarray,
    centroid: np.ndarray,
    n: int,
    diversity: float = 0.3,
    spread: float = 0.1,
) -> list[Quote]:
    """Exemplars close to the centroid, unlike each other, from different speakers and files.

    Maximal marginal relevance: each pick maximises closeness to the centroid minus similarity
    to quotes already picked, minus ``spread`` for repeating a speaker and ``spread`` again for
    repeating a transcript, so an analyst sees the idea voiced by several people and groups.
    """
    sims = {i: float(vectors[i] @ centroid) for i in members}
    chosen: list[int] = []
    # Only the QUOTE_POOL passages closest to the centre compete: a quote should be typical of
    # its code, and on a code of 100,000 passages each pick would otherwise score them all.
    remaining = sorted(members, key=lambda i: (-sims[i], passages[i].id))[:QUOTE_POOL]
    while remaining and len(chosen) < n:

        def score(i: int) -> float:
            redundancy = max((float(vectors[i] @ vectors[j]) for j in chosen), default=0.0)
            same_speaker = any(
                (passages[j].transcript_id, passages[j].speaker)
                == (passages[i].transcript_id, passages[i].speaker)
                for j in chosen
            )
            same_file = any(passages[j].transcript_id == passages[i].transcript_id for j in chosen)
            return (
                (1 - diversity) * sims[i]
                - diversity * redundancy
                - spread * same_speaker
                - spread * same_file
            )

        # The first of equal scores wins (closest to the centre), as a stable order demands.
        at = max(range(len(remaining)), key=lambda k: (score(remaining[k]), -k))
        chosen.append(remaining.pop(at))
    return [
        Quote(
            passage_id=passages[i].id,
            text=passages[i].text,
            source=passages[i].source,
            transcript_id=passages[i].transcript_id,
            speaker=passages[i].speaker,
            line=passages[i].line_start,
            char_start=passages[i].char_start,
            char_end=passages[i].char_end,
            similarity=round(sims[i], 4),
            metadata=dict(passages[i].metadata),
        )
        for i in chosen
    ]


def prevalence(
    members: Sequence[int], passages: Sequence[Passage], transcripts_total: int
) -> Prevalence:
    """Passages, distinct speakers and transcripts, and passages per metadata value.

    A speaker is a speaker label within a transcript: without participant ids the tool cannot
    know that "Maria" in two files is one person, so it does not pretend to.
    """
    chosen = [passages[i] for i in members]
    values: dict[str, set[str]] = defaultdict(set)
    for p in passages:
        for key, value in p.metadata.items():
            values[key].add(value)
    by_metadata: dict[str, dict[str, int]] = {}
    for key in sorted(values):
        counts = Counter(p.metadata.get(key, "") for p in chosen)
        by_metadata[key] = {v: counts.get(v, 0) for v in sorted(values[key])}
    return Prevalence(
        passages=len(chosen),
        speakers=len({(p.transcript_id, p.speaker) for p in chosen}),
        transcripts=len({p.transcript_id for p in chosen}),
        transcripts_total=transcripts_total,
        by_metadata=by_metadata,
    )


def _stability(assignment: Assignment, cluster: int) -> float | None:
    if cluster >= len(assignment.stability):
        return None
    value = assignment.stability[cluster]
    return None if value != value else value  # NaN: not measured (seeded code, or turned off)


def separation(
    vectors: np.ndarray, labels: np.ndarray, centres: np.ndarray
) -> list[tuple[float, float, int | None]]:
    """Per cluster: coherence, distinctiveness and the nearest other cluster.

    Coherence is the mean cosine similarity of a code's passages to its own centroid;
    distinctiveness is that minus their mean similarity to the centroid of the nearest other
    code (the one they are, on average, most similar to). A code whose passages sit almost as
    close to another code's centre as to their own is not a separate idea yet: merge it, or
    read its quotes before trusting its label.
    """
    out: list[tuple[float, float, int | None]] = []
    for c in range(len(centres)):
        sims = as_float64(vectors[labels == c]) @ centres.T
        if not len(sims):
            out.append((0.0, 0.0, None))
            continue
        means = sims.mean(axis=0)
        own = float(means[c])
        others = [d for d in range(len(centres)) if d != c]
        if not others:
            out.append((own, own, None))
            continue
        nearest = max(others, key=lambda d: (float(means[d]), -d))
        out.append((own, own - float(means[nearest]), nearest))
    return out


def label(
    passages: Sequence[Passage],
    assignment: Assignment,
    vectors: np.ndarray,
    cfg: LabelConfig,
    *,
    names: Sequence[str] = (),
    terms: Terms | None = None,
    embed_texts: Embed | None = None,
) -> list[Code]:
    """One ``Code`` per cluster, ids ``C01``... in cluster order (largest first).

    ``embed_texts`` embeds keyphrase candidates with the passages' own model (cached by the
    caller) for KeyBERT-style re-ranking; without it keyphrases are plain c-TF-IDF.
    """
    labels = np.asarray(assignment.labels, dtype=int)
    groups = [np.flatnonzero(labels == c).tolist() for c in range(assignment.n_clusters)]
    if terms is None:
        terms = passage_terms(passages, cfg, names)
    cents = centroids(vectors, labels, assignment.n_clusters)
    phrases = keyphrases(terms, groups, cents, cfg, embed_texts)
    fit = separation(vectors, labels, cents)
    n_transcripts = len({p.transcript_id for p in passages})
    width = max(2, len(str(assignment.n_clusters)))
    ids = [f"C{c + 1:0{width}d}" for c in range(assignment.n_clusters)]
    taken: set[str] = set()
    codes: list[Code] = []
    for c, members in enumerate(groups):
        coherence, distinct, nearest = fit[c]
        quotes = pick_quotes(
            members, passages, vectors, cents[c], cfg.quotes, cfg.quote_diversity, cfg.quote_spread
        )
        codes.append(
            Code(
                id=ids[c],
                label=short_label(phrases[c], taken, ids[c]),
                keyphrases=tuple(phrases[c]),
                passage_ids=tuple(passages[i].id for i in members),
                quotes=tuple(quotes),
                prevalence=prevalence(members, passages, n_transcripts),
                coherence=round(coherence, 4),
                distinctiveness=round(distinct, 4),
                nearest_code=ids[nearest] if nearest is not None else None,
                weak=coherence < cfg.weak_coherence or distinct < cfg.weak_distinctiveness,
                stability=_stability(assignment, c),
            )
        )
    return codes
