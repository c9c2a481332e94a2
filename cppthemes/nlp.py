"""spaCy pipelines without downloads.

Trained spaCy pipelines are not on PyPI from their authors, so the default is a blank pipeline
for the language (sentencizer, stop words, and lookup lemmas from ``spacy-lookups-data`` where
the language has them). A trained pipeline is used when one is installed, because its lemmas,
sentence boundaries and noun chunks are better.
"""

from __future__ import annotations

from functools import lru_cache

import spacy
from spacy.language import Language

from cppthemes.errors import ModelError

TRAINED = {"en": ("en_core_web_sm", "en_core_web_md", "en_core_web_lg")}


@lru_cache(maxsize=8)
def load_nlp(lang: str = "en") -> Language:
    """The best spaCy pipeline available offline for ``lang``; cached per process."""
    for name in TRAINED.get(lang, ()):
        try:
            nlp = spacy.load(name, exclude=["ner", "textcat"])
        except (OSError, ImportError):
            continue
        if "sentencizer" not in nlp.pipe_names and "parser" not in nlp.pipe_names:
            nlp.add_pipe("sentencizer")
        return nlp
    try:
        nlp = spacy.blank(lang)
    except ImportError as exc:
        raise ModelError(
            f"label.language={lang!r}: spaCy has no language {lang!r} ({exc})"
        ) from None
    nlp.add_pipe("sentencizer")
    try:
        nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
        nlp.initialize()
    except (ValueError, OSError, KeyError):
        # No lookup table for this language: keep stop words and lower-casing only.
        nlp = spacy.blank(lang)
        nlp.add_pipe("sentencizer")
    return nlp
