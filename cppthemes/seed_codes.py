"""Seeded codes from a short file of phrases: the deductive path made easy.

Topic embeddings group passages by what is talked about; an analyst who codes the point made
about it (barriers, attitudes, training) says so with a few phrases per code:

    # seeds.yaml                                # or seeds.txt, one code a line:
    codes:                                      #   Barriers: no time; no money for it
      - name: Barriers                          #   Training: nobody showed us how
        phrases: [no time for it, no money]
      - name: Training
        phrases: [nobody showed us how]

`cppthemes run --seed-codes FILE` makes each a seeded code (the framework path of
cppthemes/codebook/framework.py with ``codebook.deductive``): passages at least
``cluster.seed_threshold`` similar to a code's phrases take it before the rest are clustered.
The report then shows which passages each seeded code took and how confidently
(`confidences`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cppthemes.codebook.framework import Construct, Framework, load_framework
from cppthemes.config import Config
from cppthemes.errors import InputError
from cppthemes.records import Code, Passage

DOMAIN = "Seeded codes"


def _from_yaml(path: Path, text: str) -> list[tuple[str, list[str], int]]:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        data = YAML(typ="safe").load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(path, "not valid YAML", mark.line + 1 if mark else None) from None
    if isinstance(data, dict) and isinstance(data.get("codes"), list):
        items = data["codes"]
    elif isinstance(data, dict):  # {name: [phrases]}
        items = [{"name": k, "phrases": v} for k, v in data.items()]
    else:
        raise InputError(path, "expected 'codes:' with a name and phrases for each code", 1)
    out = []
    for n, item in enumerate(items, start=1):
        if not isinstance(item, dict) or not str(item.get("name") or "").strip():
            raise InputError(path, f"code number {n} needs a name")
        phrases = item.get("phrases") or item.get("examples") or []
        if isinstance(phrases, str):
            phrases = [phrases]
        if not isinstance(phrases, list):
            raise InputError(path, f"code {item['name']!r}: phrases must be a list")
        texts = [str(p).strip() for p in phrases if str(p).strip()]
        if item.get("description"):
            texts.insert(0, str(item["description"]).strip())
        out.append((str(item["name"]).strip(), texts, n))
    return out


def _from_text(path: Path, text: str) -> list[tuple[str, list[str], int]]:
    out = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, rest = line.partition(":")
        if not sep or not name.strip():
            raise InputError(path, "expected 'Code name: phrase; another phrase'", number)
        out.append((name.strip(), [p.strip() for p in rest.split(";") if p.strip()], number))
    return out


def framework_of(cfg: Config) -> tuple[Framework | None, Config]:
    """The run's framework and settings: ``codebook.seed_codes`` (``--seed-codes``) makes its
    phrases the framework and the run deductive; else ``codebook.framework``, if any."""
    if cfg.codebook.seed_codes:
        deductive = cfg.codebook.model_copy(update={"deductive": True})
        return load_seed_codes(cfg.codebook.seed_codes), cfg.model_copy(
            update={"codebook": deductive}
        )
    return (load_framework(cfg.codebook.framework) if cfg.codebook.framework else None), cfg


def load_seed_codes(name: str | Path) -> Framework:
    """The seed file as a framework of one domain; errors name the file and line."""
    path = Path(name)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(path, "seed codes file not found") from None
    except UnicodeDecodeError:
        raise InputError(path, "not UTF-8 text") from None
    yaml_like = path.suffix.lower() in {".yaml", ".yml"}
    found = _from_yaml(path, text) if yaml_like else _from_text(path, text)
    if not found:
        raise InputError(path, "no seeded codes in the file")
    seen: set[str] = set()
    constructs: list[Construct] = []
    for name_, phrases, line in found:
        if not phrases:
            raise InputError(path, f"code {name_!r} has no phrases", line)
        if name_.lower() in seen:
            raise InputError(path, f"code {name_!r} appears twice", line)
        seen.add(name_.lower())
        constructs.append(
            Construct(
                id=f"S{len(constructs) + 1}",
                domain=DOMAIN,
                name=name_,
                description=phrases[0],
                examples=tuple(phrases[1:]),
            )
        )
    return Framework(name=path.stem, source=str(path.name), constructs=tuple(constructs))


def _ref(p: Passage, similarity: float) -> dict[str, Any]:
    return {
        "passage": p.id,
        "where": f"{p.speaker}, {p.source} line {p.line_start}",
        "similarity": round(similarity, 4),
    }


def confidences(
    codes: Sequence[Code],
    passages: Sequence[Passage],
    vectors: np.ndarray,
    anchors: dict[str, np.ndarray],
    top: int = 3,
) -> dict[str, dict[str, Any]]:
    """Per seeded code: how many passages it took and how similar they are to its phrases.

    The similarity (cosine to the code's seed, the mean of its embedded phrases) is the
    confidence: the passages that took the code nearest the seed threshold are the ones to
    check first, so the least confident are listed beside the most confident.
    """
    index = {p.id: i for i, p in enumerate(passages)}
    out: dict[str, dict[str, Any]] = {}
    for code in codes:
        anchor = anchors.get(code.id)
        if code.status != "deductive" or anchor is None:
            continue
        rows = [index[pid] for pid in code.passage_ids if pid in index]
        unit = np.asarray(anchor, dtype=np.float64)
        unit = unit / (np.linalg.norm(unit) or 1.0)
        sims = np.asarray(vectors[rows], dtype=np.float64) @ unit if rows else np.zeros(0)
        order = np.argsort(-sims, kind="stable")
        refs = [_ref(passages[rows[int(j)]], float(sims[int(j)])) for j in order]

        out[code.id] = {
            "label": code.label,
            "passages": len(rows),
            "similarity": {
                "median": round(float(np.median(sims)), 4) if len(sims) else None,
                "min": round(float(sims.min()), 4) if len(sims) else None,
                "max": round(float(sims.max()), 4) if len(sims) else None,
            },
            "most_confident": refs[:top],
            "least_confident": refs[::-1][:top],
        }
    return out
