"""Typed records passed from stage to stage.

Records are frozen dataclasses: a stage returns new records rather than mutating the ones it was
given, which keeps every stage testable on hand-built inputs and makes reruns reproducible.
All character offsets are Unicode code points into ``Transcript.plain_text`` (UTF-8, LF line
ends), end exclusive, which is also what REFI-QDA exchange files expect.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from cppthemes.errors import CppthemesError, InputError

Role = Literal["participant", "facilitator"]
Metadata = dict[str, str]


@dataclass(frozen=True)
class Turn:
    """One speaker turn as it stands in the source."""

    transcript_id: str
    index: int
    speaker: str
    text: str
    line_start: int
    line_end: int
    char_start: int
    char_end: int
    start_s: float | None = None
    end_s: float | None = None
    # Where the turn starts in the file the analyst has (``line_start`` is a line of
    # ``plain_text``, which ingest writes for formats that are not text): the file's line for
    # text, the paragraph for docx, the cue's first text line for vtt/srt; the sheet row for
    # csv/tsv/xlsx. None where the format has no such place (Whisper JSON: ``start_s``).
    ref_line: int | None = None
    ref_row: int | None = None


@dataclass(frozen=True)
class Transcript:
    """A whole transcript; ``plain_text`` is what every offset refers to."""

    id: str
    source: str
    path: str
    format: str
    plain_text: str
    turns: tuple[Turn, ...]
    metadata: Metadata = field(default_factory=dict)
    sha256: str = ""
    # speaker label -> "facilitator" / "participant", decided at ingest (cppthemes/ingest/
    # roles.py); empty for hand-built records, where segment falls back to speaker names.
    roles: dict[str, str] = field(default_factory=dict)
    roles_from: str = ""
    # How the roles were decided, in words ("asks 14 of 20 questions, 22% of words"), and
    # whether the evidence was thin: an uncertain transcript is a warning.
    roles_evidence: str = ""
    roles_uncertain: bool = False
    # What the reader noticed that the analyst must hear about (labels it did not take, mixed
    # encodings): each becomes a warning of the run.
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Passage:
    """A stretch of one participant's talk that may receive a code."""

    id: str
    transcript_id: str
    source: str
    speaker: str
    role: Role
    text: str
    turn_start: int
    turn_end: int
    line_start: int
    line_end: int
    char_start: int
    char_end: int
    context: str | None = None
    metadata: Metadata = field(default_factory=dict)
    # Where the passage starts in the original file (see `Turn.ref_line`), and when.
    ref_line: int | None = None
    ref_row: int | None = None
    start_s: float | None = None


def passage_id(transcript_id: str, char_start: int, char_end: int) -> str:
    """Stable id: the same stretch of the same transcript gets the same id in every run."""
    digest = hashlib.sha1(f"{transcript_id}\0{char_start}\0{char_end}".encode()).hexdigest()
    return f"p{digest[:12]}"


@dataclass(frozen=True)
class Quote:
    """A verbatim exemplar: ``text`` equals the source's plain text at the char span."""

    passage_id: str
    text: str
    source: str
    transcript_id: str
    speaker: str
    line: int
    char_start: int
    char_end: int
    similarity: float
    metadata: Metadata = field(default_factory=dict)
    # Where it is in the original file when that is not ``line`` ("00:12:31, line 45" in a
    # .vtt, "row 12" of a spreadsheet; see cppthemes/provenance.py); "" for text files.
    where: str = ""
    # The last line the quoted text covers (its first is ``line``); 0 = the same line.
    line_end: int = 0
    # Other speakers' words inside the passage that the quote leaves out ("Erik: Wow."),
    # so the quote is one speaker's words and the reader still knows someone spoke.
    omitted: tuple[str, ...] = ()


@dataclass(frozen=True)
class Prevalence:
    """How widely a code or theme occurs: the numbers an analyst writes up."""

    passages: int
    speakers: int
    transcripts: int
    transcripts_total: int
    by_metadata: dict[str, dict[str, int]] = field(default_factory=dict)


