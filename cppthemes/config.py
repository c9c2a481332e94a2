"""Settings: one source of defaults, validated once, overridable with dotted keys.

The defaults below are the defaults. ``configs/default.toml`` repeats them with comments for
people, and a test keeps the two equal. Unknown keys are rejected, and every message names the
key, the value given and what is allowed, because a silently ignored typo in a setting is a
wrong analysis nobody notices.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from cppthemes.errors import ConfigError, InputError
from cppthemes.interrupts import Held

# Ctrl-C while pydantic builds these models' validators would be printed and ignored: held
# until the end of this module, then raised (cppthemes/interrupts.py).
_held = Held()


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


Format = Literal["auto", "text", "docx", "vtt", "srt", "json", "csv", "tsv", "xlsx"]
FORMATS: tuple[str, ...] = get_args(Format)
COLUMN_KEYS = ("speaker", "text", "time", "end", "file")


# Speaker labels that are the facilitator's role, not a name (ingest.facilitator_labels).
FACILITATOR_LABELS = (
    "facilitator", "moderator", "interviewer", "interviewer 1", "i", "q", "f", "int", "mod",
    "therapist", "counsellor", "counselor", "intervjuer",
)  # fmt: skip

# Settings that moved: old key -> new key. Run folders and config files written before the
# move still load (run.json's recorded config is replayed by `refine`).
MOVED = {"segment.facilitators": "ingest.facilitator_labels"}


class IngestConfig(_Section):
    """How transcripts are found and read."""

    suffixes: list[str] = Field(
        default=[".txt", ".md", ".docx", ".vtt", ".srt", ".json", ".csv", ".tsv", ".xlsx"],
        min_length=1,
    )
    manifest: str = "manifest.csv"
    manifest_path: str = ""
    format: Format = "auto"
    columns: dict[str, str] = {}
    meta_from_name: str = ""
    # Names of the people who facilitate (``--facilitator NAME``): the facilitator wherever
    # they speak. The one ``facilitators`` setting (issue 16; it was also a [segment] key).
    facilitators: list[str] = []
    # Speaker labels that name the role (Interviewer, Moderator, INT...), any case.
    facilitator_labels: list[str] = Field(default_factory=lambda: list(FACILITATOR_LABELS))
    detect_facilitator: bool = True
    strict: bool = False

    @field_validator("columns")
    @classmethod
    def _known_columns(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(COLUMN_KEYS))
        if unknown:
            raise ValueError(
                f"unknown column role {unknown[0]!r} (allowed: {', '.join(COLUMN_KEYS)})"
            )
        if any(not v.strip() for v in value.values()):
            raise ValueError("a column needs a header name or a 1-based column number")
        return value

    @field_validator("meta_from_name")
    @classmethod
    def _template(cls, value: str) -> str:
        if not value:
            return value
        fields = re.findall(r"\{([^{}]*)\}", value)
        if not fields:
            raise ValueError("needs at least one {field}, e.g. '{site}_{wave}_{group}'")
        bad = [f for f in fields if not f.isidentifier()]
        if bad:
            raise ValueError(f"field {bad[0]!r} is not a name (letters, digits, _)")
        if len(set(fields)) != len(fields):
            raise ValueError("a field appears twice")
        return value


class SegmentConfig(_Section):
    """How turns become passages."""

    min_words: int = Field(default=4, ge=1)
    max_tokens: int = Field(default=256, ge=16)
    embed_context: bool = True
    strategy: Literal["turn", "window", "topic"] = "turn"
    backchannels: Literal["drop", "merge"] = "merge"
    window_sentences: int = Field(default=5, ge=1)
    topic_block: int = Field(default=24, ge=1)
    topic_cutoff: float = Field(default=2.5, ge=-3.0, le=3.0)


class EmbedConfig(_Section):
    """Which sentence-transformers model embeds passages, and how."""

    model: str = "all-MiniLM-L6-v2"
    # How the packaged model runs: "auto" exports it to ONNX once and runs onnxruntime (same
    # vectors, about twice as fast), torch where the export fails; "torch" and "onnx" insist.
    runtime: Literal["auto", "torch", "onnx"] = "auto"
    batch_size: int = Field(default=32, ge=1)
    device: str = "auto"
    threads: int = Field(default=0, ge=0)
    engine: Literal["local", "dask"] = "local"
    dask_address: str = ""
    dask_workers: int = Field(default=0, ge=0)
    endpoint: str = ""
    endpoint_model: str = ""
    allow_remote: bool = False
    timeout: float = Field(default=60.0, gt=0.0)
    retries: int = Field(default=3, ge=0, le=10)


class ClusterConfig(_Section):
    """How passages are grouped into candidate codes."""

    method: Literal["ward", "agglomerative", "kmeans", "hdbscan"] = "ward"
    linkage: Literal["average", "complete"] = "average"
    distance_threshold: float = Field(default=0.0, ge=0.0, le=2.0)
    granularity: Literal["coarse", "medium", "fine"] = "medium"
    n_codes: int = Field(default=0, ge=0)
    passages_per_code: float = Field(default=0.0, ge=0.0)
    min_codes: int = Field(default=4, ge=1)
    max_codes: int = Field(default=60, ge=1)
    min_size: int = Field(default=3, ge=1)
    min_similarity: float = Field(default=0.2, ge=-1.0, le=1.0)
    reduce: Literal["none", "pca", "umap"] = "none"
    reduce_dims: int = Field(default=20, ge=2)
    max_fit: int = Field(default=10000, ge=100)
    stability_resamples: int = Field(default=10, ge=0)
    unstable_below: float = Field(default=0.5, ge=0.0, le=1.0)
    # Fold codes that do not come back on resamples into their nearest code (by how often the
    # resamples put their passages together), least stable first, until every code passes
    # unstable_below or fold_floor x the requested codes are left (cppthemes/cluster/stable.py).
    fold_unstable: bool = False
    fold_floor: float = Field(default=0.67, ge=0.0, le=1.0)
    seed_threshold: float = Field(default=0.5, ge=-1.0, le=1.0)
    seed: int = 0
    # Set greetings, goodbyes, thanks, technical talk, masks and content-free passages aside
    # in a procedural bin, uncoded and never quoted (cppthemes/procedural.py).
    procedural: bool = True
    # Also put content-free passages (no content word: "I don't know. What do you think?")
    # in the bin; off, they stay coded but are never quoted (measured in docs/clustering.md).
    procedural_content_free: bool = False


class LabelConfig(_Section):
    """How codes get keyphrases, labels and quotes."""

    language: str = "en"
    keyphrases: int = Field(default=10, ge=1)
    max_ngram: int = Field(default=3, ge=1, le=5)
    candidates: int = Field(default=30, ge=1)
    rerank_weight: float = Field(default=0.5, ge=0.0, le=1.0)
    diversity: float = Field(default=0.3, ge=0.0, le=1.0)
    quotes: int = Field(default=5, ge=1)
    quote_diversity: float = Field(default=0.3, ge=0.0, le=1.0)
    quote_spread: float = Field(default=0.2, ge=0.0, le=1.0)
    weak_coherence: float = Field(default=0.5, ge=-1.0, le=1.0)
    weak_distinctiveness: float = Field(default=0.15, ge=-1.0, le=1.0)
    fillers: list[str] = [
        "yeah", "yes", "yep", "like", "um", "uh", "erm", "mm", "mmm", "hmm", "mm-hmm", "okay",
        "ok", "oh", "right", "well", "know", "mean", "kind", "sort", "actually", "really",
        "just", "thing", "things", "stuff", "guess", "gonna", "wanna", "lot", "bit", "maybe",
        "pretty", "crosstalk", "laughs", "laughter", "inaudible", "pause", "think", "say",
        "said", "go", "get", "got", "sure", "exactly", "absolutely", "totally", "basically",
        "come", "look", "sit", "want", "tell", "ask", "happen", "let", "put", "take", "make",
        "try", "give", "keep", "start", "thank", "thanks", "honestly", "little", "sorry", "eh",
        "ah", "huh", "wow",
    ]  # fmt: skip


class ThemesConfig(_Section):
    """How codes are grouped into candidate themes."""

    n_themes: int = Field(default=0, ge=0)
    # "adaptive": Ward tree of code centres cut at the clearest grouping (silhouette) with
    # min_themes..max_themes themes; "distance": average-linkage cosine tree cut at
    # distance_threshold (the rule before issue 17).
    method: Literal["adaptive", "distance"] = "adaptive"
    min_themes: int = Field(default=3, ge=1)
    max_themes: int = Field(default=12, ge=1)
    distance_threshold: float = Field(default=0.45, gt=0.0, le=2.0)


class CodebookConfig(_Section):
    """How an edited codebook and a deductive framework shape a rerun."""

    match_similarity: float = Field(default=0.7, ge=-1.0, le=1.0)
    framework: str = ""
    deductive: bool = False
    # A file of phrases per code (YAML or "Name: phrase; phrase" lines) used as seeded codes
    # (`cppthemes run --seed-codes FILE`; cppthemes/seed_codes.py); "" = none.
    seed_codes: str = ""
    constructs_per_code: int = Field(default=3, ge=1)


class PrivacyConfig(_Section):
    """Pseudonymisation of people's names before anything is written."""

    pseudonymize: bool = False
    names_file: str = ""
    entities: bool = True
    contacts: bool = True


