"""Similarity settings on the reference model's scale, moved to the running model's scale.

Every similarity threshold in the settings (``cluster.min_similarity``,
``cluster.seed_threshold``, ``cluster.distance_threshold``, ``themes.distance_threshold``,
``codebook.match_similarity``, ``label.weak_coherence``, ``label.weak_distinctiveness``) was
chosen on all-MiniLM-L6-v2's cosines. Another model's cosines can sit on another scale: for
multilingual-e5-small, two unrelated passages have cosine ~0.77 where MiniLM gives ~0.1, so a
``min_similarity`` of 0.2 would code everything and a theme distance of 0.45 would put every
code in one theme. The settings therefore stay on MiniLM's scale (one meaning, whatever the
model) and are moved here, once per run, by the model's measured affine map
``s_model = offset + slope * s_reference`` (``similarity_scale``; identity when the model has
none, so the default model's runs are unchanged).
"""

from __future__ import annotations

from typing import Any

from cppthemes.config import Config

IDENTITY = (0.0, 1.0)


def scale_of(model: Any) -> tuple[float, float]:
    """The model's ``similarity_scale`` (offset, slope), or the identity."""
    scale = getattr(model, "similarity_scale", None)
    return (float(scale[0]), float(scale[1])) if scale else IDENTITY


def model_relative(cfg: Config, scale: tuple[float, float]) -> Config:
    """``cfg`` with every similarity threshold moved to the scale ``(offset, slope)``.

    A similarity ``s`` becomes ``offset + slope * s``; a cosine distance ``d = 1 - s`` becomes
    ``1 - offset - slope + slope * d``; a difference of similarities is multiplied by the
    slope. Zero means "off" for ``cluster.distance_threshold`` and stays zero.
    """
    offset, slope = scale
    if (offset, slope) == IDENTITY:
        return cfg

    def sim(s: float) -> float:
        return round(min(1.0, offset + slope * s), 4)

    def dist(d: float) -> float:
        return round(max(0.0, 1.0 - offset - slope + slope * d), 4)

    cl, th, lb, cb = cfg.cluster, cfg.themes, cfg.label, cfg.codebook
    cluster = cl.model_copy(
        update={
            "min_similarity": sim(cl.min_similarity),
            "seed_threshold": sim(cl.seed_threshold),
            "distance_threshold": dist(cl.distance_threshold) if cl.distance_threshold else 0.0,
        }
    )
    return cfg.model_copy(
        update={
            "cluster": cluster,
            "themes": th.model_copy(update={"distance_threshold": dist(th.distance_threshold)}),
            "label": lb.model_copy(
                update={
                    "weak_coherence": sim(lb.weak_coherence),
                    "weak_distinctiveness": round(slope * lb.weak_distinctiveness, 4),
                }
            ),
            "codebook": cb.model_copy(update={"match_similarity": sim(cb.match_similarity)}),
        }
    )


def thresholds(cfg: Config) -> dict[str, float]:
    """The similarity settings of ``cfg`` by dotted name (for run.json)."""
    return {
        "cluster.min_similarity": cfg.cluster.min_similarity,
        "cluster.seed_threshold": cfg.cluster.seed_threshold,
        "cluster.distance_threshold": cfg.cluster.distance_threshold,
        "themes.distance_threshold": cfg.themes.distance_threshold,
        "codebook.match_similarity": cfg.codebook.match_similarity,
        "label.weak_coherence": cfg.label.weak_coherence,
        "label.weak_distinctiveness": cfg.label.weak_distinctiveness,
    }
