"""report.html as a workspace, read as HTML: every passage with its context, heatmap links that
match the data, codes grouped by theme, and everything there with scripts off."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from lxml import html as lxml_html

from cppthemes import pipeline
from cppthemes.config import load_config
from cppthemes.records import Result
from cppthemes.report.html import render_html
from cppthemes.report.workspace import NEIGHBOUR_CHARS, passage_items
from cppthemes.runfolder import load_run, write_run
from tests.conftest import FakeEmbedder, write_corpus

LONG = "weekend " * 80  # a neighbouring turn longer than NEIGHBOUR_CHARS


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Result, Path]:
    folder = tmp_path_factory.mktemp("ws")
    corpus = write_corpus(folder / "corpus")
    (corpus / "group4.txt").write_text(
        "Facilitator: What about the garden?\n"
        "Dora: The garden soil needs compost so the tomatoes and beans grow well.\n"
        "Facilitator: And what do you grow in the garden?\n"
        f"Eli: {LONG.strip()} in the garden with tomatoes and beans.\n"
        "Dora: We grow tomatoes, beans and herbs in the garden behind the house.\n",
        encoding="utf-8",
    )
    with (corpus / "manifest.csv").open("a", encoding="utf-8") as fh:
        fh.write('group4.txt,"it\'s <b>3</b>"\n')
    cfg = load_config(None, ["cluster.n_codes=3"])
    result = pipeline.run([corpus], cfg, embedder=FakeEmbedder())
    write_run(result, cfg, folder / "run", [str(corpus)])
    return load_run(folder / "run"), folder / "run"


def test_every_passage_once_with_its_prompt_neighbours_and_reference(run) -> None:  # type: ignore[no-untyped-def]
    result, _ = run
    items = passage_items(result, "metadata")
    flat = [p for ps in items.values() for p in ps]
    assert sorted(p["id"] for p in flat) == sorted(p.id for p in result.passages)
    by_id = {p.id: p for p in result.passages}
    mine = [p for p in flat if "group4" in p["where"]]
    dora = next(p for p in mine if p["text"].startswith("We grow tomatoes, beans and herbs"))
    before = next(t for t in dora["context"] if t["role"] == "before")
    assert before["speaker"] == "Eli" and before["line"] == "4"
    assert len(before["text"]) == NEIGHBOUR_CHARS and before["text"].endswith("…")
    assert not [t for t in dora["context"] if t["role"] == "after"]  # the last turn of the file
    assert dora["where"] == "Dora, group4.txt line 5 (wave it's <b>3</b>)"
    assert dora["context"][0] == {
        "role": "prompt", "speaker": "", "text": "And what do you grow in the garden?", "line": "",
    }  # fmt: skip
    first = next(p for p in mine if p["text"].startswith("The garden soil needs compost"))
    prompt = [t for t in first["context"] if t["role"] == "prompt"]
    assert prompt and prompt[0]["text"] == " ".join(by_id[first["id"]].context.split())
    # The prompt is the turn before: it is not repeated as a neighbour.
    assert [t["role"] for t in first["context"]] == ["prompt", "after"]


def test_heatmap_links_match_the_passages_they_open(run) -> None:  # type: ignore[no-untyped-def]
    result, _ = run
    page = lxml_html.fromstring(render_html(result))
    lis = page.xpath("//li[contains(@class, 'passage')]")
    assert len(lis) == len(result.passages)
    members = Counter()
    for li in lis:
        groups = json.loads(li.get("data-groups"))
        for g in groups:
            members[(li.get("data-code"), g)] += 1
    assert any("wave=it's <b>3</b>" in json.loads(li.get("data-groups")) for li in lis)
    links = page.xpath("//table[contains(@class, 'heat')]//a[@data-group]")
    assert links
    for a in links:
        assert int(a.text) == members[(a.get("data-code"), a.get("data-group"))]
        assert a.get("href") == f"#list-{a.get('data-code')}"
        assert page.get_element_by_id(f"list-{a.get('data-code')}").tag == "details"


def test_heatmap_rows_are_grouped_under_their_themes(run) -> None:  # type: ignore[no-untyped-def]
    result, _ = run
    page = lxml_html.fromstring(render_html(result))
    order: list[str] = []
    for tr in page.xpath("//table[contains(@class, 'heat')]/tbody/tr"):
        if "theme-row" in (tr.get("class") or ""):
            order.append(tr.text_content().split()[0])
        else:
            order.append(tr.xpath(".//th//a")[0].text)
    expected: list[str] = []
    for theme in result.themes:
        expected += [theme.id, *theme.code_ids]
    assert order == expected


def test_page_reads_with_scripts_off(run) -> None:  # type: ignore[no-untyped-def]
    result, _ = run
    text = render_html(result)
    page = lxml_html.fromstring(text)
    # The tools need the script, so they start hidden; the lists are plain <details>.
    assert page.get_element_by_id("tools").get("hidden") is not None
    assert len(page.xpath("//details[contains(@class, 'passages')]")) == len(result.codes) + (
        1 if any(result.passage_codes.get(p.id) is None for p in result.passages) else 0
    )
    for code in result.codes:
        article = page.get_element_by_id(code.id)
        assert len(article.xpath(".//li[contains(@class, 'passage')]")) == code.size
    assert "<script" not in text.split("<script>", 1)[0].lower()
