"""Label, step two: keyphrases per code (c-TF-IDF, re-ranked against the centre) and a name.

c-TF-IDF finds phrases frequent in a code and rare elsewhere; the best candidates are re-ranked
by how close their embedding lies to the code's centroid (KeyBERT-style) and diversified with
maximal marginal relevance. The code's name is a phrase of two to six words taken from those
candidates (`phrase_label`), acronyms in their own case; the keyphrases stay beside it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cppthemes.config import LabelConfig
from cppthemes.label_terms import Embed, Terms, as_matrix


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
    vocab = matrix.vocab
    in_group = np.zeros(len(matrix), dtype=bool)
    rows, used = [], []
    for group in groups:
        idx = np.asarray(group, dtype=int)
        in_group[idx] = True
        sums, df = matrix.group_counts(idx)
        rows.append(sums)
        used.append(df)
    rest = np.flatnonzero(~in_group)
    if len(rest):
        rows.append(matrix.group_counts(rest)[0])
    counts = np.asarray(np.vstack(rows), dtype=np.float64)
    words_per_class = counts.sum(axis=1, keepdims=True)
    tf = counts / np.maximum(words_per_class, 1.0)
    avg_words = float(words_per_class.mean())
    idf = np.log1p(avg_words / np.maximum(counts.sum(axis=0), 1.0))
    scores = tf * idf
    out: list[list[tuple[str, float]]] = []
    for g, group in enumerate(groups):
        idx = np.asarray(group, dtype=int)
        df = used[g]
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


def _relevance(
    group: Sequence[tuple[str, float]], vecs: np.ndarray, centre: np.ndarray, weight: float
) -> np.ndarray:
    """Closeness to the centre (0..1 over the group) mixed with the c-TF-IDF score (0..1)."""
    sim = vecs @ centre
    span = float(sim.max() - sim.min())
    closeness = (sim - sim.min()) / span if span > 0 else np.ones_like(sim)
    ctf = np.array([s for _, s in group], dtype=np.float64)
    ctf = ctf / (float(ctf.max()) or 1.0)
    return np.asarray(weight * closeness + (1 - weight) * ctf)


def _scored(
    candidates: Sequence[Sequence[tuple[str, float]]],
    centres: np.ndarray,
    embed_texts: Embed,
    weight: float,
) -> list[tuple[np.ndarray, np.ndarray] | None]:
    """Per group, its candidates' vectors and relevance; None for a group without one.

    Every phrase is embedded once for all groups (the caller's embedder caches them).
    """
    phrases = sorted({p for group in candidates for p, _ in group})
    if not phrases:
        return [None for _ in candidates]
    matrix = np.asarray(embed_texts(phrases), dtype=np.float64)
    row = {p: i for i, p in enumerate(phrases)}
    out: list[tuple[np.ndarray, np.ndarray] | None] = []
    for g, group in enumerate(candidates):
        if not group:
            out.append(None)
            continue
        vecs = matrix[[row[p] for p, _ in group]]
        out.append((vecs, _relevance(group, vecs, centres[g], weight)))
    return out


def name_phrases(
    terms: Terms,
    groups: Sequence[Sequence[int]],
    centres: np.ndarray,
    cfg: LabelConfig,
    embed_texts: Embed | None = None,
) -> list[list[str]]:
    """Per group, its candidate phrases of two or more words, most relevant first.

    The same candidates and relevance as the keyphrases (c-TF-IDF, re-ranked against the
    centre), without the diversity step: a name wants the best phrase, not a varied list.
    The embeddings are the keyphrase candidates' (cached), so this embeds nothing new.
    """
    candidates = class_scores(terms, groups, max(cfg.candidates, cfg.keyphrases))
    multi = [[(p, sc) for p, sc in group if len(p.split()) >= 2] for group in candidates]
    if embed_texts is None or cfg.rerank_weight == 0:
        return [[p for p, _ in group] for group in multi]
    out: list[list[str]] = []
    for group, scored in zip(
        multi, _scored(multi, centres, embed_texts, cfg.rerank_weight), strict=True
    ):
        if scored is None:
            out.append([])
            continue
        relevance = scored[1]
        order = sorted(range(len(group)), key=lambda i: (-relevance[i], group[i][0]))
        out.append([group[i][0] for i in order])
    return out


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
    out: list[list[str]] = []
    for group, scored in zip(
        candidates, _scored(candidates, centres, embed_texts, weight), strict=True
    ):
        if scored is None:
            out.append([])
            continue
        vecs, relevance = scored
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


# How far down the ranked keyphrases a name of several words is looked for before the top
# words are joined instead.
NAME_DEPTH = 5


def acronyms(texts: Sequence[str]) -> frozenset[str]:
    """Words (lower case) written in capitals in at least 80% of their uses: "cpp" -> "CPP"."""
    import re
    from collections import Counter

    every: Counter[str] = Counter()
    upper: Counter[str] = Counter()
    # Each distinct spelling once (Counter counts in C): a word cannot span the line breaks.
    for word, n in Counter(re.findall(r"[^\W\d_]{2,}", "\n".join(texts))).items():
        lower = word.lower()
        every[lower] += n
        upper[lower] += n if word.isupper() else 0
    return frozenset(w for w, n in every.items() if upper[w] >= 0.8 * n)


def cased(phrase: str, caps: frozenset[str]) -> str:
    """``phrase`` with its acronyms in capitals."""
    return " ".join(w.upper() if w in caps else w for w in phrase.split())


def phrase_label(
    keyphrases: Sequence[str],
    taken: set[str],
    fallback: str,
    caps: frozenset[str] = frozenset(),
    phrases: Sequence[str] = (),
) -> str:
    """A name of two to six words: the best-ranked keyphrase of several words.

    Keyphrases come ranked by closeness to the code's centre (re-ranked c-TF-IDF), so the first
    phrase of two or more words among the top ``NAME_DEPTH`` names the code in the
    participants' own words ("waiting list", "fidelity form"); failing that, the most relevant
    of ``phrases`` (`name_phrases`: the code's candidates of several words). A code with no
    phrase of several words is named by `short_label`'s join of the top words
    ("budget, manager").
    A name another code already has is skipped; acronyms keep their capitals.
    """
    used = {_words(t.lower()) for t in taken}
    for phrase in [*keyphrases[:NAME_DEPTH], *phrases[:NAME_DEPTH]]:
        if 2 <= len(phrase.split()) <= 6 and _words(phrase) not in used:
            name = cased(phrase, caps)
            taken.add(name)
            return name
    lowered = {t.lower() for t in taken}
    name = short_label(keyphrases, lowered, fallback)
    name = cased(name, caps) if name != fallback else name
    taken.add(name)
    return name