class ExportConfig(_Section):
    """How the spreadsheets and the REFI-QDA project are written (issue 18)."""

    # CSV files start with a UTF-8 byte-order mark, so Excel on Windows reads "ø" and "é";
    # false for tools that take the mark for part of the first column's name.
    csv_bom: bool = True
    # Metadata attributes that say which transcripts hold the same people (a group met in
    # several waves: ["cohort", "site"]). A speaker label within transcripts that share these
    # values is one person, one case in project.qdpx; [] = one case per speaker per transcript.
    people_by: list[str] = []


class Config(_Section):
    """All settings of a run."""

    ingest: IngestConfig = IngestConfig()
    segment: SegmentConfig = SegmentConfig()
    embed: EmbedConfig = EmbedConfig()
    cluster: ClusterConfig = ClusterConfig()
    label: LabelConfig = LabelConfig()
    themes: ThemesConfig = ThemesConfig()
    codebook: CodebookConfig = CodebookConfig()
    privacy: PrivacyConfig = PrivacyConfig()
    export: ExportConfig = ExportConfig()


def parse_value(raw: str) -> Any:
    """Read an override value as a TOML literal, falling back to a bare string."""
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw
    except RecursionError:
        raise ConfigError(f"--set value {raw[:20]!r}...: nested too deeply") from None


