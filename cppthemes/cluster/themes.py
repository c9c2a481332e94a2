"""Themes: group candidate codes whose centroids lie close together.

Hierarchical clustering of code centroids (Ward linkage on the unit centres), cut where the
grouping is clearest: the number of themes between ``themes.min_themes`` and
``themes.max_themes`` (3 and 12) with the best size-weighted silhouette (cosine) of the codes.
The rule adapts to the model and the corpus: a fixed distance calibrated for one model put
every code of another model into one theme. ``themes.n_themes`` asks for a number;
``themes.method = "distance"`` is the older rule (average linkage, cut at
``themes.distance_threshold``). The whole tree is kept (``theme_tree``) so a report can show how
codes join at every level, not only at the cut. A theme is only a proposal: the analyst moves
codes between themes in the codebook.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cppthemes.cluster import smalltree
from cppthemes.config import LabelConfig, ThemesConfig
from cppthemes.label import Embed, Terms, keyphrases, metadata_values, prevalence
from cppthemes.label_phrases import name_phrases, phrase_label
from cppthemes.records import Code, Passage, Theme

# Up to this many codes the Ward tree and its cuts are smalltree's ports of SciPy's (the same
# numbers, without SciPy's 0.6 s import on every run); more, and SciPy's own (seconds faster).
SMALL_TREE = 150


def theme_linkage(code_centroids: np.ndarray, method: str = "adaptive") -> np.ndarray:
    """SciPy linkage matrix of code centres: Ward on unit centres, or average cosine."""
    if len(code_centroids) < 2:
        return np.zeros((0, 4))
    x = np.asarray(code_centroids, dtype=np.float64)
    if method == "distance":
        from scipy.cluster.hierarchy import linkage

        return linkage(x, method="average", metric="cosine")
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    if len(x) <= SMALL_TREE:
        return smalltree.ward_linkage(x)
    from scipy.cluster.hierarchy import linkage

    return linkage(x, method="ward")


def _maxclust(tree: np.ndarray, t: int) -> np.ndarray:
    """``fcluster(tree, t, criterion="maxclust")``, by smalltree for a small tree."""
    if len(tree) + 1 <= SMALL_TREE:
        return smalltree.fcluster_maxclust(tree, t)
    from scipy.cluster.hierarchy import fcluster

    return fcluster(tree, t=t, criterion="maxclust")


def weighted_silhouette(x: np.ndarray, groups: np.ndarray, weights: np.ndarray) -> float:
    """Mean silhouette (cosine) of the codes, each weighted by its passages.

    A code's silhouette is ``(b - a) / max(a, b)``, ``a`` its mean distance to the other codes
    of its theme and ``b`` the smallest mean distance to another theme's codes; a code alone in
    its theme scores 0 (Rousseeuw 1987, as scikit-learn computes it).
    """
    unit = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    dist = np.clip(1.0 - unit @ unit.T, 0.0, 2.0)
    labels = np.unique(groups)
    if len(labels) < 2:
        return -1.0
    scores = np.zeros(len(x))
    for i in range(len(x)):
        own = groups == groups[i]
        if own.sum() == 1:
            continue
        a = dist[i, own].sum() / (own.sum() - 1)
        b = min(dist[i, groups == g].mean() for g in labels if g != groups[i])
        scores[i] = (b - a) / max(a, b) if max(a, b) > 0 else 0.0
    w = np.asarray(weights, dtype=np.float64)
    return float((scores * w).sum() / max(w.sum(), 1e-12))


def cut_tree(
    tree: np.ndarray,
    n_codes: int,
    cfg: ThemesConfig,
    code_centroids: np.ndarray | None = None,
    sizes: Sequence[int] | None = None,
) -> np.ndarray:
    """Theme index per code: ``n_themes`` groups, the distance cut, or the clearest grouping.

    Adaptive (the default): every cut from ``min_themes`` to ``max_themes`` groups (never more
    than the codes less one) is scored by `weighted_silhouette`; the best wins, the fewer
    themes on a tie. Without centroids the cut is at ``max_themes``.
    """
    if n_codes < 2:
        return np.zeros(n_codes, dtype=int)
    if cfg.n_themes:
        found = _maxclust(tree, min(cfg.n_themes, n_codes))
    elif cfg.method == "distance":
        from scipy.cluster.hierarchy import fcluster

        found = fcluster(tree, t=cfg.distance_threshold, criterion="distance")
    else:
        low = min(cfg.min_themes, n_codes)
        high = max(low, min(cfg.max_themes, n_codes - 1))
        cuts = [_maxclust(tree, t) for t in range(low, high + 1)]
        if code_centroids is None or len(cuts) == 1:
            found = cuts[-1]
        else:
            weights = np.asarray(sizes if sizes is not None else np.ones(n_codes))
            scores = [weighted_silhouette(code_centroids, c, weights) for c in cuts]
            found = cuts[int(np.argmax(scores))]
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

    Theme labels are chosen like code names: a phrase of several words from the theme's
    passages where there is one (`label_phrases.phrase_label`), re-ranked against the theme's
    centroid when ``vectors`` and ``embed_texts`` are given. They differ from every code label
    too, because a codebook exported to a QDA program is one tree where names must be unique.
    """
    if not codes:
        return []
    tree = theme_linkage(code_centroids, cfg.method)
    groups = cut_tree(tree, len(codes), cfg, code_centroids, [max(1, c.size) for c in codes])
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
        named = name_phrases(terms, ordered, theme_centres, lcfg, embed_texts)
    else:
        theme_centres = np.zeros((len(ordered), 1))
        phrases = keyphrases(terms, ordered, theme_centres, lcfg, None)
        named = name_phrases(terms, ordered, theme_centres, lcfg, None)
    width = max(2, len(str(len(order))))
    n_transcripts = len({p.transcript_id for p in passages})
    values = metadata_values(passages)
    taken: set[str] = {c.label for c in codes}
    themes: list[Theme] = []
    for rank, t in enumerate(order):
        theme_id = f"T{rank + 1:0{width}d}"
        themes.append(
            Theme(
                id=theme_id,
                label=phrase_label(phrases[rank], taken, theme_id, frozenset(), named[rank]),
                code_ids=tuple(code_lists[t]),
                prevalence=prevalence(members[t], passages, n_transcripts, values),
            )
        )
    return themes
