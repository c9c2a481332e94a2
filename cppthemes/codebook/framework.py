"""Deductive frameworks: named constructs that codes and passages are mapped to.

A framework is a YAML file of domains and constructs, each with a description (see
configs/frameworks/template.yaml). Each construct is embedded once as "name: description" with
the run's model; a code is mapped to the constructs closest to its centre and a passage to the
one closest to its own vector. With ``codebook.deductive`` the constructs also become seeded
codes, so passages close enough to a construct are coded with it before induction.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from cppthemes.errors import ConfigError, InputError

FRAMEWORKS_DIR = Path(__file__).resolve().parents[2] / "configs" / "frameworks"


@dataclass(frozen=True)
class Construct:
    """One construct of a framework; ``key`` ("Domain / Name") is how outputs name it."""

    id: str
    domain: str
    name: str
    description: str
    tags: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.domain} / {self.name}"

    @property
    def text(self) -> str:
        """What is embedded: the name and the description, as an analyst would read them."""
        return f"{self.name}: {self.description}"


@dataclass(frozen=True)
class Framework:
    name: str
    source: str
    constructs: tuple[Construct, ...]


def framework_path(name: str) -> Path:
    """A framework file given by path, or by name in configs/frameworks/."""
    path = Path(name)
    if path.suffix in {".yaml", ".yml"} or path.exists():
        return path
    found = FRAMEWORKS_DIR / f"{name}.yaml"
    if not found.is_file():
        known = sorted(p.stem for p in FRAMEWORKS_DIR.glob("*.yaml") if p.stem != "template")
        raise ConfigError(
            f"codebook.framework={name!r}: no such framework (known: {', '.join(known)}; "
            "or give a YAML file)"
        )
    return found


def load_framework(name: str) -> Framework:
    """Read a framework file; errors name the file and, where known, the line."""
    path = framework_path(name)
    try:
        data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(path, "framework file not found") from None
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(path, "not valid YAML", mark.line + 1 if mark else None) from None
    if not isinstance(data, dict) or not isinstance(data.get("domains"), list):
        raise InputError(path, "not a framework (no 'domains:' list)", 1)
    constructs: list[Construct] = []
    for d, domain in enumerate(data["domains"], start=1):
        if not isinstance(domain, dict) or not domain.get("name"):
            raise InputError(path, f"domain number {d} needs a name")
        for c, item in enumerate(domain.get("constructs") or [], start=1):
            if not isinstance(item, dict) or not item.get("name") or not item.get("description"):
                raise InputError(
                    path, f"construct {c} of domain {domain['name']!r} needs name and description"
                )
            constructs.append(
                Construct(
                    id=str(item.get("id") or f"{d}.{c}"),
                    domain=str(domain["name"]),
                    name=str(item["name"]),
                    description=" ".join(str(item["description"]).split()),
                    tags=tuple(str(t) for t in item.get("tags") or ()),
                    examples=tuple(str(e) for e in item.get("examples") or ()),
                )
            )
    if not constructs:
        raise InputError(path, "the framework has no constructs")
    keys = [c.key for c in constructs]
    if len(set(keys)) != len(keys):
        dup = next(k for k in keys if keys.count(k) > 1)
        raise InputError(path, f"construct {dup!r} appears twice")
    return Framework(
        name=str(data.get("name") or path.stem),
        source=str(data.get("source") or ""),
        constructs=tuple(constructs),
    )


def construct_vectors(vectors: np.ndarray) -> np.ndarray:
    """Unit rows: the mean of a construct's embedded texts, normalised."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1.0, norms)


def closest(
    vectors: np.ndarray, construct_vecs: np.ndarray, keys: list[str], top: int
) -> list[tuple[tuple[str, float], ...]]:
    """For each row, the ``top`` most similar constructs (key, cosine), best first.

    Ties break by construct order in the file, so the mapping is deterministic.
    """
    if len(vectors) == 0:
        return []
    sims = np.asarray(vectors, dtype=np.float64) @ np.asarray(construct_vecs, dtype=np.float64).T
    out = []
    for row in sims:
        order = np.argsort(-row, kind="stable")[:top]
        out.append(tuple((keys[int(j)], round(float(row[j]), 4)) for j in order))
    return out
