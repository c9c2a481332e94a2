"""Label, step one: the candidate phrases of every passage, counted (a sparse matrix).

An n-gram is built only from consecutive content words: stop words, fillers, speakers' names
and names spoken about end a run, which keeps "you know", "the" and "Torunn" out of labels
(docs/labels.md).
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from cppthemes.config import LabelConfig
from cppthemes.nlp import FILLERS, LEMMA_FIXES, has_parser, load_nlp, stop_words
from cppthemes.records import Passage

if TYPE_CHECKING:  # spaCy is imported (seconds) only when phrases must be counted
    from spacy.tokens import Doc, Token

UNCODED = -1


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
    return blocked | SPLIT_FILLERS


# What the tokenizer leaves of "gonna", "wanna", "gotta" and of cut-off words in transcribed
# speech ("th", "gon na" was a code name on qmsum-small): never a phrase of their own.
SPLIT_FILLERS = frozenset({"gon", "na", "wan", "ta", "th"})


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

    Held as the three CSR arrays (``data``, ``indices``, ``indptr``), summed over groups of
    rows with NumPy (`group_counts`): importing ``scipy.sparse`` took 0.2-0.4 s of every
    rerun's start-up. ``counts`` is the same matrix as SciPy's ``csr_matrix``, made on use.
    """

    def __init__(self, counts: Any, vocab: Sequence[str]) -> None:
        """``counts``: a SciPy CSR matrix, or ``(data, indices, indptr, shape)``; checked
        (a ``ValueError`` for arrays that are no CSR matrix of that shape)."""
        if isinstance(counts, tuple):
            data, indices, indptr, shape = counts
        else:
            data, indices, indptr, shape = counts.data, counts.indices, counts.indptr, counts.shape
        self.data = np.asarray(data)
        self.indices = np.asarray(indices)
        self.indptr = np.asarray(indptr)
        self.shape = (int(shape[0]), int(shape[1]))
        self.vocab = np.asarray(vocab, dtype=object)
        self._check()
        self._csr: Any = None

    def _check(self) -> None:
        rows, cols = self.shape
        ptr, idx = self.indptr, self.indices
        if (
            self.data.ndim != 1
            or idx.ndim != 1
            or ptr.ndim != 1
            or len(ptr) != rows + 1
            or len(idx) != len(self.data)
            or (len(ptr) and (ptr[0] != 0 or ptr[-1] != len(idx)))
            or (len(ptr) > 1 and bool((np.diff(ptr) < 0).any()))
            or (len(idx) and (int(idx.min()) < 0 or int(idx.max()) >= cols))
        ):
            raise ValueError("not a CSR matrix of this shape")

    @property
    def counts(self) -> Any:
        """The matrix as SciPy's ``csr_matrix`` (imported here, on first use)."""
        if self._csr is None:
            from scipy import sparse

            self._csr = sparse.csr_matrix((self.data, self.indices, self.indptr), shape=self.shape)
        return self._csr

    def group_counts(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Over the passages ``rows``: each phrase's total count (float64) and the number of
        those passages that use it, what ``counts[rows].sum(axis=0)`` and
        ``(counts[rows] > 0).sum(axis=0)`` give (integers, so the same numbers)."""
        rows = np.asarray(rows, dtype=np.int64)
        starts, ends = self.indptr[rows], self.indptr[rows + 1]
        lengths = ends - starts
        total = int(lengths.sum())
        at = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(total)
        cols, vals = self.indices[at], self.data[at]
        width = self.shape[1]
        sums = np.bincount(cols, weights=vals.astype(np.float64), minlength=width)
        used = np.bincount(cols[vals > 0], minlength=width)
        return sums, used

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
        ptr = np.frombuffer(indptr, dtype=np.int64)
        cols = (
            remap[np.frombuffer(indices, dtype=np.int32)] if len(indices) else np.zeros(0, np.int32)
        )
        counts = np.frombuffer(data, dtype=np.int32)
        # Each row's columns in order (SciPy's sort_indices): rows stay, columns sort within.
        order = np.lexsort((cols, np.repeat(np.arange(len(ptr) - 1), np.diff(ptr))))
        return cls(
            (
                counts[order],
                np.asarray(cols[order], dtype=np.int32),
                ptr,
                (len(ptr) - 1, len(names)),
            ),
            names,
        )

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, i: int) -> list[str]:
        start, end = self.indptr[i], self.indptr[i + 1]
        return [str(w) for w in self.vocab[self.indices[start:end]]]

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
