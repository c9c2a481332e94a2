"""Speed and quality of a run, side by side with the floor and the peer, in one process.

For each corpus (data/sample and the sets in ../shared/eval/), measured back to back in this
process so that a busy machine slows every line alike:

- bare model: ``SentenceTransformer.encode`` on exactly the texts the pipeline embeds (the
  floor for a cold run), batch 32, nothing else;
- cppthemes cold: the whole pipeline with an empty embedding cache;
- cppthemes warm: again with the cache filled, and again with other clustering and label
  settings (a rerun after a codebook decision): must embed nothing;
- static: the pipeline with the Model2Vec model (`cppthemes model distill`), cold;
- onnx-int8: the pipeline with the int8 ONNX model (`cppthemes model export-onnx`), cold;
- BERTopic 0.17 with its defaults on the same passages and the same vectors (fit time only).

Each line: wall time per stage, peak RSS, passages per second, AMI against the human labels
(``cppthemes.evaluate.score``), and the load average before and after. The markdown table goes
between the result markers of docs/benchmarks.md (``--write-docs``).

    python benchmarks/bench_pipeline.py                      # every set, all lines
    python benchmarks/bench_pipeline.py --sets swda-small --no-bertopic
    python benchmarks/bench_pipeline.py --smoke              # CI: two sample files, checks

Smoke mode (CI) checks what must never regress, with ceilings loose enough for a busy machine:
the warm run embeds nothing and the cold run's overhead over the bare model stays bounded.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.docs_table import replace_between  # noqa: E402
from cppthemes.config import load_config  # noqa: E402
from cppthemes.embed.embedder import EmbeddingCache, SentenceTransformerEmbedder  # noqa: E402
from cppthemes.evaluate import read_gold, score  # noqa: E402
from cppthemes.ingest import load_corpus  # noqa: E402
from cppthemes.pipeline import run  # noqa: E402
from cppthemes.records import Result, RunInfo  # noqa: E402
from cppthemes.segment import (  # noqa: E402
    embedding_chunks,
    embedding_texts,
    segment,
    spacy_sentences,
)

# ../shared/eval beside the repository; a git worktree one level deeper finds it too.
EVAL = Path(
    os.environ.get("CPPTHEMES_EVAL")
    or next(
        (p / "shared" / "eval" for p in ROOT.parents if (p / "shared" / "eval").is_dir()),
        ROOT.parent / "shared" / "eval",
    )
)
SETS: dict[str, dict[str, Any]] = {
    "sample": {"data": ROOT / "data" / "sample", "gold": ROOT / "data" / "sample" / "gold.jsonl"},
    "swda-small": {"data": EVAL / "swda-small" / "transcripts"},
    "serdif-usability": {"data": EVAL / "serdif-usability" / "transcripts"},
    "qmsum-small": {"data": EVAL / "qmsum-small" / "transcripts", "per_file": True},
}
DOCS = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"
# A rerun after a codebook decision: other clustering and label settings, same passages.
RERUN = ['cluster.granularity="fine"', "label.keyphrases=8", "cluster.min_size=4"]
# Smoke ceilings: a tenfold regression, not a few per cent, on a busy 2-core machine.
SMOKE_MAX_OVERHEAD = 1.0  # cold pipeline / bare encode - 1
SMOKE_MAX_WARM_S = 20.0


class RssPeak:
    """Peak resident memory of this process during a block (sampled every 10 ms)."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._page = os.sysconf("SC_PAGE_SIZE")

    def _rss(self) -> int:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * self._page

    def _watch(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            time.sleep(0.01)

    @contextmanager
    def measure(self) -> Iterator[RssPeak]:
        self.peak = self._rss()
        self._stop.clear()
        watcher = threading.Thread(target=self._watch, daemon=True)
        watcher.start()
        try:
            yield self
        finally:
            self._stop.set()
            watcher.join()
            self.peak = max(self.peak, self._rss())


class Counting:
    """An embedder wrapper that counts the texts it is asked to encode."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.fingerprint = inner.fingerprint
        self.max_tokens = inner.max_tokens
        self.encoded = 0

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.encoded += len(texts)
        return self.inner.encode(texts)

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)


def load() -> float:
    return round(os.getloadavg()[0], 2)


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    model = ""
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    mem = 0
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) // 1024
    import torch

    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "ram_mib": mem,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "load_start": os.getloadavg(),
    }


def ami_of(result: Result, spec: dict[str, Any]) -> float:
    data = Path(spec["data"])
    gold = read_gold(Path(spec.get("gold", data.parent / "gold.jsonl")))
    records = [
        {"source": p.source, "line_start": p.line_start, "line_end": p.line_end, "code": code}
        for p, code in ((p, result.passage_codes[p.id]) for p in result.passages)
    ]
    return round(score(records, gold, per_file_labels=bool(spec.get("per_file"))).ami, 3)


def timed_run(
    paths: Sequence[Path], cfg: Any, embedder: Any, cache: EmbeddingCache, rss: RssPeak
) -> tuple[Result, dict[str, Any]]:
    counting = Counting(embedder)
    before = load()
    with rss.measure():
        cpu = time.process_time()
        start = time.perf_counter()
        result = run(paths, cfg, embedder=counting, cache=cache)
        wall = time.perf_counter() - start
        cpu = time.process_time() - cpu
    n = len(result.passages)
    return result, {
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "passages": n,
        "codes": len(result.codes),
        "stages_s": result.info.timings_s,
        "passages_per_s": round(n / wall, 1),
        "texts_encoded": counting.encoded,
        "from_cache": (result.info.embeddings or {})["from_cache"],
        "pieces": (result.info.embeddings or {}).get("pieces", n),
        "peak_rss_mib": rss.peak // 2**20,
        "load": [before, load()],
    }


def bare(embedder: Any, texts: list[str], rss: RssPeak) -> dict[str, Any]:
    """The floor: the model's own encode on the same texts, batch as configured."""
    model = embedder._model
    before = load()
    with rss.measure():
        cpu = time.process_time()
        start = time.perf_counter()
        model.encode(texts, batch_size=embedder.batch_size, normalize_embeddings=True)
        wall = time.perf_counter() - start
        cpu = time.process_time() - cpu
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "passages_per_s": round(len(texts) / wall, 1),
        "peak_rss_mib": rss.peak // 2**20,
        "load": [before, load()],
    }


