"""How well `--framework cfir` maps planted leadership talk to the leadership constructs.

Runs the pipeline with the real model on data/sample (or PATH) with codebook.framework=cfir
and reports, for passages whose gold label (data/sample/gold.jsonl, at the passage's first
line) is `leadership`, the share whose closest construct is tagged `leadership` in
configs/frameworks/cfir.yaml; also the share with one in the top three, and how many other
passages are mapped to a leadership construct (false alarms).

    python benchmarks/bench_framework.py [--json]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from cppthemes.codebook.framework import closest, construct_vectors, load_framework
from cppthemes.config import load_config
from cppthemes.embed.embedder import (
    EmbeddingCache,
    SentenceTransformerEmbedder,
    default_cache_dir,
    embed,
)
from cppthemes.pipeline import run
from cppthemes.segment import embedding_texts

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    sample = ROOT / "data" / "sample"
    cfg = load_config(None, ['codebook.framework="cfir"'])
    cache = EmbeddingCache(default_cache_dir())
    model = SentenceTransformerEmbedder(cfg.embed.model)
    result = run([sample], cfg, embedder=model, cache=cache)
    gold = {}
    for line in (sample / "gold.jsonl").read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        gold[(r["file"], r["line"])] = r["label"]
    fw = load_framework("cfir")
    lead = {c.key for c in fw.constructs if "leadership" in c.tags}
    keys = [c.key for c in fw.constructs]
    cvecs = construct_vectors(
        np.vstack([embed([c.text, *c.examples], model, cache)[0].mean(0) for c in fw.constructs])
    )
    vectors = embed(embedding_texts(result.passages, cfg.segment), model, cache)[0]
    top3 = closest(vectors, cvecs, keys, 3)
    is_lead = [gold.get((p.source, p.line_start)) == "leadership" for p in result.passages]
    n_lead = sum(is_lead)
    top1_hits = sum(
        result.passage_constructs[p.id][0] in lead
        for p, g in zip(result.passages, is_lead, strict=True)
        if g
    )
    top3_hits = sum(any(k in lead for k, _ in t) for t, g in zip(top3, is_lead, strict=True) if g)
    false_alarms = sum(
        result.passage_constructs[p.id][0] in lead
        for p, g in zip(result.passages, is_lead, strict=True)
        if not g
    )
    code_of = result.passage_codes
    by_code = {c.id: c for c in result.codes}
    via_code = sum(
        1
        for p, g in zip(result.passages, is_lead, strict=True)
        if g and code_of.get(p.id) and by_code[code_of[p.id]].constructs[0][0] in lead
    )
    out = {
        "passages": len(result.passages),
        "leadership_passages": n_lead,
        "share_top1": round(top1_hits / n_lead, 3),
        "share_top3": round(top3_hits / n_lead, 3),
        "share_via_code_top1": round(via_code / n_lead, 3),
        "other_passages_mapped_to_leadership": false_alarms,
        "other_passages": len(result.passages) - n_lead,
    }
    if "--json" in sys.argv:
        print(json.dumps(out, indent=2))
    else:
        for k, v in out.items():
            print(f"{k}: {v}")


if __name__ == "__main__":
    main()
