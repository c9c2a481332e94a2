"""What makes a rerun fast: lazy embedders, content caches, numpy twins of scikit-learn, SVG.

Speed itself is measured in benchmarks/bench_cli.py; these tests check that each shortcut gives
exactly what the long way gives, and that it is taken.
"""

from __future__ import annotations

import io
import json
import os
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from cppthemes import termcache
from cppthemes.cli.progress import StageProgress
from cppthemes.cluster.codes import adjusted_rand_score
from cppthemes.config import load_config
from cppthemes.embed import models, onnx_export, onnx_model
from cppthemes.embed.digests import remembered
from cppthemes.embed.embedder import SentenceTransformerEmbedder
from cppthemes.errors import ModelError
from cppthemes.label import passage_terms
from cppthemes.layout import _pca2
from cppthemes.report.dendrogram import dendrogram_svg, leaf_order
from cppthemes.report.plots import map_svg
from cppthemes.segment import spacy_sentences
from cppthemes.sentcache import CachedSentences
from tests.conftest import FAKE_MODEL_SCRIPT, FakeEmbedder, use_fake_model, write_corpus


def test_ari_is_scikit_learns_to_the_bit() -> None:
    from sklearn.metrics import adjusted_rand_score as reference

    rng = np.random.default_rng(7)
    for trial in range(300):
        n = int(rng.integers(1, 200))
        a = rng.integers(-1, int(rng.integers(1, 9)), n)
        b = a.copy() if trial % 4 == 0 else rng.integers(-1, int(rng.integers(1, 9)), n)
        if trial % 3 == 0:
            b = np.where(rng.random(n) < 0.2, b, a)
        assert adjusted_rand_score(a, b) == reference(a, b)


def test_map_pca_is_scikit_learns_to_the_bit() -> None:
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(3)
    for _ in range(30):
        x = rng.standard_normal((int(rng.integers(3, 800)), int(rng.integers(2, 120))))
        x = x.astype(np.float32).astype(np.float64)
        expected = PCA(n_components=2, svd_solver="covariance_eigh").fit_transform(x)
        assert np.array_equal(_pca2(x), expected)


def test_torch_embedder_is_not_loaded_until_it_encodes() -> None:
    cfg = load_config(None, ['embed.runtime="torch"', 'embed.device="cpu"'])
    embedder = models.load_embedder(cfg.embed)
    assert isinstance(embedder, SentenceTransformerEmbedder)
    assert not embedder.loaded
    assert embedder.max_tokens == 256 and len(embedder.fingerprint) == 64
    assert embedder.count_tokens("Hello there, garden.") > 3
    assert not embedder.loaded


@pytest.mark.integration
def test_lazy_token_counts_match_the_loaded_tokenizer() -> None:
    from tests.conftest import SAMPLE

    embedder = SentenceTransformerEmbedder(device="cpu")
    texts = [
        line for path in sorted(SAMPLE.glob("*.txt")) for line in path.read_text().splitlines()
    ]
    texts += ["", "   ", "naïve café — “quotes” 😀 日本語", "x " * 400]
    lazy = [embedder.count_tokens(t) for t in texts]
    tokenizer = embedder._model.tokenizer
    assert lazy == [len(tokenizer(t, add_special_tokens=True)["input_ids"]) for t in texts]


def test_failed_export_falls_back_to_torch_with_one_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    calls: list[Path] = []

    def broken(target: Path, **kwargs: object) -> Path:
        calls.append(target)
        raise RuntimeError("no exporter here")

    monkeypatch.setattr(onnx_export, "export", broken)  # what ensure_auto_export calls
    cfg = load_config(None, ['embed.device="cpu"'])
    for _ in range(2):
        notes: list[str] = []
        embedder = models.load_embedder(cfg.embed, on_note=notes.append)
        assert isinstance(embedder, SentenceTransformerEmbedder) and not embedder.loaded
        assert [n.split(":")[0] for n in notes if n.startswith("warning")] == ["warning"]
        assert "no exporter here" in notes[-1]
    assert len(calls) == 1  # the failure is remembered: the second run does not try again
    with pytest.raises(ModelError, match="runtime='onnx'"):
        models.load_embedder(load_config(None, ['embed.runtime="onnx"']).embed)


def test_auto_export_is_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = onnx_model.auto_export_dir("ab" * 32, tmp_path)
    target.mkdir(parents=True)
    (target / onnx_model.MODEL_FILE).write_bytes(b"x")
    (target / onnx_model.CONFIG_FILE).write_text('{"max_seq_length": 256}')
    monkeypatch.setattr(onnx_export, "export", lambda *a, **k: pytest.fail("exported again"))
    assert onnx_model.ensure_auto_export("ab" * 32, cache_dir=tmp_path) == target


def test_digest_is_remembered_until_the_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "weights.bin"
    path.write_bytes(b"one")
    calls: list[int] = []

    def compute() -> str:
        calls.append(1)
        return f"{len(calls):064d}"

    first = remembered([path], compute, tmp_path / "memo")
    assert remembered([path], compute, tmp_path / "memo") == first and len(calls) == 1
    path.write_bytes(b"other bytes")
    os.utime(path, ns=(1, 1))
    assert remembered([path], compute, tmp_path / "memo") != first and len(calls) == 2


