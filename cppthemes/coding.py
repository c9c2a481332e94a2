"""From clusters to labelled codes and themes: the one path a plain run and a codebook run share.

A plain run clusters every passage and labels the clusters; a run that applies a codebook
(cppthemes/codebook/apply.py) clusters around the analyst's anchors first. Both then label
codes and group them into themes through the same ``Coder``, so the theme labels of a refined
or deductive run are made exactly as those of a plain run (re-ranked against the theme's
centroid, with the user's label settings), not by a second labelling path with defaults.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from cppthemes.cluster.codes import centroids, cluster
from cppthemes.cluster.themes import group_codes
from cppthemes.config import Config
from cppthemes.label import Terms, label
from cppthemes.procedural import Bin
from cppthemes.provenance import kind_of, place
from cppthemes.records import Assignment, AuditEvent, Code, Passage, Theme, Transcript

Embed = Callable[[Sequence[str]], np.ndarray]


@dataclass(frozen=True)
class Coder:
    """Labels clusters as codes and groups codes into themes, with the run's settings."""

    passages: Sequence[Passage]
    vectors: np.ndarray
    cfg: Config
    names: Sequence[str]
    terms: Terms
    embed_texts: Embed
    # Quotes leave out other speakers' back-channels and cite their lines (cppthemes/quotes.py).
    transcripts: Sequence[Transcript] = ()
    # The procedural bin: clustered with the rest, then left uncoded (plain runs).
    binned: Bin = field(default_factory=lambda: Bin({}))
    # Told the number of clusters when labelling starts (progress, stage timings).
    on_label: Callable[[int], None] | None = None

    def codes(self, assignment: Assignment) -> tuple[list[Code], np.ndarray]:
        """Each cluster of ``assignment`` as a labelled code, and the codes' centroids."""
        if self.on_label is not None:
            self.on_label(assignment.n_clusters)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an anchor may have no passages
            codes = label(
                self.passages,
                assignment,
                self.vectors,
                self.cfg.label,
                names=self.names,
                terms=self.terms,
                embed_texts=self.embed_texts,
                transcripts=self.transcripts,
            )
        labels = np.asarray(assignment.labels, dtype=int)
        cents = centroids(self.vectors, labels, assignment.n_clusters)
        return quotes_placed(codes, self.passages), cents

    def themes(self, codes: Sequence[Code], code_centroids: np.ndarray) -> list[Theme]:
        """Candidate themes of ``codes``, labelled like codes (re-ranked, user's settings)."""
        with warnings.catch_warnings():
            # A theme of anchors without passages yet has no centroid (and no words to label).
            warnings.simplefilter("ignore", RuntimeWarning)
            return group_codes(
                codes,
                code_centroids,
                self.passages,
                self.terms,
                self.cfg.themes,
                vectors=self.vectors,
                label_cfg=self.cfg.label,
                embed_texts=self.embed_texts,
            )


@dataclass(frozen=True)
class Coded:
    """What the coding step hands on: codes and themes, and what a codebook decided."""

    assignment: Assignment
    codes: list[Code]
    centroids: np.ndarray
    themes: list[Theme]
    # The whole audit trail (earlier runs' events, then this run's); empty for a plain run.
    audit: tuple[AuditEvent, ...] = ()
    kept_themes: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    discarded: list[dict[str, object]] = field(default_factory=list)
    # Seeded codes' seed vectors (the confidence of what each took; seed_codes.confidences).
    anchor_centres: dict[str, np.ndarray] = field(default_factory=dict)


def code_inductively(coder: Coder) -> Coded:
    """A plain run: cluster every passage, label the clusters, group them into themes."""
    exclude = coder.binned.mask(coder.passages)
    assignment = cluster(coder.vectors, coder.cfg.cluster, exclude=exclude)
    codes, cents = coder.codes(assignment)
    return Coded(assignment, codes, cents, coder.themes(codes, cents))


def quotes_placed(codes: Sequence[Code], passages: Sequence[Passage]) -> list[Code]:
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