def bertopic_line(result: Result, vectors: np.ndarray, embedder: Any, spec: dict[str, Any]):
    from bertopic import BERTopic

    texts = [p.text for p in result.passages]
    before = load()
    start = time.perf_counter()
    topics, _ = BERTopic(embedding_model=embedder._model).fit_transform(texts, vectors)
    wall = time.perf_counter() - start
    codes = {
        p.id: (None if t < 0 else f"B{t}") for p, t in zip(result.passages, topics, strict=True)
    }
    fake = Result(
        transcripts=result.transcripts,
        passages=result.passages,
        passage_codes=codes,
        codes=(),
        themes=(),
        segment_stats=result.segment_stats,
        info=RunInfo(),
        coords={},
    )
    return {
        "fit_s": round(wall, 2),
        "topics": len({t for t in topics if t >= 0}),
        "outliers": round(sum(t < 0 for t in topics) / len(topics), 3),
        "ami": ami_of(fake, spec),
        "load": [before, load()],
    }


def texts_of(paths: Sequence[Path], cfg: Any, embedder: Any) -> list[str]:
    corpus = load_corpus(paths, cfg.ingest, known_facilitators=cfg.ingest.facilitator_labels)
    sentences = spacy_sentences(cfg.label.language)
    passages, _ = segment(
        corpus.transcripts, cfg.segment, count_tokens=embedder.count_tokens, sentencizer=sentences
    )
    # Exactly what the pipeline embeds: long passages in window-sized pieces.
    chunks = embedding_chunks(
        passages, cfg.segment, count_tokens=embedder.count_tokens, sentencizer=sentences
    )
    return [text for item in chunks for text in item]