def _passages(tmp_path: Path):
    from cppthemes import pipeline

    corpus = write_corpus(tmp_path / "corpus")
    result = pipeline.run([corpus], load_config(None, []), embedder=FakeEmbedder())
    return result.passages


def test_phrase_counts_come_back_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    passages = _passages(tmp_path)
    cfg = load_config(None, []).label
    fresh = passage_terms(passages, cfg, ["Anna"])
    stored = passage_terms(passages, cfg, ["Anna"], cache_dir=tmp_path / "cache")
    assert (tmp_path / "cache" / termcache.FOLDER).is_dir()
    import cppthemes.label_terms as label_module

    monkeypatch.setattr(label_module, "_count_terms", lambda *a: pytest.fail("counted again"))
    again = passage_terms(passages, cfg, ["Anna"], cache_dir=tmp_path / "cache")
    for matrix in (stored, again):
        assert list(matrix.vocab) == list(fresh.vocab)
        assert (matrix.counts != fresh.counts).nnz == 0
        assert list(matrix) == list(fresh)
    # Other names, another phrase length or other texts: another key, counted afresh.
    monkeypatch.undo()
    other = passage_terms(passages, cfg, ["Anna", "Ben"], cache_dir=tmp_path / "cache")
    assert len(list((tmp_path / "cache" / termcache.FOLDER).glob("*.npz"))) == 2
    assert other is not None


def test_damaged_phrase_cache_is_recounted(tmp_path: Path) -> None:
    passages = _passages(tmp_path)
    cfg = load_config(None, []).label
    first = passage_terms(passages, cfg, cache_dir=tmp_path / "cache")
    for path in (tmp_path / "cache" / termcache.FOLDER).glob("*.npz"):
        path.write_bytes(b"not a zip file")
    again = passage_terms(passages, cfg, cache_dir=tmp_path / "cache")
    assert list(again.vocab) == list(first.vocab)


def test_sentence_spans_come_back_from_the_cache(tmp_path: Path) -> None:
    text = "First one here. Then a second! And a third? Yes."
    split = spacy_sentences("en")
    cached = CachedSentences(split, tmp_path, "en")
    assert cached(text) == split(text)
    cached.save()

    def refuse(text: str) -> list[tuple[int, int]]:
        raise AssertionError("split again")

    again = CachedSentences(refuse, tmp_path, "en")
    assert again(text) == split(text)
    again.path.write_text("{broken", encoding="utf-8")
    assert CachedSentences(split, tmp_path, "en")(text) == split(text)


def test_svg_figures_are_well_formed_and_escape_labels() -> None:
    hostile = "<script>alert(1)</script> & \x00\x07 “quotes” \"'"
    nodes = [
        {"id": "N01", "children": ["C01", "C02"], "distance": 0.2},
        {"id": "N02", "children": ["N01", "C03"], "distance": 0.5},
    ]
    tree = dendrogram_svg(nodes, {"C01": hostile, "C02": "C02 b"}, {"C01": "#1f77b4"}, 0.45)
    rng = np.random.default_rng(0)
    tips = [hostile] * 50
    scatter = map_svg(rng.standard_normal((50, 2)), [-1] * 5 + [k % 23 for k in range(45)],
                      [f"T{k:02d} {hostile}" for k in range(23)], 5, hover=tips,
                      marks=[hostile] * 23)  # fmt: skip
    for svg in (tree, scatter):
        root = ET.fromstring(svg)
        assert root.tag.endswith("svg")
        assert "<script" not in svg and "\x00" not in svg
        texts = "".join(t.text or "" for t in root.iter() if t.tag.endswith(("text", "title")))
        assert "<script>alert(1)</script>" in texts  # shown as text, never as markup
    assert tree.count("<path") >= 7 and 'stroke-dasharray="4 3"' in tree  # links, the cut
    assert scatter.count("<polygon") > 0 and scatter.count("<title>") == 50  # a tip each
    assert map_svg(np.zeros((0, 2)), [], [], 0).startswith("<svg")
    assert leaf_order(nodes) == ["C01", "C02", "C03"]


def test_plain_progress_prints_one_line_per_stage_when_it_ends() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=False, width=200)
    with StageProgress(console) as bars:
        bars.update("segment", 0, 4)
        bars.update("embed", 0, 300)
        bars.update("embed", 128, 300)
        bars.update("embed", 300, 300)
        bars.update("cluster", 0, 300)
    lines = buffer.getvalue().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("segment: 4 transcripts in ") and lines[0].endswith(" s")
    assert lines[1].startswith("embed: 300 passage texts embedded in ")
    assert lines[2].startswith("cluster: 300 passages in ")


