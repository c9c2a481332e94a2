"""The procedural bin: small talk, logistics, technical trouble, thanks, masks, empty talk.

Greetings ("Hi all, can you hear me? Okay."), goodbyes ("I have to run. But thank you"),
redaction masks ("xxx, xx", "[redacted]", "***"), "Sorry, that's my phone" and content-free
turns ("I don't know. What do you think?") are real talk but not data for a code: clustered,
they scatter across topical codes and get picked as exemplar quotes, or form a junk code of
their own. They go to one marked bin instead: not coded, counted as non-substantive, listed in
the report, never quoted.

The rule, in words (docs/clustering.md, "The procedural bin"):

- *content words* are letter tokens of at least two letters that are not stop words (spaCy's
  lists for English, Norwegian and German, plus the run's language), conversational fillers,
  back-channel words or masks;
- a passage is **masked** when masks are at least as many as its content words;
- it is **greeting / goodbye / thanks / technical / logistics** when it says one of those
  phrases (English, Norwegian, German) and at most ``MAX_REST`` content words besides;
- it is **content-free** when it has at most ``MAX_EMPTY`` (0) content words at all; such a
  passage is never quoted, and joins the bin only with ``cluster.procedural_content_free``.

Anything else is substantive. A passage that greets and then talks about the topic keeps its
topic. Exemplar quotes must have at least ``QUOTE_MIN_WORDS`` content words and no kind.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from cppthemes.config import ClusterConfig
from cppthemes.ingest.nonspeech import strip_nonspeech
from cppthemes.nlp import FILLERS, stop_words
from cppthemes.own_words import own_text
from cppthemes.records import Passage, Transcript

QUOTE_MIN_WORDS = 6
MAX_REST = 3
# The most content words any procedural phrase holds ("share my screen", "consent form": 2).
PHRASE_WORDS = 4
MAX_EMPTY = 0
LANGUAGES = ("en", "nb", "de")

WORD = re.compile(r"[^\W\d_][\w'’\-]*")
# Redaction masks: runs of x, asterisks, block characters, underscores, and brackets that say
# something was removed ("[redacted]", "<name>", "[NAVN]", "[anonymisiert]").
MASK = re.compile(
    r"(?<![\w])[xX]{2,}(?![\w])|\*{2,}|█+|_{3,}|#{3,}"
    r"|[\[<{(]\s*(?:redacted|removed|deleted|censored|anonymi[sz]ed|anonymisiert|name|names?"
    r"|navn|sensurert|slettet|fjernet|geschwärzt|entfernt|unkenntlich|xx+|\*+|\.\.\.)"
    r"[^\]>})\n]{0,30}[\]>})]",
    re.IGNORECASE,
)
PHRASES: dict[str, str] = {
    "greeting": r"hi|hello|hey|hiya|good (?:morning|afternoon|evening)|welcome|"
    r"nice to (?:meet|see) you|how are you|hei|hallo|heisann|god (?:morgen|dag|kveld)|"
    r"guten (?:morgen|tag|abend)|servus|moin|grüß gott|wie geht'?s",
    "goodbye": r"bye|bye-bye|goodbye|see you(?: later| soon| next time)?(?=\s*(?:[.,!;]|$))|"
    r"(?:have|need|got) to (?:run|go|leave|hop off|jump off)(?=\s*(?:[.,!;]|now|soon|$))|"
    r"gotta go(?=\s*(?:[.,!;]|now|soon|$))|take care(?! of)|talk (?:to you )?(?:soon|later)|"
    r"ha det(?: bra)?|vi snakkes|"
    r"tschüss?|auf wiedersehen|bis (?:bald|später|dann)|that'?s all (?:from me|for today)",
    "thanks": r"thank(?:s| you)|cheers|(?:tusen )?takk|danke(?: schön)?|vielen dank",
    "technical": r"can you (?:hear|see) me|(?:you'?re|i'?m|you are|i am) (?:on )?mute[d]?|"
    r"unmute|my (?:phone|camera|mic|microphone|connection|internet|screen|battery|wifi)|"
    r"(?:bad|poor|lost|slow) (?:connection|internet)|froze|frozen|cutting out|breaking up|"
    r"share (?:my|your) screen|hører (?:du|dere) meg|ser (?:du|dere) meg|mikrofon|"
    r"h(?:ö|oe)rst du mich|h(?:ö|oe)ren sie mich|verbindung|internett?",
    "logistics": r"(?:let'?s|we'?ll|we will|shall we|are we ready to) "
    r"(?:start|begin|get started|wrap up|move on)|recording|consent form|take a break|"
    r"next question|"
    r"sorry,? (?:i'?m|i was|for being) late|join(?:ed|ing)? (?:the )?(?:call|meeting)|"
    r"zoom|teams link|opptak|aufnahme",
}
_PATTERNS = {
    k: re.compile(rf"(?<![\w'])(?:{p})(?![\w'])", re.IGNORECASE) for k, p in PHRASES.items()
}


@lru_cache(maxsize=8)
def blocked_words(language: str = "en", extra: frozenset[str] = frozenset()) -> frozenset[str]:
    """Words that are not content: stop words of several languages, fillers, back-channels."""
    from cppthemes.config import LabelConfig
    from cppthemes.segment import BACKCHANNEL

    words: set[str] = set(BACKCHANNEL) | set(extra) | {w.lower() for w in LabelConfig().fillers}
    for lang in {*LANGUAGES, language}:
        try:
            words |= stop_words(lang)
        except Exception:  # a language spaCy does not know: its stop words are not used
            continue
        words |= set(FILLERS.get(lang, ()))
    return frozenset(words)


# What is left of English negations and contractions before the apostrophe ("don't" -> "don").
CONTRACTED = frozenset(
    (  # noqa: SIM905 - a word list reads better as text
        "don doesn didn can won isn wasn aren weren couldn wouldn shouldn haven hasn hadn ain "
        "mustn needn"
    ).split()
)


# Each word's verdict per blocked-word set: every passage and quote candidate asks about the
# same words (judging them afresh was most of the label stage's time on swda-small).
_VERDICTS: dict[frozenset[str], dict[str, bool]] = {}


def _content(text: str, blocked: frozenset[str]) -> list[str]:
    clean = MASK.sub(" ", strip_nonspeech(text)).replace("’", "'")
    verdicts = _VERDICTS.setdefault(blocked, {})
    out = []
    for match in WORD.findall(clean):
        word = match.lower().strip("'-")
        keep = verdicts.get(word)
        if keep is None:
            keep = verdicts[word] = _is_content(word, blocked)
        if keep:
            out.append(word)
    return out


def _is_content(word: str, blocked: frozenset[str]) -> bool:
    if len(word) < 2 or word in blocked or set(word) <= {"x"}:
        return False
    base = word.split("'")[0]
    return base not in blocked and base not in CONTRACTED


# Per blocked-word set, each text's content-word count and kind: the bin, the quote rule and
# the courtesy trim judge the same passages and sentences again and again within a run.
_COUNTS: dict[frozenset[str], dict[str, int]] = {}
_KINDS: dict[frozenset[str], dict[str, str | None]] = {}
_MEMO_MAX = 200_000  # texts remembered per set; then the memo starts afresh


# By the identity of the store and the blocked-word set (both kept alive here, so their ids
# are not reused): a dict lookup by the set itself compares two equal sets of hundreds of
# words whenever the caller's set is another object than the key, and quotes ask thousands
# of times per run.
_BY_ID: dict[tuple[int, int], tuple[object, frozenset[str], Any]] = {}


def _identical(store: object, blocked: frozenset[str]) -> Any:
    entry = _BY_ID.get((id(store), id(blocked)))
    if entry is not None and entry[0] is store and entry[1] is blocked:
        return entry[2]
    return None


def _keep(store: object, blocked: frozenset[str], value: Any) -> None:
    if len(_BY_ID) > 256:
        _BY_ID.clear()
    _BY_ID[(id(store), id(blocked))] = (store, blocked, value)


def _memo(store: dict[frozenset[str], dict[str, Any]], blocked: frozenset[str]) -> dict[str, Any]:
    memo = _identical(store, blocked)
    if memo is None:
        memo = store.setdefault(blocked, {})
        _keep(store, blocked, memo)
    if len(memo) > _MEMO_MAX:
        memo.clear()
    return memo


# An earlier run's verdicts (cppthemes/verdictcache.py): per blocked-word set (by its
# ``_set_name``), kinds and counts by ``_text_key``; consulted before judging a text afresh.
_STORED: dict[str, tuple[dict[str, str | None], dict[str, int]]] = {}
_SET_NAMES: dict[frozenset[str], str] = {}


def _set_name(blocked: frozenset[str]) -> str:
    name = _identical(_SET_NAMES, blocked)
    if name is not None:
        return str(name)
    name = _SET_NAMES.get(blocked)
    if name is None:
        words = "\n".join(sorted(blocked)).encode("utf-8", "surrogatepass")
        name = _SET_NAMES[blocked] = hashlib.sha256(words).hexdigest()[:32]
    _keep(_SET_NAMES, blocked, name)
    return name


def _text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def remember(tables: Mapping[str, tuple[dict[str, str | None], dict[str, int]]]) -> None:
    """Verdicts of an earlier run, by blocked-word set name and text key (verdictcache)."""
    _STORED.update(tables)


def verdicts() -> dict[str, tuple[dict[str, str | None], dict[str, int]]]:
    """This process's verdicts, by blocked-word set name and text key (for verdictcache)."""
    out: dict[str, tuple[dict[str, str | None], dict[str, int]]] = {}
    for blocked in {*_KINDS, *_COUNTS}:
        kinds = {_text_key(t): k for t, k in _KINDS.get(blocked, {}).items()}
        counts = {_text_key(t): n for t, n in _COUNTS.get(blocked, {}).items()}
        out[_set_name(blocked)] = (kinds, counts)
    return out