def bench_set(
    name: str,
    paths: Sequence[Path],
    spec: dict[str, Any],
    *,
    embedder: Any,
    models: dict[str, Any],
    bertopic: bool,
    log: Callable[[str], None],
    repeats: int = 1,
) -> dict[str, Any]:
    cfg = load_config(None, [])
    rerun_cfg = load_config(None, RERUN)
    rss = RssPeak()
    out: dict[str, Any] = {"set": name}
    texts = texts_of(paths, cfg, embedder)
    embedder._model.encode(texts[:32], batch_size=embedder.batch_size)  # warm-up, both lines
    # Bare and cold alternate (bare, cold, cold, bare, ...): on a shared machine the load
    # drifts, and a fixed order would hand the drift to one side. Each pair gives one ratio;
    # the table reports the median line of each and the median of the pair ratios.
    bares: list[dict[str, Any]] = []
    colds: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as root:
        for r in range(repeats):
            for what in ("bare", "cold") if r % 2 == 0 else ("cold", "bare"):
                log(f"{name}: {len(texts)} passages; {what} ({r + 1}/{repeats})")
                if what == "bare":
                    bares.append(bare(embedder, texts, rss))
                    continue
                cache = EmbeddingCache(Path(root) / f"cache{r}")  # empty: a cold run
                result, line = timed_run(paths, cfg, embedder, cache, rss)
                line["ami"] = ami_of(result, spec)
                colds.append(line)
        out["bare"], out["cold"] = _median(bares), _median(colds)
        out["repeats"] = repeats
        out["pairs"] = [
            {
                "wall": round(c["wall_s"] / b["wall_s"] - 1, 3),
                "cpu": round(c["cpu_s"] / b["cpu_s"] - 1, 3),
            }
            for b, c in zip(bares, colds, strict=True)
        ]
        log(f"{name}: warm")
        _, out["warm"] = timed_run(paths, cfg, embedder, cache, rss)
        rerun, out["warm_rerun"] = timed_run(paths, rerun_cfg, embedder, cache, rss)
        out["warm_rerun"]["ami"] = ami_of(rerun, spec)
        if bertopic:
            log(f"{name}: BERTopic")
            from cppthemes.embed.embedder import embed

            vectors, _ = embed(embedding_texts(result.passages, cfg.segment), embedder, cache)
            out["bertopic"] = bertopic_line(result, vectors, embedder, spec)
    out["overhead_cold_vs_bare"] = float(np.median([p["wall"] for p in out["pairs"]]))
    out["overhead_cold_vs_bare_cpu"] = float(np.median([p["cpu"] for p in out["pairs"]]))
    embed_s = float(out["cold"]["stages_s"]["embed"])
    out["overhead_embed_stage_vs_bare"] = round(embed_s / out["bare"]["wall_s"] - 1, 3)
    for model_name, model in models.items():  # the faster models, each cold
        with tempfile.TemporaryDirectory() as cache_dir:
            log(f"{name}: {model_name} model")
            model_cfg = load_config(None, [f"embed.model={json.dumps(model_name)}"])
            result, out[model_name] = timed_run(
                paths, model_cfg, model, EmbeddingCache(cache_dir), rss
            )
            out[model_name]["ami"] = ami_of(result, spec)
    return out