def parse_overrides(items: Sequence[str]) -> dict[str, Any]:
    """``--set key=value`` items as a dict of dotted keys to values (TOML literals read)."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep:
            raise ConfigError(f"--set {item}: expected key=value, e.g. cluster.n_codes=12")
        out[key.strip()] = parse_value(raw.strip())
    return out


def set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    """``data[section][name] = value`` for ``key`` "section.name"; unknown sections refused."""
    parts = key.split(".")
    if len(parts) != 2 or not all(parts):
        raise ConfigError(f"--set {key}: keys are 'section.name', e.g. cluster.n_codes=12")
    section, name = parts
    if section not in Config.model_fields:
        allowed = ", ".join(Config.model_fields)
        raise ConfigError(f"--set {key}: unknown section {section!r} (allowed: {allowed})")
    data.setdefault(section, {})[name] = value


def _explain(err: ValidationError, origin: str) -> str:
    first = err.errors()[0]
    key = ".".join(str(p) for p in first["loc"])
    value = first.get("input")
    if first["type"] == "extra_forbidden":
        section = first["loc"][0] if len(first["loc"]) > 1 else None
        fields = (
            Config.model_fields[str(section)].annotation.model_fields  # type: ignore[union-attr]
            if section in Config.model_fields
            else Config.model_fields
        )
        return f"{origin}: unknown setting {key!r} (allowed: {', '.join(fields)})"
    return f"{origin}: {key}={value!r}: {first['msg'].lower()}"


def read_toml(path: str | Path) -> dict[str, Any]:
    """A TOML settings file as a dict; every error names the file."""
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    except RecursionError:
        raise ConfigError(f"{path}: not valid TOML (nested too deeply)") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror or exc})") from None


def load_config(
    path: str | Path | None = None,
    overrides: Sequence[str] | None = None,
    settings: Mapping[str, Any] | None = None,
) -> Config:
    """Defaults, then the TOML file at ``path``, then ``--set key=value`` ``overrides``, then
    ``settings`` (dotted key -> value, what the CLI's own options set)."""
    data = read_toml(path) if path is not None else {}
    origin = str(path) if path is not None else "settings"
    given = {**parse_overrides(overrides or []), **(settings or {})}
    if given:
        origin = f"{origin} (with --set)"
    return validate_settings(data, given, origin)


def validate_settings(data: dict[str, Any], given: Mapping[str, Any], origin: str) -> Config:
    """Settings from ``data`` (sections of a TOML file or run.json) with ``given`` dotted
    overrides, validated field by field and then across fields; errors name ``origin``."""
    moved_keys(data)
    for key, value in given.items():
        set_dotted(data, MOVED.get(key, key), value)
    try:
        cfg = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_explain(exc, origin)) from None
    check_across(cfg, origin)
    return cfg