def test_run_json_timings_cover_startup_and_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from cppthemes.cli.app import app

    use_fake_model(monkeypatch)
    corpus = write_corpus(tmp_path / "corpus")
    out = tmp_path / "run"
    result = CliRunner().invoke(
        app, ["run", str(corpus), "--out", str(out), "--cache-dir", str(tmp_path / "c")]
    )
    assert result.exit_code == 0, result.output
    timings = json.loads((out / "run.json").read_text())["timings_s"]
    assert next(iter(timings)) == "startup" and list(timings)[-2:] == ["write", "total"]
    stages = sum(v for k, v in timings.items() if k != "total")
    assert 0 < stages <= timings["total"] + 0.01


def test_a_rerun_imports_no_heavy_library(tmp_path: Path) -> None:
    """The analyst's rerun (every vector cached) never imports the heavy libraries, SciPy
    included: not on the same settings, nor with other cluster and label settings (the Ward
    trees are read back, the themes' small tree is cppthemes/cluster/smalltree.py's, the
    phrase counts are summed with NumPy, token counts come from tokencache, the workbook's
    header-only skeleton from the user cache)."""
    import subprocess

    corpus = write_corpus(tmp_path / "corpus")
    script = (
        "import sys\n" + FAKE_MODEL_SCRIPT + "from cppthemes.cli.app import app\n"
        "try:\n"
        f"    app(['run', {str(corpus)!r}, '--out', {str(tmp_path / 'run')!r}, '-q',"
        f" '--cache-dir', {str(tmp_path / 'cache')!r}, *sys.argv[1:]])\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "heavy = ['torch', 'sentence_transformers', 'spacy', 'sklearn', 'matplotlib',"
        " 'transformers', 'scipy', 'onnxruntime', 'openpyxl']\n"
        "print('HEAVY=' + ','.join(m for m in heavy if m in sys.modules))\n"
    )
    root = Path(__file__).resolve().parents[1]
    other = ["--set", "cluster.min_size=2", "--set", "label.keyphrases=8"]
    # Rendered in this one process (no forked writer, cppthemes/forkrender.py), so that what
    # the writers import shows in its sys.modules.
    env = {**os.environ, "CPPTHEMES_SERIAL_WRITE": "1"}
    runs = [
        subprocess.run(
            [sys.executable, "-c", script, *args],
            capture_output=True,
            text=True,
            cwd=root,
            env=env,
            timeout=300,
        )
        for args in ([], [], other)
    ]
    assert all(r.returncode == 0 for r in runs), [r.stderr[-2000:] for r in runs]
    first, second, third = (r.stdout.strip().splitlines()[-1] for r in runs)
    assert "spacy" in first and "scipy" in first  # counted phrases, built trees
    assert "openpyxl" in first  # the header-only workbook, kept for the reruns
    assert second == "HEAVY="  # the rerun: nothing heavy
    assert third == "HEAVY="  # other settings: the same trees, cut elsewhere


def test_the_console_script_skips_teardown_but_runs_exit_handlers(tmp_path: Path) -> None:
    """cli.main ends the process at once after the command (os._exit), yet exit handlers
    run, every message is flushed, and the exit code is the command's."""
    import subprocess

    corpus = write_corpus(tmp_path / "corpus")
    marker = tmp_path / "atexit-ran"
    script = (
        "import atexit, sys\n" + FAKE_MODEL_SCRIPT + "from cppthemes.cli import app as cli\n"
        f"atexit.register(lambda: open({str(marker)!r}, 'w').write('yes'))\n"
        "sys.argv = ['cppthemes', *sys.argv[1:]]; cli.main()\n"
    )
    root = Path(__file__).resolve().parents[1]
    out = tmp_path / "run"
    ok = subprocess.run(
        [sys.executable, "-c", script, "run", str(corpus), "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=root,
        timeout=300,
    )
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert marker.read_text() == "yes"
    assert str(out / "run.json") in ok.stdout  # the list of files written, flushed
    bad = subprocess.run(
        [sys.executable, "-c", script, "run", str(tmp_path / "missing"), "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=root,
        timeout=300,
    )
    assert bad.returncode != 0 and "error" in bad.stderr.lower()
    # Under a profiler the ordinary exit: cProfile writes its file after main returns.
    prof = tmp_path / "x.prof"
    profiled = subprocess.run(
        [sys.executable, "-m", "cProfile", "-o", str(prof), "-m", "cppthemes", "--version"],
        capture_output=True,
        text=True,
        cwd=root,
        timeout=300,
    )
    assert profiled.returncode == 0 and prof.stat().st_size > 0, profiled.stderr[-2000:]
    # A thread still running (not a daemon) is joined, as Python's ordinary exit does.
    joined = tmp_path / "thread-finished"
    threaded = (
        "import sys, threading, time\nfrom cppthemes.cli import app as cli\n"
        "def late():\n    time.sleep(0.5)\n"
        f"    open({str(joined)!r}, 'w').write('yes')\n"
        "threading.Thread(target=late).start()\n"
        "sys.argv = ['cppthemes', '--version']; cli.main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", threaded], capture_output=True, text=True, cwd=root, timeout=300
    )
    assert done.returncode == 0 and joined.read_text() == "yes", done.stderr[-2000:]