def _median(lines: list[dict[str, Any]]) -> dict[str, Any]:
    """The line with the median wall time (the lower middle one for an even count)."""
    return sorted(lines, key=lambda line: line["wall_s"])[(len(lines) - 1) // 2]


def _stages(line: dict[str, Any]) -> str:
    s = line["stages_s"]
    return " / ".join(f"{s.get(k, 0):g}" for k in ("segment", "embed", "cluster", "label", "map"))


def markdown(info: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    m = info
    head = [
        f"Measured {m['date']} on {m['nproc']} CPUs ({m['cpu']}), {m['ram_mib']:,} MiB RAM, "
        f"Python {m['python']}, torch {m['torch']}; 1-minute load average at the start "
        f"{m['load_start'][0]:.1f} (the machine was shared; each line's load is shown as "
        "before -> after). Command: `" + m["command"] + "`.",
        "",
        "| set | passages | line | wall s | CPU s | segment / embed / cluster / label / map s | "
        "passages/s | peak RSS MiB | texts embedded | AMI | load |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        n = row["cold"]["passages"]
        b = row["bare"]
        head.append(
            f"| {row['set']} | {n} | bare model encode (floor) | {b['wall_s']} | {b['cpu_s']} | "
            "- | "
            f"{b['passages_per_s']} | {b['peak_rss_mib']} | {n} | - | "
            f"{b['load'][0]} -> {b['load'][1]} |"
        )
        for key, title in (
            ("cold", "cppthemes cold (empty cache)"),
            ("warm", "cppthemes warm (same settings)"),
            ("warm_rerun", "cppthemes warm, other cluster/label settings"),
            ("static", "cppthemes cold, static model"),
            ("onnx-int8", "cppthemes cold, ONNX int8 model"),
        ):
            if key not in row:
                continue
            x = row[key]
            head.append(
                f"| {row['set']} | {x['passages']} | {title} | {x['wall_s']} | {x['cpu_s']} | "
                f"{_stages(x)} | "
                f"{x['passages_per_s']} | {x['peak_rss_mib']} | {x['texts_encoded']} | "
                f"{x.get('ami', '-')} | {x['load'][0]} -> {x['load'][1]} |"
            )
        if "bertopic" in row:
            x = row["bertopic"]
            head.append(
                f"| {row['set']} | {n} | BERTopic defaults, same vectors ({x['topics']} topics, "
                f"{x['outliers']:.0%} outliers) | {x['fit_s']} (fit only) | - | - | - | - | 0 | "
                f"{x['ami']} | {x['load'][0]} -> {x['load'][1]} |"
            )
    head += [
        "",
        "| set | bare/cold pairs | cold / bare - 1, wall (median; each pair) | "
        "cold / bare - 1, CPU (median; each pair) | embed stage / bare - 1 (wall) |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        pairs = row.get("pairs", [])
        walls = ", ".join(f"{p['wall']:+.0%}" for p in pairs)
        cpus = ", ".join(f"{p['cpu']:+.0%}" for p in pairs)
        head.append(
            f"| {row['set']} | {len(pairs)} | {row['overhead_cold_vs_bare']:+.0%} "
            f"({walls}) | "
            f"{row['overhead_cold_vs_bare_cpu']:+.0%} "
            f"({cpus}) | "
            f"{row['overhead_embed_stage_vs_bare']:+.0%} |"
        )
    return "\n".join(head)


def write_docs(text: str) -> None:
    replace_between(DOCS, START, END, text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sets", nargs="*", default=list(SETS))
    parser.add_argument("--smoke", action="store_true", help="CI mode: small input, checks")
    parser.add_argument("--no-bertopic", action="store_true")
    parser.add_argument("--no-static", action="store_true")
    parser.add_argument("--no-onnx", action="store_true")
    parser.add_argument("--write-docs", action="store_true", help="table into docs/benchmarks.md")
    parser.add_argument("--json", type=Path, help="also write the raw numbers here")
    parser.add_argument(
        "--repeats", type=int, default=1, help="bare/cold pairs per set, in alternating order"
    )
    args = parser.parse_args()

    def log(msg: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')} load {load()}] {msg}", file=sys.stderr, flush=True)

    cfg = load_config(None, [])
    embedder = SentenceTransformerEmbedder(
        cfg.embed.model, batch_size=cfg.embed.batch_size, device=cfg.embed.device
    )
    info = machine()
    info["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    info["command"] = "python " + " ".join(["benchmarks/bench_pipeline.py", *sys.argv[1:]])
    from cppthemes.embed.onnx_model import INT8_NAME, OnnxEmbedder
    from cppthemes.embed.static_model import STATIC_NAME, StaticEmbedder
    from cppthemes.errors import ModelError

    models: dict[str, Any] = {}
    for model_name, make, skip in (
        (STATIC_NAME, StaticEmbedder, args.no_static),
        (INT8_NAME, OnnxEmbedder, args.no_onnx),
    ):
        if skip or args.smoke:
            continue
        try:
            models[model_name] = make()
        except ModelError as exc:  # not built on this machine: the line is left out
            log(f"no {model_name} line: {exc}")
    rows = []
    names = ["sample"] if args.smoke else args.sets
    for name in names:
        spec = SETS[name]
        data = Path(spec["data"])
        if not data.exists():
            log(f"skip {name}: {data} not found")
            continue
        paths = sorted(data.glob("*.txt"))[:2] if args.smoke else [data]
        rows.append(
            bench_set(
                name,
                paths,
                spec,
                embedder=embedder,
                models=models,
                bertopic=not (args.no_bertopic or args.smoke),
                log=log,
                repeats=max(1, args.repeats),
            )
        )
        log(json.dumps(rows[-1]))
    info["peak_rss_process_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    table = markdown(info, rows)
    print(table)
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "rows": rows}, indent=2))
    if args.write_docs:
        write_docs(table)
    if args.smoke:
        return smoke_checks(rows)
    return 0


def smoke_checks(rows: list[dict[str, Any]]) -> int:
    failures = []
    for row in rows:
        if row["warm"]["texts_encoded"]:
            failures.append(f"{row['set']} warm: embedded {row['warm']['texts_encoded']} texts")
        # Every passage text (a long passage may be several window-sized pieces) of the cold
        # run must come from the cache; a rerun with other settings may meet new keyphrase
        # candidates, never new passage texts.
        for key in ("warm", "warm_rerun"):
            if row[key]["from_cache"] != row[key]["pieces"]:
                failures.append(f"{row['set']} {key}: passages embedded again")
            if row[key]["wall_s"] > SMOKE_MAX_WARM_S:
                failures.append(f"{row['set']} {key}: {row[key]['wall_s']} s")
        if row["overhead_cold_vs_bare"] > SMOKE_MAX_OVERHEAD:
            failures.append(f"{row['set']}: cold overhead {row['overhead_cold_vs_bare']:.0%}")
    for failure in failures:
        print(f"smoke: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
