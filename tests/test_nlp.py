from __future__ import annotations

import pytest

from cppthemes.errors import ConfigError
from cppthemes.nlp import detect_language, stop_words
from tests.conftest import SAMPLE


def test_nlp_detect_language_english_sample() -> None:
    texts = [p.read_text(encoding="utf-8") for p in sorted(SAMPLE.glob("*.txt"))]
    assert detect_language(texts) == "en"


def test_nlp_detect_language_norwegian_bokmal() -> None:
    text = (
        "Jeg synes at ventelisten er altfor lang, og vi har ikke nok tid til å følge opp "
        "familiene som venter. Det er mange som har vært her i flere måneder."
    )
    assert detect_language([text]) == "nb"
    assert detect_language([text], candidates=("en", "de")) in {"en", "de"}


def test_nlp_detect_language_no_words_gives_first_candidate() -> None:
    assert detect_language(["123 456"]) == "en"
    assert detect_language([], candidates=("nb", "en")) == "nb"


def test_nlp_stop_words_per_language() -> None:
    assert {"the", "and"} <= stop_words("en") and {"jeg", "og"} <= stop_words("nb")
    with pytest.raises(ConfigError, match=r"label\.language"):
        stop_words("xx-not-a-language")


@pytest.mark.parametrize("lang", ["en", "nb", "de", "fr", "es", "nl", "it", "pt", "fi", "sv"])
def test_nlp_stop_words_read_directly_equal_spacys_defaults(lang: str) -> None:
    import spacy

    expected = frozenset(w.lower() for w in spacy.util.get_lang_class(lang).Defaults.stop_words)
    assert stop_words(lang) == expected


def test_nlp_detect_language_does_not_import_spacy() -> None:
    # Every run detects (or checks) the language; a rerun needs nothing else of spaCy.
    import subprocess
    import sys

    code = (
        "import sys; from cppthemes.nlp import detect_language; "
        "print(detect_language(['Vi snakket om veiledning, og det var ikke så lett.']), "
        "'spacy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["nb", "False"]
