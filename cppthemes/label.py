"""Label: keyphrases, a short label, verbatim quotes and prevalence for each code.

Keyphrases are class-based TF-IDF (c-TF-IDF) over lemma n-grams: a phrase ranks high for a code
when it is frequent in that code's passages and rare in the rest of the corpus. Candidate
n-grams never span a stop word, a conversational filler or a speaker's name, which is what keeps
"you know" and "the" out of labels. Quotes are whole passages, sliced from the transcript's
plain text, so every quote is verbatim and traceable to file, speaker and line.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence

import numpy as np
from sklearn.feature_extraction.text import CountVectorizer

from cppthemes.cluster import centroids
from cppthemes.config import LabelConfig
from cppthemes.nlp import load_nlp
from cppthemes.records import Assignment, Code, Passage, Prevalence, Quote

UNCODED = -1


def passage_terms(
    passages: Sequence[Passage], cfg: LabelConfig, names: Sequence[str] = ()
) -> list[list[str]]:
    """Candidate n-grams (lemmas, lower case) of each passage.

    An n-gram is built only from consecutive content words: a stop word, filler, name, number or
    punctuation mark ends the run, so phrases never bridge words that were removed.
    """
    nlp = load_nlp(cfg.language)
    stop = {w.lower() for w in nlp.Defaults.stop_words}
    blocked = stop | {w.lower() for w in cfg.fillers}
    blocked |= {part.lower() for name in names for part in name.split()}
    out: list[list[str]] = []
    for doc in nlp.pipe((p.text for p in passages), batch_size=64):
        runs: list[list[str]] = [[]]
        for token in doc:
            lower = token.lower_
            lemma = (token.lemma_ or token.text).lower()
            if not token.is_alpha or len(lower) < 2 or lower in blocked or lemma in blocked:
                if runs[-1]:
                    runs.append([])
                continue
            runs[-1].append(lemma)
        grams: list[str] = []
        for run in runs:
            for n in range(1, cfg.max_ngram + 1):
                grams.extend(" ".join(run[i : i + n]) for i in range(len(run) - n + 1))
        out.append(grams)
    return out


def class_keyphrases(
    terms: Sequence[list[str]], groups: Sequence[Sequence[int]], top: int
) -> list[list[str]]:
    """Top c-TF-IDF phrases for each group of passage indices.

    Passages in no group form one more class, so words common everywhere are discounted. A
    phrase must occur in at least two passages of a group (one, for a group of one) so that a
    single talkative passage cannot name a whole code.
    """
    if not terms or not groups:
        return [[] for _ in groups]
    vectorizer = CountVectorizer(analyzer=lambda grams: grams, lowercase=False)
    try:
        per_passage = vectorizer.fit_transform(terms).tocsr()
    except ValueError:  # no candidate phrase anywhere
        return [[] for _ in groups]
    vocab = vectorizer.get_feature_names_out()
    in_group = np.zeros(len(terms), dtype=bool)
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
    out: list[list[str]] = []
    for g, group in enumerate(groups):
        idx = np.asarray(group, dtype=int)
        df = np.asarray((per_passage[idx] > 0).sum(axis=0)).ravel()
        needed = 2 if len(idx) > 1 else 1
        # Rank by score, then by phrase so ties break the same way in every run.
        order = sorted(
            (i for i in np.flatnonzero(df >= needed)),
            key=lambda i: (-scores[g, i], vocab[i]),
        )
        chosen: list[str] = []
        for i in order:
            phrase = str(vocab[i])
            if any(f" {phrase} " in f" {c} " for c in chosen):
                continue  # already said by a longer phrase
            chosen.append(phrase)
            if len(chosen) == top:
                break
        out.append(chosen)
    return out


def short_label(keyphrases: Sequence[str], taken: set[str], fallback: str) -> str:
    """Two to four words from the top keyphrases, unique among labels already taken."""
    words: list[str] = []
    parts: list[str] = []
    for phrase in keyphrases:
        n = len(phrase.split())
        if words and len(words) + n > 4:
            continue
        parts.append(phrase)
        words.extend(phrase.split())
        if len(words) >= 2:
            break
    label = ", ".join(parts) or fallback
    extra = [k for k in keyphrases if k not in parts]
    while label in taken and extra:
        label = f"{label}, {extra.pop(0)}"
    if label in taken:
        label = f"{label} ({fallback})"
    taken.add(label)
    return label


def pick_quotes(
    members: Sequence[int],
    passages: Sequence[Passage],
    vectors: np.ndarray,
    centroid: np.ndarray,
    n: int,
    diversity: float = 0.3,
) -> list[Quote]:
    """Exemplars close to the centroid, unlike each other, from different speakers and files.

    Maximal marginal relevance: each pick maximises closeness to the centroid minus similarity
    to quotes already picked, with a penalty for repeating a speaker or a transcript.
    """
    sims = {i: float(vectors[i] @ centroid) for i in members}
    chosen: list[int] = []
    remaining = sorted(members, key=lambda i: (-sims[i], passages[i].id))
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
                - 0.1 * same_speaker
                - 0.05 * same_file
            )

        best = max(remaining, key=lambda i: (score(i), -remaining.index(i)))
        chosen.append(best)
        remaining.remove(best)
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


def label(
    passages: Sequence[Passage],
    assignment: Assignment,
    vectors: np.ndarray,
    cfg: LabelConfig,
    *,
    names: Sequence[str] = (),
    terms: Sequence[list[str]] | None = None,
) -> list[Code]:
    """One ``Code`` per cluster, ids ``C01``... in cluster order (largest first)."""
    labels = np.asarray(assignment.labels, dtype=int)
    groups = [np.flatnonzero(labels == c).tolist() for c in range(assignment.n_clusters)]
    if terms is None:
        terms = passage_terms(passages, cfg, names)
    phrases = class_keyphrases(terms, groups, cfg.keyphrases)
    cents = centroids(vectors, labels, assignment.n_clusters)
    n_transcripts = len({p.transcript_id for p in passages})
    width = max(2, len(str(assignment.n_clusters)))
    taken: set[str] = set()
    codes: list[Code] = []
    for c, members in enumerate(groups):
        code_id = f"C{c + 1:0{width}d}"
        sims = vectors[members] @ cents[c]
        codes.append(
            Code(
                id=code_id,
                label=short_label(phrases[c], taken, code_id),
                keyphrases=tuple(phrases[c]),
                passage_ids=tuple(passages[i].id for i in members),
                quotes=tuple(pick_quotes(members, passages, vectors, cents[c], cfg.quotes)),
                prevalence=prevalence(members, passages, n_transcripts),
                coherence=round(float(np.mean(sims)), 4),
                stability=_stability(assignment, c),
            )
        )
    return codes
