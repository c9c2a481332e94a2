"""Offline guarantee: no test, and no run, ever opens a connection to another machine.

The guard itself is the autouse ``offline`` fixture in conftest.py; these tests prove that it
bites, that a model name needing a download fails fast with advice, and that the full pipeline
with the real packaged model runs under it.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cppthemes.cli.app import app
from cppthemes.embed import embedder as embed
from cppthemes.embed.embedder import SentenceTransformerEmbedder, resolve_model
from cppthemes.errors import ModelError
from tests.conftest import NetworkBlocked, write_corpus

runner = CliRunner()


def test_offline_guard_blocks_other_hosts_and_allows_loopback(offline: list[object]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s, pytest.raises(NetworkBlocked):
        s.connect(("192.0.2.1", 443))  # TEST-NET-1: would hang or fail, never reach anyone
    with pytest.raises(NetworkBlocked):
        socket.getaddrinfo("huggingface.co", 443)
    offline.clear()  # the attempts above were this test's own
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.socket() as client:
            client.connect(server.getsockname())


def test_offline_hub_name_not_in_cache_fails_fast_with_advice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hub"))
    start = time.perf_counter()
    with pytest.raises(ModelError) as info:
        SentenceTransformerEmbedder("some-org/model-that-would-need-a-download")
    assert time.perf_counter() - start < 10  # the hub's retries took ~70 s
    message = str(info.value)
    assert "\n" not in message and "never downloads" in message and "local folder" in message


def test_offline_hub_name_found_in_local_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    hub = tmp_path / "hub"
    (hub / "models--sentence-transformers--paraphrase-x" / "snapshots" / "abc").mkdir(parents=True)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(hub))
    assert embed.in_hub_cache("paraphrase-x")
    assert embed.in_hub_cache("sentence-transformers/paraphrase-x")
    assert resolve_model("paraphrase-x") == ("paraphrase-x", None)
    assert not embed.in_hub_cache("other/paraphrase-x")


def test_offline_cli_missing_model_is_one_line_error(corpus: Path, tmp_path: Path) -> None:
    start = time.perf_counter()
    result = runner.invoke(
        app,
        ["run", str(corpus), "--out", str(tmp_path / "o"), "-q", "--set",
         'embed.model="nobody/no-such-model"'],
    )  # fmt: skip
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: embed.model='nobody/no-such-model'")
    assert time.perf_counter() - start < 20
    assert not (tmp_path / "o").exists()


@pytest.mark.integration
def test_offline_real_model_full_pipeline_under_blocked_network(
    tmp_path: Path, offline: list[object], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")  # an inherited setting must not open the door
    folder = write_corpus(tmp_path / "corpus", n_files=2)
    out = tmp_path / "run"
    result = runner.invoke(app, ["run", str(folder), "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    run = json.loads((out / "run.json").read_text())
    assert run["model"]["id"].startswith("all-MiniLM-L6-v2") and run["counts"]["codes"] >= 1
    assert offline == []
