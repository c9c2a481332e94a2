"""Where a cold run's seconds go: stage by stage, and inside embedding, call by call.

A cold run (`cppthemes run CORPUS --out R --cache-dir EMPTY`, the ONNX export already in the
user cache: bench_cli.py's cold line) is run as a child process with the embedder instrumented
(and, with ``--cprofile``, under cProfile, which roughly doubles Python-heavy stages, so its
seconds are read as shares, not as the run's). Every call to the model is recorded with:

- what asked for it, from the call stack: the passages (``embed_passages``), keyphrase and
  name candidates of codes (``label.keyphrases`` / ``name_phrases``), central-sentence
  candidates (``quotes.central_sentence``), theme candidates (``cluster.themes.group_codes``),
  segmentation (topic tiling) or anything else;
- seconds in the tokenizer, in the onnxruntime session, and in the rest of ``encode``
  (padding arrays, pooling); seconds in the embedding cache (SQLite look-ups and writes);
- texts, batches, real tokens and padded tokens (rows x the batch's longest text).

Beside it, with ``--bare`` (default on), the bare sentence-transformers fp32 encode of the same
passage texts (bench_cli.py's floor), alternating with the cold run, so the ratio is measured
side by side. The summary also says what the smallest cold run with this model in fp32 would
be: the onnxruntime session's seconds alone (nothing else of the run), against 0.5x the bare
encode.

    python benchmarks/profile_cold.py --rounds 2 --json artifacts/profile_cold.json
    python benchmarks/profile_cold.py --rounds 1 --no-bare --cprofile artifacts/cold.prof

``--child`` is the instrumented run itself (what the parent starts); not for direct use.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# First match wins, innermost frame first: theme labelling calls the same phrase functions as
# code labelling, so it is asked about before them.
CALLERS: tuple[tuple[str, str], ...] = (
    ("embed_passages", "passages"),
    ("central_sentence", "central sentences"),
    ("gathered._add", "central sentences"),  # label.py gathers them (embed/gathered.py)
    ("group_codes", "theme candidates"),
    ("keyphrases", "keyphrase candidates"),
    ("name_phrases", "name candidates"),
    ("segment", "segmentation"),
    ("map_constructs", "framework constructs"),
)


def caller_of(stack: Sequence[str]) -> str:
    """The kind of text an embedding call was for, from the function names on its stack
    (plain, and as ``module.function``)."""
    names = set(stack)
    for function, kind in CALLERS:
        if function in names:
            return kind
    return "other"


class Calls:
    """What the instrumented embedder saw: one record per ``encode`` call, and cache time."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.current: dict[str, Any] | None = None
        self.cache_s = 0.0
        self.cache_calls = 0

    def summary(self) -> dict[str, Any]:
        kinds: dict[str, dict[str, Any]] = {}
        for rec in self.records:
            out = kinds.setdefault(
                rec["kind"],
                {
                    "calls": 0,
                    "texts": 0,
                    "batches": 0,
                    "tokens": 0,
                    "padded_tokens": 0,
                    "encode_s": 0.0,
                    "tokenize_s": 0.0,
                    "session_s": 0.0,
                },
            )
            out["calls"] += 1
            for key in ("texts", "batches", "tokens", "padded_tokens"):
                out[key] += rec[key]
            for key in ("encode_s", "tokenize_s", "session_s"):
                out[key] += rec[key]
        for out in kinds.values():
            out["other_s"] = out["encode_s"] - out["tokenize_s"] - out["session_s"]
            for key in ("encode_s", "tokenize_s", "session_s", "other_s"):
                out[key] = round(out[key], 3)
        return {
            "by_kind": kinds,
            "cache_s": round(self.cache_s, 3),
            "cache_calls": self.cache_calls,
            "threads": self.threads,
        }

    threads: int | None = None