class CodeStatus(StrEnum):
    """Where a code stands, in the words codebook.yaml allows (docs/codebook.md): the tool's
    own (candidate, kept, seeded, deductive), an analyst's anchors (keep, renamed, final) and
    discards. A ``StrEnum``, so it is written to codebook.yaml, run.json and the report as its
    word, and an analyst's word is kept as written."""

    CANDIDATE = "candidate"
    KEPT = "kept"
    KEEP = "keep"
    RENAMED = "renamed"
    FINAL = "final"
    SEEDED = "seeded"
    DEDUCTIVE = "deductive"
    DISCARDED = "discarded"
    DISCARD = "discard"

    @classmethod
    def of(cls, word: object) -> CodeStatus:
        """The status a word of codebook.yaml names (any case); no word is a candidate."""
        text = str(word or "").strip().lower()
        return cls(text) if text in cls._value2member_map_ else cls.CANDIDATE

    @property
    def anchors(self) -> bool:
        """Whether the analyst (or a framework) stands behind the code: a rerun keeps it."""
        return self in _ANCHORS

    @property
    def discards(self) -> bool:
        return self in (CodeStatus.DISCARDED, CodeStatus.DISCARD)


_ANCHORS = frozenset(
    {
        CodeStatus.KEPT,
        CodeStatus.KEEP,
        CodeStatus.SEEDED,
        CodeStatus.DEDUCTIVE,
        CodeStatus.RENAMED,
        CodeStatus.FINAL,
    }
)


@dataclass(frozen=True)
class AuditEvent:
    """One entry of the codebook's audit trail (audit.jsonl, the report's audit table).

    ``rule`` is the decision or change ("merge", "not applied", "membership", ...), ``code``
    the code or theme it concerns, ``what`` the sentence an analyst reads; membership changes
    count the passages ``gained`` and ``lost``.
    """

    rule: str
    code: str
    what: str
    run: int = 0
    gained: int | None = None
    lost: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """The JSON object of audit.jsonl: run, rule, code, what (then gained, lost)."""
        out: dict[str, Any] = {"run": self.run, "rule": self.rule, "code": self.code}
        out["what"] = self.what
        if self.gained is not None or self.lost is not None:
            out["gained"], out["lost"] = self.gained, self.lost
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AuditEvent:
        """An event read back from audit.jsonl (older files may lack ``run``)."""
        gained, lost = data.get("gained"), data.get("lost")
        return cls(
            rule=str(data.get("rule") or ""),
            code=str(data.get("code") or ""),
            what=str(data.get("what") or ""),
            run=int(data.get("run") or 0),
            gained=None if gained is None else int(gained),
            lost=None if lost is None else int(lost),
        )


@dataclass(frozen=True)
class Code:
    """A candidate code: a cluster of passages with its label, words and quotes."""

    id: str
    label: str
    keyphrases: tuple[str, ...]
    passage_ids: tuple[str, ...]
    quotes: tuple[Quote, ...]
    prevalence: Prevalence
    coherence: float
    distinctiveness: float = 0.0
    nearest_code: str | None = None
    weak: bool = False
    status: CodeStatus = CodeStatus.CANDIDATE
    description: str = ""
    # Mean best-match Jaccard over resampled re-clusterings (0-1); None when not measured.
    stability: float | None = None
    # Example phrases that define a seeded code (its anchor is their embedded mean).
    examples: tuple[str, ...] = ()
    # Closest framework constructs (name, cosine similarity), best first; empty without one.
    constructs: tuple[tuple[str, float], ...] = ()
    # The code's most central sentence, verbatim, with its place: a one-sentence description
    # in the participants' own words (cppthemes/quotes.py); None when no sentence qualifies.
    central: Quote | None = None

    @property
    def size(self) -> int:
        return len(self.passage_ids)


@dataclass(frozen=True)
class Theme:
    """A candidate theme: codes whose centroids lie close together."""

    id: str
    label: str
    code_ids: tuple[str, ...]
    prevalence: Prevalence
    description: str = ""


@dataclass(frozen=True)
class Folded:
    """A group of passages folded into a code because, as a code of its own, it did not come
    back when the corpus was re-clustered on resamples (cppthemes/cluster/stable.py)."""

    into: int  # the code (cluster index) the group is now part of
    members: tuple[int, ...]  # the group's passages: positions among the clustered passages
    stability: float  # the group's stability as a code of its own, when it was folded
    together: float  # how often the resamples put its passages with the code it joined


@dataclass(frozen=True)
class Assignment:
    """What clustering learned: a cluster index per passage (-1 = uncoded) and centroids."""

    labels: tuple[int, ...]
    n_clusters: int
    method: str
    params: dict[str, float | int | str] = field(default_factory=dict)
    stability: tuple[float, ...] = ()  # per cluster: mean best-match Jaccard over resamples
    folded: tuple[Folded, ...] = ()  # groups folded into a code (cluster.fold_unstable), in order


@dataclass(frozen=True)
class SegmentStats:
    """Counts the run summary reports about segmentation."""

    turns: int
    participant_turns: int
    facilitator_turns: int
    non_substantive_turns: int
    split_turns: int
    passages: int
    strategy: str = "turn"
    merged_turns: int = 0
    topic_segments: int = 0