def content_words(text: str, blocked: frozenset[str] | None = None) -> int:
    """How many content words ``text`` has (the quote rule counts these)."""
    blocked = blocked if blocked is not None else blocked_words()
    memo = _memo(_COUNTS, blocked)
    found = memo.get(text)
    if found is None:
        stored = _STORED.get(_set_name(blocked)) if _STORED else None
        found = stored[1].get(_text_key(text)) if stored else None
        if found is None:
            found = len(_content(text, blocked))
        memo[text] = found
    return found


def kind_of(text: str, blocked: frozenset[str] | None = None) -> str | None:
    """The procedural kind of a passage, or None when it is substantive (see the module)."""
    blocked = blocked if blocked is not None else blocked_words()
    memo = _memo(_KINDS, blocked)
    if text not in memo:
        stored = _STORED.get(_set_name(blocked)) if _STORED else None
        key = _text_key(text) if stored else ""
        memo[text] = stored[0][key] if stored and key in stored[0] else _kind(text, blocked)
    return memo[text]


def _kind(text: str, blocked: frozenset[str]) -> str | None:
    content = _content(text, blocked)
    masks = len(MASK.findall(text))
    if masks and masks >= len(content):
        return "mask"
    if len(content) > MAX_REST + PHRASE_WORDS:  # no phrase can leave only MAX_REST behind
        return None
    for kind, pattern in _PATTERNS.items():
        if pattern.search(text):
            rest = _content(pattern.sub(" ", text), blocked)
            if len(rest) <= MAX_REST:
                return kind
    if len(content) <= MAX_EMPTY:
        return "content-free"
    return None


