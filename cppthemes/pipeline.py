"""The pipeline: ingest -> segment -> embed -> cluster -> label -> themes.

Each stage is a plain function; this module only chains them, times them and collects what the
manifest needs. It prints nothing: progress goes to the ``on_progress`` callback.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from cppthemes import __version__
from cppthemes.cluster import centroids, cluster
from cppthemes.config import Config
from cppthemes.embed import Embedder, EmbeddingCache, SentenceTransformerEmbedder, embed
from cppthemes.errors import InputError
from cppthemes.ingest import Skipped, load_corpus
from cppthemes.label import label, passage_terms
from cppthemes.layout import passage_map
from cppthemes.pseudonymize import pseudonymize, read_name_list
from cppthemes.records import Result
from cppthemes.segment import embedding_texts, segment, spacy_sentences
from cppthemes.themes import group_codes, theme_linkage, tree_records

Progress = Callable[[str, int, int], None]


def run(
    paths: Sequence[str | Path],
    cfg: Config,
    *,
    embedder: Embedder | None = None,
    cache: EmbeddingCache | None = None,
    on_progress: Progress | None = None,
    on_skip: Callable[[Skipped], None] | None = None,
    pseudonyms: Mapping[str, str] | None = None,
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
            names=[*listed, *cfg.ingest.facilitators],
            not_names=cfg.segment.facilitators,
            use_entities=cfg.privacy.entities,
            existing=pseudonyms,
        )
        transcripts = tuple(pseudonymized)
        cfg = _config_without_names(cfg, mapping)
    lap("ingest")

    notify("load model", 0, 1)
    model = embedder or SentenceTransformerEmbedder(
        cfg.embed.model, batch_size=cfg.embed.batch_size, device=cfg.embed.device
    )
    lap("load_model")

    passages, stats = segment(
        transcripts,
        cfg.segment,
        count_tokens=model.count_tokens,
        sentencizer=spacy_sentences(cfg.label.language),
    )
    if not passages:
        raise InputError(
            transcripts[0].path if len(transcripts) == 1 else str(paths[0]),
            "no participant passages to code (only facilitator turns or back-channels?)",
        )
    lap("segment")

    vectors, cached = embed(
        embedding_texts(passages, cfg.segment), model, cache, on_progress=on_progress
    )
    lap("embed")

    notify("cluster", 0, len(passages))
    assignment = cluster(vectors, cfg.cluster)
    lap("cluster")

    notify("label", 0, assignment.n_clusters)
    names = sorted({t.speaker for tr in transcripts for t in tr.turns})
    terms = passage_terms(passages, cfg.label, names)
    codes = label(passages, assignment, vectors, cfg.label, names=names, terms=terms)
    labels = np.asarray(assignment.labels, dtype=int)
    code_centroids = centroids(vectors, labels, assignment.n_clusters)
    themes = group_codes(codes, code_centroids, passages, terms, cfg.themes)
    tree = tree_records(theme_linkage(code_centroids), [c.id for c in codes])
    lap("label")

    xy = passage_map(vectors, cfg.cluster.seed)
    coords = {p.id: (float(x), float(y)) for p, (x, y) in zip(passages, xy, strict=True)}
    lap("map")

    passage_codes: dict[str, str | None] = {p.id: None for p in passages}
    for code in codes:
        for pid in code.passage_ids:
            passage_codes[pid] = code.id
    info: dict[str, object] = {
        "version": __version__,
        "model": model.model_id,
        "model_fingerprint": model.fingerprint,
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
        "theme_tree": tree,
        "embeddings": {
            "passages": len(passages),
            "from_cache": cached,
            # Cache entries whose checksum failed: deleted and embedded again.
            "corrupt_cache_entries": cache.corrupt if cache else 0,
        },
        "timings_s": timings,
        "skipped": [s.as_dict() for s in corpus.skipped],
        "warnings": [w.as_dict() for w in corpus.warnings],
        "config": cfg.model_dump(),
    }
    return Result(
        transcripts=tuple(transcripts),
        passages=tuple(passages),
        passage_codes=passage_codes,
        codes=tuple(codes),
        themes=tuple(themes),
        segment_stats=stats,
        info=info,
        coords=coords,
        pseudonyms=mapping,
    )


def _config_without_names(cfg: Config, mapping: Mapping[str, str]) -> Config:
    """The settings as recorded in run.json and the report: given facilitator names replaced."""
    if not cfg.ingest.facilitators:
        return cfg
    named = [mapping.get(" ".join(n.split()), n) for n in cfg.ingest.facilitators]
    return cfg.model_copy(update={"ingest": cfg.ingest.model_copy(update={"facilitators": named})})
