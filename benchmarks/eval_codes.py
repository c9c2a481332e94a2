"""What an analyst meets in the codes, measured on every human-coded set (issue 17).

Per set, one default run (`pipeline.run`, the packaged model, the user embedding cache):
code AMI and coverage of labelled lines (`cppthemes evaluate`'s rule), theme AMI (the theme of
the passage covering each labelled line), mean code stability and the codes flagged unstable,
how many labelled lines fell in the procedural bin, and the quote checks: quotes with fewer
than six content words, and quotes that are greetings, goodbyes or masks (listed).

    python benchmarks/eval_codes.py                      # every set found, markdown table
    python benchmarks/eval_codes.py --sets sample --set cluster.stability_resamples=0 --json
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

# The same sets, configs and gold files as the peer comparison.
from compare_clustering import SETS  # noqa: E402

from cppthemes.config import load_config  # noqa: E402
from cppthemes.embed.embedder import EmbeddingCache, default_cache_dir  # noqa: E402
from cppthemes.evaluate import read_gold, score  # noqa: E402
from cppthemes.pipeline import run  # noqa: E402


def _records(result: Any, of: dict[str, str | None]) -> list[dict[str, Any]]:
    return [
        {"source": p.source, "line_start": p.line_start, "line_end": p.line_end, "code": of[p.id]}
        for p in result.passages
    ]


def _quote_checks(result: Any) -> dict[str, Any]:
    from cppthemes import procedural

    short, small_talk = [], []
    for code in result.codes:
        for q in code.quotes:
            words = procedural.content_words(q.text)
            if words < procedural.QUOTE_MIN_WORDS:
                short.append(f"{code.id}: {q.text[:80]!r} ({words} content words)")
            kind = procedural.kind_of(q.text)
            if kind:
                small_talk.append(f"{code.id} [{kind}]: {q.text[:100]!r}")
    return {"short_quotes": short, "small_talk_quotes": small_talk}


def evaluate_set(name: str, spec: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    data = Path(spec["data"])
    gold = read_gold(Path(spec.get("gold", data.parent / "gold.jsonl")))
    per_file = bool(spec.get("per_file", False))
    cfg = load_config(spec.get("config"), overrides)
    start = time.perf_counter()
    result = run([data], cfg, cache=EmbeddingCache(default_cache_dir()))
    wall = time.perf_counter() - start
    codes = score(_records(result, result.passage_codes), gold, per_file_labels=per_file)
    theme_of = result.theme_of()
    by_theme = {pid: theme_of.get(c) if c else None for pid, c in result.passage_codes.items()}
    themes = score(_records(result, by_theme), gold, per_file_labels=per_file)
    stab = [c.stability for c in result.codes if c.stability is not None]
    unstable = [c.id for c in result.codes if c.stability is not None and c.stability < 0.5]
    # A dict before issue 16 (the baseline checkout), the typed RunInfo since.
    raw = result.info
    info: dict[str, Any] = dict(raw) if isinstance(raw, dict) else dataclasses.asdict(raw)
    bin_ids = set(info.get("procedural", {}).get("passage_ids", []))
    bin_records = [
        {**r, "code": "bin" if p.id in bin_ids else None}
        for r, p in zip(_records(result, result.passage_codes), result.passages, strict=True)
    ]
    labelled = [g for g in gold if g.get("label") is not None]
    in_bin = score(bin_records, gold).coverage if bin_ids else 0.0
    out: dict[str, Any] = {
        "set": name,
        "passages": len(result.passages),
        "codes": len(result.codes),
        "themes": len(result.themes),
        "ami": codes.ami,
        "theme_ami": themes.ami,
        "coverage": codes.coverage,
        "labelled_lines": len(labelled),
        "labelled_in_bin": round(in_bin, 4),
        "procedural_passages": len(bin_ids),
        "mean_stability": round(sum(stab) / len(stab), 3) if stab else None,
        "unstable": len(unstable),
        "cluster_s": info.get("timings_s", {}).get("cluster"),
        "label_s": info.get("timings_s", {}).get("label"),
        "seconds": round(wall, 1),
    }
    # Run on a checkout before issue 17 (the baseline) there is no procedural module.
    with contextlib.suppress(ImportError):
        out.update(_quote_checks(result))
    return out


def markdown(rows: list[dict[str, Any]]) -> str:
    head = (
        "| set | passages | codes | themes | code AMI | theme AMI | coverage | labelled lines "
        "in bin | mean stability | unstable | quotes < 6 words | small-talk quotes |"
    )
    lines = [head, "|" + "---|" * 12]
    for r in rows:
        lines.append(
            f"| {r['set']} | {r['passages']} | {r['codes']} | {r['themes']} | {r['ami']:.3f} | "
            f"{r['theme_ami']:.3f} | {r['coverage']:.3f} | {r['labelled_in_bin']:.3f} | "
            f"{r['mean_stability']} | {r['unstable']} | {len(r.get('short_quotes', []))} | "
            f"{len(r.get('small_talk_quotes', []))} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sets", nargs="*", default=list(SETS))
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = []
    for name in args.sets:
        spec = SETS[name]
        if not Path(spec["data"]).exists():
            print(f"skip {name}: {spec['data']} not found", file=sys.stderr)
            continue
        rows.append(evaluate_set(name, spec, args.overrides))
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    print(json.dumps(rows, indent=2) if args.json else markdown(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