def moved_keys(data: dict[str, Any]) -> None:
    """Settings under their old names (``MOVED``) put where they live now, in place."""
    for old, new in MOVED.items():
        section, key = old.split(".")
        block = data.get(section)
        if isinstance(block, dict) and key in block:
            value = block.pop(key)
            new_section, new_key = new.split(".")
            target = data.setdefault(new_section, {})
            if isinstance(target, dict):
                target.setdefault(new_key, value)


def check_across(cfg: Config, origin: str) -> None:
    """The rules that tie one setting to another or to a file, checked before any transcript
    is read: a run must not embed for minutes and then stop on a setting."""
    if cfg.cluster.min_codes > cfg.cluster.max_codes:
        raise ConfigError(
            f"{origin}: cluster.min_codes={cfg.cluster.min_codes} must be <= "
            f"cluster.max_codes={cfg.cluster.max_codes}"
        )
    if cfg.codebook.deductive and not cfg.codebook.framework:
        raise ConfigError(
            f"{origin}: codebook.deductive=true needs a framework (codebook.framework / "
            "--framework)"
        )
    if cfg.codebook.framework:
        from cppthemes.codebook.framework import framework_path

        found = framework_path(cfg.codebook.framework)
        if not found.is_file():
            raise InputError(found, "framework file not found")
    if cfg.embed.endpoint:  # a remote address is refused before any transcript is read
        from cppthemes.embed.endpoint import check_endpoint

        check_endpoint(cfg.embed.endpoint, allow_remote=cfg.embed.allow_remote)


def parse_columns(spec: str) -> dict[str, str]:
    """``speaker=Who,text=Said`` (the ``--columns`` option) as a dict; errors name the part."""
    out: dict[str, str] = {}
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ConfigError(
                f"--columns {spec}: expected role=column pairs, e.g. speaker=Speaker,text=Utterance"
            )
        out[key.strip().lower()] = value.strip()
    return out


_held.release()