class _TimedTokenizer:
    def __init__(self, inner: Any, calls: Calls) -> None:
        self._inner, self._calls = inner, calls

    def encode_batch(self, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return self._inner.encode_batch(*args, **kwargs)
        finally:
            if self._calls.current is not None:
                self._calls.current["tokenize_s"] += time.perf_counter() - start

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _TimedSession:
    def __init__(self, inner: Any, calls: Calls) -> None:
        self._inner, self._calls = inner, calls

    def run(self, outputs: Any, feed: dict[str, Any], *args: Any) -> Any:
        start = time.perf_counter()
        try:
            return self._inner.run(outputs, feed, *args)
        finally:
            rec = self._calls.current
            if rec is not None:
                rec["session_s"] += time.perf_counter() - start
                mask = feed["attention_mask"]
                rec["batches"] += 1
                rec["tokens"] += int(mask.sum())
                rec["padded_tokens"] += int(mask.size)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def instrument(calls: Calls) -> None:
    """Wrap the ONNX embedder's tokenizer, session and ``encode``, and the embedding cache."""
    from cppthemes.embed import cache as cache_module
    from cppthemes.embed import onnx_model

    cls = onnx_model.OnnxEmbedder
    plain_init = cls.__init__
    plain_encode = cls.encode
    plain_session = cls._session.fget  # type: ignore[attr-defined]

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        plain_init(self, *args, **kwargs)
        self._tokenizer = _TimedTokenizer(self._tokenizer, calls)
        calls.threads = self.threads

    def session(self: Any) -> Any:
        found = plain_session(self)
        if not isinstance(found, _TimedSession):
            self._loaded = found = _TimedSession(found, calls)
        return found

    def encode(self: Any, texts: Sequence[str]) -> Any:
        frames = traceback.extract_stack()
        stack = [frame.name for frame in frames]
        stack += [f"{Path(frame.filename).stem}.{frame.name}" for frame in frames]
        rec = {
            "kind": caller_of(stack),
            "texts": len(texts),
            "batches": 0,
            "tokens": 0,
            "padded_tokens": 0,
            "tokenize_s": 0.0,
            "session_s": 0.0,
        }
        calls.current = rec
        start = time.perf_counter()
        try:
            return plain_encode(self, texts)
        finally:
            rec["encode_s"] = time.perf_counter() - start
            calls.current = None
            calls.records.append(rec)

    cls.__init__ = init  # type: ignore[method-assign]
    cls.encode = encode  # type: ignore[method-assign]
    cls._session = property(session)  # type: ignore[method-assign,assignment]

    def timed(method: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                result = method(*args, **kwargs)
                if hasattr(result, "__next__"):  # found() is a generator: drain it here
                    result = iter(list(result))
                return result
            finally:
                calls.cache_s += time.perf_counter() - start
                calls.cache_calls += 1

        return wrapper

    store = cache_module.EmbeddingCache
    store.found = timed(store.found)  # type: ignore[method-assign]
    store.put = timed(store.put)  # type: ignore[method-assign]


def child(out: Path, profile: Path | None, argv: list[str]) -> None:
    """The instrumented cold run: ``cppthemes`` with ``argv``, then the records to ``out``."""
    calls = Calls()
    instrument(calls)
    from cppthemes.cli.app import main

    sys.argv = ["cppthemes", *argv]
    code = 0
    profiler = None
    if profile is not None:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    try:
        main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(str(profile))
    out.write_text(json.dumps({"rc": code, **calls.summary()}), encoding="utf-8")
    sys.exit(code)


def cold(corpus: Path, root: Path, n: int, profile: Path | None) -> dict[str, Any]:
    """One instrumented cold run (empty cache) as a child process; its line and records."""
    from benchmarks.bench_cli import run_info, timed

    run_dir, cache, records = root / f"cold{n}", root / f"cache{n}", root / f"calls{n}.json"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(records)]
    if profile is not None:
        cmd += ["--child-profile", str(profile)]
    cmd += ["--", "run", str(corpus), "--out", str(run_dir), "--cache-dir", str(cache), "-q"]
    line = timed(cmd)
    calls = json.loads(records.read_text(encoding="utf-8"))
    return {
        **{k: v for k, v in line.items() if k not in ("stdout", "stderr")},
        **run_info(run_dir),
        "calls": calls,
    }


def bare(texts_file: Path) -> dict[str, Any]:
    """bench_cli.py's bare sentence-transformers encode of the passage texts."""
    from benchmarks.bench_cli import BARE, timed

    line = timed([sys.executable, "-c", BARE, str(texts_file)])
    return {
        **{k: v for k, v in line.items() if k not in ("stdout", "stderr")},
        **json.loads(line["stdout"].strip().splitlines()[-1]),
    }


def floor_of(line: dict[str, Any]) -> dict[str, float]:
    """The cold run's seconds split into the model's own work and everything else."""
    kinds = line["calls"]["by_kind"]
    session = sum(k["session_s"] for k in kinds.values())
    passages = kinds.get("passages", {}).get("session_s", 0.0)
    tokens = sum(k["tokens"] for k in kinds.values())
    padded = sum(k["padded_tokens"] for k in kinds.values())
    return {
        "session_s": round(session, 3),
        "session_passages_s": round(passages, 3),
        "padding_share": round(1 - tokens / padded, 4) if padded else 0.0,
        "rest_s": round(line["wall_s"] - session, 3),
    }


def markdown(result: dict[str, Any]) -> str:
    rows = []
    for n, line in enumerate(result["cold"]):
        timings = line.get("timings_s") or {}
        stages = " / ".join(f"{k} {v}" for k, v in timings.items())
        floor = floor_of(line)
        b = result["bare"][n]["encode_s"] if result["bare"] else None
        ratio = f"{line['wall_s'] / b:.2f}x" if b else "n/a"
        rows.append(
            f"| {n + 1} | {line['wall_s']} | {line['cpu_s']} | "
            f"{b if b is not None else 'n/a'} | {ratio} | "
            f"{floor['session_s']} ({floor['session_passages_s']} passages) | "
            f"{line['calls']['threads']} | {line['load'][0]} -> {line['load'][1]} | {stages} |"
        )
    head = (
        "| round | cold wall s | cold CPU s | bare encode s | cold / bare | onnxruntime "
        "session s | threads | load | run.json timings (s) |\n|---|---|---|---|---|---|---|---|---|"
    )
    kinds_rows = []
    for kind, k in sorted(
        result["cold"][-1]["calls"]["by_kind"].items(), key=lambda i: -i[1]["encode_s"]
    ):
        waste = 1 - k["tokens"] / k["padded_tokens"] if k["padded_tokens"] else 0.0
        kinds_rows.append(
            f"| {kind} | {k['calls']} | {k['texts']} | {k['batches']} | {k['tokens']} | "
            f"{waste:.0%} | {k['encode_s']} | {k['tokenize_s']} | {k['session_s']} | "
            f"{k['other_s']} |"
        )
    kinds_head = (
        "| texts for | calls | texts | batches | tokens | padding | encode s | tokenizer s | "
        "session s | rest of encode s |\n|---|---|---|---|---|---|---|---|---|---|"
    )
    cache = result["cold"][-1]["calls"]
    return "\n".join(
        [
            head,
            *rows,
            "",
            "Inside embedding (last round):",
            "",
            kinds_head,
            *kinds_rows,
            "",
            f"Embedding cache (SQLite look-ups and writes): {cache['cache_s']} s over "
            f"{cache['cache_calls']} calls.",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=None, help="default: swda-small")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--no-bare", action="store_true", help="leave out the bare encode")
    parser.add_argument("--cprofile", type=Path, default=None, help="cProfile of the last cold")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--child-profile", type=Path, default=None, help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args()
    if args.child is not None:
        child(args.child, args.child_profile, [a for a in rest if a != "--"])
        return
    from benchmarks.bench_cli import SETS, pipeline_texts

    corpus = args.corpus or SETS["swda-small"]
    if not corpus.is_dir():
        raise SystemExit(f"{corpus}: no such folder")
    result: dict[str, Any] = {
        "corpus": str(corpus),
        "cpus": os.cpu_count(),
        "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "bare": [],
        "cold": [],
    }
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        texts_file = root / "texts.json"
        texts_file.write_text(json.dumps(pipeline_texts(corpus)), encoding="utf-8")
        for n in range(args.rounds):
            last = n == args.rounds - 1
            order = ("bare", "cold") if n % 2 == 0 else ("cold", "bare")
            for what in order:
                if what == "bare" and not args.no_bare:
                    result["bare"].append(bare(texts_file))
                    print(f"round {n + 1}: bare encode {result['bare'][-1]['encode_s']:.2f} s")
                elif what == "cold":
                    line = cold(corpus, root, n, args.cprofile if last else None)
                    result["cold"].append(line)
                    print(f"round {n + 1}: cold {line['wall_s']} s, {floor_of(line)}")
    if result["bare"]:
        pairs = zip(result["cold"], result["bare"], strict=True)
        ratios = [c["wall_s"] / b["encode_s"] for c, b in pairs]
        result["cold_over_bare"] = [round(r, 3) for r in ratios]
        result["cold_over_bare_median"] = round(statistics.median(ratios), 3)
    print(markdown(result))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