@dataclass(frozen=True)
class Bin:
    """Passages set aside as procedural: passage id -> kind, in passage order."""

    kinds: dict[str, str]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for kind in self.kinds.values():
            out[kind] = out.get(kind, 0) + 1
        return dict(sorted(out.items()))

    def mask(self, passages: Sequence[Passage]) -> np.ndarray:
        """One boolean per passage: True for those in the bin (what clustering leaves out)."""
        return np.array([p.id in self.kinds for p in passages], dtype=bool)

    def as_info(self) -> dict[str, object]:
        """What run.json keeps: how many, of which kind, and each passage with its kind."""
        return {
            "passages": len(self.kinds),
            "kinds": self.counts(),
            "passage_ids": list(self.kinds),
            "passage_kinds": list(self.kinds.values()),
        }

    @classmethod
    def from_info(cls, info: Mapping[str, Any]) -> Bin:
        """The bin back from run.json's ``procedural`` (kinds unknown in older runs: "")."""
        ids = [str(i) for i in info.get("passage_ids") or []]
        kinds = [str(k) for k in info.get("passage_kinds") or []]
        return cls({pid: kinds[i] if i < len(kinds) else "" for i, pid in enumerate(ids)})


def detect(
    passages: Sequence[Passage],
    language: str = "en",
    fillers: Iterable[str] = (),
    cfg: ClusterConfig | None = None,
    transcripts: Sequence[Transcript] = (),
) -> Bin:
    """The procedural bin of a corpus: each passage's kind, for those that have one.

    Content-free passages join the bin only with ``cluster.procedural_content_free`` (off by
    default: they cost 0.01 AMI on qmsum-small, whose human topic segments include them; they
    stay in their code but are never quoted). Judged on the passage's own speaker's words
    (`own_words`: another speaker's "Bye." merged into a passage does not make it a goodbye).
    Empty when ``cluster.procedural`` is off: every passage is then clustered.
    """
    if cfg is not None and not cfg.procedural:
        return Bin({})
    blocked = blocked_words(language, frozenset(w.lower() for w in fillers))
    turns = {t.id: t.turns for t in transcripts}
    empty_too = cfg.procedural_content_free if cfg is not None else True
    kinds = {}
    for p in passages:
        kind = kind_of(own_text(p, turns), blocked)
        if kind and (empty_too or kind != "content-free"):
            kinds[p.id] = kind
    return Bin(kinds)


def quotable(text: str, blocked: frozenset[str] | None = None) -> bool:
    """A quote worth reading: enough content words and no procedural kind."""
    blocked = blocked if blocked is not None else blocked_words()
    return content_words(text, blocked) >= QUOTE_MIN_WORDS and kind_of(text, blocked) is None