@dataclass(frozen=True)
class Skipped:
    """A file (or part of one) that was not read, and why; ``str()`` is the one-line form."""

    path: str
    line: int | None
    reason: str

    def __str__(self) -> str:
        return (
            f"{self.path}:{self.line}: {self.reason}"
            if self.line
            else f"{self.path}: {self.reason}"
        )

    def as_dict(self) -> dict[str, object]:
        return {"path": self.path, "line": self.line, "reason": self.reason}

    @classmethod
    def from_error(cls, exc: CppthemesError, path: Path) -> Skipped:
        if isinstance(exc, InputError):
            return cls(exc.path, exc.line, exc.message)
        return cls(str(path), None, str(exc))


@dataclass(frozen=True)
class Account:
    """What one transcript gave, line by line (``passages`` is None before segmentation)."""

    source: str
    path: str
    lines: int
    lines_in_turns: int
    lines_in_no_turn: int
    turns: int
    facilitator_turns: int
    participant_turns: int
    backchannels: int
    speakers: int
    passages: int | None
    facilitators: tuple[str, ...]
    roles_from: str
    roles_evidence: str
    roles_uncertain: bool

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["facilitators"] = list(self.facilitators)
        return data


@dataclass(frozen=True)
class ModelInfo:
    """The embedding model: its name as run.json gives it, and the fingerprint of its weights."""

    id: str | None = None
    sha256: str | None = None


@dataclass(frozen=True)
class RunInfo:
    """What a run records about itself beside its records: run.json's sections of the same
    names (cppthemes/codec.py writes and reads them; ``accounts`` lie in run.json's
    ``inputs.transcripts``)."""

    cppthemes: str | None = None  # the version that made the run
    model: ModelInfo = ModelInfo()
    language: dict[str, str] | None = None  # {"setting": ..., "used": ...}
    # Only for a model on another cosine scale than MiniLM's (cppthemes.embed.similarity).
    similarity: dict[str, Any] | None = None
    notes: tuple[str, ...] = ()
    clustering: dict[str, Any] | None = None  # method and its parameters
    stability: dict[str, Any] | None = None
    theme_tree: list[dict[str, Any]] = field(default_factory=list)
    # The procedural bin (cppthemes/procedural.py), how people were counted
    # (cppthemes/people.py), and each seeded code's passages and confidence (seed_codes.py).
    procedural: dict[str, Any] | None = None
    people: dict[str, Any] | None = None
    seeded_codes: dict[str, Any] | None = None
    neighbours: dict[str, list[list[Any]]] = field(default_factory=dict)
    # What the codebook decided and each code's state (the next run's snapshot).
    codebook: dict[str, Any] | None = None
    framework: dict[str, Any] | None = None
    embeddings: dict[str, Any] | None = None
    timings_s: dict[str, float] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)  # the settings as given
    skipped: tuple[Skipped, ...] = ()
    warnings: tuple[Skipped, ...] = ()
    accounts: tuple[Account, ...] = ()


@dataclass(frozen=True)
class Result:
    """Everything one pipeline run produced, ready to be written to a run folder."""

    transcripts: tuple[Transcript, ...]
    passages: tuple[Passage, ...]
    passage_codes: dict[str, str | None]
    codes: tuple[Code, ...]
    themes: tuple[Theme, ...]
    segment_stats: SegmentStats
    info: RunInfo = RunInfo()
    # Passage id -> (x, y): a 2-D projection of the passage vectors for the map in report.html,
    # stored in passages.jsonl so exports can redraw it without embedding again.
    coords: dict[str, tuple[float, float]] = field(default_factory=dict)
    # The codebook's audit trail (one event per recorded decision or change), if any.
    audit: tuple[AuditEvent, ...] = ()
    # Passage id -> closest framework construct (name, cosine similarity), with --framework.
    passage_constructs: dict[str, tuple[str, float]] = field(default_factory=dict)
    # With privacy.pseudonymize: name -> pseudonym. Private: written beside the run folder
    # (never into it) by runfolder.write_run.
    pseudonyms: dict[str, str] = field(default_factory=dict)

    @property
    def coverage(self) -> float:
        """Share of passages that received a code."""
        if not self.passages:
            return 0.0
        coded = sum(1 for p in self.passages if self.passage_codes.get(p.id) is not None)
        return coded / len(self.passages)

    def theme_of(self) -> dict[str, str]:
        """Map code id -> theme id."""
        return {cid: t.id for t in self.themes for cid in t.code_ids}
