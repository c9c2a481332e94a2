"""`--seed-codes` on a real set: what seeded codes written from the label names catch.

The seed file (benchmarks/seeds/serdif-usability.yaml) was written from the published code
names and one-line descriptions of serdif-usability (its README / labels.json), never from its
passages. One default run with the seeds (the packaged model, the user embedding cache), then:
how many labelled lines the seeded codes took, how many of those carry the seed's own human
label (the seeds are named after the human codes, so this is direct agreement), AMI of the
whole run and AMI on the lines the seeded codes took, against a plain run side by side.

    python benchmarks/seeded_codes.py                       # serdif-usability, default
    python benchmarks/seeded_codes.py --set cluster.seed_threshold=0.4
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from compare_clustering import SETS  # noqa: E402

from cppthemes.config import load_config  # noqa: E402
from cppthemes.embed.embedder import EmbeddingCache, default_cache_dir  # noqa: E402
from cppthemes.evaluate import read_gold, score  # noqa: E402
from cppthemes.pipeline import run  # noqa: E402


def line_codes(result: Any) -> dict[tuple[str, int], str | None]:
    """(file name, line) -> the code of the passage covering it."""
    out: dict[tuple[str, int], str | None] = {}
    for p in result.passages:
        code = result.passage_codes.get(p.id)
        for line in range(p.line_start, p.line_end + 1):
            out[(Path(p.source).name, line)] = code
    return out


def measure(set_name: str, seeds: Path, overrides: list[str]) -> dict[str, Any]:
    spec = SETS[set_name]
    data = Path(spec["data"])
    gold = read_gold(Path(spec.get("gold", data.parent / "gold.jsonl")))
    cache = EmbeddingCache(default_cache_dir())
    out: dict[str, Any] = {"set": set_name, "seeds": str(seeds.relative_to(ROOT))}
    for what, extra in (("plain", []), ("seeded", [f"codebook.seed_codes={seeds}"])):
        cfg = load_config(spec.get("config"), [*overrides, *extra])
        result = run([data], cfg, cache=cache)
        records = [
            {
                "source": p.source,
                "line_start": p.line_start,
                "line_end": p.line_end,
                "code": result.passage_codes.get(p.id),
            }
            for p in result.passages
        ]
        scored = score(records, gold, per_file_labels=bool(spec.get("per_file")))
        row: dict[str, Any] = {
            "codes": len(result.codes),
            "ami": scored.ami,
            "coverage": scored.coverage,
        }
        if what == "seeded":
            seeded = {c.id: c.label for c in result.codes if c.examples}
            of = line_codes(result)

            def seed_of(
                g: dict[str, Any], seeded: dict[str, str] = seeded, of: Any = of
            ) -> str | None:
                return seeded.get(of.get((Path(g["file"]).name, g["line"])) or "")

            labelled = [g for g in gold if g.get("label") is not None]
            taken = [g for g in labelled if seed_of(g)]
            agree = [g for g in taken if seed_of(g) == g["label"]]
            per_code = Counter(seed_of(g) for g in taken)
            right = Counter(seed_of(g) for g in agree)
            sub = score([r for r in records if r["code"] in seeded], taken, per_file_labels=False)
            row.update(
                seeded_codes=len(seeded),
                seeded_with_passages=sum(1 for c in result.codes if c.examples and c.size),
                labelled_lines=len(labelled),
                labelled_taken_by_seeds=len(taken),
                taken_with_the_seeds_label=len(agree),
                ami_on_taken_lines=sub.ami,
                per_code={k: f"{right[k]}/{v}" for k, v in per_code.most_common()},
            )
        out[what] = row
        print(json.dumps({what: row}), file=sys.stderr, flush=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sets", default="serdif-usability")
    seeds = ROOT / "benchmarks" / "seeds" / "serdif-usability.yaml"
    parser.add_argument("--seeds", type=Path, default=seeds)
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    args = parser.parse_args()
    print(json.dumps(measure(args.sets, args.seeds.resolve(), args.overrides), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
