"""Themes: group candidate codes whose centroids lie close together.

Hierarchical (average-linkage, cosine) clustering of code centroids, cut at a distance or at a
target count. A theme is only a proposal: the analyst moves codes between themes in the
codebook.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.cluster import AgglomerativeClustering

from cppthemes.config import ThemesConfig
from cppthemes.label import class_keyphrases, prevalence, short_label
from cppthemes.records import Code, Passage, Theme


def group_codes(
    codes: Sequence[Code],
    code_centroids: np.ndarray,
    passages: Sequence[Passage],
    terms: Sequence[list[str]],
    cfg: ThemesConfig,
) -> list[Theme]:
    """Themes ``T01``... (largest first), each labelled from its codes' passages."""
    if not codes:
        return []
    if len(codes) == 1:
        groups = np.zeros(1, dtype=int)
    else:
        n_themes = min(cfg.n_themes, len(codes)) if cfg.n_themes else None
        model = AgglomerativeClustering(
            n_clusters=n_themes,
            distance_threshold=None if n_themes else cfg.distance_threshold,
            metric="cosine",
            linkage="average",
        )
        groups = model.fit_predict(code_centroids)
    index = {p.id: i for i, p in enumerate(passages)}
    members: list[list[int]] = []
    code_lists: list[list[str]] = []
    for g in sorted(set(groups.tolist())):
        in_theme = [codes[int(i)] for i in np.flatnonzero(groups == g)]
        code_lists.append([c.id for c in in_theme])
        members.append(sorted(index[pid] for c in in_theme for pid in c.passage_ids))
    order = sorted(range(len(members)), key=lambda t: (-len(members[t]), code_lists[t][0]))
    phrases = class_keyphrases(terms, [members[t] for t in order], 6)
    width = max(2, len(str(len(order))))
    n_transcripts = len({p.transcript_id for p in passages})
    taken: set[str] = set()
    themes: list[Theme] = []
    for rank, t in enumerate(order):
        theme_id = f"T{rank + 1:0{width}d}"
        themes.append(
            Theme(
                id=theme_id,
                label=short_label(phrases[rank], taken, theme_id),
                code_ids=tuple(code_lists[t]),
                prevalence=prevalence(members[t], passages, n_transcripts),
            )
        )
    return themes
