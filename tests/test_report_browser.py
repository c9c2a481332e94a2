"""report.html in a real headless browser (Debian's chromium), used as an analyst uses it.

At desktop width and at 375 px (a phone) the check clicks a heatmap cell and sees that code's
passages of that group, types in the search box and sees the list narrow, toggles the theme and
weak filters, sorts the code table, and loads the page with scripts off; any console error,
uncaught exception or network request fails it. Screenshots and chromium's log are kept in
artifacts/report-browser/ (gitignored; `.ci/run` lists them at the end) for people to look at.
Without chromium the test is skipped on a developer machine and fails in CI, where .ci/run
installs it.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

from cppthemes import pipeline
from cppthemes.config import load_config
from cppthemes.runfolder import write_run
from tests.conftest import ROOT, FakeEmbedder, write_corpus

ARTIFACTS = ROOT / "artifacts" / "report-browser"


def _checker():
    spec = importlib.util.spec_from_file_location(
        "check_report_html", ROOT / "scripts" / "check_report_html.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


checker = _checker()
if checker.find_chromium() is None:
    if os.environ.get("CI"):
        pytest.fail("chromium is missing in CI (.ci/run installs it)", pytrace=False)
    pytest.skip("chromium not installed (apt-get install -y chromium)", allow_module_level=True)


def test_report_browser_loads_without_console_errors(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "corpus")
    (corpus / "group9.txt").write_text(
        "Facilitator: And the garden?\nAnna: <img src=x onerror=alert(1)> the garden soil "
        "and tomatoes </p><script>console.error('injected')</script> need compost.\n",
        encoding="utf-8",
    )
    cfg = load_config(None, ["cluster.n_codes=3"])
    result = pipeline.run([corpus], cfg, embedder=FakeEmbedder())
    write_run(result, cfg, tmp_path / "run", [str(corpus)])
    check = checker.check_report(tmp_path / "run" / "report.html", ARTIFACTS)
    assert check.problems == []
    facts = check.facts
    assert facts["images"] == 1 and facts["broken"] == 0  # the theme tree; the map is inline
    assert facts["codes"] == len(result.codes) and facts["quotes"] > 0
    assert facts["passages"] == len(result.passages) == facts["noscript_passages"]
    for width in ("desktop", "phone"):
        seen = facts[width]
        assert seen["overflow"]["page"] <= seen["overflow"]["window"]
        assert 0 < seen["cell"]["shown"] == seen["cell"]["n"] < len(result.passages)
        assert 0 < seen["search"]["shown"] < seen["total_visible"] == len(result.passages)
        assert 0 < seen["theme"]["shown"] < len(result.passages)
    assert facts["phone"]["width"] == 375
    names = [p.name for p in check.screenshots]
    assert names[:2] == ["report-top.png", "report-figures.png"]
    for width in ("desktop", "phone"):
        for step in ("top", "cell", "search", "filter"):
            assert f"report-{width}-{step}.png" in names
    assert "report-noscript.png" in names
    assert all(p.stat().st_size > 10_000 for p in check.screenshots)


def test_report_browser_check_catches_errors(tmp_path: Path) -> None:
    page = tmp_path / "bad.html"
    page.write_text(
        "<!DOCTYPE html><title>bad</title><img src='https://example.invalid/x.png'>"
        "<script>console.error('boom'); throw new Error('kaboom');</script>",
        encoding="utf-8",
    )
    check = checker.check_report(page, tmp_path / "shots", interact=False)
    text = "\n".join(check.problems)
    assert "console.error: boom" in text and "kaboom" in text
    assert "network request: https://example.invalid" in text
