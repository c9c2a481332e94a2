"""The run summary a pipeline run hands to the run folder: what run.json records.

Built in one place from the stages' typed results, so the pipeline's chain stays a chain.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cppthemes import __version__
from cppthemes.cluster.themes import theme_linkage, tree_records
from cppthemes.codebook.apply import applied_counts, this_run
from cppthemes.codebook.decisions import Plan, Previous
from cppthemes.codebook.framework import Framework
from cppthemes.coding import Coded
from cppthemes.config import Config
from cppthemes.embed.embedder import Embedder, EmbeddingCache
from cppthemes.embed.similarity import scale_of, thresholds
from cppthemes.ingest import Corpus
from cppthemes.records import Account, Code, ModelInfo, RunInfo, Skipped


@dataclass(frozen=True)
class Findings:
    """What coding found beside codes and themes (run.json's sections of the same names)."""

    procedural: dict[str, Any]
    people: dict[str, Any]
    seeded_codes: dict[str, Any]
    # Groups of passages folded into a code by the stability check (cluster.fold_unstable).
    folded: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Embedded:
    """What embedding the passages cost: passages, pieces embedded, pieces from the cache,
    and whether the model's weights were loaded (a rerun with every vector cached: no)."""

    passages: int
    pieces: int
    from_cache: int
    model_loaded: bool
    # The embedding threads embed.threads resolved to (0 = auto); None for an embedder
    # without its own threads (an endpoint, the static model).
    threads: int | None = None


def run_info(
    model: Embedder,
    language_setting: str,
    given_cfg: Config,
    cfg: Config,
    coded: Coded,
    codes: Sequence[Code],
    plan: Plan | None,
    previous: Previous | None,
    framework: Framework | None,
    embedded: Embedded,
    other_fresh: int,
    cache: EmbeddingCache | None,
    timings: dict[str, float],
    corpus: Corpus,
    warned: Sequence[Skipped],
    accounts: Sequence[Account],
    notes: Sequence[str],
    found: Findings,
) -> RunInfo:
    """The run summary (``Result.info``). ``given_cfg`` is the settings as given (recorded);
    ``cfg`` the settings the stages used (similarities moved to the model's scale)."""
    assignment = coded.assignment
    return RunInfo(
        cppthemes=__version__,
        model=ModelInfo(model.model_id, model.fingerprint),
        language={"setting": language_setting, "used": cfg.label.language},
        similarity=(
            {"scale": list(scale_of(model)), "applied": thresholds(cfg)}
            if cfg is not given_cfg
            else None
        ),
        notes=tuple(notes),
        clustering={"method": assignment.method, **assignment.params},
        stability=_stability(assignment.params, codes, cfg, found.folded),
        theme_tree=tree_records(
            theme_linkage(coded.centroids, cfg.themes.method), [c.id for c in codes]
        ),
        procedural=found.procedural,
        people=found.people,
        seeded_codes=found.seeded_codes,
        neighbours=neighbours(codes, coded.centroids),
        codebook=_codebook(coded, codes, plan, previous),
        framework=(
            {
                "name": framework.name,
                "source": framework.source,
                "constructs": len(framework.constructs),
                "deductive": cfg.codebook.deductive,
            }
            if framework
            else None
        ),
        embeddings={
            "passages": embedded.passages,
            "pieces": embedded.pieces,
            "from_cache": embedded.from_cache,
            # Whether the model's weights were loaded (a rerun with every vector cached: no).
            "model_loaded": embedded.model_loaded,
            # The threads the model ran (or would run) on: embed.threads resolved.
            "threads": embedded.threads,
            # Keyphrase candidates, seed examples and turns that missed the cache (about).
            "other_texts_embedded": other_fresh,
            # Cache entries whose checksum failed: deleted and embedded again.
            "corrupt_cache_entries": cache.corrupt if cache else 0,
            # Only when the cache could not be used (read-only or full folder): why.
            **({"cache_off": cache.problem} if cache and cache.problem else {}),
        },
        timings_s=timings,
        config=given_cfg.model_dump(),
        skipped=corpus.skipped,
        warnings=tuple(warned),
        accounts=tuple(accounts),
    )


def _stability(
    params: dict[str, Any], codes: Sequence[Code], cfg: Config, folded: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "ari_across_seeds": params.get("ari_across_seeds"),
        "ari_across_resamples": params.get("ari_across_resamples"),
        "unstable_below": cfg.cluster.unstable_below,
        "resamples": cfg.cluster.stability_resamples,
        "unstable_codes": [
            c.id
            for c in codes
            if c.stability is not None and c.stability < cfg.cluster.unstable_below
        ],
        "fold_unstable": cfg.cluster.fold_unstable,
        "folded": folded,
    }


def _codebook(
    coded: Coded, codes: Sequence[Code], plan: Plan | None, previous: Previous | None
) -> dict[str, Any]:
    """What the codebook decided this run, and each code's state (the next run's snapshot)."""
    theme_of = {cid: t.id for t in coded.themes for cid in t.code_ids}
    return {
        "source": plan.source if plan else None,
        "applied": applied_counts(coded, previous),
        "not_applied": [
            f"{e.code}: {e.what}" for e in this_run(coded.audit) if e.rule == "not applied"
        ],
        "codes": {
            c.id: {
                "label": c.label,
                "description": c.description,
                "status": str(c.status),
                "theme": theme_of.get(c.id),
            }
            for c in codes
        },
        "retired": coded.retired,
        "discarded": coded.discarded,
        "kept_themes": coded.kept_themes,
    }


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
