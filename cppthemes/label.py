"""Label: keyphrases, a name, a description, verbatim quotes and prevalence for each code.

The steps live in their own modules: candidate phrases (`label_terms`), keyphrases and names
(`label_phrases`), quotes and the central sentence (`quotes`). This module puts them together
into one ``Code`` per cluster. Quotes are sliced from the transcript's plain text, so every
quote is verbatim and traceable to file, speaker and line range. docs/labels.md explains every
step and its settings.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence

import numpy as np

from cppthemes.cluster.codes import as_float64, centroids
from cppthemes.config import LabelConfig
from cppthemes.embed.gathered import Gathered
from cppthemes.label_phrases import (
    acronyms,
    class_keyphrases,
    class_scores,
    keyphrases,
    name_phrases,
    phrase_label,
    rerank,
    short_label,
)
from cppthemes.label_terms import (
    UNCODED,
    Embed,
    TermMatrix,
    Terms,
    as_matrix,
    blocked_words,
    passage_terms,
    proper_nouns,
)
from cppthemes.people import count_people
from cppthemes.quotes import central_candidates, closest_candidate, pick_quotes
from cppthemes.records import Assignment, Code, Passage, Prevalence, Transcript

__all__ = [
    "UNCODED",
    "Embed",
    "TermMatrix",
    "Terms",
    "as_matrix",
    "blocked_words",
    "class_keyphrases",
    "class_scores",
    "keyphrases",
    "label",
    "passage_terms",
    "phrase_label",
    "pick_quotes",
    "prevalence",
    "proper_nouns",
    "rerank",
    "separation",
    "short_label",
]


def metadata_values(passages: Sequence[Passage]) -> dict[str, set[str]]:
    """Every metadata field of the corpus's passages and the values it takes."""
    values: dict[str, set[str]] = defaultdict(set)
    for p in passages:
        for key, value in p.metadata.items():
            values[key].add(value)
    return values


def prevalence(
    members: Sequence[int],
    passages: Sequence[Passage],
    transcripts_total: int,
    values: Mapping[str, set[str]] | None = None,
) -> Prevalence:
    """Passages, distinct people and transcripts, and passages per metadata value.

    People are counted by `people.person_of`: manifest participant ids, else a name-like
    speaker label once across the study ("Maria" in wave 1 and wave 2 is one person), else a
    generic label ("P3", "Speaker 2") once per transcript. ``values``: `metadata_values` of
    ``passages``, when the caller asks for many codes (it was read again for each).
    """
    chosen = [passages[i] for i in members]
    if values is None:
        values = metadata_values(passages)
    by_metadata: dict[str, dict[str, int]] = {}
    for key in sorted(values):
        counts = Counter(p.metadata.get(key, "") for p in chosen)
        by_metadata[key] = {v: counts.get(v, 0) for v in sorted(values[key])}
    return Prevalence(
        passages=len(chosen),
        speakers=count_people(chosen),
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
    transcripts: Sequence[Transcript] = (),
) -> list[Code]:
    """One ``Code`` per cluster, ids ``C01``... in cluster order (largest first).

    ``embed_texts`` embeds keyphrase candidates and central-sentence candidates with the
    passages' own model (cached by the caller) for KeyBERT-style re-ranking; without it
    keyphrases are plain c-TF-IDF and the central sentence is the top quote's first.
    ``transcripts`` let quotes leave out other speakers' back-channels and cite their lines.
    """
    labels = np.asarray(assignment.labels, dtype=int)
    groups = [np.flatnonzero(labels == c).tolist() for c in range(assignment.n_clusters)]
    if terms is None:
        terms = passage_terms(passages, cfg, names)
    cents = centroids(vectors, labels, assignment.n_clusters)
    phrases = keyphrases(terms, groups, cents, cfg, embed_texts)
    named = name_phrases(terms, groups, cents, cfg, embed_texts)
    fit = separation(vectors, labels, cents)
    n_transcripts = len({p.transcript_id for p in passages})
    width = max(2, len(str(assignment.n_clusters)))
    ids = [f"C{c + 1:0{width}d}" for c in range(assignment.n_clusters)]
    caps = acronyms([p.text for p in passages])
    values = metadata_values(passages)
    turns = {t.id: t.turns for t in transcripts}
    texts = {t.id: t.plain_text for t in transcripts}
    taken: set[str] = set()
    codes: list[Code] = []
    picked = [
        pick_quotes(
            members,
            passages,
            vectors,
            cents[c],
            cfg.quotes,
            cfg.quote_diversity,
            cfg.quote_spread,
            turns=turns,
            texts=texts,
        )
        for c, members in enumerate(groups)
    ]
    # Every code's central-sentence candidates embedded in one call, not one call per code
    # (cppthemes/embed/gathered.py: same vectors, one model run and one cache write).
    candidates = [central_candidates(quotes) for quotes in picked]
    embed_central = (
        Gathered(embed_texts, (q.text for found in candidates for q in found))
        if embed_texts is not None
        else None
    )
    for c, members in enumerate(groups):
        coherence, distinct, nearest = fit[c]
        quotes = picked[c]
        codes.append(
            Code(
                id=ids[c],
                label=phrase_label(phrases[c], taken, ids[c], caps, named[c]),
                keyphrases=tuple(phrases[c]),
                passage_ids=tuple(passages[i].id for i in members),
                quotes=tuple(quotes),
                prevalence=prevalence(members, passages, n_transcripts, values),
                coherence=round(coherence, 4),
                distinctiveness=round(distinct, 4),
                nearest_code=ids[nearest] if nearest is not None else None,
                weak=coherence < cfg.weak_coherence or distinct < cfg.weak_distinctiveness,
                stability=_stability(assignment, c),
                central=closest_candidate(candidates[c], cents[c], embed_central),
            )
        )
    return codes
