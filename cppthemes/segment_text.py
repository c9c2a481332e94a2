"""Segment, text side: sentence spans, packing text into the model's window, what is embedded.

Shared by the segmentation strategies (cppthemes/segment.py) and the embed stage: a passage
longer than the model's window is cut at sentence boundaries (between words only when one
sentence alone is too long), because the model silently ignores everything past its window.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

from cppthemes.config import SegmentConfig
from cppthemes.records import Passage

TokenCounter = Callable[[str], int]
Sentencizer = Callable[[str], Iterable[tuple[int, int]]]


def word_count(text: str) -> int:
    return len(text.split())


def sentence_spans(text: str, sentencizer: Sentencizer) -> list[tuple[int, int]]:
    spans = [(s, e) for s, e in sentencizer(text) if text[s:e].strip()]
    return spans or [(0, len(text))]


def spacy_sentences(lang: str = "en") -> Callable[[str], list[tuple[int, int]]]:
    """Sentence spans from spaCy's blank pipeline + sentencizer for ``lang``.

    Always the blank pipeline, even when a trained one is installed: passages (and so the
    clustering) must not change because an optional package for better labels was installed.
    """
    from cppthemes.nlp import load_nlp

    def split(text: str) -> list[tuple[int, int]]:
        # Loaded by the first text long enough to need splitting (load_nlp caches it), so a
        # corpus of short turns never imports spaCy here.
        nlp = load_nlp(lang, trained=False)
        return [(s.start_char, s.end_char) for s in nlp(text).sents]

    return split


def fit_sentence(
    text: str, start: int, end: int, count_tokens: TokenCounter, max_tokens: int
) -> list[tuple[int, int]]:
    """A sentence too long for the window, cut between words into parts that fit.

    The one place a passage may end mid-sentence: unpunctuated speech-recognition output can
    run for hundreds of words without a full stop, and the model would read only the start.
    """
    if count_tokens(text[start:end]) <= max_tokens:
        return [(start, end)]
    words = [(start + w.start(), start + w.end()) for w in re.finditer(r"\S+", text[start:end])]
    return _greedy(text, words, count_tokens, max_tokens)


def _greedy(
    text: str, pieces: Iterable[tuple[int, int]], count_tokens: TokenCounter, max_tokens: int
) -> list[tuple[int, int]]:
    """Consecutive pieces (words or sentences) joined into the longest spans that fit."""
    spans: list[tuple[int, int]] = []
    span_start: int | None = None
    span_end = 0
    for s, e in pieces:
        if span_start is not None and count_tokens(text[span_start:e]) > max_tokens:
            spans.append((span_start, span_end))
            span_start = None
        if span_start is None:
            span_start = s
        span_end = e
    if span_start is not None:
        spans.append((span_start, span_end))
    return spans


def pack_text(
    text: str, count_tokens: TokenCounter, max_tokens: int, sentencizer: Sentencizer
) -> list[tuple[int, int]]:
    """Char spans of consecutive sentence groups of ``text`` that fit the model's window.

    Cuts only between sentences, unless one sentence alone is longer than the window: that one
    is cut between words.
    """
    if count_tokens(text) <= max_tokens:
        return [(0, len(text))]
    pieces = (
        part
        for sentence in sentence_spans(text, sentencizer)
        for part in fit_sentence(text, *sentence, count_tokens, max_tokens)
    )
    return _greedy(text, pieces, count_tokens, max_tokens)


def embedding_texts(passages: Sequence[Passage], cfg: SegmentConfig) -> list[str]:
    """What gets embedded: the passage, or the facilitator's prompt and the passage."""
    if not cfg.embed_context:
        return [p.text for p in passages]
    return [f"{p.context}\n{p.text}" if p.context else p.text for p in passages]


def embedding_chunks(
    passages: Sequence[Passage],
    cfg: SegmentConfig,
    *,
    count_tokens: TokenCounter = word_count,
    sentencizer: Sentencizer | None = None,
) -> list[list[str]]:
    """Per passage, the texts to embed and average: sentence-aligned pieces that fit the window.

    Passages of the ``turn`` and ``window`` strategies already fit and give one text, the same
    as :func:`embedding_texts`. A ``topic`` passage can run for pages; its vector is the mean of
    its pieces' vectors rather than of its first 256 word pieces. The prompt goes with the
    first piece only.
    """
    split = sentencizer or spacy_sentences()
    out: list[list[str]] = []
    for p, first in zip(passages, embedding_texts(passages, cfg), strict=True):
        pieces = pack_text(p.text, count_tokens, cfg.max_tokens, split)
        if len(pieces) == 1:
            out.append([first])
            continue
        texts = [p.text[a:b] for a, b in pieces]
        if cfg.embed_context and p.context:
            texts[0] = f"{p.context}\n{texts[0]}"
        out.append(texts)
    return out
