"""Themes: group candidate codes whose centroids lie close together.

Hierarchical (average-linkage, cosine) clustering of code centroids, cut at a distance or at a
target count. The whole tree is kept (``theme_tree``) so a report can show how codes join at
every level, not only at the cut. A theme is only a proposal: the analyst moves codes between
themes in the codebook.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage

from cppthemes.config import LabelConfig, ThemesConfig
from cppthemes.label import Embed, Terms, keyphrases, prevalence, short_label
from cppthemes.records import Code, Passage, Theme


def theme_linkage(code_centroids: np.ndarray) -> np.ndarray:
    """SciPy linkage matrix of code centres (average linkage, cosine distance)."""
    if len(code_centroids) < 2:
        return np.zeros((0, 4))
    return linkage(np.asarray(code_centroids, dtype=np.float64), method="average", metric="cosine")


def cut_tree(tree: np.ndarray, n_codes: int, cfg: ThemesConfig) -> np.ndarray:
    """Theme index per code: the tree cut at ``n_themes`` groups or at the distance threshold."""
    if n_codes < 2:
        return np.zeros(n_codes, dtype=int)
    if cfg.n_themes:
        found = fcluster(tree, t=min(cfg.n_themes, n_codes), criterion="maxclust")
    else:
        found = fcluster(tree, t=cfg.distance_threshold, criterion="distance")
    return np.asarray(found, dtype=int) - 1


def tree_records(tree: np.ndarray, code_ids: Sequence[str]) -> list[dict[str, object]]:
    """The merge tree as plain records: each node joins two children at a cosine distance."""
    nodes: list[dict[str, object]] = []
    names = list(code_ids)
    for i, (a, b, distance, size) in enumerate(tree):
        name = f"N{i + 1:02d}"
        nodes.append(
            {
                "id": name,
                "children": [names[int(a)], names[int(b)]],
                "distance": round(float(distance), 4),
                "codes": int(size),
            }
        )
        names.append(name)
    return nodes


def group_codes(
    codes: Sequence[Code],
    code_centroids: np.ndarray,
    passages: Sequence[Passage],
    terms: Terms,
    cfg: ThemesConfig,
    *,
    vectors: np.ndarray | None = None,
    label_cfg: LabelConfig | None = None,
    embed_texts: Embed | None = None,
) -> list[Theme]:
    """Themes ``T01``... (largest first), each labelled from its codes' passages.

    Theme labels are chosen like code labels (re-ranked against the theme's centroid when
    ``vectors`` and ``embed_texts`` are given) and differ from every code label too, because
    a codebook exported to a QDA program is one tree where names must be unique.
    """
    if not codes:
        return []
    groups = cut_tree(theme_linkage(code_centroids), len(codes), cfg)
    index = {p.id: i for i, p in enumerate(passages)}
    members: list[list[int]] = []
    code_lists: list[list[str]] = []
    for g in sorted(set(groups.tolist())):
        in_theme = [codes[int(i)] for i in np.flatnonzero(groups == g)]
        code_lists.append([c.id for c in in_theme])
        members.append(sorted(index[pid] for c in in_theme for pid in c.passage_ids))
    order = sorted(range(len(members)), key=lambda t: (-len(members[t]), code_lists[t][0]))
    ordered = [members[t] for t in order]
    lcfg = (label_cfg or LabelConfig()).model_copy(update={"keyphrases": 6})
    if vectors is not None and len(vectors):
        theme_centres = np.vstack([vectors[m].mean(axis=0) for m in ordered]).astype(np.float64)
        theme_centres /= np.maximum(np.linalg.norm(theme_centres, axis=1, keepdims=True), 1e-12)
        phrases = keyphrases(terms, ordered, theme_centres, lcfg, embed_texts)
    else:
        phrases = keyphrases(terms, ordered, np.zeros((len(ordered), 1)), lcfg, None)
    width = max(2, len(str(len(order))))
    n_transcripts = len({p.transcript_id for p in passages})
    taken: set[str] = {c.label for c in codes}
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
